"""Closed accounting periods: once closed, no posting may be dated inside them, ever.

Periods are platform-wide (the ledger is one hash chain across every estate), half-open
[starts_at, ends_at), and may not overlap: closing is irreversible, so a request that touches a
period already closed is refused with that period named, never silently merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, ValidationFailed
from cloud.ledger.chain_lock import lock_chain_head
from cloud.ledger.models import ClosedPeriod

#: Longest period one call may close; a typo in a year should not lock a decade.
PERIOD_MAX_DAYS = 366
#: No posting predates this, so no period to close does; it also keeps every bound a time the
#: database and Python both represent in any zone.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: Most periods one listing returns (a hundred years of months fits twelve times over).
LIST_MAX = 1_000


async def close_period(
    session: AsyncSession,
    starts_at: datetime,
    ends_at: datetime,
    actor: Actor,
    *,
    now: datetime | None = None,
) -> ClosedPeriod:
    """Close [starts_at, ends_at) for posting, and audit who closed it and why.

    Takes the chain-head lock first, so no posting transaction can be inserting into the period
    while it closes. A period that overlaps one already closed (or repeats it) is a
    :class:`Conflict` naming it. Given ``now`` (the CLI and API always give it), a period that has
    not ended yet is refused: closing is for the past, and it cannot be undone.
    """
    _check_range(starts_at, ends_at)
    if now is not None and ends_at > now:
        raise ValidationFailed(
            f"period: it ends {ends_at.isoformat()}, which is still ahead (now {now.isoformat()}); "
            "close a period once it is over"
        )
    if not actor.reason.strip():
        raise ValidationFailed("reason: say why the period is closed (it is kept in the audit trail)")
    await lock_chain_head(session)
    await _refuse_overlap(session, starts_at, ends_at)
    period = (
        await session.scalars(
            insert(ClosedPeriod)
            .values(
                starts_at=starts_at, ends_at=ends_at, closed_by_user_id=actor.user_id, reason=actor.reason
            )
            .returning(ClosedPeriod)
        )
    ).one()
    await record(
        session,
        actor,
        "ledger.close_period",
        ("closed_period", period.id),
        estate_id=None,
        before=None,
        after={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
    )
    return period


async def list_closed_periods(session: AsyncSession) -> Sequence[ClosedPeriod]:
    """Every closed period, earliest first."""
    query = select(ClosedPeriod).order_by(ClosedPeriod.starts_at).limit(LIST_MAX)
    return (await session.scalars(query)).all()


async def _refuse_overlap(session: AsyncSession, starts_at: datetime, ends_at: datetime) -> None:
    # Half-open ranges overlap when each starts before the other ends; touching ends do not.
    found = await session.scalar(
        select(ClosedPeriod)
        .where(ClosedPeriod.starts_at < ends_at, ClosedPeriod.ends_at > starts_at)
        .order_by(ClosedPeriod.starts_at)
        .limit(1)
    )
    if found is None:
        return
    closed = f"#{found.id}, {found.starts_at.isoformat()} to {found.ends_at.isoformat()}"
    if found.starts_at <= starts_at and ends_at <= found.ends_at:
        raise Conflict(
            f"period {starts_at.isoformat()} to {ends_at.isoformat()} is already closed ({closed})"
        )
    raise Conflict(
        f"period {starts_at.isoformat()} to {ends_at.isoformat()} overlaps the closed period {closed}; "
        "close only the time not yet closed, starting or ending where that period does"
    )


def _check_range(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.utcoffset() is None or ends_at.utcoffset() is None:
        raise ValidationFailed("period: expected timezone-aware start and end times")
    if starts_at < EARLIEST:
        raise ValidationFailed(
            f"period: start {starts_at.isoformat()} is before {EARLIEST.date()}; no posting is"
        )
    if ends_at <= starts_at:
        raise ValidationFailed(
            f"period: end {ends_at.isoformat()} must be after start {starts_at.isoformat()}"
        )
    if (ends_at - starts_at).days > PERIOD_MAX_DAYS:
        raise ValidationFailed(f"period: at most {PERIOD_MAX_DAYS} days per close; close it month by month")
