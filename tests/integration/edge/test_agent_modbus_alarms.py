"""Alarms the running agent raises from what a real Modbus meter does: a register that goes
backwards, and a meter that falls silent and comes back.

The agent runs whole (pollers, coordinator, billing, journal, status) against a pymodbus simulator
in this process, so a test can wind a meter's register back or take it off the bus.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from demo.simulator import MeterSimulator, SimClock, SimulatedMeter
from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.status import status_json
from edge_agent.store.queries import iter_encoded_entries
from firmware_profiles import packaged_registry
from shared.journal import Alarm, AlarmKind, Charge, Entry, Reading, decode_entry
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"
#: Ten simulated seconds a real one: 3 kW looks like 30 kW to the agent, still a plausible load.
SPEEDUP = 10.0


def config_text(store: Path, port: int, profile: str) -> str:
    return f"""
[gateway]
id = "gw-alarms"
store = "{store}"
[web]
host = "127.0.0.1"
port = 0
[[buses]]
id = "bus"
kind = "tcp"
host = "127.0.0.1"
port = {port}
timeout_ms = 300
retries = 0
[[meters]]
id = "m1"
unit = "Unit 1"
utility = "electricity"
profile = "{profile}"
bus = "bus"
address = 1
poll_interval_s = 1
wallet = "w1"
[tariffs]
electricity = "{FLAT}"
[credit.electricity]
low_credit_warning_cents = false
"""


@dataclass
class Site:
    agent: GatewayAgent
    simulator: MeterSimulator
    port: int

    def entries(self) -> list[Entry]:
        return [decode_entry(data) for data in iter_encoded_entries(self.agent.reader)]

    def alarms(self, kind: AlarmKind) -> list[Entry]:
        return [e for e in self.entries() if isinstance(e.body, Alarm) and e.body.kind is kind]

    def shown_alarms(self) -> set[str]:
        """The meter's open alarms as ``/api/status`` shows them."""
        status = msgspec.json.decode(status_json(self.agent.status()))
        return {alarm["kind"] for alarm in status["meters"][0]["alarms"]}


@asynccontextmanager
async def running_site(tmp_path: Path, profile: str = "eastron-sdm120") -> AsyncIterator[Site]:
    clock = SimClock(speedup=SPEEDUP)
    meter = SimulatedMeter(1, packaged_registry().get(profile), load_w=Decimal(3000), at=clock.now())
    simulator = MeterSimulator([meter], clock)
    port = await simulator.start_tcp()
    text = config_text(tmp_path / "gw.sqlite3", port, profile)
    agent = GatewayAgent(load_config(text, source=tmp_path / "edge.toml", registry=packaged_registry()))
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        yield Site(agent, simulator, port)
    finally:
        stop.set()
        await task
        await simulator.stop()


async def until(condition: Callable[[], object], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s}s"
        await asyncio.sleep(0.1)


async def test_a_register_that_goes_backwards_raises_reverse_register_and_bills_nothing(
    tmp_path: Path,
) -> None:
    async with running_site(tmp_path) as site:
        await until(lambda: any(isinstance(e.body, Charge) for e in site.entries()), "a first charge")
        site.simulator.meter(1).energy_import_wh -= Decimal(50_000)  # 50 kWh back: not a rollover
        await until(lambda: site.alarms(AlarmKind.REVERSE_REGISTER), "the reverse_register alarm")
        alarm_seq = site.alarms(AlarmKind.REVERSE_REGISTER)[0].seq
        await until(
            lambda: (
                len([e for e in site.entries() if isinstance(e.body, Reading) and e.seq > alarm_seq]) >= 3
            ),
            "three more readings",
        )
        assert "reverse_register" in site.shown_alarms(), "an open alarm on the page"
        entries = site.entries()
    charges = [e.body for e in entries if isinstance(e.body, Charge)]
    assert charges and all(c.reading_seq is not None and c.reading_seq < alarm_seq for c in charges), (
        "nothing is billed from a register behind its baseline"
    )
    assert len([e for e in entries if isinstance(e.body, Alarm)]) == 1, "one alarm, not one per poll"
    detail = next(e.body for e in entries if isinstance(e.body, Alarm)).detail
    assert "went backwards" in detail


async def test_a_silent_meter_is_reported_lost_on_the_page_and_restored_when_it_answers(
    tmp_path: Path,
) -> None:
    async with running_site(tmp_path) as site:
        await until(lambda: site.agent.last_register.get("m1") is not None, "a first reading")
        await site.simulator.stop()  # the meter is gone from the bus
        await until(lambda: site.alarms(AlarmKind.COMMUNICATION_LOST), "communication_lost")
        assert "communication_lost" in site.shown_alarms()
        assert site.agent.status().meters[0].health.online is False
        await site.simulator.start_tcp(port=site.port)  # back, where it was
        await until(lambda: site.alarms(AlarmKind.COMMUNICATION_RESTORED), "communication_restored")
        assert "communication_lost" not in site.shown_alarms()
        assert site.agent.status().meters[0].health.online is True
        lost = site.alarms(AlarmKind.COMMUNICATION_LOST)
        restored = site.alarms(AlarmKind.COMMUNICATION_RESTORED)
    assert len(lost) == 1 and len(restored) == 1 and lost[0].seq < restored[0].seq
    assert isinstance(lost[0].body, Alarm) and "failed 3 reads in a row" in lost[0].body.detail
