"""Group commit of top-ups: concurrent writers on real connections share commits, and still lose
nothing, double nothing, audit every posting with its exact balances and keep one linear chain."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import create_engine, transaction
from cloud.errors import Conflict
from cloud.estates.scope import Scope
from cloud.payments.services import expect_eft, manual_top_up
from cloud.wallets.services import get_pocket
from tests.integration.cloud.conftest import ADMIN, Estate

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

WRITERS = 16
TOP_UPS_PER_WRITER = 10
ALL = Scope.everything()
CLI = Path(sys.executable).parent / "quantify-cloud"


async def top_up(engine: AsyncEngine, pocket: int, amount: int, key: str) -> bool:
    async with transaction(engine) as session:
        result = await manual_top_up(session, ALL, ADMIN, pocket, amount_cents=amount, idempotency_key=key)
    return result.created


async def test_sixteen_writers_share_commits_and_every_audit_follows_the_balance(
    engine: AsyncEngine, estate: Estate, migrated_url: str
) -> None:
    pocket = estate.pocket("electricity")
    # Half the writers go through a second engine: two group holders, as in two API processes,
    # contend for the chain head on their own connections.
    other = create_engine(migrated_url, pool_size=WRITERS // 2, max_overflow=0)

    async def writer(number: int) -> list[bool]:
        via = engine if number % 2 else other
        created = []
        for n in range(TOP_UPS_PER_WRITER):
            created.append(await top_up(via, pocket, 1_000 + number, f"w{number}-{n}"))
            # Every writer also sends a key all the others send at the same moment.
            created.append(await top_up(via, pocket, 100 + n, f"shared-{n}"))
        return created

    try:
        outcomes = await asyncio.gather(*(writer(number) for number in range(WRITERS)))
    finally:
        await other.dispose()

    expected = sum(1_000 + w for w in range(WRITERS)) * TOP_UPS_PER_WRITER + sum(
        100 + n for n in range(TOP_UPS_PER_WRITER)
    )
    postings = WRITERS * TOP_UPS_PER_WRITER + TOP_UPS_PER_WRITER
    assert sum(created for flags in outcomes for created in flags) == postings  # one creator per key
    async with transaction(engine) as session:
        assert (await get_pocket(session, ALL, pocket)).balance_cents == expected
        rows = (await session.execute(text("SELECT seq, posted_at FROM ledger_postings ORDER BY seq"))).all()
        audits = (
            await session.execute(
                text(
                    "SELECT before, after FROM audit_records WHERE action = 'payments.manual_top_up' "
                    "ORDER BY (after ->> 'posting_seq')::bigint"
                )
            )
        ).all()
    assert [row.seq for row in rows] == list(range(1, postings + 1))
    # Postings of one group share their posting time: fewer times than postings means groups formed.
    assert len({row.posted_at for row in rows}) < postings
    # One audit per posting, each starting from the balance the one before it left.
    assert [a.after["posting_seq"] for a in audits] == list(range(1, postings + 1))
    balance = 0
    for audit in audits:
        assert audit.before["balance_cents"] == balance
        assert audit.after["balance_cents"] == balance + audit.after["amount_cents"]
        balance = audit.after["balance_cents"]
    assert balance == expected

    verified = subprocess.run(
        [str(CLI), "ledger", "verify", "--json"],
        env=os.environ | {"DATABASE_URL": migrated_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["ok"] and report["postings_checked"] == postings


async def test_a_reused_key_in_a_group_fails_alone(engine: AsyncEngine, estate: Estate) -> None:
    pocket = estate.pocket("water")
    await top_up(engine, pocket, 500, "taken")

    outcomes = await asyncio.gather(
        *(top_up(engine, pocket, 100, f"fresh-{n}") for n in range(8)),
        top_up(engine, pocket, 999, "taken"),  # the same key, another amount
        return_exceptions=True,
    )

    assert outcomes[:8] == [True] * 8
    assert isinstance(outcomes[8], Conflict) and "already used" in str(outcomes[8])
    async with transaction(engine) as session:
        assert (await get_pocket(session, ALL, pocket)).balance_cents == 500 + 8 * 100


async def test_a_top_up_after_other_writes_commits_or_rolls_back_with_them(
    engine: AsyncEngine, estate: Estate
) -> None:
    pocket = estate.pocket("water")
    await top_up(engine, pocket, 100, "first")  # creates the clearing account: a write of its own

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        async with transaction(engine) as session:
            await expect_eft(session, ALL, ADMIN, pocket, reference="EFT-1", amount_cents=700)
            await manual_top_up(session, ALL, ADMIN, pocket, amount_cents=700, idempotency_key="joined")
            raise Abandoned
    with pytest.raises(Abandoned):
        async with transaction(engine) as session:
            await manual_top_up(session, ALL, ADMIN, pocket, amount_cents=300, idempotency_key="alone")
            raise Abandoned

    async with transaction(engine) as session:
        keys = (
            (await session.execute(text("SELECT idempotency_key FROM ledger_postings ORDER BY seq")))
            .scalars()
            .all()
        )
        assert (await get_pocket(session, ALL, pocket)).balance_cents == 100 + 300
    # The first shared its transaction with the EFT record and went with it; the second, alone
    # in its transaction, was committed by the group before the caller gave up.
    assert keys == ["top_up:first", "top_up:alone"]
