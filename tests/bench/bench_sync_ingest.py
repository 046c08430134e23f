"""Journal intake throughput: entries per second through the cloud's intake service into PostgreSQL,
and the time to drain a real 72-hour backlog through the HTTP endpoint.

An estate of 200 unit meters on one gateway, each read every minute and billed on a flat tariff
with a daily standing charge (a reading and its charges per meter-minute, rated by the shared
code exactly as the edge does).

- rate: a 30-minute sample backlog is ingested in batches of 1,000 entries, one transaction each,
  through :func:`cloud.gateways.intake.ingest_batch`: chain verification, storing every entry,
  readings into their table, charges posted to the ledger, and revenue assurance (every charge
  re-derived from the readings, per-meter state loaded and saved once per batch). The API
  process's CPU per entry is reported too, and the part of it the shared chain verification takes
  (the same sample verified on its own).
- drain: in a second scratch database, the gateway enrols with the API served by a real uvicorn
  process and uploads its whole 72-hour journal (~2.6 million entries) in signed batches of
  1,000, each sent when the previous one is acknowledged, as the agent does. The journal is
  generated as it goes (by the shared journal and rating code) one batch ahead of the upload, so
  memory stays bounded. The time from the first upload to the last ack is the drain time; the
  cloud's stored head must then equal the gateway's.

Run directly (``python -m tests.bench.bench_sync_ingest``; ``--help`` for a shorter drain or none)
or through ``python -m tests.bench.run``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import create_engine, transaction
from cloud.estates.metering import add_meter, add_tariff_version, register_gateway
from cloud.estates.metering_models import MeterRole
from cloud.estates.models import Occupancy, WalletMode
from cloud.estates.services import add_unit, create_estate
from cloud.gateways.config import gateway_context
from cloud.gateways.enrolment import create_enrolment_code
from cloud.gateways.intake import ingest_batch
from cloud.wallets.services import open_wallet
from shared.journal import Pocket, verify_chain
from shared.quantities import Utility
from shared.sync import MAX_BATCH_ENTRIES, AckStatus, decode_ack, encode_message, journal_batch
from shared.sync.gateway_api import ENROL_PATH, JOURNAL_PATH, EnrolResponse
from tests.bench.bench_ledger import scratch_database
from tests.bench.figures import Figure
from tests.integration.api.served import Server, served
from tests.integration.cloud.conftest import ADMIN, EVERYTHING
from tests.integration.sync_cloud.gateway import (
    T0,
    MeterState,
    SimulatedGateway,
    compiled,
    new_key,
    public_key_b64,
)

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
    gateway = SimulatedGateway(str(gateway_id), new_key())
    for _ in journal_minutes(gateway, meters, minutes):
        pass
    return gateway


def journal_minutes(gateway: SimulatedGateway, meters: list[tuple[str, str]], minutes: int) -> Iterator[int]:
    """Journal each minute of every meter read once and billed as the edge does; yields the minute."""
    tariff = compiled(TARIFF_TEXT)
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
        yield minute


def journal_batches(
    gateway: SimulatedGateway, meters: list[tuple[str, str]], minutes: int
) -> Iterator[list[bytes]]:
    """The journal of :func:`journal_minutes` in upload batches, generated as they are taken, so at
    most a minute and a batch of entries are held at once."""
    for _ in journal_minutes(gateway, meters, minutes):
        while len(gateway.entries) >= MAX_BATCH_ENTRIES:
            yield gateway.entries[:MAX_BATCH_ENTRIES]
            del gateway.entries[:MAX_BATCH_ENTRIES]
    if gateway.entries:
        yield list(gateway.entries)
        gateway.entries.clear()


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


async def measure(url: str) -> tuple[list[float], float, float, float]:
    """Intake rates, intake and chain-verification CPU µs per entry, and entries per meter-minute."""
    engine = create_engine(url)
    try:
        gateway_id, meters = await estate_with_meters(engine)
        gateway = backlog(gateway_id, meters, SAMPLE_MINUTES)
        verify_us = verification_cpu_us(gateway.entries)
        rates, cpu_us = await ingest_rates(engine, gateway, gateway_id)
        return rates, cpu_us, verify_us, len(gateway.entries) / (SAMPLE_MINUTES * METERS)
    finally:
        await engine.dispose()


def verification_cpu_us(entries: list[bytes]) -> float:
    """CPU µs per entry of the shared chain check alone (decode, canonical form, link, hash)."""
    began = time.process_time()
    verdict = verify_chain(entries)
    elapsed_s = time.process_time() - began
    assert verdict.ok, verdict.problem
    return elapsed_s * 1e6 / len(entries)


@dataclass(frozen=True)
class Drain:
    """A backlog uploaded over HTTP: how many entries, how long from first upload to last ack, and
    the API process's CPU seconds meanwhile."""

    entries: int
    batches: int
    elapsed_s: float
    api_cpu_s: float


def drain_over_http(url: str, hours: int = BACKLOG_HOURS) -> Drain:
    """Enrol a gateway with the served API and upload ``hours`` of its journal, batch after ack."""
    gateway_id, meters = asyncio.run(_estate_and_code(url))
    with (
        tempfile.TemporaryDirectory(prefix="quantify-drain-") as work,
        served(url, Path(work) / "api.log") as server,
    ):
        gateway = _enrolled(server, *gateway_id)
        with httpx.Client(base_url=server.base_url, timeout=120) as http, ThreadPoolExecutor(1) as sender:
            cpu_began, began = server.cpu_s(), time.perf_counter()
            entries, batches, in_flight = 0, 0, None
            # The next batch is generated while the cloud takes the previous one; it is sent only
            # once that one is acknowledged, as the agent does.
            for chunk in journal_batches(gateway, meters, hours * 60):
                body = encode_message(journal_batch(gateway.gateway_id, chunk))
                headers = gateway.headers("POST", JOURNAL_PATH, body)
                _accepted(in_flight)
                in_flight = sender.submit(http.post, JOURNAL_PATH, content=body, headers=headers)
                entries, batches = entries + len(chunk), batches + 1
            _accepted(in_flight)
            drain = Drain(entries, batches, time.perf_counter() - began, server.cpu_s() - cpu_began)
    asyncio.run(_check_stored_head(url, int(gateway.gateway_id), gateway.head.seq, gateway.head.hash))
    return drain


async def _estate_and_code(url: str) -> tuple[tuple[int, str], list[tuple[str, str]]]:
    engine = create_engine(url)
    try:
        gateway_id, meters = await estate_with_meters(engine)
        async with transaction(engine) as session:
            issued = await create_enrolment_code(
                session, EVERYTHING, ADMIN, gateway_id, timedelta(hours=1), now=datetime.now(UTC)
            )
        return (gateway_id, issued.code), meters
    finally:
        await engine.dispose()


def _enrolled(server: Server, gateway_id: int, code: str) -> SimulatedGateway:
    key = new_key()
    body = {"code": code, "public_key": public_key_b64(key), "agent_version": "bench"}
    response = httpx.post(f"{server.base_url}{ENROL_PATH}", json=body, timeout=30)
    response.raise_for_status()
    enrolled = msgspec.json.decode(response.content, type=EnrolResponse)
    assert enrolled.gateway_id == str(gateway_id), enrolled
    return SimulatedGateway(enrolled.gateway_id, key)


def _accepted(in_flight: Future[httpx.Response] | None) -> None:
    if in_flight is None:
        return
    response = in_flight.result()
    assert response.status_code == 200, response.text
    ack = decode_ack(response.content)
    assert ack.status is AckStatus.ACCEPTED, ack


async def _check_stored_head(url: str, gateway_id: int, seq: int, digest: str) -> None:
    engine = create_engine(url)
    try:
        async with transaction(engine) as session:
            stored = (
                await session.execute(
                    text("SELECT head_seq, head_hash FROM gateway_sync_state WHERE gateway_id = :g"),
                    {"g": gateway_id},
                )
            ).one()
            count = await session.scalar(
                text("SELECT count(*) FROM gateway_journal WHERE gateway_id = :g"), {"g": gateway_id}
            )
    finally:
        await engine.dispose()
    assert (stored.head_seq, stored.head_hash, count) == (seq, digest, seq), (stored, count, seq)


def run(hours: int = BACKLOG_HOURS) -> list[Figure]:
    """Measure intake on a sample backlog, then drain a real ``hours``-hour backlog over HTTP
    (none when ``hours`` is 0)."""
    with scratch_database() as url:
        rates, cpu_us, verify_us, entries_per_meter_minute = asyncio.run(measure(url))
    rate = statistics.median(rates)
    sample = f"{len(rates)} batches of {MAX_BATCH_ENTRIES:,} ({SAMPLE_MINUTES} min × {METERS} meters)"
    figures = [
        Figure(
            "journal intake rate",
            rate,
            "entries/s",
            15_000.0,
            True,
            f"median of {sample}: verify, store, readings, post charges, re-derive them from the readings",
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
            "journal chain verification CPU",
            verify_us,
            "µs/entry",
            None,
            False,
            "the shared chain check alone over the same sample: decode, canonical form, link and hash",
        ),
    ]
    if hours == 0:
        return figures
    with scratch_database() as url:
        drain = drain_over_http(url, hours)
    return [
        *figures,
        Figure(
            f"{hours}-hour backlog drain, {METERS} meters at 1/min",
            drain.elapsed_s / 60,
            "min",
            None,
            False,
            f"measured: {drain.entries:,} entries ({entries_per_meter_minute:.1f} per meter-minute) in "
            f"{drain.batches:,} signed batches over HTTP to one uvicorn worker, each sent after the "
            f"previous ack; {drain.entries / drain.elapsed_s:,.0f} entries/s sustained",
        ),
        Figure(
            "backlog drain CPU in the API process",
            drain.api_cpu_s * 1e6 / drain.entries,
            "µs/entry",
            None,
            False,
            "API process CPU (HTTP, signature, decoding and intake; PostgreSQL excluded) during the drain",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Journal intake rate and CPU, and a backlog drain over HTTP."
    )
    parser.add_argument(
        "hours",
        nargs="?",
        type=int,
        default=BACKLOG_HOURS,
        help=f"hours of backlog to drain over HTTP (default {BACKLOG_HOURS}, about 4.5 min; 0 skips the drain)",
    )
    for figure in run(parser.parse_args(argv).hours):
        print(f"{figure.name}: {figure.value:,.1f} {figure.unit} (target {figure.target}) — {figure.note}")


if __name__ == "__main__":
    main()
