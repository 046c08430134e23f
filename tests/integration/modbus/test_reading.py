"""The coordinator reads every packaged meter model from a real Modbus peer, over TCP and RTU."""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal

import anyio
import pytest

from firmware_profiles import DataType, Profile, ProfileRegistry
from shared.quantities import Measurement
from tests.integration.modbus.conftest import MODELS, Peer, coordinator_for

pytestmark = pytest.mark.anyio

#: float32 keeps about 7 significant digits.
FLOAT32_RELATIVE = Decimal("1e-6")


def tolerance(profile: Profile, measurement: Measurement, value: Decimal) -> Decimal:
    """How far a register may differ from the exact value: one step of an integer register."""
    field = profile.fields[measurement]
    if field.data_type is DataType.FLOAT32:
        return abs(value) * FLOAT32_RELATIVE
    return field.factor


def assert_shows(
    profile: Profile,
    read: Mapping[Measurement, Decimal],
    before: Mapping[Measurement, Decimal],
    after: Mapping[Measurement, Decimal],
) -> None:
    """Every value read lies between what the meter showed just before and just after the read."""
    assert set(read) == set(profile.measurements)
    for measurement, value in read.items():
        assert isinstance(value, Decimal)
        low, high = sorted((before[measurement], after[measurement]))
        margin = tolerance(profile, measurement, high)
        assert low - margin <= value <= high + margin, f"{profile.model_id} {measurement}: {value}"


async def test_every_packaged_model_reads_as_the_meter_shows_it(
    peer: Peer, registry: ProfileRegistry
) -> None:
    coordinator = coordinator_for(peer, registry)
    try:
        for unit in (1, 2, 3):  # each packaged model once
            model = MODELS[unit]
            before = peer.simulator.values(unit)
            reading = await coordinator.read_meter(f"m{unit}")
            after = peer.simulator.values(unit)
            assert reading.ok, reading.failure
            assert_shows(registry.get(model), dict(reading.values), before, after)
            assert reading.read_at.tzinfo is not None
    finally:
        coordinator.close()


async def test_consumption_advances_between_reads(peer: Peer, registry: ProfileRegistry) -> None:
    coordinator = coordinator_for(peer, registry, units=(1, 3))
    try:
        first = {m: await coordinator.read_meter(m) for m in ("m1", "m3")}
        # 0.5 s is two simulated minutes: 31 Wh on the SDM120 (950 W), 50 Wh on the DDS (1.5 kW).
        await anyio.sleep(0.5)
        second = {m: await coordinator.read_meter(m) for m in ("m1", "m3")}
    finally:
        coordinator.close()
    for meter_id in ("m1", "m3"):
        used = (
            second[meter_id].values[Measurement.ENERGY_IMPORT_WH]
            - first[meter_id].values[Measurement.ENERGY_IMPORT_WH]
        )
        assert used >= 20, f"{meter_id} used {used} Wh in two simulated minutes"
        assert second[meter_id].read_at > first[meter_id].read_at


async def test_only_the_wanted_measurements_and_the_billing_register_are_read(
    tcp_peer: Peer, registry: ProfileRegistry
) -> None:
    coordinator = coordinator_for(tcp_peer, registry, units=(1,), wanted=[Measurement.VOLTAGE_V])
    tcp_peer.simulator.clear_requests()
    started = time.monotonic()
    try:
        reading = await coordinator.read_meter("m1")
    finally:
        coordinator.close()
    assert set(reading.values) == {Measurement.VOLTAGE_V, Measurement.ENERGY_IMPORT_WH}
    assert len(tcp_peer.simulator.requests()) == 2, "one request per contiguous register run"
    assert time.monotonic() - started < 1.0
