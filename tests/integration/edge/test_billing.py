"""Billing on the gateway over a real store: charges, cached balance, credit control, relay confirmation.

The relay here is a small in-test peer that obeys (or ignores) commands the way a meter would; the
Modbus relay itself is exercised against a pymodbus meter in tests/integration/modbus and the
daemon tests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from edge_agent.billing.service import BillingService
from edge_agent.config import EdgeConfig, MeterConfig, load_config
from edge_agent.relay.controller import RelayController
from edge_agent.store.database import open_database, open_reader
from edge_agent.store.journal import Journal
from edge_agent.store.queries import iter_encoded_entries
from edge_agent.store.verify import verify_store
from firmware_profiles import packaged_registry
from shared.credit import RelayState
from shared.journal import (
    Charge,
    CreditApplied,
    Pocket,
    ReadingSource,
    RelayCommand,
    RelayStateConfirmed,
    decode_entry,
)
from shared.quantities import Measurement
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.anyio

FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"  # R2.85/kWh and R5.20/day service charge
START = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)  # a Monday, 11:00 in Johannesburg


def config_text(store: Path, friendly: str = "", tariff: Path = FLAT) -> str:
    return f"""
[gateway]
id = "gw-test"
store = "{store}"
[[buses]]
id = "bus"
kind = "tcp"
host = "127.0.0.1"
[[meters]]
id = "m1"
unit = "Unit 1"
utility = "electricity"
profile = "hiking-dds238-2"
bus = "bus"
address = 1
wallet = "w1"
[tariffs]
electricity = "{tariff}"
[credit.electricity]
reconnect_threshold_cents = 2000
low_credit_warning_cents = false
{friendly}
"""


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ObedientRelay:
    """A relay that does what it is told, unless told to ignore commands."""

    closed: bool = True
    ignore_commands: bool = False
    writes: list[bool] = field(default_factory=list)

    async def switch(self, meter: MeterConfig, closed: bool) -> None:
        self.writes.append(closed)
        if not self.ignore_commands:
            self.closed = closed

    async def read_state(self, meter: MeterConfig) -> bool:
        return self.closed


@dataclass
class Gateway:
    config: EdgeConfig
    journal: Journal
    relays: RelayController
    billing: BillingService
    relay: ObedientRelay
    clock: Clock

    async def read(self, register_kwh: str, after: timedelta) -> None:
        self.clock.now += after
        wh = Decimal(register_kwh) * 1000
        await self.billing.on_reading(
            "m1", {Measurement.ENERGY_IMPORT_WH: wh}, self.clock.now, ReadingSource.MODBUS
        )
        await settle(self.relays)

    async def close(self) -> None:
        await self.relays.close()
        self.journal.close()


async def settle(relays: RelayController) -> None:
    """Let any relay command in progress finish (bounded)."""
    for _ in range(200):
        if not relays._tasks or all(task.done() for task in relays._tasks.values()):
            return
        await asyncio.sleep(0.01)


def start_gateway(
    tmp_path: Path, relay: ObedientRelay, clock: Clock, friendly: str = "", tariff: Path = FLAT
) -> Gateway:
    store = tmp_path / "gw.sqlite3"
    text = config_text(store, friendly, tariff)
    config = load_config(text, source=tmp_path / "edge.toml", registry=packaged_registry())
    db = open_database(store)
    reader = open_reader(store)
    journal = Journal(db)
    relays = RelayController(journal, reader, lambda meter: relay, clock, attempts=3, first_backoff_s=0.01)
    billing = BillingService(
        config, journal, reader=reader, registry=packaged_registry(), relays=relays, clock=clock
    )
    return Gateway(config, journal, relays, billing, relay, clock)


def entries(store: Path) -> list:  # type: ignore[type-arg]
    return [decode_entry(data).body for data in iter_encoded_entries(open_reader(store))]


async def test_a_reading_is_charged_at_the_tariff_and_deducted_from_the_cached_balance(
    tmp_path: Path,
) -> None:
    gateway = start_gateway(tmp_path, ObedientRelay(), Clock())
    await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 10_000, 0)
    await gateway.read("100.00", timedelta(0))  # baseline: nothing to charge yet
    await gateway.read("102.00", timedelta(hours=1))  # 2 kWh in one hour
    await gateway.close()

    charges = [b for b in entries(tmp_path / "gw.sqlite3") if isinstance(b, Charge)]
    assert {c.band for c in charges} == {"flat", "fixed:service"}
    energy = next(c for c in charges if c.band == "flat")
    assert energy.quantity == Decimal(2000) and energy.amount_cents == 570  # 2 kWh x R2.85
    standing = next(c for c in charges if c.band == "fixed:service")
    assert standing.amount_cents == 22  # R5.20 / 24 for one hour = 21.67c, carried to 22c
    assert gateway.billing.balance_of(gateway.config.meters[0]) == 10_000 - 570 - 22
    assert verify_store(tmp_path / "gw.sqlite3").ok


async def test_zero_credit_opens_the_relay_and_a_top_up_closes_it_with_confirmation(tmp_path: Path) -> None:
    relay = ObedientRelay()
    gateway = start_gateway(tmp_path, relay, Clock())
    await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 500, 0)
    await gateway.read("10.00", timedelta(0))
    await gateway.read("11.00", timedelta(minutes=30))  # R2.85 + R0.11 standing: R2.04 left
    assert relay.closed and relay.writes == []
    await gateway.read("12.00", timedelta(minutes=30))  # the balance crosses zero
    assert relay.writes == [False] and not relay.closed
    assert gateway.relays.confirmed("m1") is RelayState.OPEN

    # A R50 top-up; the cloud has not yet posted any of our charges (through seq 0).
    await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 500 + 5000, 0)
    await settle(gateway.relays)
    await gateway.close()
    assert relay.writes == [False, True] and relay.closed

    bodies = entries(tmp_path / "gw.sqlite3")
    commands = [b for b in bodies if isinstance(b, RelayCommand)]
    confirmations = [b for b in bodies if isinstance(b, RelayStateConfirmed)]
    assert [c.action for c in commands] == ["open", "close"]
    assert [(c.command_id, c.closed) for c in confirmations] == [(commands[0].command_id, False),
                                                                 (commands[1].command_id, True)]  # fmt: skip
    credit = [b for b in bodies if isinstance(b, CreditApplied)][-1]
    charged = sum(b.amount_cents for b in bodies if isinstance(b, Charge))
    assert credit.cached_balance_cents == 5500 - charged, "cloud balance minus our charges after seq N"


async def test_no_disconnection_inside_a_friendly_window_and_the_deferred_one_happens_at_its_end(
    tmp_path: Path,
) -> None:
    relay = ObedientRelay()
    clock = Clock(now=datetime(2026, 8, 3, 15, 0, tzinfo=UTC))  # 17:00 local, a Monday
    friendly = 'friendly_windows = [{ days = ["weekday"], from = "17:00", to = "18:00" }]'
    gateway = start_gateway(tmp_path, relay, clock, friendly)
    await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 100, 0)
    await gateway.read("10.00", timedelta(0))
    await gateway.read("11.00", timedelta(minutes=20))  # R2.85 > R1.00: in debt at 17:20 local
    assert relay.writes == [] and relay.closed, "inside the window the relay stays closed"
    assert gateway.billing.recheck_at == datetime(2026, 8, 3, 16, 0, tzinfo=UTC)
    clock.now = datetime(2026, 8, 3, 16, 0, 1, tzinfo=UTC)
    await gateway.billing.recheck()
    await settle(gateway.relays)
    await gateway.close()
    assert relay.writes == [False] and not relay.closed


async def test_a_relay_that_never_confirms_raises_an_alarm_and_is_not_believed_switched(
    tmp_path: Path,
) -> None:
    relay = ObedientRelay(ignore_commands=True)
    gateway = start_gateway(tmp_path, relay, Clock())
    await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 0, 0)
    await gateway.read("10.00", timedelta(0))  # commissioned with no credit at all: disconnect
    await gateway.close()
    assert relay.writes == [False, False, False], "three attempts, then give up"
    assert gateway.relays.confirmed("m1") is RelayState.UNKNOWN
    kinds = [getattr(b, "kind", None) for b in entries(tmp_path / "gw.sqlite3")]
    assert "relay_not_confirmed" in kinds


async def test_a_restarted_gateway_resumes_with_the_same_balance_state_and_relay(tmp_path: Path) -> None:
    relay, clock = ObedientRelay(), Clock()
    first = start_gateway(tmp_path, relay, clock)
    await first.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 3000, 0)
    await first.read("10.00", timedelta(0))
    await first.read("13.00", timedelta(hours=2))
    balance = first.billing.balance_of(first.config.meters[0])
    await first.close()

    second = start_gateway(tmp_path, relay, clock)
    assert second.billing.balance_of(second.config.meters[0]) == balance
    assert second.billing.states["m1"] == first.billing.states["m1"]
    assert second.relays.confirmed("m1") is first.relays.confirmed("m1")
    await second.read("14.00", timedelta(hours=1))
    await second.close()
    assert verify_store(tmp_path / "gw.sqlite3").ok
