"""The sync protocol end to end, under any delivery order: a real gateway agent's billing on its own
SQLite store, the cloud's real journal intake on PostgreSQL, and the agent's real balance applier.

A meter's register moves forward (sometimes not at all, sometimes a garbled read goes backwards);
the agent's ``BillingService`` journals each reading and rates it with the shared tariff code.
Slices of its journal reach the cloud dropped, repeated, overlapping or out of order, and top-ups
land in the cloud meanwhile. Whatever happens:

- the cloud posts exactly the charges of the prefix it holds, each once;
- every answer, applied through ``edge_agent.sync.credit.BalanceApplier`` as the agent applies it,
  leaves the gateway's cached balance at the truth (less only the top-ups it has not heard of);
- once the backlog drains, the pocket's ledger has moved by the rating of the register's whole
  movement from the first reading to the last accepted one, within the sub-cent carry rule (the
  charged cents differ from the exact total by at most half a cent), the gateway's cached balance
  equals the cloud's, and revenue assurance, re-deriving every charge from the readings, flags
  nothing.

All readings fall in one calendar month, so the month's inclining blocks and its pro-rated fixed
charge rate the whole movement exactly as they rate its parts.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
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
from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.store.queries import iter_encoded_entries
from edge_agent.sync.credit import BalanceApplier
from firmware_profiles import packaged_registry
from shared.journal import Charge, ReadingSource, decode_entry
from shared.quantities import Measurement
from shared.sync import AckStatus, BatchAck, journal_batch
from shared.tariffs import rate_interval
from tests.integration.cloud.conftest import ADMIN, EVERYTHING
from tests.integration.sync_cloud.conftest import OPENING_BALANCE_CENTS, Site, make_site
from tests.integration.sync_cloud.gateway import compiled
from tests.support.edge_agent_config import agent_meter_toml
from tests.support.paths import REPO_ROOT

T = TypeVar("T")
MAX_BATCH = 12
#: The cloud's estate rates electricity with this tariff too (``make_site``).
TARIFF = REPO_ROOT / "examples" / "tariffs" / "inclining_blocks.toml"
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
FIRST_REGISTER_WH = Decimal(2_000_000)
#: Half a cent: the most the charged cents of a run may differ from its exact total.
HALF_A_CENT = Decimal("0.005")


class World:
    """One event loop and engine shared by every example (each example gets its own estate)."""

    def __init__(self, url: str, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine: AsyncEngine = self.run(self._engine(url))
        self.names = itertools.count(1)
        self.folder = folder

    async def _engine(self, url: str) -> AsyncEngine:
        return create_engine(url, pool_size=2, max_overflow=0)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def close(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def edge_toml(store: Path, site: Site) -> str:
    """The agent's config: the site's meter (no relay) on its wallet, the estate's tariff."""
    return (
        agent_meter_toml(store, site.gateway_id, site.meter_id, site.wallet_id)
        + f"""[tariffs]
electricity = "{TARIFF}"
[credit.electricity]
reconnect_threshold_cents = 2000
low_credit_warning_cents = false
"""
    )


def make_machine(world: World) -> type[RuleBasedStateMachine]:
    class SyncProtocol(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            name = f"Estate {next(world.names)}"
            self.site = world.run(make_site(world.engine, name))
            store = world.folder / f"{name.replace(' ', '-')}.sqlite3"
            self.clock = Clock()
            config = load_config(
                edge_toml(store, self.site), source=store.with_suffix(".toml"), registry=packaged_registry()
            )
            self.agent = GatewayAgent(config, clock=self.clock)
            self.balances = BalanceApplier(self.agent)
            self.meter_id = str(self.site.meter_id)
            self.register = FIRST_REGISTER_WH
            self.read(self.register)  # the baseline: billed from here on
            self.accepted_at = self.clock.now
            self.top_ups = 0
            self.unheard_top_ups = 0
            self.answered = False

        def read(self, register: Decimal) -> None:
            measurements = {Measurement.ENERGY_IMPORT_WH: register}
            work = self.agent.billing.on_reading(
                self.meter_id, measurements, self.clock.now, ReadingSource.MODBUS
            )
            world.run(work)

        @rule(minutes=st.integers(5, 240), wh=st.integers(0, 500).map(lambda tens: Decimal(tens * 10)))
        def meter_is_read(self, minutes: int, wh: Decimal) -> None:
            self.clock.now += timedelta(minutes=minutes)
            self.register += wh
            self.read(self.register)
            self.accepted_at = self.clock.now

        @rule(minutes=st.integers(1, 30), wh=st.integers(1, 5_000))
        def a_garbled_read_goes_backwards(self, minutes: int, wh: int) -> None:
            """A reverse register: the agent alarms and bills nothing; the baseline stays."""
            self.clock.now += timedelta(minutes=minutes)
            self.read(self.register - wh)

        @rule(data=st.data())
        def deliver(self, data: st.DataObject) -> None:
            """Any slice of the journal: a resend, an overlap, a batch past a gap, the next one."""
            total = len(self._entries())
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
            self.unheard_top_ups += cents  # the gateway hears of it on the next answer

        @invariant()
        def the_ledger_holds_exactly_the_charges_of_the_stored_prefix(self) -> None:
            head, posted, balance = world.run(self._cloud())
            assert posted == self._charged(head)
            assert balance == OPENING_BALANCE_CENTS + self.top_ups - posted

        @precondition(lambda self: self.answered)
        @invariant()
        def the_cached_balance_is_the_truth_less_unheard_top_ups(self) -> None:
            cached = self.agent.billing.balance_of(self.agent.config.meters[0])
            assert cached == self._truth() - self.unheard_top_ups

        def teardown(self) -> None:
            try:
                self._drain_and_check()
            finally:
                world.run(self.agent.shutdown([]))

        def _drain_and_check(self) -> None:
            # Back online: drain the backlog in order; then everything is posted and agrees.
            total, first = len(self._entries()), 1
            while first <= total:
                last = min(total, first + MAX_BATCH - 1)
                self._send(first, last)
                first = last + 1
            head, posted, balance = world.run(self._cloud())
            assert head == total and posted == self._charged(total)
            cached = self.agent.billing.balance_of(self.agent.config.meters[0])
            assert cached == balance == self._truth()
            self._the_ledger_moved_by_the_rating_of_the_whole_movement(posted)
            assert world.run(self._discrepancies()) == 0

        def _the_ledger_moved_by_the_rating_of_the_whole_movement(self, posted_cents: int) -> None:
            moved = self.register - FIRST_REGISTER_WH
            if self.accepted_at == START:
                assert posted_cents == 0
                return
            exact = rate_interval(compiled(TARIFF.read_text()), START, self.accepted_at, moved).total
            assert abs(Decimal(posted_cents) / 100 - exact) <= HALF_A_CENT, (posted_cents, exact)

        def _send(self, first: int, last: int) -> None:
            batch = journal_batch(str(self.site.gateway_id), self._entries()[first - 1 : last])

            async def deliver() -> BatchAck:
                async with transaction(world.engine) as session:
                    return await ingest_batch(
                        session, await gateway_context(session, self.site.gateway_id), batch
                    )

            ack = world.run(deliver())
            assert ack.status is not AckStatus.BROKEN_CHAIN
            world.run(self.balances.apply_all(list(ack.balances)))
            self.answered, self.unheard_top_ups = True, 0

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

        async def _discrepancies(self) -> int:
            async with transaction(world.engine) as session:
                query = text("SELECT count(*) FROM gateway_charge_discrepancies WHERE gateway_id = :g")
                return int((await session.execute(query, {"g": self.site.gateway_id})).scalar_one())

        def _entries(self) -> list[bytes]:
            return list(iter_encoded_entries(self.agent.reader))

        def _charged(self, through_seq: int) -> int:
            bodies = (decode_entry(data).body for data in self._entries()[:through_seq])
            return sum(body.amount_cents for body in bodies if isinstance(body, Charge))

        def _truth(self) -> int:
            return OPENING_BALANCE_CENTS + self.top_ups - self._charged(len(self._entries()))

    return SyncProtocol


def test_sync_protocol_converges_whatever_is_dropped_repeated_or_reordered(postgres_url: str) -> None:
    upgrade_to_head(postgres_url)
    with tempfile.TemporaryDirectory(prefix="sync-protocol-") as folder:
        world = World(postgres_url, Path(folder))
        try:
            machine = make_machine(world)
            machine.TestCase.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
            machine.TestCase().runTest()
        finally:
            world.close()
