"""Fixtures for the cloud side of sync: a migrated database, an estate with a metered unit and a
funded wallet, the gateway router served in-process over ASGI, and an enrolled simulated gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.cli import upgrade_to_head
from cloud.database.session import create_engine, transaction
from cloud.estates.metering import add_meter, add_tariff_version, register_gateway
from cloud.estates.metering_models import MeterRole
from cloud.gateways.controllers import gateway_push_lifespan, gateway_router
from cloud.gateways.enrolment import create_enrolment_code
from cloud.payments.services import manual_top_up
from shared.journal import Pocket
from shared.quantities import Utility
from shared.sync.gateway_api import ENROL_PATH, EnrolResponse
from tests.integration.cloud.conftest import ADMIN, EVERYTHING, make_estate
from tests.integration.sync_cloud.gateway import (
    T0,
    MeterState,
    SimulatedGateway,
    compiled,
    new_key,
    public_key_b64,
)

TARIFF_TEXT = (Path(__file__).parents[3] / "examples" / "tariffs" / "inclining_blocks.toml").read_text()
OPENING_BALANCE_CENTS = 10_000
#: Short long polls keep the tests quick; the wake-up itself is what they measure.
TEST_LONG_POLL_S = 2.0


@dataclass
class Site:
    """An estate with unit A1, its open wallet funded with R100, a gateway and the unit's electricity meter."""

    estate_id: int
    wallet_id: int
    electricity_pocket_id: int
    electricity_account_id: int
    gateway_id: int
    meter_id: int


@pytest.fixture
def migrated_url(postgres_url: str) -> str:
    upgrade_to_head(postgres_url)
    return postgres_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url, pool_size=10, max_overflow=5)
    yield engine
    await engine.dispose()


async def make_site(engine: AsyncEngine, name: str = "Oak Park") -> Site:
    estate = await make_estate(engine, name)
    async with transaction(engine) as session:
        gateway = await register_gateway(session, EVERYTHING, ADMIN, estate.estate_id, name="main")
        meter = await add_meter(
            session,
            EVERYTHING,
            ADMIN,
            estate.estate_id,
            utility=Utility.ELECTRICITY,
            serial=f"SN-{name}",
            firmware_profile_id="eastron_sdm120",
            role=MeterRole.UNIT,
            unit_id=estate.unit_id,
            gateway_id=gateway.id,
        )
        await add_tariff_version(session, EVERYTHING, ADMIN, estate.estate_id, TARIFF_TEXT)
        await manual_top_up(
            session,
            EVERYTHING,
            ADMIN,
            estate.pocket("electricity"),
            amount_cents=OPENING_BALANCE_CENTS,
            idempotency_key=f"opening-{name}",
        )
    return Site(
        estate.estate_id,
        estate.wallet.id,
        estate.pocket("electricity"),
        estate.pocket_account("electricity"),
        gateway.id,
        meter.id,
    )


@pytest.fixture
async def site(engine: AsyncEngine) -> Site:
    return await make_site(engine)


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway router on a small app, called in-process over ASGI (push wake-ups listening)."""
    app = Litestar(route_handlers=[gateway_router(long_poll_s=TEST_LONG_POLL_S)])
    app.state.engine = engine
    async with gateway_push_lifespan(app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as http:
            yield http


async def issue_code(
    engine: AsyncEngine, gateway_id: int, ttl: timedelta = timedelta(hours=1), now: datetime | None = None
) -> str:
    async with transaction(engine) as session:
        issued = await create_enrolment_code(
            session, EVERYTHING, ADMIN, gateway_id, ttl, now=now or datetime.now(UTC)
        )
    return issued.code


async def enrol(
    client: httpx.AsyncClient, engine: AsyncEngine, gateway_id: int
) -> tuple[SimulatedGateway, EnrolResponse]:
    key = new_key()
    body = {
        "code": await issue_code(engine, gateway_id),
        "public_key": public_key_b64(key),
        "agent_version": "test",
    }
    response = await client.post(ENROL_PATH, json=body)
    assert response.status_code == 200, response.text
    enrolled = msgspec.json.decode(response.content, type=EnrolResponse)
    return SimulatedGateway(enrolled.gateway_id, key), enrolled


@pytest.fixture
async def gateway(client: httpx.AsyncClient, engine: AsyncEngine, site: Site) -> SimulatedGateway:
    return (await enrol(client, engine, site.gateway_id))[0]


@pytest.fixture
def meter(site: Site) -> MeterState:
    """The electricity meter's state on the gateway, starting from its first reading."""
    return MeterState(register=Decimal("1000000"), read_at=T0)


def electricity(site: Site) -> dict[str, Any]:
    """The keyword arguments of ``read_and_bill`` for the site's meter."""
    return {
        "meter_id": str(site.meter_id),
        "wallet_id": str(site.wallet_id),
        "pocket": Pocket.ELECTRICITY,
        "tariff": compiled(TARIFF_TEXT),
    }
