"""Ledger throughput and latency on the machine's PostgreSQL, in a scratch database dropped at the end.

- bulk: gateway charges posted through ``post_many`` in batches of 5,000 (one transaction each);
- hot wallet: manual top-ups of one pocket by 16 concurrent writers, each on its own connection:
  the service as it is (concurrent top-ups share a group commit), and, in the same run for
  comparison, the same top-up posted inside each writer's own transaction (one commit each, as
  before group commit). Each reports this process's CPU time per top-up too, since wall times
  on a shared machine move with whatever else runs.

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
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.database.cli import upgrade_to_head
from cloud.database.session import create_engine, transaction
from cloud.estates.scope import Scope
from cloud.gateways.push import pocket_balance_changed
from cloud.ledger.accounts import clearing_account, ensure_account
from cloud.ledger.domain import PostingKind, PostingRequest, gateway_charge_key
from cloud.ledger.posting import BalanceAudit, post, post_many
from cloud.payments.services import MANUAL_PROVIDER, manual_top_up
from cloud.wallets.services import get_pocket
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


async def top_up_in_own_transaction(session: AsyncSession, pocket_id: int, key: str) -> None:
    """A manual top-up posted inside the caller's transaction: one commit (and disk flush) per
    top-up, each holding the chain lock until it is flushed. The comparison for the group commit."""
    pocket = await get_pocket(session, Scope.everything(), pocket_id)
    clearing = await ensure_account(session, clearing_account(MANUAL_PROVIDER, pocket.currency))
    request = PostingRequest(
        f"top_up:{key}", PostingKind.TOP_UP, clearing, pocket.account_id, 1_000, memo=ADMIN.reason
    )
    audit = BalanceAudit(
        ADMIN, "payments.manual_top_up", ("pocket", pocket_id), pocket.estate_id, pocket.account_id
    )
    if (await post(session, request, audit=audit)).results[0].created:
        await pocket_balance_changed(session, pocket_id)


async def hot_wallet_latencies(
    url: str, writers: int = WRITERS, *, grouped: bool = True
) -> tuple[list[float], float]:
    """Milliseconds per top-up (start of transaction to commit) with ``writers`` writers on one
    pocket, and this process's CPU milliseconds per top-up (writers and group commit together)."""
    engine = create_engine(url, pool_size=writers, max_overflow=0)
    run_id = uuid.uuid4().hex[:6]
    estate = await make_estate(engine, f"Hot {run_id}")
    pocket = estate.pocket("electricity")
    latencies: list[float] = []

    async def writer(number: int, count: int, timed: bool) -> None:
        for n in range(count):
            key = f"{run_id}-{timed}-{number}-{n}"
            began = time.perf_counter()
            async with transaction(engine) as session:
                if grouped:
                    await manual_top_up(
                        session, Scope.everything(), ADMIN, pocket, amount_cents=1_000, idempotency_key=key
                    )
                else:
                    await top_up_in_own_transaction(session, pocket, key)
            if timed:
                latencies.append((time.perf_counter() - began) * 1000)

    # Untimed first round: opens the 16 connections, so connecting is not counted as posting latency.
    await asyncio.gather(*(writer(number, 1, False) for number in range(writers)))
    cpu_began = time.process_time()
    await asyncio.gather(*(writer(number, TOP_UPS_PER_WRITER, True) for number in range(writers)))
    cpu_ms = (time.process_time() - cpu_began) * 1000 / len(latencies)
    await engine.dispose()
    return latencies, cpu_ms


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run() -> list[Figure]:
    """Measure all figures in one scratch database; the two top-up paths alternate run by run."""
    with scratch_database() as url:
        rates = asyncio.run(bulk_rates(url))
        alone, _ = asyncio.run(hot_wallet_latencies(url, writers=1))
        runs: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
        for _ in range(LATENCY_REPEATS):
            for grouped in (False, True):
                latencies, cpu_ms = asyncio.run(hot_wallet_latencies(url, grouped=grouped))
                runs[grouped].append((percentile(latencies, 0.50), percentile(latencies, 0.99), cpu_ms))
    writes = f"{WRITERS} writers × {TOP_UPS_PER_WRITER} top-ups, median of {LATENCY_REPEATS} runs"
    p50, p99, cpu = (statistics.median(figures) for figures in zip(*runs[True], strict=True))
    p50_own, p99_own, cpu_own = (statistics.median(figures) for figures in zip(*runs[False], strict=True))
    own = f"{writes}; each top-up in its writer's own transaction, one commit each (before group commit)"
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
        Figure("hot-wallet top-up latency p50", p50, "ms", None, False, f"{writes}; group commit"),
        Figure("hot-wallet top-up latency p99", p99, "ms", 20.0, False, f"{writes}; group commit"),
        Figure("hot-wallet top-up CPU per top-up", cpu, "ms", None, False, f"{writes}; this process"),
        Figure("hot-wallet top-up latency p50, one commit each", p50_own, "ms", None, False, own),
        Figure("hot-wallet top-up latency p99, one commit each", p99_own, "ms", None, False, own),
        Figure("hot-wallet top-up CPU per top-up, one commit each", cpu_own, "ms", None, False, own),
    ]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.value:,.2f} {figure.unit} (target {figure.target}) {figure.note}")
