"""Money in: a manual top-up and the manual EFT workflow, each idempotent and audited."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.actor import Actor
from cloud.audit.services import list_records
from cloud.database.session import transaction
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.scope import Scope
from cloud.payments.models import EftStatus
from cloud.payments.services import expect_eft, get_eft, manual_top_up, mark_eft_received
from cloud.wallets.adjustments import adjust_pocket
from cloud.wallets.services import get_pocket, pocket_statement
from tests.integration.cloud.conftest import ADMIN, Estate, make_estate

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
ALL = Scope.everything()


async def pocket_balance(engine: AsyncEngine, pocket_id: int) -> int:
    async with transaction(engine) as session:
        return (await get_pocket(session, ALL, pocket_id)).balance_cents


async def test_a_manual_top_up_credits_the_pocket_once_and_says_who_and_why(
    engine: AsyncEngine, estate: Estate
) -> None:
    water = estate.pocket("water")
    for _ in range(2):  # the administrator's browser retries the same request
        async with transaction(engine) as session:
            result = await manual_top_up(
                session,
                Scope.estates(estate.estate_id),
                ADMIN,
                water,
                amount_cents=25_000,
                idempotency_key="req-1",
            )
    assert result.posting.amount_cents == 25_000 and not result.created
    assert await pocket_balance(engine, water) == 25_000
    assert await pocket_balance(engine, estate.pocket("electricity")) == 0
    async with transaction(engine) as session:
        [audit] = await list_records(session, Scope.estates(estate.estate_id), subject=("pocket", water))
        statement = await pocket_statement(session, ALL, water)
    assert (audit.actor_user_id, audit.source_address, audit.reason) == (7, "203.0.113.9", ADMIN.reason)
    assert audit.before == {"pocket_id": water, "balance_cents": 0}
    assert audit.after is not None and audit.after["balance_cents"] == 25_000
    assert [(p.kind, p.amount_cents, p.memo) for p in statement] == [("top_up", 25_000, ADMIN.reason)]


async def test_a_top_up_needs_a_reason_and_a_pocket_in_scope(engine: AsyncEngine, estate: Estate) -> None:
    other = await make_estate(engine, "Elm Court")
    silent = Actor(user_id=7, role="estate_admin", source_address="203.0.113.9", reason=" ")
    with pytest.raises(ValidationFailed, match="say why"):
        async with transaction(engine) as session:
            await manual_top_up(
                session, ALL, silent, estate.pocket("water"), amount_cents=100, idempotency_key="k"
            )
    with pytest.raises(NotFound, match=f"pocket {other.pocket('water')} not found"):
        async with transaction(engine) as session:
            await manual_top_up(
                session,
                Scope.estates(estate.estate_id),
                ADMIN,
                other.pocket("water"),
                amount_cents=100,
                idempotency_key="k",
            )
    assert await pocket_balance(engine, other.pocket("water")) == 0


async def test_an_expected_eft_is_posted_once_when_marked_received(
    engine: AsyncEngine, estate: Estate
) -> None:
    pocket = estate.pocket("electricity")
    async with transaction(engine) as session:
        eft = await expect_eft(session, ALL, ADMIN, pocket, reference="A1-NOV", amount_cents=50_000)
        again = await expect_eft(session, ALL, ADMIN, pocket, reference="A1-NOV", amount_cents=50_000)
    assert again.id == eft.id and eft.status == EftStatus.EXPECTED
    assert await pocket_balance(engine, pocket) == 0  # expected is not received

    with pytest.raises(Conflict, match="already expected"):
        async with transaction(engine) as session:
            await expect_eft(session, ALL, ADMIN, pocket, reference="A1-NOV", amount_cents=40_000)

    async with transaction(engine) as session:
        received = await mark_eft_received(session, ALL, ADMIN, eft.id)
    async with transaction(engine) as session:
        repeat = await mark_eft_received(session, ALL, ADMIN, eft.id)
        stored = await get_eft(session, ALL, eft.id)
        actions = (
            (
                await session.execute(
                    text("SELECT action FROM audit_records WHERE subject_type = 'eft' ORDER BY id")
                )
            )
            .scalars()
            .all()
        )
        bank = await session.scalar(
            text(f"SELECT balance_cents FROM ledger_accounts WHERE code = 'bank:{estate.estate_id}'")
        )
    assert received.created and not repeat.created and repeat.posting.seq == received.posting.seq
    assert (stored.status, stored.posting_seq, stored.received_by_user_id) == (
        "received",
        received.posting.seq,
        7,
    )
    assert await pocket_balance(engine, pocket) == 50_000
    assert bank == -50_000  # the money now sits in the estate's bank account
    assert actions == ["payments.expect_eft", "payments.eft_received"]


async def test_an_adjustment_corrects_a_pocket_through_suspense_and_is_audited(
    engine: AsyncEngine, estate: Estate
) -> None:
    water = estate.pocket("water")
    async with transaction(engine) as session:
        await manual_top_up(session, ALL, ADMIN, water, amount_cents=10_000, idempotency_key="t")
        down = await adjust_pocket(session, ALL, ADMIN, water, amount_cents=-2_500, idempotency_key="fix-1")
        again = await adjust_pocket(session, ALL, ADMIN, water, amount_cents=-2_500, idempotency_key="fix-1")
        [audit] = await list_records(session, ALL, subject=("pocket", water), limit=1)
    assert (
        down.created and not again.created and down.posting.debit_account_id == estate.pocket_account("water")
    )
    assert await pocket_balance(engine, water) == 7_500
    assert audit.action == "wallet.adjust"
    assert (audit.before or {})["balance_cents"] == 10_000 and (audit.after or {})["balance_cents"] == 7_500
    with pytest.raises(ValidationFailed, match="non-zero"):
        async with transaction(engine) as session:
            await adjust_pocket(session, ALL, ADMIN, water, amount_cents=0, idempotency_key="fix-2")
