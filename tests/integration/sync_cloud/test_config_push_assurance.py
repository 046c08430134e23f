"""Config versions, the push long poll waking on a top-up, and revenue assurance of tampered charges."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.estates.metering import add_tariff_version
from cloud.gateways.config import set_meter_connection
from cloud.gateways.reports import list_discrepancies
from cloud.payments.services import manual_top_up
from shared.journal import Pocket
from shared.quantities import Utility
from shared.sync import AckStatus, ConfigVersionNotice, CreditChanged
from shared.sync.gateway_api import CONFIG_PATH, PUSH_PATH, GatewayConfigDocument, PushBatch
from tests.integration.cloud.conftest import ADMIN, EVERYTHING
from tests.integration.sync_cloud.conftest import OPENING_BALANCE_CENTS, TEST_LONG_POLL_S, Site
from tests.integration.sync_cloud.gateway import MeterState, SimulatedGateway
from tests.integration.sync_cloud.test_journal_intake import bill, send

pytestmark = pytest.mark.anyio

WATER_TARIFF = (Path(__file__).parents[3] / "examples" / "tariffs" / "water_blocks.toml").read_text()


async def get_config(client: httpx.AsyncClient, gateway: SimulatedGateway) -> GatewayConfigDocument:
    response = await client.get(CONFIG_PATH, headers=gateway.headers("GET", CONFIG_PATH))
    assert response.status_code == 200, response.text
    return msgspec.json.decode(response.content, type=GatewayConfigDocument)


async def poll(client: httpx.AsyncClient, gateway: SimulatedGateway, after: int) -> PushBatch:
    path = f"{PUSH_PATH}?after={after}"
    response = await client.get(path, headers=gateway.headers("GET", path))
    assert response.status_code == 200, response.text
    return msgspec.json.decode(response.content, type=PushBatch)


async def test_the_config_gets_a_new_version_only_when_its_content_changes(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    first = await get_config(client, gateway)
    same = await get_config(client, gateway)
    async with transaction(engine) as session:
        await set_meter_connection(
            session, EVERYTHING, ADMIN, site.meter_id, bus="rs485-a", address=12, poll_interval_s=30
        )
    connected = await get_config(client, gateway)
    async with transaction(engine) as session:
        await add_tariff_version(session, EVERYTHING, ADMIN, site.estate_id, WATER_TARIFF)
    bill(gateway, meter, site, 60, "1000")
    ack = await send(client, gateway, 1, len(gateway.entries))

    assert (first.version, same.version, connected.version) == (1, 1, 2)
    [config_meter] = connected.meters
    assert (config_meter.bus, config_meter.address, config_meter.poll_interval_s) == ("rs485-a", 12, 30)
    assert ack.config_version == 3
    assert "Estate water" in (await get_config(client, gateway)).tariffs[Utility.WATER][0]
    # Each new version was announced on the push channel too.
    notices = [m for m in (await poll(client, gateway, 0)).messages if isinstance(m, ConfigVersionNotice)]
    assert [n.config_version for n in notices] == [2, 3]


async def test_a_top_up_wakes_the_waiting_long_poll_within_milliseconds(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway
) -> None:
    # The opening balance loaded while the site was set up was pushed too; start after it.
    opened = await poll(client, gateway, 0)
    assert [type(m) for m in opened.messages] == [CreditChanged]
    waiting = asyncio.create_task(poll(client, gateway, opened.cursor))
    await asyncio.sleep(0.3)  # the poll is now parked on the wake-up
    assert not waiting.done()

    async with transaction(engine) as session:
        await manual_top_up(
            session,
            EVERYTHING,
            ADMIN,
            site.electricity_pocket_id,
            amount_cents=5_000,
            idempotency_key="push-test",
        )  # the top-up pushes the new balance by itself, in its own transaction
    committed = time.monotonic()
    batch = await waiting
    woke_after_s = time.monotonic() - committed

    assert woke_after_s < 0.5, f"the poll answered {woke_after_s:.3f} s after the commit"
    [message] = batch.messages
    assert isinstance(message, CreditChanged)
    assert (message.balance.wallet_id, message.balance.pocket, message.balance.balance_cents) == (
        str(site.wallet_id),
        Pocket.ELECTRICITY,
        OPENING_BALANCE_CENTS + 5_000,
    )
    # The next poll from the returned cursor has nothing new and is answered when the poll ends.
    started = time.monotonic()
    later = await poll(client, gateway, batch.cursor)
    assert later.messages == [] and later.cursor == batch.cursor
    assert time.monotonic() - started >= TEST_LONG_POLL_S * 0.9


async def test_a_tampered_charge_with_a_valid_chain_is_flagged_by_re_rating(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    bill(gateway, meter, site, 60, "8000")
    [charge, *_] = bill(gateway, meter, site, 60, "8000")
    # The gateway journals (and seals, so the chain verifies) a charge 40 cents above the tariff.
    tampered_seq = gateway.append(msgspec.structs.replace(charge, amount_cents=charge.amount_cents + 40))

    ack = await send(client, gateway, 1, len(gateway.entries))

    assert ack.status is AckStatus.ACCEPTED
    async with transaction(engine) as session:
        [finding] = await list_discrepancies(session, EVERYTHING, site.gateway_id)
    assert (finding.seq, finding.charged_cents, finding.rerated_cents) == (
        tampered_seq,
        charge.amount_cents + 40,
        charge.amount_cents,
    )
    assert finding.meter_id == str(site.meter_id)


async def test_a_config_change_reaches_a_polling_gateway_as_a_notice_without_any_upload(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway
) -> None:
    async with transaction(engine) as session:
        await set_meter_connection(session, EVERYTHING, ADMIN, site.meter_id, dev_eui="70b3d57ed0001234")

    batch = await poll(client, gateway, 0)

    notices = [m for m in batch.messages if not isinstance(m, CreditChanged)]  # the opening balance
    assert notices == [ConfigVersionNotice(config_version=2)]
    assert (await get_config(client, gateway)).meters[0].dev_eui == "70b3d57ed0001234"
