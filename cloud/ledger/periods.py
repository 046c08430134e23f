"""Closed accounting periods: once closed, no posting may be dated inside them, ever."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, ValidationFailed
from cloud.ledger.chain_lock import lock_chain_head
from cloud.ledger.models import ClosedPeriod

#: Longest period one call may close; a typo in a year should not lock a decade.
PERIOD_MAX_DAYS = 366


async def close_period(
    session: AsyncSession, starts_at: datetime, ends_at: datetime, actor: Actor
) -> ClosedPeriod:
    """Close [starts_at, ends_at) for posting, and audit who closed it and why.

    Takes the chain-head lock first, so no posting transaction can be inserting into the period
    while it closes. Closing a period identical to one already closed is a :class:`Conflict`.
    """
    _check_range(starts_at, ends_at)
    await lock_chain_head(session)
    duplicate = await session.scalar(
        select(ClosedPeriod.id).where(ClosedPeriod.starts_at == starts_at, ClosedPeriod.ends_at == ends_at)
    )
    if duplicate is not None:
        raise Conflict(
            f"period {starts_at.isoformat()} to {ends_at.isoformat()} is already closed (#{duplicate})"
        )
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


def _check_range(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.utcoffset() is None or ends_at.utcoffset() is None:
        raise ValidationFailed("period: expected timezone-aware start and end times")
    if ends_at <= starts_at:
        raise ValidationFailed(
            f"period: end {ends_at.isoformat()} must be after start {starts_at.isoformat()}"
        )
    if (ends_at - starts_at).days > PERIOD_MAX_DAYS:
        raise ValidationFailed(f"period: at most {PERIOD_MAX_DAYS} days per close; close it month by month")
