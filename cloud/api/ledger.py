"""The books: closed accounting periods, corrections to a pocket, and an estate's transactions.

Closing a period is the platform operator's (it locks every estate's postings, for good);
adjustments are the estate's managing agent's; an estate's transactions are read by those who
keep or oversee its books (managing agents, body corporates).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, Response, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from cloud.api.estates import PathId
from cloud.api.ledger_schemas import (
    AdjustmentCreate,
    AdjustmentOut,
    ClosedPeriodOut,
    EstateTransactionPage,
    PeriodClose,
    adjustment_out,
    closed_period_out,
    estate_transaction_out,
)
from cloud.api.money_schemas import transaction_out
from cloud.api.payments import IdempotencyKey
from cloud.api.schemas import ID_MAX
from cloud.api.statements import PAGE_MAX, estate_postings
from cloud.auth.dependencies import Caller, DbSession
from cloud.auth.errors import PermissionDenied
from cloud.auth.permissions import Kind, Permission
from cloud.errors import NotFound, ValidationFailed
from cloud.estates.services import get_estate
from cloud.ledger import periods
from cloud.ledger.domain import PostingKind
from cloud.wallets.adjustments import adjust_pocket
from cloud.wallets.services import get_pocket
from shared.quantities import Utility


class ClosedPeriodController(Controller):
    """Closed accounting periods: platform-wide, irreversible."""

    path = "/api/v1/ledger/closed-periods"
    tags = ("ledger",)

    @get(summary="List closed periods")
    async def list_periods(self, db: DbSession, principal: Caller) -> list[ClosedPeriodOut]:
        """Every closed period, earliest first: no posting may be dated inside any of them."""
        principal.require_kind(Kind.LEDGER, "closed periods")
        return [closed_period_out(p) for p in await periods.list_closed_periods(db)]

    @post(summary="Close a period")
    async def close(self, db: DbSession, principal: Caller, data: JSONBody[PeriodClose]) -> ClosedPeriodOut:
        """Super admins only. Closes [starts_at, ends_at) for every estate, for good: 201 with the
        period; 422 if it has not ended yet, runs backwards or spans over 366 days; 409 if it overlaps
        (or repeats) a closed period, which the message names. Audited with ``reason``."""
        principal.require_kind(Kind.LEDGER, "closed periods")
        principal.require(Permission.LEDGER_CLOSE)
        if principal.scope.estate_ids is not None:
            raise PermissionDenied("closing a period locks every estate: only a platform administrator may")
        period = await periods.close_period(
            db, data.starts_at, data.ends_at, principal.actor(data.reason.strip()), now=datetime.now(UTC)
        )
        return closed_period_out(period)


class AdjustmentController(Controller):
    """Corrections to a pocket against suspense: a new posting, never an edit."""

    path = "/api/v1/pockets/{pocket_id:int}/adjustments"
    tags = ("payments",)

    @post(summary="Adjust a pocket")
    async def adjust(
        self,
        db: DbSession,
        principal: Caller,
        pocket_id: PathId,
        data: JSONBody[AdjustmentCreate],
        idempotency_key: IdempotencyKey,
    ) -> Response[AdjustmentOut]:
        """Credits (``amount_cents`` > 0) or debits (< 0) the pocket against suspense, with
        ``reason`` as the posting's memo and in the audit trail: 201 when posted, 200 for a repeat of
        the same key, 409 when the key was used for a different adjustment or ``effective_at`` lies
        in a closed period. The gateways get the new balance at once."""
        pocket = await get_pocket(db, principal.scope, pocket_id)
        principal.require(Permission.MONEY_ADJUST)
        effective_at = data.effective_at
        if effective_at is not None:
            _check_past("effective_at", effective_at)
        adjustment = await adjust_pocket(
            db,
            principal.scope,
            principal.actor(data.reason.strip()),
            pocket_id,
            amount_cents=data.amount_cents,
            idempotency_key=f"{pocket_id}:{idempotency_key.strip()}",
            effective_at=effective_at,
        )
        body = adjustment_out(adjustment, transaction_out(adjustment.posting, pocket.account_id))
        return Response(body, status_code=201 if adjustment.created else 200)


class EstateTransactionController(Controller):
    """Every posting touching an estate's accounts: its books in one list."""

    path = "/api/v1/estates/{estate_id:int}/transactions"
    tags = ("ledger",)

    @get(summary="List an estate's transactions")
    async def transactions(
        self,
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        *,
        from_date: Annotated[
            date | None, QueryParameter(name="from", description="first day, in the estate's time zone")
        ] = None,
        to_date: Annotated[
            date | None,
            QueryParameter(name="to", description="last day (included), in the estate's time zone"),
        ] = None,
        utility: FromQuery[Utility | None] = None,
        pocket_id: Annotated[
            int | None, QueryParameter(ge=1, le=ID_MAX, description="only this pocket's postings")
        ] = None,
        kind: FromQuery[PostingKind | None] = None,
        after_seq: Annotated[
            int, QueryParameter(ge=0, le=ID_MAX, description="cursor: the last seq seen")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_MAX)] = 50,
    ) -> EstateTransactionPage:
        """Postings moving any of the estate's accounts (pockets, revenue, bank, levies,
        settlements), oldest first, each with both sides. ``utility`` keeps that utility's pockets
        and revenue. Follow ``next_after_seq`` for the next page; it is null on the last page."""
        principal.require_kind(Kind.LEDGER, f"estate {estate_id}")
        estate = await get_estate(db, principal.scope, estate_id)
        if pocket_id is not None:
            await _estate_pocket(db, principal, estate_id, pocket_id)
        since, until = _day_bounds(from_date, to_date, ZoneInfo(estate.time_zone))
        found = await estate_postings(
            db,
            estate_id,
            after_seq=after_seq,
            limit=limit,
            kind=kind,
            since=since,
            until=until,
            pocket_id=pocket_id,
            utility=utility.value if utility else None,
        )
        next_after = found[-1].posting.seq if len(found) == limit else None
        return EstateTransactionPage([estate_transaction_out(f) for f in found], next_after)


def _check_past(name: str, moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise ValidationFailed(f"{name}: give a time zone, e.g. 2026-10-15T12:00:00+02:00")
    if moment > datetime.now(UTC):
        raise ValidationFailed(f"{name}: {moment.isoformat()} is in the future; date it now or earlier")
    if moment < periods.EARLIEST:
        raise ValidationFailed(f"{name}: {moment.isoformat()} is before {periods.EARLIEST.date()}")


async def _estate_pocket(db: DbSession, principal: Caller, estate_id: int, pocket_id: int) -> None:
    # The same answer whether the pocket is elsewhere or nowhere: nothing to learn by probing.
    try:
        pocket = await get_pocket(db, principal.scope, pocket_id)
    except NotFound:
        pocket = None
    if pocket is None or pocket.estate_id != estate_id:
        raise ValidationFailed(f"pocket_id: estate {estate_id} has no pocket {pocket_id}")


def _day_bounds(
    first: date | None, last: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """[start of ``first``, end of ``last``) in the estate's time zone; either may be open."""
    if first is not None and last is not None and last < first:
        raise ValidationFailed(f"to: {last.isoformat()} is before from {first.isoformat()}")
    since = datetime.combine(first, time(), zone) if first is not None else None
    until = None
    if last is not None and last < date.max:
        until = datetime.combine(last + timedelta(days=1), time(), zone)
    return since, until
