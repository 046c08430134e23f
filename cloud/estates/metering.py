"""An estate's metering configuration: gateways, meters and tariff versions, every change audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.metering_models import Gateway, GatewayStatus, Meter, MeterRole, Tariff, TariffVersion
from cloud.estates.scope import Scope
from cloud.estates.services import get_estate, get_unit
from shared.quantities import Utility
from shared.tariffs import TariffError, parse_tariff
from shared.tariffs import TariffVersion as ParsedTariff

#: Longest tariff file accepted; real ones are a few kilobytes.
TARIFF_TEXT_MAX_CHARS = 200_000


async def register_gateway(
    session: AsyncSession, scope: Scope, actor: Actor, estate_id: int, *, name: str
) -> Gateway:
    """Create a gateway for an estate, pending enrolment; names are unique within the estate."""
    await get_estate(session, scope, estate_id)
    taken = await session.scalar(
        select(Gateway.id).where(Gateway.estate_id == estate_id, Gateway.name == name)
    )
    if taken is not None:
        raise Conflict(f"estate {estate_id} already has a gateway named {name!r} (gateway {taken})")
    gateway = Gateway(estate_id=estate_id, name=name, status=GatewayStatus.PENDING.value)
    session.add(gateway)
    await session.flush()
    after = {"name": name, "status": gateway.status}
    await record(
        session,
        actor,
        "gateway.create",
        ("gateway", gateway.id),
        estate_id=estate_id,
        before=None,
        after=after,
    )
    return gateway


async def set_gateway_status(
    session: AsyncSession, scope: Scope, actor: Actor, gateway_id: int, status: GatewayStatus
) -> Gateway:
    """Activate or retire a gateway."""
    gateway = await get_gateway(session, scope, gateway_id, for_update=True)
    before = {"status": gateway.status}
    gateway.status = status.value
    await session.flush()
    await record(
        session,
        actor,
        "gateway.set_status",
        ("gateway", gateway_id),
        estate_id=gateway.estate_id,
        before=before,
        after={"status": gateway.status},
    )
    return gateway


async def get_gateway(
    session: AsyncSession, scope: Scope, gateway_id: int, *, for_update: bool = False
) -> Gateway:
    """One gateway within ``scope``."""
    gateway = await session.get(Gateway, gateway_id, with_for_update=for_update)
    if gateway is None or not scope.allows_estate(gateway.estate_id):
        raise NotFound(f"gateway {gateway_id} not found")
    return gateway


async def add_meter(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    estate_id: int,
    *,
    utility: Utility,
    serial: str,
    firmware_profile_id: str,
    role: MeterRole,
    unit_id: int | None = None,
    gateway_id: int | None = None,
) -> Meter:
    """Add a meter; a unit meter names its unit, bulk and common-property meters name none."""
    estate = await get_estate(session, scope, estate_id)
    if utility.value not in estate.utilities:
        raise ValidationFailed(
            f"utility: estate {estate_id} meters {', '.join(estate.utilities)}, not {utility.value}"
        )
    if (role is MeterRole.UNIT) != (unit_id is not None):
        raise ValidationFailed(
            f"unit_id: a {role.value} meter {'needs' if role is MeterRole.UNIT else 'takes no'} unit"
        )
    if unit_id is not None and (await get_unit(session, scope, unit_id)).estate_id != estate_id:
        raise ValidationFailed(f"unit_id: unit {unit_id} is not in estate {estate_id}")
    if gateway_id is not None and (await get_gateway(session, scope, gateway_id)).estate_id != estate_id:
        raise ValidationFailed(f"gateway_id: gateway {gateway_id} is not in estate {estate_id}")
    taken = await session.scalar(
        select(Meter.id).where(Meter.firmware_profile_id == firmware_profile_id, Meter.serial == serial)
    )
    if taken is not None:
        raise Conflict(f"meter {firmware_profile_id} serial {serial} is already registered (meter {taken})")
    meter = Meter(
        estate_id=estate_id,
        unit_id=unit_id,
        gateway_id=gateway_id,
        utility=utility.value,
        serial=serial,
        firmware_profile_id=firmware_profile_id,
        role=role.value,
    )
    session.add(meter)
    await session.flush()
    await record(
        session,
        actor,
        "meter.create",
        ("meter", meter.id),
        estate_id=estate_id,
        before=None,
        after=_meter(meter),
    )
    return meter


async def list_meters(
    session: AsyncSession, scope: Scope, estate_id: int, *, gateway_id: int | None = None
) -> Sequence[Meter]:
    """An estate's meters (optionally only one gateway's), by id."""
    scope.require_estate(estate_id, f"estate {estate_id}")
    query = select(Meter).where(Meter.estate_id == estate_id).order_by(Meter.id)
    if gateway_id is not None:
        query = query.where(Meter.gateway_id == gateway_id)
    return (await session.scalars(query)).all()


async def add_tariff_version(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    estate_id: int,
    toml_text: str,
    *,
    source: str = "upload",
) -> TariffVersion:
    """Store a tariff version from its TOML text, parsed and checked first.

    The utility and start date come from the file. Uploading the same text again returns the
    stored version; a different text for a date already taken is a :class:`Conflict`.
    """
    estate = await get_estate(session, scope, estate_id)
    parsed = _parsed_tariff(toml_text, source, estate.currency)
    tariff = await _tariff(session, estate_id, parsed.utility)
    same_day = await session.scalar(
        select(TariffVersion).where(
            TariffVersion.tariff_id == tariff.id, TariffVersion.effective_from == parsed.effective_from
        )
    )
    if same_day is not None:
        if same_day.toml_text == toml_text:
            return same_day
        raise Conflict(
            f"{source}: {parsed.utility.value} already has version {same_day.name!r} from "
            f"{parsed.effective_from.isoformat()}; a correction takes effect from a later date"
        )
    version = TariffVersion(
        tariff_id=tariff.id, name=parsed.name, effective_from=parsed.effective_from, toml_text=toml_text
    )
    session.add(version)
    await session.flush()
    after = {
        "utility": parsed.utility.value,
        "name": parsed.name,
        "effective_from": parsed.effective_from.isoformat(),
    }
    await record(
        session,
        actor,
        "tariff.add_version",
        ("tariff_version", version.id),
        estate_id=estate_id,
        before=None,
        after=after,
    )
    return version


async def tariff_versions(
    session: AsyncSession, scope: Scope, estate_id: int, utility: Utility
) -> Sequence[TariffVersion]:
    """An estate's versions of one utility's tariff, oldest first (the edge gets all of them)."""
    scope.require_estate(estate_id, f"estate {estate_id}")
    query = (
        select(TariffVersion)
        .join(Tariff, Tariff.id == TariffVersion.tariff_id)
        .where(Tariff.estate_id == estate_id, Tariff.utility == utility.value)
        .order_by(TariffVersion.effective_from)
    )
    return (await session.scalars(query)).all()


def _parsed_tariff(toml_text: str, source: str, currency: str) -> ParsedTariff:
    if len(toml_text) > TARIFF_TEXT_MAX_CHARS:
        raise ValidationFailed(
            f"{source}: tariff file of {len(toml_text)} characters; at most {TARIFF_TEXT_MAX_CHARS}"
        )
    try:
        parsed = parse_tariff(toml_text, source)
    except TariffError as error:
        raise ValidationFailed(str(error)) from None
    if parsed.currency != currency:
        raise ValidationFailed(
            f"{source}: tariff.currency is {parsed.currency}, but the estate bills in {currency}"
        )
    return parsed


async def _tariff(session: AsyncSession, estate_id: int, utility: Utility) -> Tariff:
    query = select(Tariff).where(Tariff.estate_id == estate_id, Tariff.utility == utility.value)
    tariff = await session.scalar(query.with_for_update())
    if tariff is None:
        tariff = Tariff(estate_id=estate_id, utility=utility.value)
        session.add(tariff)
        await session.flush()
    return tariff


def _meter(meter: Meter) -> dict[str, Any]:
    return {
        "unit_id": meter.unit_id,
        "gateway_id": meter.gateway_id,
        "utility": meter.utility,
        "serial": meter.serial,
        "firmware_profile_id": meter.firmware_profile_id,
        "role": meter.role,
    }
