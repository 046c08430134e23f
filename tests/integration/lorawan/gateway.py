"""A gateway's billing pipeline over a real store, for the radio bridges' tests.

Real ``BillingService``, ``RelayController`` and journal, as in tests/integration/edge/test_billing.py;
the relay controller asks :attr:`RadioGateway.actuators` for each meter's actuator, which the test
fills with the bridge's. Readings and alarms reach billing through the bridges' ``BillingSink``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge_agent.adapters.frames.billing_sink import BillingSink
from edge_agent.billing.service import BillingService
from edge_agent.config import EdgeConfig, MeterConfig, load_config
from edge_agent.relay.controller import RelayActuator, RelayController
from edge_agent.store.database import open_database, open_reader
from edge_agent.store.journal import Journal
from edge_agent.store.queries import iter_encoded_entries
from firmware_profiles import ProfileRegistry, packaged_registry
from shared.journal import Reading, decode_entry
from tests.support.paths import REPO_ROOT

FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"  # R2.85/kWh and R5.20/day service charge
WATER = REPO_ROOT / "examples" / "tariffs" / "water_blocks.toml"
START = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)  # a Monday, 11:00 in Johannesburg


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Meter:
    """One ``[[meters]]`` entry of the test estate."""

    id: str
    profile: str
    utility: str = "electricity"
    wallet: str | None = "w1"


@dataclass
class RadioGateway:
    config: EdgeConfig
    store: Path
    journal: Journal
    relays: RelayController
    billing: BillingService
    sink: BillingSink
    clock: Clock
    actuators: dict[str, RelayActuator] = field(default_factory=dict)

    def bodies(self) -> list[Any]:
        return [decode_entry(data).body for data in iter_encoded_entries(open_reader(self.store))]

    def readings(self, meter_id: str) -> list[Reading]:
        return [b for b in self.bodies() if isinstance(b, Reading) and b.meter_id == meter_id]

    async def close(self) -> None:
        await self.relays.close()
        self.journal.close()


def config_text(store: Path, meters: Iterable[Meter]) -> str:
    lines = [
        f'[gateway]\nid = "gw-radio"\nstore = "{store}"',
        # The config format still asks every meter for a Modbus bus; radio meters never use it.
        '[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"',
        f'[tariffs]\nelectricity = "{FLAT}"\nwater = "{WATER}"',
        "[credit.electricity]\nreconnect_threshold_cents = 2000\nlow_credit_warning_cents = false",
    ]
    for n, meter in enumerate(meters, start=1):
        wallet = "" if meter.wallet is None else f'\nwallet = "{meter.wallet}"'
        lines.append(
            f'[[meters]]\nid = "{meter.id}"\nunit = "Unit {n}"\nutility = "{meter.utility}"\n'
            f'profile = "{meter.profile}"\nbus = "bus"\naddress = {n}{wallet}'
        )
    return "\n".join(lines)


def start_gateway(
    tmp_path: Path,
    meters: Iterable[Meter],
    *,
    registry: ProfileRegistry | None = None,
    clock: Clock | None = None,
) -> RadioGateway:
    registry = registry or packaged_registry()
    clock = clock or Clock()
    store = tmp_path / "gw.sqlite3"
    config = load_config(config_text(store, meters), source=tmp_path / "edge.toml", registry=registry)
    journal = Journal(open_database(store))
    reader = open_reader(store)
    actuators: dict[str, RelayActuator] = {}
    relays = RelayController(journal, reader, lambda meter: actuators.get(meter.id), clock, attempts=3,
                             first_backoff_s=0.05)  # fmt: skip
    billing = BillingService(config, journal, reader=reader, registry=registry, relays=relays, clock=clock)
    by_id: dict[str, MeterConfig] = {meter.id: meter for meter in config.meters}
    sink = BillingSink(billing, relays, journal, by_id, clock)
    return RadioGateway(config, store, journal, relays, billing, sink, clock, actuators)


async def eventually(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Wait (bounded) until ``check()`` holds; fail naming ``what`` if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        assert loop.time() < deadline, f"timed out after {timeout_s} s waiting for: {what}"
        await asyncio.sleep(0.02)
