"""The sync protocol against the cloud's real journal intake on PostgreSQL, under any delivery order.

A simulated gateway journals charges (and other facts) while batches of its journal reach the
cloud dropped, repeated, overlapping or out of order, and top-ups land in the cloud meanwhile.
Whatever happens: the cloud posts exactly the charges of the prefix it holds, each once; after
every ack the gateway's formula (``shared.sync.cached_balance_cents``) gives the true balance;
and once the backlog drains, the cloud ledger equals every charge the gateway journalled.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.cli import upgrade_to_head
from cloud.database.session import create_engine, transaction
from cloud.gateways.config import gateway_context
from cloud.gateways.intake import ingest_batch
from cloud.payments.services import manual_top_up
from shared.journal import AlarmKind, Charge, Entry, Pocket, decode_entry
from shared.quantities import Utility
from shared.sync import AckStatus, PocketBalance, cached_balance_cents, journal_batch
from tests.integration.cloud.conftest import ADMIN, EVERYTHING
from tests.integration.sync_cloud.conftest import OPENING_BALANCE_CENTS, Site, make_site
from tests.integration.sync_cloud.gateway import T0, SimulatedGateway, new_key

T = TypeVar("T")
MAX_BATCH = 12


class World:
    """One event loop and engine shared by every example (each example gets its own estate)."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine: AsyncEngine = self.run(self._engine(url))
        self.names = itertools.count(1)

    async def _engine(self, url: str) -> AsyncEngine:
        return create_engine(url, pool_size=2, max_overflow=0)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def close(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()


def charge(site: Site, cents: int, minute: int) -> Charge:
    begin = T0 + timedelta(minutes=minute)
    return Charge(
        meter_id=str(site.meter_id),
        wallet_id=str(site.wallet_id),
        utility=Utility.ELECTRICITY,
        pocket=Pocket.ELECTRICITY,
        reading_seq=None,
        interval_start=begin,
        interval_end=begin + timedelta(minutes=1),
        quantity=Decimal(cents),
        band="flat",
        tariff_version="test@2026-07-01",
        amount_cents=cents,
        month="2026-11",
        month_to_date_quantity_before=Decimal(0),
        carry_before=Decimal(0),
    )


def make_machine(world: World) -> type[RuleBasedStateMachine]:
    class SyncProtocol(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.site = world.run(make_site(world.engine, f"Estate {next(world.names)}"))
            self.gateway = SimulatedGateway(str(self.site.gateway_id), new_key())
            self.top_ups = 0
            self.latest: PocketBalance | None = None

        @rule(amounts=st.lists(st.integers(0, 900), min_size=1, max_size=5), alarm=st.booleans())
        def journal(self, amounts: list[int], alarm: bool) -> None:
            for cents in amounts:
                self.gateway.append(charge(self.site, cents, len(self.gateway.entries)))
            if alarm:
                self.gateway.alarm(str(self.site.meter_id), AlarmKind.LOW_CREDIT, "below R20")

        @precondition(lambda self: self.gateway.entries)
        @rule(data=st.data())
        def deliver(self, data: st.DataObject) -> None:
            """Any slice of the journal: a resend, an overlap, a batch past a gap, the next one."""
            total = len(self.gateway.entries)
            first = data.draw(st.integers(1, total), label="first")
            last = data.draw(st.integers(first, min(total, first + MAX_BATCH - 1)), label="last")
            self._send(first, last)

        @rule(cents=st.integers(1, 5_000))
        def top_up(self, cents: int) -> None:
            async def pay() -> None:
                async with transaction(world.engine) as session:
                    await manual_top_up(
                        session,
                        EVERYTHING,
                        ADMIN,
                        self.site.electricity_pocket_id,
                        amount_cents=cents,
                        idempotency_key=f"t{self.site.gateway_id}-{self.top_ups}-{cents}",
                    )

            world.run(pay())
            self.top_ups += cents
            self.latest = None  # the gateway hears of it on the next ack (or the push channel)

        @invariant()
        def the_ledger_holds_exactly_the_charges_of_the_stored_prefix(self) -> None:
            head, posted, balance = world.run(self._cloud())
            assert posted == self._charged(head)
            assert balance == OPENING_BALANCE_CENTS + self.top_ups - posted

        @invariant()
        def the_gateway_formula_gives_the_true_balance(self) -> None:
            if self.latest is not None:
                assert cached_balance_cents(self.latest, self._journal()) == self._truth()

        def teardown(self) -> None:
            # Back online: drain the backlog in order; then everything is posted and agrees.
            total, first = len(self.gateway.entries), 1
            while first <= total:
                last = min(total, first + MAX_BATCH - 1)
                self._send(first, last)
                first = last + 1
            head, posted, balance = world.run(self._cloud())
            assert head == total and posted == self._charged(total)
            if self.latest is not None:
                assert cached_balance_cents(self.latest, self._journal()) == balance == self._truth()

        def _send(self, first: int, last: int) -> None:
            batch = journal_batch(self.gateway.gateway_id, self.gateway.entries[first - 1 : last])

            async def deliver() -> Any:
                async with transaction(world.engine) as session:
                    return await ingest_batch(
                        session, await gateway_context(session, self.site.gateway_id), batch
                    )

            ack = world.run(deliver())
            assert ack.status is not AckStatus.BROKEN_CHAIN
            [self.latest] = [b for b in ack.balances if b.pocket is Pocket.ELECTRICITY]

        async def _cloud(self) -> tuple[int, int, int]:
            async with transaction(world.engine) as session:
                head = (
                    await session.execute(
                        text("SELECT head_seq FROM gateway_sync_state WHERE gateway_id = :g"),
                        {"g": self.site.gateway_id},
                    )
                ).scalar_one_or_none() or 0
                posted = (
                    await session.execute(
                        text(
                            "SELECT COALESCE(sum(amount_cents), 0) FROM ledger_postings WHERE idempotency_key LIKE :k"
                        ),
                        {"k": f"gateway:{self.site.gateway_id}:seq:%"},
                    )
                ).scalar_one()
                balance = (
                    await session.execute(
                        text("SELECT balance_cents FROM ledger_accounts WHERE id = :a"),
                        {"a": self.site.electricity_account_id},
                    )
                ).scalar_one()
            return int(head), int(posted), int(balance)

        def _journal(self) -> list[Entry]:
            return [decode_entry(e) for e in self.gateway.entries]

        def _charged(self, through_seq: int) -> int:
            return sum(
                e.body.amount_cents for e in self._journal()[:through_seq] if isinstance(e.body, Charge)
            )

        def _truth(self) -> int:
            return OPENING_BALANCE_CENTS + self.top_ups - self._charged(len(self.gateway.entries))

    return SyncProtocol


def test_sync_protocol_converges_whatever_is_dropped_repeated_or_reordered(postgres_url: str) -> None:
    upgrade_to_head(postgres_url)
    world = World(postgres_url)
    try:
        machine = make_machine(world)
        machine.TestCase.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
        machine.TestCase().runTest()
    finally:
        world.close()
