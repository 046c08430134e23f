"""Switching the DDS238-2's relay with function 0x10, confirmed only by reading it back."""

from __future__ import annotations

import anyio
import pytest

from demo.simulator import Behaviour
from edge_agent.adapters.modbus import ExceptionAnswer
from firmware_profiles import ProfileRegistry, UnsupportedMeasurementError
from shared.quantities import Measurement
from tests.integration.modbus.conftest import Peer, coordinator_for

pytestmark = pytest.mark.anyio

DDS = "m3"
DDS_UNIT = 3


async def test_opening_the_relay_is_read_back_and_stops_the_energy_counter(
    peer: Peer, registry: ProfileRegistry
) -> None:
    coordinator = coordinator_for(peer, registry, units=(3,))
    try:
        assert await coordinator.read_relay(DDS) is True
        await coordinator.write_relay(DDS, closed=False)
        assert await coordinator.read_relay(DDS) is False
        assert peer.simulator.relay_closed(DDS_UNIT) is False

        opened = await coordinator.read_meter(DDS)
        await anyio.sleep(0.5)  # two simulated minutes: 50 Wh at 1.5 kW, had the supply been on
        still_open = await coordinator.read_meter(DDS)
        assert still_open.values[Measurement.POWER_W] == 0
        assert still_open.values[Measurement.ENERGY_IMPORT_WH] == opened.values[Measurement.ENERGY_IMPORT_WH]

        await coordinator.write_relay(DDS, closed=True)
        assert await coordinator.read_relay(DDS) is True
        await anyio.sleep(0.5)
        closed_again = await coordinator.read_meter(DDS)
        assert (
            closed_again.values[Measurement.ENERGY_IMPORT_WH]
            > still_open.values[Measurement.ENERGY_IMPORT_WH]
        )
    finally:
        coordinator.close()


async def test_the_relay_write_uses_function_0x10_at_register_0x1a(
    tcp_peer: Peer, registry: ProfileRegistry
) -> None:
    coordinator = coordinator_for(tcp_peer, registry, units=(3,))
    tcp_peer.simulator.clear_requests()
    try:
        await coordinator.write_relay(DDS, closed=False)
    finally:
        coordinator.close()
    (write,) = tcp_peer.simulator.requests()
    assert (write.unit, write.function_code, write.address) == (DDS_UNIT, 0x10, 0x1A)


async def test_a_refused_relay_write_raises_and_the_relay_stays_as_it_was(
    tcp_peer: Peer, registry: ProfileRegistry
) -> None:
    coordinator = coordinator_for(tcp_peer, registry, units=(3,))
    tcp_peer.simulator.misbehave(DDS_UNIT, Behaviour.EXCEPTION, exception_code=0x04)
    try:
        with pytest.raises(ExceptionAnswer) as refused:
            await coordinator.write_relay(DDS, closed=False)
    finally:
        coordinator.close()
    assert refused.value.code == 0x04
    assert tcp_peer.simulator.relay_closed(DDS_UNIT) is True


async def test_a_model_without_a_relay_is_refused_before_anything_is_sent(
    tcp_peer: Peer, registry: ProfileRegistry
) -> None:
    coordinator = coordinator_for(tcp_peer, registry, units=(1,))
    tcp_peer.simulator.clear_requests()
    try:
        with pytest.raises(UnsupportedMeasurementError):
            await coordinator.write_relay("m1", closed=False)
    finally:
        coordinator.close()
    assert tcp_peer.simulator.requests() == ()
