"""Transactions of a pocket, or of a whole estate, filtered by date range and kind, paged by a
``seq`` cursor (a posting's place in the chain: unique, never reused, always increasing)."""

# ruff: noqa: S608  -- the only text formatted into SQL here is constants (POSTING_COLUMNS, _SIDE)

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.ledger.domain import PostingKind, StoredPosting
from cloud.ledger.posting import POSTING_COLUMNS, stored_posting

#: Largest page the API serves; a client wanting more follows the cursor.
PAGE_MAX = 200

_PAGE = text(
    f"SELECT {POSTING_COLUMNS} FROM ledger_postings "
    "WHERE (debit_account_id = :account OR credit_account_id = :account) AND seq > :after "
    "AND (CAST(:kind AS text) IS NULL OR kind = :kind) "
    "AND (CAST(:since AS timestamptz) IS NULL OR effective_at >= :since) "
    "AND (CAST(:until AS timestamptz) IS NULL OR effective_at < :until) "
    "ORDER BY seq LIMIT :limit"
)


async def account_postings(
    session: AsyncSession,
    account_id: int,
    *,
    after_seq: int,
    limit: int,
    kind: PostingKind | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[StoredPosting]:
    """Postings moving ``account_id`` after ``after_seq``, oldest first; dates filter ``effective_at``
    over [since, until)."""
    params = {
        "account": account_id,
        "after": after_seq,
        "kind": kind.value if kind else None,
        "since": since,
        "until": until,
        "limit": min(limit, PAGE_MAX),
    }
    return [stored_posting(row) for row in await session.execute(_PAGE, params)]


@dataclass(frozen=True, slots=True)
class AccountSide:
    """One side of a posting as an estate's books show it; ``code`` is withheld (``None``) for an
    account of another estate, ``pocket_id`` set for a wallet pocket."""

    account_id: int
    code: str | None
    kind: str
    pocket_id: int | None


@dataclass(frozen=True, slots=True)
class EstatePosting:
    """A posting touching an estate's accounts, with both sides named."""

    posting: StoredPosting
    debit: AccountSide
    credit: AccountSide


# Which of the estate's accounts a filter keeps: every one, one pocket's, or one utility's (its
# pockets and its revenue account; a shared pocket's charges show through the revenue side).
_ESTATE_ACCOUNTS = text(
    "SELECT a.id FROM ledger_accounts a LEFT JOIN pockets p ON p.account_id = a.id "
    "WHERE a.estate_id = :estate "
    "AND (CAST(:pocket AS bigint) IS NULL OR p.id = CAST(:pocket AS bigint)) "
    "AND (CAST(:utility AS text) IS NULL OR p.name = CAST(:utility AS text) "
    "     OR (a.kind = 'revenue' "
    "         AND a.code = 'revenue:' || CAST(:estate AS text) || ':' || CAST(:utility AS text)))"
)
_SIDE = (
    "{a}.id AS {a}_id, CASE WHEN {a}.estate_id IS NULL OR {a}.estate_id = :estate THEN {a}.code END "
    "AS {a}_code, {a}.kind AS {a}_kind, {p}.id AS {a}_pocket_id"
)
_ESTATE_PAGE = text(
    f"SELECT {', '.join('lp.' + c.strip() for c in POSTING_COLUMNS.split(','))}, "
    f"{_SIDE.format(a='d', p='dp')}, {_SIDE.format(a='c', p='cp')} "
    "FROM ledger_postings lp "
    "JOIN ledger_accounts d ON d.id = lp.debit_account_id "
    "JOIN ledger_accounts c ON c.id = lp.credit_account_id "
    "LEFT JOIN pockets dp ON dp.account_id = d.id LEFT JOIN pockets cp ON cp.account_id = c.id "
    "WHERE (lp.debit_account_id = ANY(:accounts) OR lp.credit_account_id = ANY(:accounts)) "
    "AND lp.seq > :after "
    "AND (CAST(:kind AS text) IS NULL OR lp.kind = :kind) "
    "AND (CAST(:since AS timestamptz) IS NULL OR lp.effective_at >= :since) "
    "AND (CAST(:until AS timestamptz) IS NULL OR lp.effective_at < :until) "
    "ORDER BY lp.seq LIMIT :limit"
)


async def estate_postings(
    session: AsyncSession,
    estate_id: int,
    *,
    after_seq: int,
    limit: int,
    kind: PostingKind | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    pocket_id: int | None = None,
    utility: str | None = None,
) -> Sequence[EstatePosting]:
    """Postings touching the estate's accounts after ``after_seq``, oldest first; dates filter
    ``effective_at`` over [since, until); ``pocket_id``/``utility`` narrow the accounts."""
    accounts = list(
        await session.scalars(
            _ESTATE_ACCOUNTS, {"estate": estate_id, "pocket": pocket_id, "utility": utility}
        )
    )
    if not accounts:
        return []
    params = {
        "estate": estate_id,
        "accounts": accounts,
        "after": after_seq,
        "kind": kind.value if kind else None,
        "since": since,
        "until": until,
        "limit": min(limit, PAGE_MAX),
    }
    rows = await session.execute(_ESTATE_PAGE, params)
    return [
        EstatePosting(
            stored_posting(row),
            AccountSide(row.d_id, row.d_code, row.d_kind, row.d_pocket_id),
            AccountSide(row.c_id, row.c_code, row.c_kind, row.c_pocket_id),
        )
        for row in rows
    ]
