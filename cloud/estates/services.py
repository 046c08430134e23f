"""Estates and units: create and configure them, scoped reads, every change audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.models import Estate, Occupancy, Unit, WalletMode
from cloud.estates.scope import Scope
from shared.credit import CreditPolicyError, parse_credit_policies
from shared.quantities import Utility


async def create_estate(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    time_zone: str,
    wallet_mode: WalletMode,
    utilities: Sequence[Utility],
    credit_policies: Mapping[str, Any] | None = None,
    loss_threshold_percent: Decimal = Decimal(5),
    currency: str = "ZAR",
) -> Estate:
    """Create an estate; its name must be unique, its time zone an IANA name, policies valid."""
    _check_zone(time_zone)
    policies = _checked_policies(credit_policies or {})
    _check_loss_threshold(loss_threshold_percent)
    if not utilities:
        raise ValidationFailed("utilities: name at least one utility the estate meters, e.g. ['electricity']")
    if await session.scalar(select(Estate.id).where(Estate.name == name)) is not None:
        raise Conflict(f"an estate named {name!r} already exists; choose another name")
    estate = Estate(
        name=name,
        time_zone=time_zone,
        wallet_mode=wallet_mode.value,
        utilities=sorted({u.value for u in utilities}),
        credit_policies=policies,
        loss_threshold_percent=loss_threshold_percent,
        currency=currency,
    )
    session.add(estate)
    await session.flush()
    await record(
        session,
        actor,
        "estate.create",
        ("estate", estate.id),
        estate_id=estate.id,
        before=None,
        after=estate_snapshot(estate),
    )
    return estate


async def configure_estate(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    estate_id: int,
    *,
    credit_policies: Mapping[str, Any] | None = None,
    loss_threshold_percent: Decimal | None = None,
) -> Estate:
    """Change an estate's credit policies and/or loss threshold, auditing the before and after."""
    estate = await get_estate(session, scope, estate_id, for_update=True)
    before = estate_snapshot(estate)
    if credit_policies is not None:
        estate.credit_policies = _checked_policies(credit_policies)
    if loss_threshold_percent is not None:
        _check_loss_threshold(loss_threshold_percent)
        estate.loss_threshold_percent = loss_threshold_percent
    await session.flush()
    await record(
        session,
        actor,
        "estate.configure",
        ("estate", estate.id),
        estate_id=estate.id,
        before=before,
        after=estate_snapshot(estate),
    )
    return estate


async def get_estate(
    session: AsyncSession, scope: Scope, estate_id: int, *, for_update: bool = False
) -> Estate:
    """One estate within ``scope``."""
    scope.require_estate(estate_id, f"estate {estate_id}")
    estate = await session.get(Estate, estate_id, with_for_update=for_update)
    if estate is None:
        raise NotFound(f"estate {estate_id} not found")
    return estate


async def list_estates(session: AsyncSession, scope: Scope) -> Sequence[Estate]:
    """The estates within ``scope``, by name."""
    query = select(Estate).order_by(Estate.name)
    if scope.estate_ids is not None:
        query = query.where(Estate.id.in_(scope.estate_ids))
    return (await session.scalars(query)).all()


async def add_unit(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    estate_id: int,
    *,
    label: str,
    occupancy: Occupancy = Occupancy.VACANT,
    floor_area_m2: Decimal | None = None,
) -> Unit:
    """Add a unit to an estate; its label must be unique within the estate."""
    await get_estate(session, scope, estate_id)
    if floor_area_m2 is not None and floor_area_m2 <= 0:
        raise ValidationFailed(f"floor_area_m2: expected a positive area, got {floor_area_m2}")
    taken = await session.scalar(select(Unit.id).where(Unit.estate_id == estate_id, Unit.label == label))
    if taken is not None:
        raise Conflict(f"estate {estate_id} already has a unit labelled {label!r} (unit {taken})")
    unit = Unit(estate_id=estate_id, label=label, occupancy=occupancy.value, floor_area_m2=floor_area_m2)
    session.add(unit)
    await session.flush()
    await record(
        session,
        actor,
        "unit.create",
        ("unit", unit.id),
        estate_id=estate_id,
        before=None,
        after=unit_snapshot(unit),
    )
    return unit


async def set_occupancy(
    session: AsyncSession, scope: Scope, actor: Actor, unit_id: int, occupancy: Occupancy
) -> Unit:
    """Mark a unit occupied, vacant or under maintenance."""
    unit = await get_unit(session, scope, unit_id, for_update=True)
    before = unit_snapshot(unit)
    unit.occupancy = occupancy.value
    await session.flush()
    await record(
        session,
        actor,
        "unit.set_occupancy",
        ("unit", unit.id),
        estate_id=unit.estate_id,
        before=before,
        after=unit_snapshot(unit),
    )
    return unit


async def get_unit(session: AsyncSession, scope: Scope, unit_id: int, *, for_update: bool = False) -> Unit:
    """One unit within ``scope``."""
    unit = await session.get(Unit, unit_id, with_for_update=for_update)
    if unit is None or not scope.allows_estate(unit.estate_id):
        raise NotFound(f"unit {unit_id} not found")
    return unit


async def list_units(session: AsyncSession, scope: Scope, estate_id: int) -> Sequence[Unit]:
    """An estate's units, by label."""
    scope.require_estate(estate_id, f"estate {estate_id}")
    return (await session.scalars(select(Unit).where(Unit.estate_id == estate_id).order_by(Unit.label))).all()


def estate_snapshot(estate: Estate) -> dict[str, Any]:
    """The estate's configuration as JSON, for the audit trail."""
    return {
        "name": estate.name,
        "time_zone": estate.time_zone,
        "currency": estate.currency,
        "wallet_mode": estate.wallet_mode,
        "utilities": list(estate.utilities),
        "credit_policies": estate.credit_policies,
        "loss_threshold_percent": str(estate.loss_threshold_percent),
    }


def unit_snapshot(unit: Unit) -> dict[str, Any]:
    """The unit's fields as JSON, for the audit trail."""
    area = None if unit.floor_area_m2 is None else str(unit.floor_area_m2)
    return {
        "estate_id": unit.estate_id,
        "label": unit.label,
        "occupancy": unit.occupancy,
        "floor_area_m2": area,
    }


def _check_zone(time_zone: str) -> None:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"time_zone: expected an IANA zone such as 'Africa/Johannesburg', got {time_zone!r}"
        ) from None


def _checked_policies(policies: Mapping[str, Any]) -> dict[str, Any]:
    try:
        parse_credit_policies(policies, where="credit_policies")
    except CreditPolicyError as error:
        raise ValidationFailed(str(error)) from None
    return dict(policies)


def _check_loss_threshold(percent: Decimal) -> None:
    if not Decimal(0) <= percent <= Decimal(100):
        raise ValidationFailed(f"loss_threshold_percent: expected 0 to 100, got {percent}")
