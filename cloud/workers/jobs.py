"""The cloud's jobs, declared on a given broker (so nothing depends on dramatiq's global broker).

``verify_ledger``: verify the ledger end to end and store the report in ``ledger_verifications``,
one row per chain position. It is idempotent and re-derivable: running it twice on an unchanged
ledger leaves one row with the same verdict, and nothing else reads its result to move money.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import dramatiq
from dramatiq import Broker

from cloud.database.session import create_engine, transaction
from cloud.ledger.verify import VerificationReport, record_verification, verify_ledger

log = logging.getLogger(__name__)

QUEUE = "quantify"
#: A verification is cheap to repeat, so a failure is retried a few times, then left to the next run.
VERIFY_MAX_RETRIES = 3
VERIFY_TIME_LIMIT_MS = 10 * 60 * 1000


@dataclass(frozen=True, slots=True)
class Jobs:
    """The actors bound to one broker and database; ``.send()`` on one enqueues a run."""

    broker: Broker
    verify_ledger: dramatiq.Actor[[], None]


def declare_jobs(broker: Broker, database_url: str) -> Jobs:
    """Declare every job on ``broker``, running against the database at ``database_url``."""

    def verify_ledger_job() -> None:
        report = asyncio.run(verify_and_record(database_url))
        level = logging.INFO if report.ok else logging.ERROR
        log.log(
            level,
            "ledger verification through seq %d: %s",
            report.through_seq,
            "ok" if report.ok else report.problems[:3],
        )

    declare = dramatiq.actor(
        broker=broker,
        actor_name="verify_ledger",
        queue_name=QUEUE,
        max_retries=VERIFY_MAX_RETRIES,
        time_limit=VERIFY_TIME_LIMIT_MS,
    )
    actor: dramatiq.Actor[[], None] = declare(verify_ledger_job)
    return Jobs(broker=broker, verify_ledger=actor)


async def verify_and_record(database_url: str) -> VerificationReport:
    """Verify the ledger and store the report (replacing an earlier one for the same chain position)."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        report = await verify_ledger(engine)
        async with transaction(engine) as session:
            await record_verification(session, report)
        return report
    finally:
        await engine.dispose()
