"""Journal intake throughput: entries per second through the cloud's intake service into PostgreSQL.

An estate of 200 unit meters on one gateway, each read every minute and billed on a flat tariff
with a daily standing charge (a reading and its charges per meter-minute, rated by the shared
code exactly as the edge does). A sample backlog is ingested in batches of 1,000 entries, one
transaction each, through :func:`cloud.gateways.intake.ingest_batch`: chain verification, storing
every entry, readings into their table, charges posted to the ledger and re-rated. The time to
drain a 72-hour backlog is extrapolated from the measured rate (a full run of ~2.6 million
entries would take longer than this machine's benchmark budget); the note says so.

Run directly (``python -m tests.bench.bench_sync_ingest``) or through ``python -m tests.bench.run``.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import create_engine, transaction
from cloud.estates.metering import add_meter, add_tariff_version, register_gateway
from cloud.estates.metering_models import MeterRole
from cloud.estates.models import Occupancy, WalletMode
from cloud.estates.services import add_unit, create_estate
from cloud.gateways.config import gateway_context
from cloud.gateways.intake import ingest_batch
from cloud.wallets.services import open_wallet
from shared.journal import Pocket
from shared.quantities import Utility
from shared.sync import MAX_BATCH_ENTRIES, AckStatus, journal_batch
from tests.bench.bench_ledger import scratch_database
from tests.bench.figures import Figure
from tests.integration.cloud.conftest import ADMIN, EVERYTHING
from tests.integration.sync_cloud.gateway import T0, MeterState, SimulatedGateway, compiled, new_key

METERS = 200
BACKLOG_HOURS = 72
SAMPLE_MINUTES = 30
TARIFF_TEXT = (Path(__file__).parents[2] / "examples" / "tariffs" / "flat.toml").read_text()


async def estate_with_meters(engine: AsyncEngine) -> tuple[int, list[tuple[str, str]]]:
    """A gateway with ``METERS`` unit meters, each with its unit's wallet: (gateway, [(meter, wallet)])."""
    async with transaction(engine) as session:
        estate = await create_estate(
            session,
            ADMIN,
            name="Bench Estate",
            time_zone="Africa/Johannesburg",
            wallet_mode=WalletMode.PER_UTILITY,
            utilities=[Utility.ELECTRICITY],
        )
        gateway = await register_gateway(session, EVERYTHING, ADMIN, estate.id, name="main")
        await add_tariff_version(session, EVERYTHING, ADMIN, estate.id, TARIFF_TEXT)
        meters = []
        for number in range(METERS):
            unit = await add_unit(
                session, EVERYTHING, ADMIN, estate.id, label=f"U{number:03}", occupancy=Occupancy.OCCUPIED
            )
            wallet = await open_wallet(session, EVERYTHING, ADMIN, unit.id)
            meter = await add_meter(
                session,
                EVERYTHING,
                ADMIN,
                estate.id,
                utility=Utility.ELECTRICITY,
                serial=f"B{number:03}",
                firmware_profile_id="eastron_sdm120",
                role=MeterRole.UNIT,
                unit_id=unit.id,
                gateway_id=gateway.id,
            )
            meters.append((str(meter.id), str(wallet.id)))
    return gateway.id, meters


def backlog(gateway_id: int, meters: list[tuple[str, str]], minutes: int) -> SimulatedGateway:
    """The gateway's journal for ``minutes`` of every meter read once a minute, billed as the edge does."""
    tariff = compiled(TARIFF_TEXT)
    gateway = SimulatedGateway(str(gateway_id), new_key())
    states = [MeterState(register=Decimal(1_000_000 + 7 * n), read_at=T0) for n in range(len(meters))]
    for minute in range(1, minutes + 1):
        at = T0 + timedelta(minutes=minute)
        for (meter_id, wallet_id), state in zip(meters, states, strict=True):
            gateway.read_and_bill(
                tariff,
                state,
                meter_id=meter_id,
                wallet_id=wallet_id,
                pocket=Pocket.ELECTRICITY,
                register=state.register + Decimal(10 + minute % 17),
                read_at=at,
            )
    return gateway


async def ingest_rates(
    engine: AsyncEngine, gateway: SimulatedGateway, gateway_id: int
) -> tuple[list[float], float]:
    """Entries per second of each 1,000-entry batch (one transaction each), and this process's CPU
    microseconds per entry (what the API replica spends, whatever else loads the machine)."""
    rates = []
    cpu_began = time.process_time()
    for first in range(0, len(gateway.entries), MAX_BATCH_ENTRIES):
        batch = journal_batch(gateway.gateway_id, gateway.entries[first : first + MAX_BATCH_ENTRIES])
        began = time.perf_counter()
        async with transaction(engine) as session:
            ack = await ingest_batch(session, await gateway_context(session, gateway_id), batch)
        rates.append(len(batch.entries) / (time.perf_counter() - began))
        assert ack.status is AckStatus.ACCEPTED
    return rates, (time.process_time() - cpu_began) * 1e6 / len(gateway.entries)


async def measure(url: str) -> tuple[list[float], float, float]:
    engine = create_engine(url)
    try:
        gateway_id, meters = await estate_with_meters(engine)
        gateway = backlog(gateway_id, meters, SAMPLE_MINUTES)
        rates, cpu_us = await ingest_rates(engine, gateway, gateway_id)
        return rates, cpu_us, len(gateway.entries) / (SAMPLE_MINUTES * METERS)
    finally:
        await engine.dispose()


def run() -> list[Figure]:
    """Measure intake on a sample backlog and extrapolate the 72-hour drain."""
    with scratch_database() as url:
        rates, cpu_us, entries_per_meter_minute = asyncio.run(measure(url))
    rate = statistics.median(rates)
    backlog_entries = BACKLOG_HOURS * 60 * METERS * entries_per_meter_minute
    sample = f"{len(rates)} batches of {MAX_BATCH_ENTRIES:,} ({SAMPLE_MINUTES} min × {METERS} meters)"
    return [
        Figure(
            "journal intake rate",
            rate,
            "entries/s",
            15_000.0,
            True,
            f"median of {sample}: verify, store, readings, post and re-rate charges",
        ),
        Figure(
            "journal intake CPU in the API process",
            cpu_us,
            "µs/entry",
            None,
            False,
            "process CPU time per entry (PostgreSQL's own work excluded): the rate one core could reach",
        ),
        Figure(
            "72-hour backlog drain, 200 meters at 1/min",
            backlog_entries / rate / 60,
            "min",
            None,
            False,
            f"extrapolated from the measured rate: {backlog_entries:,.0f} entries "
            f"({entries_per_meter_minute:.1f} per meter-minute), not run in full",
        ),
    ]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.value:,.1f} {figure.unit} (target {figure.target}) — {figure.note}")
