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
from firmware_profiles import ProfileRegistry, Transport, packaged_registry
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
    """One ``[[meters]]`` entry of the test estate: a LoRaWAN or NB-IoT meter, as its profile says."""

    id: str
    profile: str
    utility: str = "electricity"
    wallet: str | None = "w1"
    #: Its DevEUI or IMEI; one made up from its position when not given.
    device: str | None = None
    #: Pulse counters only (litres or Wh per pulse).
    pulse_weight: str = "10"
    history_period_s: int | None = None


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


def config_text(store: Path, meters: Iterable[Meter], registry: ProfileRegistry) -> str:
    lines = [
        f'[gateway]\nid = "gw-radio"\nstore = "{store}"',
        # The tests build their bridges' settings themselves; these sections make radio meters valid.
        '[lorawan]\nhost = "127.0.0.1"',
        '[nbiot]\noscore_dir = "oscore"',
        f'[tariffs]\nelectricity = "{FLAT}"\nwater = "{WATER}"',
        "[credit.electricity]\nreconnect_threshold_cents = 2000\nlow_credit_warning_cents = false",
    ]
    for n, meter in enumerate(meters, start=1):
        profile = registry.get(meter.profile)
        entry = [f'id = "{meter.id}"', f'unit = "Unit {n}"', f'utility = "{meter.utility}"',
                 f'profile = "{meter.profile}"']  # fmt: skip
        if meter.wallet is not None:
            entry.append(f'wallet = "{meter.wallet}"')
        if profile.transport is Transport.LORAWAN:
            entry.append(f'dev_eui = "{meter.device or f"{n:016x}"}"')
        else:
            entry.append(f'imei = "{meter.device or f"{n:015d}"}"')
        if profile.codec.pulses_become is not None:
            entry.append(f'pulse_weight = "{meter.pulse_weight}"')
        if meter.history_period_s is not None:
            entry.append(f"history_period_s = {meter.history_period_s}")
        lines.append("[[meters]]\n" + "\n".join(entry))
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
    config = load_config(
        config_text(store, meters, registry), source=tmp_path / "edge.toml", registry=registry
    )
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
