"""The simulated meters the demo and the end-to-end tests rely on: registers, load, entry point."""

from __future__ import annotations

import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from demo.simulator import LoadShape, SimulatedMeter
from demo.simulator.registers import encode_field, layout_for
from edge_agent.adapters.modbus import BusCoordinator
from edge_agent.config.model import BusConfig, BusKind
from firmware_profiles import ProfileRegistry, RegisterTable, decode_read, plan_reads
from shared.quantities import Measurement
from tests.integration.modbus.conftest import meter_config
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.anyio

SAMPLE = {
    Measurement.ENERGY_IMPORT_WH: Decimal(1_234_560),
    Measurement.ENERGY_EXPORT_WH: Decimal(0),
    Measurement.ENERGY_TOTAL_WH: Decimal(1_234_560),
    Measurement.POWER_W: Decimal(950),
    Measurement.POWER_FACTOR: Decimal("0.97"),
    Measurement.FREQUENCY_HZ: Decimal(50),
    Measurement.APPARENT_POWER_VA: Decimal(980),
    Measurement.REACTIVE_POWER_VAR: Decimal(120),
    **dict.fromkeys(
        [Measurement.CURRENT_A, Measurement.CURRENT_L1_A, Measurement.CURRENT_L2_A, Measurement.CURRENT_L3_A],
        Decimal("4.25"),
    ),
    **dict.fromkeys(
        [Measurement.VOLTAGE_V, Measurement.VOLTAGE_L1_V, Measurement.VOLTAGE_L2_V, Measurement.VOLTAGE_L3_V],
        Decimal("230.5"),
    ),
}
START_TIMEOUT_S = 15


@pytest.mark.parametrize("model_id", ["eastron-sdm120", "eastron-sdm630", "hiking-dds238-2"])
def test_registers_written_by_the_simulator_decode_to_the_values_put_in(
    registry: ProfileRegistry, model_id: str
) -> None:
    profile = registry.get(model_id)
    for read in plan_reads(profile):
        words = [0] * read.count
        for field in read.fields:
            encoded = encode_field(field, SAMPLE[field.measurement])
            words[field.address - read.address : field.end - read.address] = encoded
        for measurement, decoded in decode_read(read, words).items():
            assert decoded == SAMPLE[measurement], f"{model_id} {measurement}"


def test_the_dds238_2_answers_across_its_reserved_registers_but_the_sdm120_does_not(
    registry: ProfileRegistry,
) -> None:
    dds = layout_for(registry.get("hiking-dds238-2"))
    assert dds.addresses[RegisterTable.HOLDING] == tuple(range(0x00, 0x1B))
    assert dds.relay_address == 0x1A
    sdm = layout_for(registry.get("eastron-sdm120"))
    assert 0x0002 not in sdm.addresses[RegisterTable.INPUT]
    assert sdm.addresses[RegisterTable.HOLDING] == ()


def test_energy_follows_the_daily_load_shape_and_stops_while_the_relay_is_open(
    registry: ProfileRegistry,
) -> None:
    midnight = datetime(2026, 7, 1, tzinfo=UTC)
    shape = LoadShape.residential()
    meter = SimulatedMeter(1, registry.get("eastron-sdm120"), load_w=Decimal(1000), at=midnight, shape=shape)
    meter.values(midnight + timedelta(hours=7, minutes=30))  # integrated in between, unevenly
    day = meter.values(midnight + timedelta(days=1))[Measurement.ENERGY_IMPORT_WH] - Decimal(1_234_500)
    assert day == 1000 * sum(shape.hourly_factors), "a day is the sum of the hourly loads, exactly"

    meter.set_relay(midnight + timedelta(days=1), closed=False)
    later = meter.values(midnight + timedelta(days=1, hours=5))
    assert later[Measurement.ENERGY_IMPORT_WH] - Decimal(1_234_500) == day
    assert later[Measurement.POWER_W] == 0


async def test_the_command_line_simulator_serves_meters_until_terminated(registry: ProfileRegistry) -> None:
    command = [sys.executable, "-m", "demo.simulator", "--tcp", "127.0.0.1:0"]
    command += ["--meter", "1:eastron-sdm120:950", "--meter", "3:hiking-dds238-2:1500"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        banner = process.stdout.readline() if ready else "(nothing)"  # printed once listening
        assert banner.startswith("simulator: serving units 1, 3 on Modbus TCP 127.0.0.1:"), banner
        port = int(banner.rsplit(":", 1)[1])
        bus = BusConfig("bus-1", BusKind.TCP, None, "127.0.0.1", port, None, 1)
        coordinator = BusCoordinator(bus, [meter_config(1), meter_config(3)], registry)
        try:
            readings = [await coordinator.read_meter(m) for m in ("m1", "m3")]
        finally:
            coordinator.close()
        assert all(r.ok for r in readings), [r.failure for r in readings]
        assert readings[1].values[Measurement.POWER_W] == 1500
        process.terminate()
        assert process.wait(timeout=START_TIMEOUT_S) == 0
        assert process.stdout.read().strip().endswith("simulator: stopped")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=START_TIMEOUT_S)
