"""The config document each process keeps per gateway is never older than the rows it is built from:
a meter added, a wallet closed, an estate's credit policy changed, or a version another replica
recorded, each shows in the very next document."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.estates.metering import add_meter
from cloud.estates.metering_models import MeterRole
from cloud.estates.services import configure_estate
from cloud.gateways.config import current_config, gateway_context
from cloud.wallets.services import close_wallet
from shared.quantities import Utility
from shared.sync.gateway_api import GatewayConfigDocument
from tests.integration.cloud.conftest import ADMIN, EVERYTHING
from tests.integration.sync_cloud.conftest import Site

pytestmark = pytest.mark.anyio


async def config(engine: AsyncEngine, site: Site) -> GatewayConfigDocument:
    async with transaction(engine) as session:
        return await current_config(session, await gateway_context(session, site.gateway_id))


async def test_an_unchanged_gateway_keeps_its_version_and_each_change_shows_in_the_next_document(
    engine: AsyncEngine, site: Site
) -> None:
    first = await config(engine, site)
    assert (await config(engine, site)) == first

    async with transaction(engine) as session:
        added = await add_meter(
            session, EVERYTHING, ADMIN, site.estate_id, utility=Utility.WATER, serial="W-1",
            firmware_profile_id="axioma-qalcosonic-w1", role=MeterRole.BULK, gateway_id=site.gateway_id,
        )  # fmt: skip
    with_water = await config(engine, site)
    assert with_water.version == first.version + 1
    assert str(added.id) in {meter.id for meter in with_water.meters}

    async with transaction(engine) as session:
        await close_wallet(session, EVERYTHING, ADMIN, site.wallet_id)
    closed = await config(engine, site)
    assert closed.version == with_water.version + 1
    [unit_meter] = [meter for meter in closed.meters if meter.id == str(site.meter_id)]
    assert unit_meter.wallet_id is None and closed.wallets == []

    policy = {"electricity": {"reconnect_threshold_cents": 4321}}
    async with transaction(engine) as session:
        await configure_estate(session, EVERYTHING, ADMIN, site.estate_id, credit_policies=policy)
    reconfigured = await config(engine, site)
    assert reconfigured.version == closed.version + 1
    assert reconfigured.credit[Utility.ELECTRICITY]["reconnect_threshold_cents"] == 4321


async def test_a_version_another_replica_recorded_is_never_answered_with_an_older_number(
    engine: AsyncEngine, site: Site
) -> None:
    before = await config(engine, site)
    # Another replica saw other content meanwhile (since changed back) and recorded it.
    async with transaction(engine) as session:
        await session.execute(
            text("INSERT INTO gateway_config_versions (gateway_id, version, digest) VALUES (:g, :v, :d)"),
            {"g": site.gateway_id, "v": before.version + 1, "d": "0" * 64},
        )

    after = await config(engine, site)

    assert after.version == before.version + 2  # this content again, as a version of its own
    assert after.meters == before.meters
