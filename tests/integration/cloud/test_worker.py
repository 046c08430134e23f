"""Background jobs: the ledger verification runs through real Redis and RabbitMQ, and in-process without a broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from dramatiq import Worker

from cloud.database.session import create_engine, transaction
from cloud.estates.scope import Scope
from cloud.payments.services import manual_top_up
from cloud.workers.broker import make_broker
from cloud.workers.jobs import QUEUE, declare_jobs
from tests.integration.cloud.conftest import ADMIN, make_estate
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.postgres


async def seed(url: str, top_ups: int) -> None:
    engine = create_engine(url)
    estate = await make_estate(engine)
    for n in range(top_ups):
        async with transaction(engine) as session:
            await manual_top_up(
                session,
                Scope.everything(),
                ADMIN,
                estate.pocket("water"),
                amount_cents=500,
                idempotency_key=f"k{n}",
            )
    await engine.dispose()


def verifications(url: str) -> list[tuple[int, bool]]:
    with psycopg.connect(url) as conn:
        return [
            (row[0], row[1])
            for row in conn.execute("SELECT through_seq, ok FROM ledger_verifications ORDER BY through_seq")
        ]


@pytest.mark.redis
def test_the_verification_job_runs_through_redis_and_is_idempotent(migrated_url: str, redis_url: str) -> None:
    asyncio.run(seed(migrated_url, 3))
    broker = make_broker(redis_url, namespace=f"quantify-test-{uuid.uuid4().hex[:8]}")
    jobs = declare_jobs(broker, migrated_url)
    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        jobs.verify_ledger.send()
        jobs.verify_ledger.send()  # a second run on the same ledger replaces, never adds
        broker.join(QUEUE, timeout=30_000)
        worker.join()
    finally:
        worker.stop()
        broker.flush_all()
        broker.close()
    assert verifications(migrated_url) == [(3, True)]


def test_the_verification_job_runs_through_rabbitmq_and_is_idempotent(
    migrated_url: str, rabbitmq_url: str
) -> None:
    asyncio.run(seed(migrated_url, 4))
    broker = make_broker(rabbitmq_url)
    jobs = declare_jobs(broker, migrated_url)
    broker.flush_all()  # a queue left by an earlier, interrupted run must not run into this one
    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        jobs.verify_ledger.send()
        jobs.verify_ledger.send()
        broker.join(QUEUE, timeout=30_000)
        worker.join()
    finally:
        worker.stop()
        broker.flush_all()
        broker.close()
    assert verifications(migrated_url) == [(4, True)]


def test_the_worker_command_runs_jobs_in_process_without_a_broker(migrated_url: str) -> None:
    asyncio.run(seed(migrated_url, 2))
    env = {k: v for k, v in os.environ.items() if k != "QUANTIFY_BROKER_URL"} | {"DATABASE_URL": migrated_url}
    command = (
        "import argparse, sys; from cloud.workers import cli; p = argparse.ArgumentParser(); "
        "cli.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", command, "worker", "--threads", "1", "--verify-every", "60"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not verifications(migrated_url) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert verifications(migrated_url) == [(2, True)], output
    assert process.returncode == 0, output
    assert "in-process StubBroker" in output
