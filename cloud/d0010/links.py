"""MPAN cores linked to an estate's bulk supply, and the readings reconciliation asks for.

A link says "this supply point feeds this estate" (optionally: "and is measured on our side by
this bulk meter"), so bulk-versus-sub-meter reconciliation can set the supplier's readings beside
the estate's own. An MPAN links to one estate; relinking it to another is a conflict to resolve
by hand, not something a second call silently does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.d0010.errors import FieldError
from cloud.d0010.items import mpan_core as checked_mpan_core
from cloud.d0010.model import Reading
from cloud.d0010.models import MpanLink, RegisterReading, SupplyMeter, SupplyPoint
from cloud.d0010.storage import IMPORT_LOCK_KEY
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.metering_models import Meter, MeterRole
from cloud.estates.scope import Scope
from cloud.estates.services import get_estate

#: Most readings one period query returns: years of daily reads of a multi-register supply.
READINGS_MAX = 50_000

#: Columns in the order of ``Reading``'s fields, for queries that rebuild readings.
READING_COLUMNS = (
    SupplyPoint.mpan_core, RegisterReading.bsc_validation_status, SupplyMeter.meter_id,
    RegisterReading.reading_type, RegisterReading.register_id, RegisterReading.reading_at,
    RegisterReading.register_reading, RegisterReading.md_reset_at, RegisterReading.md_reset_count,
    RegisterReading.meter_reading_flag, RegisterReading.reading_method, RegisterReading.reason_code,
    RegisterReading.reading_status, RegisterReading.line,
)  # fmt: skip


class LinkView(msgspec.Struct, frozen=True):
    """An MPAN core's link to an estate (and bulk meter)."""

    mpan_core: str
    estate_id: int
    bulk_meter_id: int | None


async def link_mpan(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    mpan_core: str,
    estate_id: int,
    *,
    bulk_meter_id: int | None = None,
) -> LinkView:
    """Link an MPAN core to an estate's bulk supply (again with another bulk meter: updates it)."""
    core = _valid_mpan(mpan_core)
    await get_estate(session, scope, estate_id)
    if bulk_meter_id is not None:
        await _check_bulk_meter(session, estate_id, bulk_meter_id)
    # The import lock: imports add MPANs with a plain INSERT, relying on no one else adding any.
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
    point = await _supply_point(session, core)
    query = select(MpanLink).where(MpanLink.mpan_ref == point).with_for_update()
    link = (await session.scalars(query)).first()
    before = None
    if link is not None:
        if link.estate_id != estate_id:
            raise Conflict(f"MPAN {core} is linked to estate {link.estate_id}; unlink it there first")
        before = {"estate_id": link.estate_id, "bulk_meter_id": link.bulk_meter_id}
        link.bulk_meter_id = bulk_meter_id
    else:
        link = MpanLink(mpan_ref=point, estate_id=estate_id, bulk_meter_id=bulk_meter_id)
        session.add(link)
    await session.flush()
    after = {"mpan_core": core, "estate_id": estate_id, "bulk_meter_id": bulk_meter_id}
    subject = ("mpan", core)
    await record(session, actor, "d0010.link_mpan", subject, estate_id=estate_id, before=before, after=after)
    return LinkView(core, estate_id, bulk_meter_id)


async def readings_for_mpan(
    session: AsyncSession, scope: Scope, mpan_core: str, start: datetime, end: datetime
) -> list[Reading]:
    """An MPAN's stored readings with ``start <= reading_at < end`` (naive UK local time), in order.

    Ordered by meter, register and time, as reconciliation walks them. An estate-limited scope
    sees only MPANs linked to its estates; at most ``READINGS_MAX`` readings (a longer period is
    refused: ask for it in parts).
    """
    core = _valid_mpan(mpan_core)
    await _require_visible(session, scope, core)
    query = (
        select(*READING_COLUMNS)
        .join(SupplyMeter, SupplyMeter.id == RegisterReading.meter_ref)
        .join(SupplyPoint, SupplyPoint.id == SupplyMeter.mpan_ref)
        .where(SupplyPoint.mpan_core == core)
        .where(RegisterReading.reading_at >= start, RegisterReading.reading_at < end)
        .order_by(SupplyMeter.meter_id, RegisterReading.register_id, RegisterReading.reading_at)
        .limit(READINGS_MAX + 1)
    )
    rows = (await session.execute(query)).all()
    if len(rows) > READINGS_MAX:
        raise ValidationFailed(
            f"more than {READINGS_MAX} readings for MPAN {core} in that period: ask for less"
        )
    return [reading_from_row(row) for row in rows]


def reading_from_row(row: Sequence[Any]) -> Reading:
    """A ``Reading`` from a row of ``READING_COLUMNS``."""
    return Reading(*row)


def _valid_mpan(mpan_core: str) -> str:
    try:
        return checked_mpan_core(mpan_core.strip().encode("ascii", "replace"))
    except FieldError as exc:
        raise ValidationFailed(f"mpan_core: {exc.message}") from None


async def _require_visible(session: AsyncSession, scope: Scope, core: str) -> None:
    if scope.estate_ids is None:
        return
    linked = (
        select(MpanLink.estate_id)
        .join(SupplyPoint, SupplyPoint.id == MpanLink.mpan_ref)
        .where(SupplyPoint.mpan_core == core)
    )
    estate_id = await session.scalar(linked)
    if estate_id is None or not scope.allows_estate(estate_id):
        raise NotFound(f"MPAN {core} not found")


async def _check_bulk_meter(session: AsyncSession, estate_id: int, meter_id: int) -> None:
    meter = await session.get(Meter, meter_id)
    if meter is None or meter.estate_id != estate_id:
        raise NotFound(f"meter {meter_id} not found in estate {estate_id}")
    if meter.role != MeterRole.BULK.value:
        raise ValidationFailed(f"bulk_meter_id: meter {meter_id} is a {meter.role} meter, not a bulk meter")


async def _supply_point(session: AsyncSession, core: str) -> int:
    """The MPAN's row id, creating the row when the MPAN has not been seen in a flow yet."""
    await session.execute(insert(SupplyPoint).values(mpan_core=core).on_conflict_do_nothing())
    point = await session.scalar(select(SupplyPoint.id).where(SupplyPoint.mpan_core == core))
    assert point is not None, "inserted or already there"
    return point
