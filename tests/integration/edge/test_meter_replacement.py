"""A meter swapped at a metering point, through the running agent and a real Modbus meter.

The installer takes the old meter off the bus, puts a new one with a low register at the same
address and gives the agent the new serial: by editing ``edge.toml`` and restarting it (with the
readings off both displays), or by a configuration switch while it runs (without them). Either
way: no ``reverse_register`` alarm, one ``meter_replaced`` entry, and the charges add up to the old
meter's consumption up to its final register plus the new meter's from its first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from decimal import ROUND_UP, Decimal
from pathlib import Path

import pytest

from demo.simulator import MeterSimulator, SimClock, SimulatedMeter
from edge_agent.config import load_config
from edge_agent.config.document import DocumentConfig
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_reader
from edge_agent.store.queries import iter_encoded_entries
from edge_agent.store.verify import verify_store
from firmware_profiles import packaged_registry
from shared.journal import Alarm, AlarmKind, Charge, Entry, MeterReplaced, Reading, decode_entry
from shared.quantities import Measurement
from tests.integration.edge.test_agent_modbus_alarms import config_text

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

PROFILE = "eastron-sdm120"
#: 600 W at ten simulated seconds a real one: 1.7 Wh a real second, well inside what is plausible
#: for the moments around the swap, yet a charge on every reading.
LOAD_W = Decimal(600)
SPEEDUP = 10.0
NEW_METER_WH = Decimal(500)  # the new meter arrives showing 0.5 kWh


def meter_toml(store: Path, port: int, serial: str, extra: str = "") -> str:
    text = config_text(store, port, PROFILE)
    return text.replace('wallet = "w1"\n', f'wallet = "w1"\nserial = "{serial}"\n{extra}', 1)


def entries(store: Path) -> list[Entry]:
    return [decode_entry(data) for data in iter_encoded_entries(open_reader(store))]


async def until(condition: Callable[[], object], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s}s"
        await asyncio.sleep(0.1)


def readings_of(store: Path) -> list[Entry]:
    return [e for e in entries(store) if isinstance(e.body, Reading)]


async def serve(meter_wh: Decimal, port: int = 0) -> tuple[MeterSimulator, int]:
    clock = SimClock(speedup=SPEEDUP)
    profile = packaged_registry().get(PROFILE)
    meter = SimulatedMeter(1, profile, load_w=LOAD_W, at=clock.now(), energy_import_wh=meter_wh)
    simulator = MeterSimulator([meter], clock)
    return simulator, await simulator.start_tcp(port=port)


def assert_billed_across_the_swap(store: Path) -> MeterReplaced:
    """One replacement, no reverse alarm, and energy charged = old up to final + new from first."""
    journal = entries(store)
    alarms = [e.body.kind for e in journal if isinstance(e.body, Alarm)]
    assert AlarmKind.REVERSE_REGISTER not in alarms and AlarmKind.IMPLAUSIBLE_READING not in alarms
    swaps = [e for e in journal if isinstance(e.body, MeterReplaced)]
    assert len(swaps) == 1
    swap = swaps[0].body
    assert isinstance(swap, MeterReplaced)
    readings = [e.body for e in journal if isinstance(e.body, Reading)]
    first_old = readings[0].billing_register
    last_new = readings[-1].billing_register
    assert first_old is not None and last_new is not None
    energy = sum(e.body.quantity for e in journal if isinstance(e.body, Charge) and e.body.band == "flat")
    assert energy == (swap.old_final_register - first_old) + (last_new - swap.new_first_register)
    closing = [e.body for e in journal if isinstance(e.body, Charge) and e.body.reading_seq == swaps[0].seq]
    assert closing, "the old meter's last interval is charged, citing the replacement"
    assert verify_store(store).ok
    return swap


async def test_a_swap_given_in_edge_toml_with_the_installers_readings_is_billed_across(
    tmp_path: Path,
) -> None:
    store, config_file = tmp_path / "gw.sqlite3", tmp_path / "edge.toml"
    registry = packaged_registry()
    simulator, port = await serve(Decimal(1_234_500))
    agent = GatewayAgent(load_config(meter_toml(store, port, "OLD-1"), source=config_file, registry=registry))
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    await until(lambda: len(readings_of(store)) >= 3, "the old meter's readings")
    stop.set()
    await task

    # The swap: the installer reads the old meter's display as it comes off the bus.
    removed = simulator.values(1)[Measurement.ENERGY_IMPORT_WH] / 1000
    final_kwh = removed.quantize(Decimal("0.001"), rounding=ROUND_UP)
    await simulator.stop()
    simulator, _ = await serve(NEW_METER_WH, port)
    readings = f'old_meter_final_reading = "{final_kwh}"\nnew_meter_first_reading = "0.5"\n'
    config = load_config(meter_toml(store, port, "NEW-1", readings), source=config_file, registry=registry)
    agent = GatewayAgent(config)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await until(lambda: len(readings_of(store)) >= 7, "the new meter's readings")
        assert agent.billing.states["m1"].serial == "NEW-1"
        shown = agent.status().meters[0]
        assert shown.serial == "NEW-1" and not shown.alarms, "the new serial, nothing open, on the page"
    finally:
        stop.set()
        await task
        await simulator.stop()
    swap = assert_billed_across_the_swap(store)
    assert (swap.old_serial, swap.new_serial) == ("OLD-1", "NEW-1")
    assert swap.old_final_register == final_kwh * 1000 and swap.new_first_register == NEW_METER_WH


async def test_a_serial_switched_while_running_takes_the_last_and_first_readings(tmp_path: Path) -> None:
    store, config_file = tmp_path / "gw.sqlite3", tmp_path / "edge.toml"
    registry = packaged_registry()
    old, port = await serve(Decimal(1_234_500))
    agent = GatewayAgent(load_config(meter_toml(store, port, "OLD-2"), source=config_file, registry=registry))
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    new: MeterSimulator | None = None
    try:
        await until(lambda: len(readings_of(store)) >= 3, "the old meter's readings")
        await old.stop()
        # The new serial reaches the agent while the meter is off the bus (a reading of the new
        # meter under the old serial would be judged against the old register, and alarmed).
        switched = dataclasses.replace(
            agent.config, meters=tuple(dataclasses.replace(m, serial="NEW-2") for m in agent.config.meters)
        )
        last_old = agent.billing.states["m1"].register
        await agent.use_config(DocumentConfig(config=switched, unreachable={}))
        new, _ = await serve(NEW_METER_WH, port)
        count = len(readings_of(store))
        await until(lambda: len(readings_of(store)) >= count + 4, "the new meter's readings")
    finally:
        stop.set()
        await task
        if new is not None:
            await new.stop()
    swap = assert_billed_across_the_swap(store)
    assert last_old is not None and swap.old_final_register == last_old.value, "the last one read"
    first_new = next(
        e.body.billing_register
        for e in entries(store)
        if isinstance(e.body, Reading) and e.seq > swap_seq(store)
    )
    assert swap.new_first_register == first_new, "the new meter's first reading"


def swap_seq(store: Path) -> int:
    return next(e.seq for e in entries(store) if isinstance(e.body, MeterReplaced))
