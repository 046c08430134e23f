"""Concurrent writers on separate connections: no lost update, no double post, one linear chain."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.estates.scope import Scope
from cloud.ledger.verify import verify_ledger
from cloud.payments.services import manual_top_up
from cloud.wallets.services import get_pocket
from tests.integration.cloud.conftest import ADMIN, Estate

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

WRITERS = 16
TOP_UPS_PER_WRITER = 15


async def test_sixteen_writers_on_one_hot_pocket_lose_nothing_and_double_nothing(
    engine: AsyncEngine, estate: Estate
) -> None:
    pocket = estate.pocket("electricity")

    async def writer(number: int) -> None:
        for n in range(TOP_UPS_PER_WRITER):
            # Every writer also retries a key another writer uses at the same time.
            for key in (f"w{number}-{n}", f"shared-{n}"):
                amount = 100 + n if key.startswith("shared") else 1_000 + number
                async with transaction(engine) as session:
                    await manual_top_up(
                        session, Scope.everything(), ADMIN, pocket, amount_cents=amount, idempotency_key=key
                    )

    await asyncio.gather(*(writer(number) for number in range(WRITERS)))

    expected = sum(1_000 + w for w in range(WRITERS)) * TOP_UPS_PER_WRITER + sum(
        100 + n for n in range(TOP_UPS_PER_WRITER)
    )
    async with transaction(engine) as session:
        assert (await get_pocket(session, Scope.everything(), pocket)).balance_cents == expected
        seqs = (await session.execute(text("SELECT seq FROM ledger_postings ORDER BY seq"))).scalars().all()
        top_up_audits = await session.scalar(
            text("SELECT count(*) FROM audit_records WHERE action = 'payments.manual_top_up'")
        )
    assert seqs == list(range(1, WRITERS * TOP_UPS_PER_WRITER + TOP_UPS_PER_WRITER + 1))
    assert top_up_audits == len(seqs)  # a repeat is not a change, so it is not audited again
    report = await verify_ledger(engine)
    assert report.ok, report.problems
