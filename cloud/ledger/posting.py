"""Posting to the ledger: one posting or a bulk batch, in the caller's transaction.

Idempotency keys are looked up first (unless the caller expects none to repeat), so a repeat is
answered without waiting for anyone. New postings then take the chain head lock, so they enter the
chain one transaction at a time and the chain stays linear; under that lock they are hashed onto
the chain, and one statement re-checks their keys, inserts them, moves the balance rows, writes
their audit records and advances the head. The lock is held until the caller's commit is flushed:
keep that short, or let :mod:`cloud.ledger.group_commit` share one commit among many postings.
"""

# ruff: noqa: S608  -- the only text formatted into SQL here is the constant POSTING_COLUMNS

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from psycopg.rows import namedtuple_row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.errors import Conflict, LedgerIntegrityError, PeriodClosed, ValidationFailed
from cloud.ledger.accounts import account_currencies
from cloud.ledger.chain_lock import lock_chain_head
from cloud.ledger.domain import PostingKind, PostingRequest, StoredPosting, chain_hash, same_content
from cloud.ledger.driver import fetch, fetch_meanwhile

#: Most postings one bulk call takes; the sync layer splits larger journal batches.
BULK_MAX = 10_000

#: SQLSTATEs raised by the ledger's triggers (see the migration).
SQLSTATE_PERIOD_CLOSED = "QL002"
SQLSTATE_APPEND_ONLY = "QL001"

POSTING_COLUMNS = (
    "seq, idempotency_key, kind, debit_account_id, credit_account_id, amount_cents, currency, "
    "effective_at, posted_at, memo, hash"
)

_BY_KEYS = (
    f"SELECT {POSTING_COLUMNS} FROM ledger_postings WHERE idempotency_key = ANY(CAST(%(keys)s AS text[]))"
)
# The postings arrive as one JSON array of objects named like the columns (msgspec writes it from
# the StoredPosting dataclasses in C; psycopg's array adapters spent more time than the chaining).
_APPEND_CTES = f"""
    WITH incoming AS MATERIALIZED (
        SELECT * FROM json_to_recordset(CAST(%(postings)s AS json)) AS p(
            seq bigint, idempotency_key text, kind text, debit_account_id bigint,
            credit_account_id bigint, amount_cents bigint, currency text, effective_at timestamptz,
            posted_at timestamptz, memo text, hash text)
    ), clash AS (
        SELECT EXISTS (
            SELECT 1 FROM ledger_postings WHERE idempotency_key IN (SELECT idempotency_key FROM incoming)
        ) AS found
    ), inserted AS (
        INSERT INTO ledger_postings ({POSTING_COLUMNS})
        SELECT seq, idempotency_key, kind, debit_account_id, credit_account_id, amount_cents, currency,
               effective_at, posted_at, memo, decode(hash, 'base64')
        FROM incoming
        WHERE NOT (SELECT found FROM clash)
        ORDER BY seq
        RETURNING seq
    ), moved AS (
        UPDATE ledger_accounts AS account
        SET balance_cents = account.balance_cents + delta.cents, last_seq = delta.last_seq
        FROM unnest(CAST(%(account_ids)s AS bigint[]), CAST(%(deltas)s AS bigint[]),
                    CAST(%(last_seqs)s AS bigint[]))
             AS delta(account_id, cents, last_seq)
        WHERE account.id = delta.account_id AND NOT (SELECT found FROM clash)
        RETURNING account.id, account.balance_cents
    ), head AS (
        UPDATE ledger_chain_head SET seq = %(last_seq)s, hash = %(last_hash)s
        WHERE id = 1 AND NOT (SELECT found FROM clash)
        RETURNING seq
    )
"""
# One audit record per audited posting, with the audited account's exact balances around that
# posting: its balance after the whole statement, less what later postings of the same call moved.
_AUDIT_CTE = """
    , audit AS (
        INSERT INTO audit_records (actor_user_id, actor_role, source_address, reason, action,
                                   subject_type, subject_id, estate_id, before, after)
        SELECT a.user_id, a.role, a.source, a.reason, a.action, a.subject_type, a.subject_id, a.estate_id,
               a.fields || jsonb_build_object(
                   'balance_cents', moved.balance_cents - a.later_cents - a.delta_cents),
               a.fields || jsonb_build_object(
                   'balance_cents', moved.balance_cents - a.later_cents, 'posting_seq', a.seq,
                   'amount_cents', abs(a.delta_cents))
        FROM unnest(
            CAST(%(audit_seq)s AS bigint[]), CAST(%(audit_account)s AS bigint[]),
            CAST(%(audit_delta)s AS bigint[]), CAST(%(audit_later)s AS bigint[]),
            CAST(%(audit_user_id)s AS bigint[]), CAST(%(audit_role)s AS text[]),
            CAST(%(audit_source)s AS text[]), CAST(%(audit_reason)s AS text[]),
            CAST(%(audit_action)s AS text[]), CAST(%(audit_subject_type)s AS text[]),
            CAST(%(audit_subject_id)s AS text[]), CAST(%(audit_estate_id)s AS bigint[]),
            CAST(%(audit_fields)s AS jsonb[]))
            AS a(seq, account_id, delta_cents, later_cents, user_id, role, source, reason, action,
                 subject_type, subject_id, estate_id, fields)
        JOIN moved ON moved.id = a.account_id
        ORDER BY a.seq
        RETURNING id
    )
"""
_APPEND_RESULT = """
    SELECT (SELECT found FROM clash), (SELECT count(*) FROM inserted), (SELECT count(*) FROM head),
           moved.id, moved.balance_cents
    FROM (SELECT 1) AS one LEFT JOIN moved ON true
"""
_APPEND = _APPEND_CTES + _AUDIT_CTE + _APPEND_RESULT


@dataclass(frozen=True, slots=True)
class BalanceAudit:
    """An audit record the posting statement writes itself for one posting, with exact balances.

    Written only when the call creates the posting, in the same statement (so it costs the chain
    lock no extra round trip). ``fields`` go into both ``before`` and ``after``; the statement adds
    the balance of ``account_id`` just before and just after the posting as ``balance_cents``, and
    ``posting_seq`` and ``amount_cents`` to ``after``.
    """

    actor: Actor
    action: str
    subject: tuple[str, object]
    estate_id: int | None
    account_id: int
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PostingResult:
    """The stored posting for a request, and whether this call created it (False: a repeat)."""

    posting: StoredPosting
    created: bool


@dataclass(frozen=True, slots=True)
class PostedBatch:
    """One result per request, in request order, and the new balance of every account moved."""

    results: tuple[PostingResult, ...]
    balances_after: Mapping[int, int]

    @property
    def created_count(self) -> int:
        """How many postings this call added to the ledger."""
        return sum(1 for result in self.results if result.created)


async def post(
    session: AsyncSession, request: PostingRequest, *, audit: BalanceAudit | None = None
) -> PostedBatch:
    """Post one movement, or return the original posting if its key was already used.

    Raises :class:`Conflict` if the key was used for different content, :class:`PeriodClosed` if
    it is dated in a closed period (the database trigger decides, naming the posting and period),
    :class:`ValidationFailed` for unknown accounts or currencies.
    """
    audits = {request.idempotency_key: audit} if audit is not None else None
    return await post_many(session, [request], audits=audits)


async def post_many(
    session: AsyncSession,
    requests: Sequence[PostingRequest],
    *,
    audits: Mapping[str, BalanceAudit] | None = None,
    expect_new: bool = False,
    meanwhile: Callable[[], None] | None = None,
) -> PostedBatch:
    """Post a batch in the caller's transaction, all or nothing; repeats return their originals.

    Requests repeating a key within the batch with identical content collapse into one posting.
    A batch of nothing but repeats is answered without taking the chain lock. ``audits`` (by
    idempotency key) are written for the postings this call creates. ``expect_new``: the caller
    expects no repeats (a journal batch the gateway never sent before, a group of new top-ups),
    so the keys are not looked up before the lock; a repeat is still found, under the lock, by
    the append statement, at the cost of a second look.

    ``meanwhile``: CPU work of the caller's (no I/O on the session) done while the server runs the
    append statement, so the two overlap; called exactly once when this returns normally (at once
    when there is nothing to append).
    """
    if len(requests) > BULK_MAX:
        raise ValidationFailed(f"batch of {len(requests)} postings: at most {BULK_MAX} per call; split it")
    if not requests:
        _call(meanwhile)
        return PostedBatch((), {})
    unique = _unique_by_key(requests)
    audits = audits or {}
    await _check_accounts(session, unique.values())
    stored: dict[str, PostingResult] = {}
    fresh = list(unique.values())
    if not expect_new:
        stored, fresh = _sort_out(unique, await _existing(session, list(unique)))
    balances: dict[int, int] = {}
    if fresh:
        head = await lock_chain_head(session)
        appended = await _append(session, _chain(fresh, head), audits, meanwhile)
        if appended is None:
            # A key was already used (committed by another writer after our look, or not looked
            # for: ``expect_new``); under the lock the check is final.
            stored, fresh = _sort_out(unique, await _existing(session, list(unique)))
            appended = await _append(session, _chain(fresh, head), audits) if fresh else ([], {})
        assert appended is not None, "a key appeared while this transaction held the chain lock"
        postings, balances = appended
        stored |= {posting.idempotency_key: PostingResult(posting, created=True) for posting in postings}
    else:
        _call(meanwhile)
    return PostedBatch(tuple(stored[request.idempotency_key] for request in requests), balances)


def _call(meanwhile: Callable[[], None] | None) -> None:
    if meanwhile is not None:
        meanwhile()


def _sort_out(
    unique: Mapping[str, PostingRequest], existing: Mapping[str, StoredPosting]
) -> tuple[dict[str, PostingResult], list[PostingRequest]]:
    """Repeats answered by their originals, and the requests still to post (reused keys refused)."""
    answered: dict[str, PostingResult] = {}
    fresh: list[PostingRequest] = []
    for key, request in unique.items():
        original = existing.get(key)
        if original is None:
            fresh.append(request)
        elif same_content(request, original):
            answered[key] = PostingResult(original, created=False)
        else:
            raise Conflict(reuse_message(request, original))
    return answered, fresh


def _chain(requests: list[PostingRequest], head: tuple[int, bytes]) -> list[StoredPosting]:
    """Number and hash the requests onto the chain after ``head`` (its seq and hash)."""
    now = datetime.now(UTC)
    head_seq, head_hash = head
    postings = []
    for offset, request in enumerate(requests, start=1):
        posting = _chained(request, head_seq + offset, head_hash, now)
        head_hash = posting.hash
        postings.append(posting)
    return postings


def _unique_by_key(requests: Sequence[PostingRequest]) -> dict[str, PostingRequest]:
    unique: dict[str, PostingRequest] = {}
    for request in requests:
        seen = unique.setdefault(request.idempotency_key, request)
        if seen != request:
            raise Conflict(
                f"idempotency key {request.idempotency_key!r} appears twice in one batch with different "
                "content; give each distinct posting its own key"
            )
    return unique


async def _check_accounts(session: AsyncSession, batch: Collection[PostingRequest]) -> None:
    ids = {r.debit_account_id for r in batch} | {r.credit_account_id for r in batch}
    currencies = await account_currencies(session, ids)
    for request in batch:
        for side, account_id in (("debit", request.debit_account_id), ("credit", request.credit_account_id)):
            currency = currencies.get(account_id)
            if currency is None:
                raise ValidationFailed(
                    f"posting {request.idempotency_key}: {side} account {account_id} does not exist"
                )
            if currency != request.currency:
                raise ValidationFailed(
                    f"posting {request.idempotency_key}: {side} account {account_id} holds {currency}, "
                    f"not {request.currency}; convert currency with two postings through a clearing account"
                )


async def _existing(session: AsyncSession, keys: list[str]) -> dict[str, StoredPosting]:
    rows = await fetch(session, _BY_KEYS, {"keys": keys}, row_factory=namedtuple_row)
    postings = [stored_posting(row) for row in rows]
    return {posting.idempotency_key: posting for posting in postings}


def stored_posting(row: Any) -> StoredPosting:
    """A :class:`StoredPosting` from a row (SQLAlchemy's or psycopg's named tuple) selected with
    :data:`POSTING_COLUMNS`."""
    return StoredPosting(
        seq=row.seq,
        idempotency_key=row.idempotency_key,
        kind=PostingKind(row.kind),
        debit_account_id=row.debit_account_id,
        credit_account_id=row.credit_account_id,
        amount_cents=row.amount_cents,
        currency=row.currency,
        effective_at=row.effective_at,
        posted_at=row.posted_at,
        memo=row.memo,
        hash=bytes(row.hash),
    )


def _chained(request: PostingRequest, seq: int, previous_hash: bytes, now: datetime) -> StoredPosting:
    content = (
        seq,
        request.idempotency_key,
        request.kind,
        request.debit_account_id,
        request.credit_account_id,
        request.amount_cents,
        request.currency,
        (request.effective_at or now).astimezone(UTC),
        now,
        request.memo,
    )
    # Built twice rather than copied with dataclasses.replace, which costs more than hashing.
    return StoredPosting(*content, hash=chain_hash(previous_hash, StoredPosting(*content, hash=b"")))


async def _append(
    session: AsyncSession,
    postings: list[StoredPosting],
    audits: Mapping[str, BalanceAudit],
    meanwhile: Callable[[], None] | None = None,
) -> tuple[list[StoredPosting], dict[int, int]] | None:
    """Insert the postings, move the balances, advance the head: one statement, run under the lock.

    The statement first looks for the postings' keys in its own snapshot, taken after the lock was
    granted; if any is there it writes nothing and this returns ``None``.
    """
    deltas: defaultdict[int, int] = defaultdict(int)
    last_seqs: dict[int, int] = {}
    for p in postings:
        deltas[p.debit_account_id] -= p.amount_cents
        deltas[p.credit_account_id] += p.amount_cents
        last_seqs[p.debit_account_id] = last_seqs[p.credit_account_id] = p.seq
    params = {
        "postings": msgspec.json.encode(postings).decode(),
        "account_ids": list(deltas),
        "deltas": list(deltas.values()),
        "last_seqs": [last_seqs[account_id] for account_id in deltas],
        "last_seq": postings[-1].seq,
        "last_hash": postings[-1].hash,
    } | _audit_params(postings, audits)
    try:
        if meanwhile is None:
            rows = await fetch(session, _APPEND, params)
        else:
            rows = await fetch_meanwhile(session, _APPEND, params, meanwhile)
    except DBAPIError as error:
        raise _ledger_error(error) from error
    if rows[0][0]:
        return None
    assert rows[0][1] == len(postings) and rows[0][2] == 1, "append statement did not apply fully"
    return postings, {row[3]: row[4] for row in rows}


def _audit_params(postings: Sequence[StoredPosting], audits: Mapping[str, BalanceAudit]) -> dict[str, Any]:
    """The audit CTE's arrays: per audited posting, its move of the audited account and what the
    postings after it in this call move that account (walked backwards, so each is one addition)."""
    later: defaultdict[int, int] = defaultdict(int)
    rows: list[tuple[StoredPosting, BalanceAudit, int, int]] = []
    for posting in reversed(postings):
        audit = audits.get(posting.idempotency_key)
        if audit is not None:
            delta = _move(posting, audit.account_id)
            if delta == 0:
                raise ValueError(
                    f"audit of account {audit.account_id}, which posting {posting.seq} does not move"
                )
            rows.append((posting, audit, delta, later[audit.account_id]))
        later[posting.debit_account_id] -= posting.amount_cents
        later[posting.credit_account_id] += posting.amount_cents
    rows.reverse()
    return {
        "audit_seq": [posting.seq for posting, *_ in rows],
        "audit_account": [audit.account_id for _, audit, *_ in rows],
        "audit_delta": [delta for *_, delta, _ in rows],
        "audit_later": [later_cents for *_, later_cents in rows],
        "audit_user_id": [audit.actor.user_id for _, audit, *_ in rows],
        "audit_role": [audit.actor.role for _, audit, *_ in rows],
        "audit_source": [audit.actor.source_address for _, audit, *_ in rows],
        "audit_reason": [audit.actor.reason for _, audit, *_ in rows],
        "audit_action": [audit.action for _, audit, *_ in rows],
        "audit_subject_type": [audit.subject[0] for _, audit, *_ in rows],
        "audit_subject_id": [str(audit.subject[1]) for _, audit, *_ in rows],
        "audit_estate_id": [audit.estate_id for _, audit, *_ in rows],
        "audit_fields": [json.dumps(dict(audit.fields)) for _, audit, *_ in rows],
    }


def _move(posting: StoredPosting, account_id: int) -> int:
    """What ``posting`` adds to the balance of ``account_id`` (credits add, debits take away)."""
    if account_id == posting.credit_account_id:
        return posting.amount_cents
    if account_id == posting.debit_account_id:
        return -posting.amount_cents
    return 0


def _ledger_error(error: DBAPIError) -> Exception:
    sqlstate = getattr(error.orig, "sqlstate", None)
    message = str(getattr(getattr(error.orig, "diag", None), "message_primary", error))
    if sqlstate == SQLSTATE_PERIOD_CLOSED:
        return PeriodClosed(f"{message}; post the correction with a date in an open period")
    if sqlstate == SQLSTATE_APPEND_ONLY:
        return LedgerIntegrityError(message)
    return error


def reuse_message(request: PostingRequest, original: StoredPosting) -> str:
    return (
        f"idempotency key {request.idempotency_key!r} was already used for posting {original.seq} "
        f"({original.kind}, {original.amount_cents} cents from account {original.debit_account_id} to "
        f"{original.credit_account_id}); a retry must repeat the same content, a new posting needs a new key"
    )
