"""A stateful model of the ledger against real PostgreSQL.

Random top-ups, charges, adjustments, bulk batches, repeated idempotency keys (same and different
content) and bursts of concurrent writers on separate connections; after every step the pockets
hold exactly what the model says, every key was posted once, and all balances sum to zero. The
whole run shares one database; each example works in its own estate and key namespace.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.cli import upgrade_to_head
from cloud.database.session import create_engine, transaction
from cloud.errors import Conflict
from cloud.estates.scope import Scope
from cloud.ledger.domain import PostingKind, PostingRequest
from cloud.ledger.posting import post, post_many
from cloud.ledger.verify import verify_ledger
from cloud.payments.services import manual_top_up
from tests.integration.cloud.conftest import ADMIN, Estate, make_estate

pytestmark = pytest.mark.postgres

AMOUNTS = st.integers(min_value=1, max_value=50_000)
POCKETS = st.sampled_from(["electricity", "water"])


class LedgerMachine(RuleBasedStateMachine):
    portal: BlockingPortal
    engine: AsyncEngine

    def __init__(self) -> None:
        super().__init__()
        self.run_id = uuid.uuid4().hex[:8]
        self.estate: Estate = self.portal.call(make_estate, self.engine, f"Estate {self.run_id}")
        self.expected = {"electricity": 0, "water": 0}
        self.sent: dict[str, PostingRequest] = {}

    # --- helpers --------------------------------------------------------------------------------

    def key(self, n: int | str) -> str:
        return f"{self.run_id}:{n}"

    def request(self, kind: PostingKind, pocket: str, amount: int, key: str) -> PostingRequest:
        account = self.estate.pocket_account(pocket)
        if kind is PostingKind.CHARGE:
            return PostingRequest(key, kind, account, self.estate.revenue_account_id, amount)
        return PostingRequest(key, kind, self.estate.suspense_account_id, account, amount)

    def applied(self, request: PostingRequest) -> None:
        """Update the model for a request that the ledger accepted (a repeat changes nothing)."""
        if request.idempotency_key in self.sent:
            return
        self.sent[request.idempotency_key] = request
        for pocket in self.expected:
            account = self.estate.pocket_account(pocket)
            if request.credit_account_id == account:
                self.expected[pocket] += request.amount_cents
            if request.debit_account_id == account:
                self.expected[pocket] -= request.amount_cents

    async def post_one(self, request: PostingRequest) -> None:
        async with transaction(self.engine) as session:
            await post(session, request)

    # --- rules ----------------------------------------------------------------------------------

    @rule(pocket=POCKETS, amount=AMOUNTS)
    def manual_top_up(self, pocket: str, amount: int) -> None:
        key = uuid.uuid4().hex
        result = self.portal.call(self._top_up, self.estate.pocket(pocket), amount, key)
        self.applied(result)

    async def _top_up(self, pocket_id: int, amount: int, key: str) -> PostingRequest:
        async with transaction(self.engine) as session:
            money = await manual_top_up(
                session, Scope.everything(), ADMIN, pocket_id, amount_cents=amount, idempotency_key=key
            )
        p = money.posting
        return PostingRequest(
            p.idempotency_key, p.kind, p.debit_account_id, p.credit_account_id, p.amount_cents, p.memo
        )

    @rule(pocket=POCKETS, amount=AMOUNTS, kind=st.sampled_from([PostingKind.CHARGE, PostingKind.ADJUSTMENT]))
    def charge_or_adjust(self, pocket: str, amount: int, kind: PostingKind) -> None:
        request = self.request(kind, pocket, amount, self.key(len(self.sent)))
        self.portal.call(self.post_one, request)
        self.applied(request)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def repeat_a_key(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(sorted(self.sent.values(), key=lambda r: r.idempotency_key)))
        self.portal.call(self.post_one, request)  # same content: answered with the original

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data(), extra=st.integers(min_value=1, max_value=100))
    def reuse_a_key_for_other_content(self, data: st.DataObject, extra: int) -> None:
        original = data.draw(st.sampled_from(sorted(self.sent.values(), key=lambda r: r.idempotency_key)))
        changed = PostingRequest(
            original.idempotency_key,
            original.kind,
            original.debit_account_id,
            original.credit_account_id,
            original.amount_cents + extra,
            original.memo,
        )
        with pytest.raises(Conflict):
            self.portal.call(self.post_one, changed)

    @rule(amounts=st.lists(AMOUNTS, min_size=1, max_size=30), repeats=st.integers(min_value=0, max_value=5))
    def bulk_charges(self, amounts: list[int], repeats: int) -> None:
        fresh = [
            self.request(PostingKind.CHARGE, "electricity", a, self.key(f"bulk-{uuid.uuid4().hex}"))
            for a in amounts
        ]
        old = sorted(self.sent.values(), key=lambda r: r.idempotency_key)[:repeats]
        self.portal.call(self._bulk, fresh + old)
        for request in fresh:
            self.applied(request)

    async def _bulk(self, requests: list[PostingRequest]) -> None:
        async with transaction(self.engine) as session:
            await post_many(session, requests)

    @rule(
        writes=st.lists(
            st.tuples(POCKETS, AMOUNTS, st.integers(min_value=0, max_value=3)), min_size=2, max_size=8
        )
    )
    def concurrent_writers(self, writes: list[tuple[str, int, int]]) -> None:
        # Writers with the same slot number share a key and content, so they race to post it once.
        burst = uuid.uuid4().hex[:6]
        requests = [
            self.request(PostingKind.ADJUSTMENT, "water", 7 + slot, self.key(f"{burst}-{slot}"))
            for _, _, slot in writes
        ]
        requests += [
            self.request(PostingKind.CHARGE, pocket, amount, self.key(uuid.uuid4().hex))
            for pocket, amount, _ in writes
        ]
        self.portal.call(self._concurrently, requests)
        for request in requests:
            self.applied(request)

    async def _concurrently(self, requests: list[PostingRequest]) -> None:
        await asyncio.gather(*(self.post_one(request) for request in requests))

    # --- invariants -------------------------------------------------------------------------------

    @invariant()
    def the_ledger_matches_the_model(self) -> None:
        pockets, total, posted = self.portal.call(self._observe)
        assert pockets == self.expected
        assert total == 0
        assert posted == len(self.sent)

    async def _observe(self) -> tuple[dict[str, int], int, int]:
        async with self.engine.connect() as conn:
            balances = {
                pocket: await conn.scalar(
                    text("SELECT balance_cents FROM ledger_accounts WHERE id = :id"),
                    {"id": self.estate.pocket_account(pocket)},
                )
                for pocket in self.expected
            }
            total = await conn.scalar(text("SELECT sum(balance_cents) FROM ledger_accounts"))
            posted = await conn.scalar(
                text(
                    "SELECT count(*) FROM ledger_postings WHERE debit_account_id = ANY(:ids) OR credit_account_id = ANY(:ids)"
                ),
                {"ids": [self.estate.pocket_account(p) for p in self.expected]},
            )
        return balances, int(total), int(posted)

    def teardown(self) -> None:
        report = self.portal.call(verify_ledger, self.engine)
        assert report.ok, report.problems


@pytest.fixture
def ledger_database(postgres_admin_url: str) -> Iterator[str]:
    name = f"quantify_stateful_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo("", **(conninfo_to_dict(postgres_admin_url) | {"dbname": name}))
    upgrade_to_head(url)
    yield url
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_ledger_never_loses_or_doubles_a_posting(ledger_database: str) -> None:
    with start_blocking_portal() as portal:
        engine = portal.call(lambda: _engine(ledger_database))
        LedgerMachine.portal, LedgerMachine.engine = portal, engine
        try:
            run_state_machine_as_test(
                LedgerMachine,
                settings=settings(
                    max_examples=8,
                    stateful_step_count=10,
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow],
                ),
            )
        finally:
            portal.call(engine.dispose)


async def _engine(url: str) -> AsyncEngine:
    return create_engine(url, pool_size=10, max_overflow=10)
