"""The ledger of record on real PostgreSQL: idempotency, append-only, closed periods, bulk, zero sum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.errors import Conflict, PeriodClosed, ValidationFailed
from cloud.estates.scope import Scope
from cloud.ledger.domain import GENESIS_HASH, PostingKind, PostingRequest, chain_hash, gateway_charge_key
from cloud.ledger.periods import close_period
from cloud.ledger.posting import post, post_many
from cloud.ledger.verify import verify_ledger
from cloud.wallets.services import get_pocket
from tests.integration.cloud.conftest import ADMIN, Estate

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def charge(estate: Estate, key: str, cents: int, at: datetime | None = None) -> PostingRequest:
    return PostingRequest(
        idempotency_key=key,
        kind=PostingKind.CHARGE,
        debit_account_id=estate.pocket_account("electricity"),
        credit_account_id=estate.revenue_account_id,
        amount_cents=cents,
        effective_at=at,
    )


def top_up(estate: Estate, key: str, cents: int) -> PostingRequest:
    return PostingRequest(
        key, PostingKind.TOP_UP, estate.suspense_account_id, estate.pocket_account("electricity"), cents
    )


async def balance(engine: AsyncEngine, estate: Estate) -> int:
    async with transaction(engine) as session:
        return (await get_pocket(session, Scope.everything(), estate.pocket("electricity"))).balance_cents


async def test_a_posting_moves_both_balances_and_the_sum_stays_zero(
    engine: AsyncEngine, estate: Estate
) -> None:
    async with transaction(engine) as session:
        batch = await post(session, top_up(estate, "t1", 10_000))
        await post(session, charge(estate, "c1", 1_234))
    assert batch.results[0].created and batch.results[0].posting.seq == 1
    assert await balance(engine, estate) == 8_766
    report = await verify_ledger(engine)
    assert report.ok and report.postings_checked == 2 and report.balance_total_cents == 0


async def test_a_repeat_returns_the_original_and_different_content_is_a_conflict(
    engine: AsyncEngine, estate: Estate
) -> None:
    async with transaction(engine) as session:
        first = (await post(session, top_up(estate, "t1", 5_000))).results[0]
    async with transaction(engine) as session:
        again = (await post(session, top_up(estate, "t1", 5_000))).results[0]
    assert not again.created and again.posting == first.posting
    assert await balance(engine, estate) == 5_000
    with pytest.raises(Conflict, match="already used for posting 1"):
        async with transaction(engine) as session:
            await post(session, top_up(estate, "t1", 5_001))
    assert await balance(engine, estate) == 5_000


async def test_the_hash_chain_links_each_posting_to_the_one_before(
    engine: AsyncEngine, estate: Estate
) -> None:
    async with transaction(engine) as session:
        batch = await post_many(session, [top_up(estate, f"t{n}", 100 + n) for n in range(3)])
    postings = [r.posting for r in batch.results]
    previous = GENESIS_HASH
    for posting in postings:
        assert posting.hash == chain_hash(previous, posting)
        previous = posting.hash
    async with engine.connect() as conn:
        head = (await conn.execute(text("SELECT seq, hash FROM ledger_chain_head"))).one()
    assert (head.seq, bytes(head.hash)) == (3, postings[-1].hash)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_postings SET amount_cents = 1 WHERE seq = 1",
        "DELETE FROM ledger_postings WHERE seq = 1",
        "TRUNCATE ledger_postings CASCADE",
        "UPDATE audit_records SET reason = 'nothing happened'",
        "DELETE FROM audit_records",
        "DELETE FROM ledger_accounts WHERE balance_cents = 0",
        "DELETE FROM ledger_chain_head",
    ],
)
async def test_the_database_refuses_edits_to_history(
    engine: AsyncEngine, estate: Estate, migrated_url: str, statement: str
) -> None:
    async with transaction(engine) as session:
        await post(session, top_up(estate, "t1", 700))
    with (
        psycopg.connect(migrated_url) as conn,
        pytest.raises(psycopg.DatabaseError, match="append-only") as caught,
    ):
        conn.execute(statement)
    assert caught.value.sqlstate == "QL001"
    assert await balance(engine, estate) == 700


async def test_a_closed_period_refuses_postings_dated_inside_it(
    engine: AsyncEngine, estate: Estate, migrated_url: str
) -> None:
    november = datetime(2026, 10, 31, 22, tzinfo=UTC)  # 1 November 00:00 in Johannesburg
    async with transaction(engine) as session:
        await post(session, charge(estate, "before-close", 50, november + timedelta(days=3)))
        await close_period(session, november, november + timedelta(days=30), ADMIN)
    with pytest.raises(PeriodClosed, match=r"late-charge.*closed period"):
        async with transaction(engine) as session:
            await post(session, charge(estate, "late-charge", 75, november + timedelta(days=5)))
    async with transaction(engine) as session:
        await post(session, charge(estate, "in-december", 75, november + timedelta(days=31)))
    # The trigger holds even for a writer that skips the service's check.
    with psycopg.connect(migrated_url) as conn, pytest.raises(psycopg.DatabaseError) as caught:
        conn.execute(
            "INSERT INTO ledger_postings (seq, idempotency_key, kind, debit_account_id, credit_account_id, amount_cents,"
            " currency, effective_at, posted_at, memo, hash) VALUES (99, 'raw', 'charge', %s, %s, 1, 'ZAR',"
            " '2026-11-10T00:00Z', now(), '', decode(repeat('00', 32), 'hex'))",
            (estate.pocket_account("electricity"), estate.revenue_account_id),
        )
    assert caught.value.sqlstate == "QL002"
    with psycopg.connect(migrated_url) as conn, pytest.raises(psycopg.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM ledger_closed_periods")  # reopening a period is refused too
    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                text(
                    "SELECT actor_user_id, action, reason FROM audit_records WHERE action = 'ledger.close_period'"
                )
            )
        ).one()
    assert tuple(audit) == (ADMIN.user_id, "ledger.close_period", ADMIN.reason)
    assert await balance(engine, estate) == -125


async def test_bulk_posts_gateway_charges_once_even_when_the_batch_is_resent(
    engine: AsyncEngine, estate: Estate
) -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    batch = [
        charge(estate, gateway_charge_key(3, seq), 10 + seq % 7, at + timedelta(minutes=seq))
        for seq in range(1, 2001)
    ]
    async with transaction(engine) as session:
        first = await post_many(session, batch[:1500])
    async with transaction(engine) as session:
        second = await post_many(session, batch)  # the gateway resends, overlapping what was stored
    assert first.created_count == 1500 and second.created_count == 500
    assert [r.posting.seq for r in second.results] == list(range(1, 2001))
    assert await balance(engine, estate) == -sum(r.amount_cents for r in batch)
    assert (await verify_ledger(engine)).ok


async def test_a_batch_is_all_or_nothing(engine: AsyncEngine, estate: Estate) -> None:
    async with transaction(engine) as session:
        await post(session, top_up(estate, "t1", 100))
    with pytest.raises(Conflict):
        async with transaction(engine) as session:
            await post_many(session, [top_up(estate, "t2", 100), top_up(estate, "t1", 999)])
    with pytest.raises(ValidationFailed, match="account 999999 does not exist"):
        async with transaction(engine) as session:
            await post_many(
                session,
                [
                    top_up(estate, "t3", 100),
                    PostingRequest("t4", PostingKind.TOP_UP, 999999, estate.suspense_account_id, 5),
                ],
            )
    assert await balance(engine, estate) == 100
    assert (await verify_ledger(engine)).postings_checked == 1


def test_postings_refuse_amounts_that_are_not_positive_whole_cents() -> None:
    for amount in (0, -5, 1.5, True):
        with pytest.raises(ValidationFailed, match="positive whole number of cents"):
            PostingRequest("k", PostingKind.TOP_UP, 1, 2, amount)  # type: ignore[arg-type]


async def test_a_value_the_database_refuses_is_reported_as_sqlalchemy_reports_it(
    engine: AsyncEngine, estate: Estate
) -> None:
    # PostgreSQL text cannot hold NUL. The posting statement goes straight through psycopg, yet the
    # error is SQLAlchemy's DataError (SQLSTATE class 22), which the API answers with 422, not 500.
    request = PostingRequest(
        "nul-memo",
        PostingKind.CHARGE,
        estate.pocket_account("water"),
        estate.revenue_account_id,
        5,
        memo="a\x00b",
    )
    with pytest.raises(DataError) as refused:
        async with transaction(engine) as session:
            await post(session, request)
    assert str(getattr(refused.value.orig, "sqlstate", "")).startswith("22")
    async with transaction(engine) as session:
        assert await session.scalar(text("SELECT count(*) FROM ledger_postings")) == 0
