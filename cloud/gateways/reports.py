"""What admins read about gateways: alarms (the gateway's and the cloud's) and re-rating findings."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.estates.metering import get_gateway
from cloud.estates.metering_models import Gateway
from cloud.estates.scope import Scope
from cloud.estates.services import get_estate
from cloud.gateways.models import ChargeDiscrepancy, GatewayAlarm

#: Most rows one call returns; callers page with ``after_id`` / ``after_seq`` / ``after``.
PAGE_MAX = 1_000


async def list_alarms(
    session: AsyncSession,
    scope: Scope,
    gateway_id: int,
    *,
    origin: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> Sequence[GatewayAlarm]:
    """A gateway's alarms, oldest first; ``origin`` is ``gateway`` or ``cloud`` to filter."""
    await get_gateway(session, scope, gateway_id)
    query = select(GatewayAlarm).where(GatewayAlarm.gateway_id == gateway_id, GatewayAlarm.id > after_id)
    return await _alarm_page(session, query, origin=origin, limit=limit)


async def list_discrepancies(
    session: AsyncSession, scope: Scope, gateway_id: int, *, after_seq: int = 0, limit: int = 100
) -> Sequence[ChargeDiscrepancy]:
    """Charges of a gateway the cloud re-rated to different cents (or could not re-rate), by seq."""
    await get_gateway(session, scope, gateway_id)
    query = (
        select(ChargeDiscrepancy)
        .where(ChargeDiscrepancy.gateway_id == gateway_id, ChargeDiscrepancy.seq > after_seq)
        .order_by(ChargeDiscrepancy.seq)
        .limit(min(limit, PAGE_MAX))
    )
    return (await session.scalars(query)).all()


async def list_estate_alarms(
    session: AsyncSession,
    scope: Scope,
    estate_id: int,
    *,
    origin: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> Sequence[GatewayAlarm]:
    """The alarms of every gateway of an estate, oldest first (``after_id`` pages)."""
    await get_estate(session, scope, estate_id)
    query = (
        select(GatewayAlarm)
        .join(Gateway, Gateway.id == GatewayAlarm.gateway_id)
        .where(Gateway.estate_id == estate_id, GatewayAlarm.id > after_id)
    )
    return await _alarm_page(session, query, origin=origin, limit=limit)


async def list_estate_discrepancies(
    session: AsyncSession,
    scope: Scope,
    estate_id: int,
    *,
    after: tuple[int, int] = (0, 0),
    limit: int = 100,
) -> Sequence[ChargeDiscrepancy]:
    """The re-rating findings of every gateway of an estate, by (gateway, seq); ``after`` is the last
    (gateway id, seq) seen."""
    await get_estate(session, scope, estate_id)
    query = (
        select(ChargeDiscrepancy)
        .join(Gateway, Gateway.id == ChargeDiscrepancy.gateway_id)
        .where(
            Gateway.estate_id == estate_id,
            tuple_(ChargeDiscrepancy.gateway_id, ChargeDiscrepancy.seq) > tuple_(*after),
        )
        .order_by(ChargeDiscrepancy.gateway_id, ChargeDiscrepancy.seq)
        .limit(min(limit, PAGE_MAX))
    )
    return (await session.scalars(query)).all()


async def _alarm_page(
    session: AsyncSession, query: Select[GatewayAlarm], *, origin: str | None, limit: int
) -> Sequence[GatewayAlarm]:
    """One page of the alarms ``query`` selects, filtered to ``origin`` when given, oldest first."""
    if origin is not None:
        query = query.where(GatewayAlarm.origin == origin)
    return (await session.scalars(query.order_by(GatewayAlarm.id).limit(min(limit, PAGE_MAX)))).all()
