"""Ledger throughput and latency on the machine's PostgreSQL, in a scratch database dropped at the end.

- bulk: gateway charges posted through ``post_many`` in batches of 5,000 (one transaction each);
- hot wallet: manual top-ups of one pocket by 16 concurrent writers, each on its own connection.

Run directly (``python -m tests.bench.bench_ledger``) or through ``python -m tests.bench.run``.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cloud.database.cli import upgrade_to_head
from cloud.database.session import create_engine, transaction
from cloud.estates.scope import Scope
from cloud.ledger.domain import PostingKind, PostingRequest, gateway_charge_key
from cloud.ledger.posting import post_many
from cloud.payments.services import manual_top_up
from tests.bench.figures import Figure
from tests.integration.cloud.conftest import ADMIN, make_estate

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BULK_BATCH = 5_000
BULK_REPEATS = 5
WRITERS = 16
TOP_UPS_PER_WRITER = 40
LATENCY_REPEATS = 3


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database with the cloud schema, dropped afterwards."""
    name = f"quantify_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(ADMIN_URL) | {"dbname": name}
    url = make_conninfo("", **params)
    try:
        upgrade_to_head(url)
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bulk_rates(url: str) -> list[float]:
    """Postings per second of each bulk batch."""
    engine = create_engine(url)
    estate = await make_estate(engine)
    debit, credit = estate.pocket_account("electricity"), estate.revenue_account_id
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rates = []
    for repeat in range(BULK_REPEATS):
        first = repeat * BULK_BATCH
        batch = [
            PostingRequest(
                gateway_charge_key(1, seq),
                PostingKind.CHARGE,
                debit,
                credit,
                1 + seq % 50,
                effective_at=start + timedelta(seconds=seq),
            )
            for seq in range(first + 1, first + BULK_BATCH + 1)
        ]
        began = time.perf_counter()
        async with transaction(engine) as session:
            result = await post_many(session, batch)
        rates.append(BULK_BATCH / (time.perf_counter() - began))
        assert result.created_count == BULK_BATCH
    await engine.dispose()
    return rates


async def hot_wallet_latencies(url: str, writers: int = WRITERS) -> list[float]:
    """Milliseconds per top-up (start of transaction to commit) with ``writers`` writers on one pocket."""
    engine = create_engine(url, pool_size=writers, max_overflow=0)
    run_id = uuid.uuid4().hex[:6]
    estate = await make_estate(engine, f"Hot {run_id}")
    pocket = estate.pocket("electricity")
    latencies: list[float] = []

    async def writer(number: int, count: int, timed: bool) -> None:
        for n in range(count):
            began = time.perf_counter()
            async with transaction(engine) as session:
                await manual_top_up(
                    session,
                    Scope.everything(),
                    ADMIN,
                    pocket,
                    amount_cents=1_000,
                    idempotency_key=f"{run_id}-{timed}-{number}-{n}",
                )
            if timed:
                latencies.append((time.perf_counter() - began) * 1000)

    # Untimed first round: opens the 16 connections, so connecting is not counted as posting latency.
    await asyncio.gather(*(writer(number, 1, False) for number in range(writers)))
    await asyncio.gather(*(writer(number, TOP_UPS_PER_WRITER, True) for number in range(writers)))
    await engine.dispose()
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run() -> list[Figure]:
    """Measure both figures in one scratch database."""
    with scratch_database() as url:
        rates = asyncio.run(bulk_rates(url))
        alone = asyncio.run(hot_wallet_latencies(url, writers=1))
        p50s, p99s = [], []
        for _ in range(LATENCY_REPEATS):
            latencies = asyncio.run(hot_wallet_latencies(url))
            p50s.append(percentile(latencies, 0.50))
            p99s.append(percentile(latencies, 0.99))
    writes = f"{WRITERS} writers × {TOP_UPS_PER_WRITER} top-ups, median of {LATENCY_REPEATS} runs"
    return [
        Figure(
            "ledger bulk posting rate",
            statistics.median(rates),
            "postings/s",
            5_000.0,
            True,
            f"batches of {BULK_BATCH:,} charges, hash-chained, median of {BULK_REPEATS}",
        ),
        Figure(
            "top-up latency p50, one writer",
            percentile(alone, 0.50),
            "ms",
            None,
            False,
            f"{TOP_UPS_PER_WRITER} top-ups in a row: the cost of one top-up without contention",
        ),
        Figure("hot-wallet top-up latency p50", statistics.median(p50s), "ms", None, False, writes),
        Figure("hot-wallet top-up latency p99", statistics.median(p99s), "ms", 20.0, False, writes),
    ]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.value:,.2f} {figure.unit} (target {figure.target}) {figure.note}")
