"""Revenue assurance against the real gateway's billing: a journal written by the agent's own
``BillingService`` (readings, a meter swapped with the installer's readings, the old meter's closing
charges) re-derives to the same charges in the cloud, and a forged closing charge does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.gateways.config import gateway_context
from cloud.gateways.intake import ingest_batch
from cloud.gateways.reports import list_discrepancies
from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_reader
from edge_agent.store.queries import iter_encoded_entries
from firmware_profiles import packaged_registry
from shared.journal import GENESIS, Charge, Entry, MeterReplaced, ReadingSource, decode_entry, seal_entry
from shared.quantities import Measurement
from shared.sync import AckStatus, journal_batch
from tests.integration.cloud.conftest import EVERYTHING
from tests.integration.sync_cloud.conftest import Site
from tests.support.edge_agent_config import agent_meter_toml
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.anyio

TARIFF = REPO_ROOT / "examples" / "tariffs" / "inclining_blocks.toml"  # the site's tariff too
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def edge_toml(store: Path, site: Site, serial: str, installer: str = "") -> str:
    return (
        agent_meter_toml(store, site.gateway_id, site.meter_id, site.wallet_id)
        + f"""serial = "{serial}"
{installer}
[tariffs]
electricity = "{TARIFF}"
[credit.electricity]
reconnect_threshold_cents = 2000
low_credit_warning_cents = false
"""
    )


async def run_gateway(store: Path, site: Site, clock: Clock, toml: str, registers_wh: list[int]) -> None:
    """An agent on ``store`` reads the meter at each register, 20 minutes apart, then stops."""
    config = load_config(toml, source=store.with_suffix(".toml"), registry=packaged_registry())
    agent = GatewayAgent(config, clock=clock)
    try:
        for register in registers_wh:
            clock.now += timedelta(minutes=20)
            measurements = {Measurement.ENERGY_IMPORT_WH: Decimal(register)}
            await agent.billing.on_reading(str(site.meter_id), measurements, clock.now, ReadingSource.MODBUS)
    finally:
        await agent.shutdown([])


async def journal_with_a_swap(tmp_path: Path, site: Site) -> list[bytes]:
    store, clock = tmp_path / "gw.sqlite3", Clock()
    await run_gateway(store, site, clock, edge_toml(store, site, "OLD-1"), [1_200_000, 1_201_500, 1_203_100])
    installer = 'old_meter_final_reading = "1203.9"\nnew_meter_first_reading = "0.5"'
    await run_gateway(store, site, clock, edge_toml(store, site, "NEW-1", installer), [900, 2_400, 3_800])
    return list(iter_encoded_entries(open_reader(store)))


async def upload(engine: AsyncEngine, site: Site, entries: list[bytes], batch_size: int) -> None:
    for first in range(0, len(entries), batch_size):
        batch = journal_batch(str(site.gateway_id), entries[first : first + batch_size])
        async with transaction(engine) as session:
            ack = await ingest_batch(session, await gateway_context(session, site.gateway_id), batch)
        assert ack.status is AckStatus.ACCEPTED


def closing_charges(entries: list[Entry]) -> list[Entry]:
    [swap] = [e for e in entries if isinstance(e.body, MeterReplaced)]
    return [e for e in entries if isinstance(e.body, Charge) and e.body.reading_seq == swap.seq]


async def test_the_real_gateways_journal_across_a_meter_swap_re_derives_without_a_difference(
    tmp_path: Path, engine: AsyncEngine, site: Site
) -> None:
    encoded = await journal_with_a_swap(tmp_path, site)
    entries = [decode_entry(data) for data in encoded]
    closing = closing_charges(entries)
    assert sum(e.body.quantity for e in closing if isinstance(e.body, Charge)) == 800  # 1 203 900 − 1 203 100

    await upload(engine, site, encoded, batch_size=3)

    async with transaction(engine) as session:
        assert await list_discrepancies(session, EVERYTHING, site.gateway_id) == []


async def test_a_forged_closing_charge_of_a_swapped_meter_is_flagged(
    tmp_path: Path, engine: AsyncEngine, site: Site
) -> None:
    entries = [decode_entry(data) for data in await journal_with_a_swap(tmp_path, site)]
    forged = closing_charges(entries)[0]
    assert isinstance(forged.body, Charge)
    forged_body = msgspec.structs.replace(forged.body, quantity=forged.body.quantity + 300)
    bodies = [forged_body if e is forged else e.body for e in entries]
    resealed, head = [], GENESIS  # the gateway seals what it forged, so the chain verifies
    for entry, body in zip(entries, bodies, strict=True):
        sealed, data = seal_entry(head, body, recorded_at=entry.recorded_at)
        resealed.append(data)
        head = sealed.head

    await upload(engine, site, resealed, batch_size=4)

    async with transaction(engine) as session:
        found = await list_discrepancies(session, EVERYTHING, site.gateway_id)
    assert found and found[0].seq == forged.seq
    assert (
        f"quantity {forged.body.quantity + 300} where the readings give {forged.body.quantity}"
        in found[0].detail
    )
