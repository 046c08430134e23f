"""Group commit: single postings that wait for the chain head share one transaction and one flush.

Why: a transaction that posts holds the chain lock until its COMMIT has been flushed to disk
(about 3 ms on this project's benchmark machine), so one-posting transactions queue one flush
each: 16 concurrent top-ups of one wallet waited ~50 ms. Here one holder task per engine and
event loop takes every posting waiting at that moment (at most :data:`GROUP_MAX`), chains them in
one step, writes each one's audit record in the same statement, runs their follow-ups (the push
to the gateways) and commits once; then each caller gets its own result.

The group runs on a connection of its own (a one-connection engine beside the caller's), so
callers holding every pooled connection while they wait cannot starve it. A posting the group
cannot take (a key reused with other content, an unknown account, a closed period) must fail
alone: when a group fails, its postings are retried one per transaction and each caller gets
its own outcome. Everything the ledger guarantees still holds, because the group posts through
:func:`cloud.ledger.posting.post_many` under the same chain lock.

A caller whose transaction has already written something keeps posting inside it (see
:func:`post_promptly`): its writes and the posting must commit or roll back together, and its
transaction may hold the chain lock or rows the posting refers to, which the group would wait for.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from cloud.database.session import LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, transaction
from cloud.errors import Conflict
from cloud.ledger.domain import PostingRequest, same_content
from cloud.ledger.driver import fetch, nothing_sent_yet
from cloud.ledger.posting import BalanceAudit, PostingResult, post, post_many, reuse_message

#: Most postings one group transaction takes; the rest wait for the next group.
GROUP_MAX = 500
#: Most postings waiting for a group at once; further callers wait for room before queueing.
WAITING_MAX = 20_000

# A transaction that has written anything has a transaction id; one that has only read has none.
_HAS_WRITTEN = "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Work that must commit with a posting, run in its transaction once it is created.

    Follow-ups with equal ``key`` run once per group, after all its postings (so a push of a
    pocket's balance is sent once, with the balance after every top-up of the group).
    """

    key: Hashable
    run: Callable[[AsyncSession], Awaitable[object]]


async def post_promptly(
    session: AsyncSession,
    request: PostingRequest,
    *,
    audit: BalanceAudit | None = None,
    follow_up: FollowUp | None = None,
) -> PostingResult:
    """Post one movement durably now, through the group writer when the caller's transaction has
    written nothing yet; otherwise inside that transaction, as :func:`post` does.

    Through the group the posting is committed when this returns, whatever the caller's
    transaction does next; a retry with the same key is answered as a repeat.
    """
    engine = session.bind
    if not isinstance(engine, AsyncEngine) or await _has_written(session):
        result = (await post(session, request, audit=audit)).results[0]
        if result.created and follow_up is not None:
            await follow_up.run(session)
        return result
    return await writer_for(engine).post(request, audit, follow_up)


async def _has_written(session: AsyncSession) -> bool:
    if session.new or session.dirty or session.deleted:
        return True
    if await nothing_sent_yet(session):
        return False
    [(written,)] = await fetch(session, _HAS_WRITTEN)
    return bool(written)


@dataclass(slots=True)
class _Waiting:
    request: PostingRequest
    audit: BalanceAudit | None
    follow_up: FollowUp | None
    future: asyncio.Future[PostingResult] = field(repr=False)


class ChainWriter:
    """The holder of one engine's group commits in one event loop (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}"
        self._engine = create_async_engine(
            engine.url, pool_size=1, max_overflow=0, connect_args={"options": options}
        )
        self._waiting: list[_Waiting] = []
        self._holder: asyncio.Task[None] | None = None
        self._room = asyncio.Semaphore(WAITING_MAX)

    async def post(
        self, request: PostingRequest, audit: BalanceAudit | None, follow_up: FollowUp | None
    ) -> PostingResult:
        """Queue the posting for the next group and wait until that group has committed."""
        async with self._room:
            future: asyncio.Future[PostingResult] = asyncio.get_running_loop().create_future()
            self._waiting.append(_Waiting(request, audit, follow_up, future))
            if self._holder is None or self._holder.done():
                self._holder = asyncio.create_task(self._hold(), name="ledger group commit")
            return await future

    async def _hold(self) -> None:
        while self._waiting:
            # Let the callers the last group answered run first: those posting again at once join
            # this group instead of waiting a whole commit behind a group of one.
            await asyncio.sleep(0)
            group, self._waiting = self._waiting[:GROUP_MAX], self._waiting[GROUP_MAX:]
            # A caller that stopped waiting before its group started is not posted.
            group = [waiting for waiting in group if not waiting.future.done()]
            if group:
                await self._commit(group)

    async def _commit(self, group: list[_Waiting]) -> None:
        if len(group) == 1:
            await self._commit_alone(group[0])
            return
        try:
            outcomes = await self._post_group(group)
        except Exception:  # one bad posting must not fail the others: retry alone
            for waiting in group:
                await self._commit_alone(waiting)
            return
        for waiting, result in zip(group, outcomes, strict=True):
            _settle(waiting, result)

    async def _commit_alone(self, waiting: _Waiting) -> None:
        try:
            [result] = await self._post_group([waiting])
        except Exception as error:  # the caller gets its own error
            if not waiting.future.done():
                waiting.future.set_exception(error)
            return
        _settle(waiting, result)

    async def _post_group(self, group: list[_Waiting]) -> list[PostingResult | Exception]:
        firsts: dict[str, _Waiting] = {}
        for waiting in group:
            firsts.setdefault(waiting.request.idempotency_key, waiting)
        audits = {key: w.audit for key, w in firsts.items() if w.audit is not None}
        async with transaction(self._engine) as session:
            requests = [w.request for w in firsts.values()]
            batch = await post_many(session, requests, audits=audits, expect_new=True)
            results = dict(zip(firsts, batch.results, strict=True))
            follow_ups = {
                w.follow_up.key: w.follow_up
                for key, w in firsts.items()
                if w.follow_up is not None and results[key].created
            }
            for follow_up in follow_ups.values():
                await follow_up.run(session)
        return [_outcome(waiting, firsts, results) for waiting in group]


def _outcome(
    waiting: _Waiting, firsts: dict[str, _Waiting], results: dict[str, PostingResult]
) -> PostingResult | Exception:
    """The result for one caller; a later caller with the same key as another in the group is a
    repeat of it (or refused, if it asked for something else)."""
    key = waiting.request.idempotency_key
    result = results[key]
    if firsts[key] is waiting:
        return result
    if not same_content(waiting.request, result.posting):
        return Conflict(reuse_message(waiting.request, result.posting))
    return PostingResult(result.posting, created=False)


def _settle(waiting: _Waiting, outcome: PostingResult | Exception) -> None:
    if waiting.future.done():
        return
    if isinstance(outcome, Exception):
        waiting.future.set_exception(outcome)
    else:
        waiting.future.set_result(outcome)


# One writer per engine and event loop: futures and tasks belong to the loop they were made in.
_WRITERS: weakref.WeakKeyDictionary[AsyncEngine, dict[asyncio.AbstractEventLoop, ChainWriter]] = (
    weakref.WeakKeyDictionary()
)


def writer_for(engine: AsyncEngine) -> ChainWriter:
    """The group writer of ``engine`` in the running event loop, created on first use."""
    loop = asyncio.get_running_loop()
    by_loop = _WRITERS.get(engine)
    if by_loop is None:
        by_loop = _WRITERS[engine] = {}
        _close_with(engine, by_loop)
    writer = by_loop.get(loop)
    if writer is None:
        writer = by_loop[loop] = ChainWriter(engine)
    return writer


def _close_with(engine: AsyncEngine, by_loop: dict[asyncio.AbstractEventLoop, ChainWriter]) -> None:
    """Dispose the writers' own connections when ``engine`` is disposed."""

    def disposed(_: object) -> None:
        # Runs inside AsyncEngine.dispose's greenlet, so the writers' engines can dispose in step.
        for writer in by_loop.values():
            writer._engine.sync_engine.dispose()
        by_loop.clear()

    event.listen(engine.sync_engine, "engine_disposed", disposed)
