"""A meter replaced at its metering point: the new serial, recorded, audited and sent to the gateway.

The meter id is the metering point (a unit's supply); its serial is the device fitted there. A
replacement changes the serial, keeps a row in ``meter_replacements`` (old and new serial, the
installer's readings off the two displays, who, when and why), and records the gateway's next
config version in the same transaction, which puts a ``config_version`` notice on the gateway's
push channel: the agent pulls the document at once if connected, else at its next exchange. The
document carries the new serial and the readings of the replacement that fitted it
(:mod:`cloud.gateways.config`); the agent journals ``meter_replaced`` at the new meter's first
reading and bills across the swap (``docs/edge-config.md``, "Replacing a meter").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, ValidationFailed
from cloud.estates.metering_models import Meter, MeterReplacement
from cloud.gateways.config import current_config, gateway_context

#: The longest serial a meter may have (as when it is added).
SERIAL_MAX_CHARS = 64
#: How far ahead of the cloud's clock ``replaced_at`` may be (an installer's phone runs fast).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Replaced:
    """The replacement recorded, and the gateway's config version that carries it (if any)."""

    replacement: MeterReplacement
    config_version: int | None


async def replace_meter(
    session: AsyncSession,
    actor: Actor,
    meter: Meter,
    *,
    new_serial: str,
    old_meter_final_reading: Decimal | None,
    new_meter_first_reading: Decimal | None,
    replaced_at: datetime | None,
    now: datetime,
) -> Replaced:
    """Fit ``new_serial`` at ``meter`` (already known to be the caller's to change).

    :class:`ValidationFailed` for a blank, overlong or unchanged serial, a reading that is negative
    or not a number, a time without a zone or in the future; :class:`Conflict` when another meter
    of the same firmware profile has the serial (serials are unique per profile).
    """
    serial = new_serial.strip()
    if not serial:
        raise ValidationFailed("new_serial: give the serial printed on the new meter")
    if len(serial) > SERIAL_MAX_CHARS:
        raise ValidationFailed(f"new_serial: at most {SERIAL_MAX_CHARS} characters, got {len(serial)}")
    for key, reading in (
        ("old_meter_final_reading", old_meter_final_reading),
        ("new_meter_first_reading", new_meter_first_reading),
    ):
        if reading is not None and (not reading.is_finite() or reading < 0):
            raise ValidationFailed(
                f'{key}: the meter\'s display in kWh or kL, 0 or more (e.g. "18234.27"), got {reading}'
            )
    when = now if replaced_at is None else replaced_at
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValidationFailed("replaced_at: give the time with its zone, e.g. 2026-11-22T09:30:00+02:00")
    if when > now + CLOCK_SKEW:
        raise ValidationFailed(f"replaced_at: {when.isoformat()} is in the future")
    # Locked, so two replacements of one meter at once apply one after the other.
    locked = await session.get(Meter, meter.id, with_for_update=True, populate_existing=True)
    assert locked is not None, "the meter was just read"
    old_serial = locked.serial
    if serial == old_serial:
        raise ValidationFailed(f"new_serial: meter {locked.id} already has serial {serial}")
    taken = await session.scalar(
        select(Meter).where(
            Meter.firmware_profile_id == locked.firmware_profile_id,
            Meter.serial == serial,
            Meter.id != locked.id,
        )
    )
    if taken is not None:
        which = f"meter {taken.id}" if taken.estate_id == locked.estate_id else "a meter of another estate"
        raise Conflict(
            f"new_serial: {locked.firmware_profile_id} serial {serial} is already {which}'s; "
            "check the serial on the new meter"
        )
    locked.serial = serial
    replacement = MeterReplacement(
        meter_id=locked.id,
        old_serial=old_serial,
        new_serial=serial,
        old_meter_final_reading=old_meter_final_reading,
        new_meter_first_reading=new_meter_first_reading,
        replaced_at=when,
        reason=actor.reason,
        recorded_by_user_id=actor.user_id,
        recorded_by_role=actor.role,
    )
    session.add(replacement)
    await session.flush()
    await session.refresh(replacement)
    version = None
    if locked.gateway_id is not None:
        document = await current_config(session, await gateway_context(session, locked.gateway_id))
        version = document.version
    await record(
        session,
        actor,
        "meter.replace",
        ("meter", locked.id),
        estate_id=locked.estate_id,
        before={"serial": old_serial},
        after={
            "serial": serial,
            "replacement_id": replacement.id,
            "old_meter_final_reading": _text(old_meter_final_reading),
            "new_meter_first_reading": _text(new_meter_first_reading),
            "replaced_at": when.astimezone(UTC).isoformat(),
            "config_version": version,
        },
    )
    return Replaced(replacement, version)


async def meter_replacements(session: AsyncSession, meter_id: int) -> Sequence[MeterReplacement]:
    """The meter's replacements, oldest first."""
    query = (
        select(MeterReplacement).where(MeterReplacement.meter_id == meter_id).order_by(MeterReplacement.id)
    )
    return (await session.scalars(query)).all()


def _text(reading: Decimal | None) -> str | None:
    return None if reading is None else str(reading)
