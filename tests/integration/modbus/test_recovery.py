"""A bus that disappears (TCP peer down, serial device gone) is read again once it is back,
by the same coordinator, and while it is gone reads fail at once instead of hanging or spinning."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from demo.simulator import PtyPair
from edge_agent.adapters.modbus import BusCoordinator, FailureKind, ReconnectPolicy
from firmware_profiles import ProfileRegistry
from tests.integration.modbus.conftest import Peer, coordinator_for, serving_rtu, serving_tcp

pytestmark = pytest.mark.anyio

#: Quick backoff so the test sees recovery within a second; the default tops out at 30 s.
QUICK = ReconnectPolicy(first_delay_s=0.1, max_delay_s=0.4, connect_timeout_s=1.0)
RECOVERY_TIMEOUT_S = 5.0


async def read_until_ok(coordinator: BusCoordinator, meter_id: str) -> float:
    """Poll every 50 ms until a read succeeds; the seconds it took (bounded)."""
    started = time.monotonic()
    with anyio.fail_after(RECOVERY_TIMEOUT_S):
        while not (await coordinator.read_meter(meter_id)).ok:
            await anyio.sleep(0.05)
    return time.monotonic() - started


async def assert_fails_fast_while_down(coordinator: BusCoordinator) -> None:
    """Once the bus is known to be gone, reads report it without waiting on I/O."""
    kinds = set()
    for _ in range(3):  # the first read may still meet the dying connection
        kinds.add((await coordinator.read_meter("m3")).failure.kind)  # type: ignore[union-attr]
    started = time.monotonic()
    failures = [(await coordinator.read_meter("m3")).failure for _ in range(50)]
    assert time.monotonic() - started < 0.5, "50 reads of a missing bus should take no bus time"
    assert {f.kind for f in failures if f} == {FailureKind.BUS_UNAVAILABLE}
    assert FailureKind.BUS_UNAVAILABLE in kinds


async def test_a_tcp_peer_that_goes_away_and_comes_back_is_read_again(registry: ProfileRegistry) -> None:
    async with serving_tcp(registry) as peer:
        coordinator = coordinator_for(peer, registry, units=(3,), reconnect_policy=QUICK)
        try:
            assert (await coordinator.read_meter("m3")).ok
            await peer.simulator.stop()
            await assert_fails_fast_while_down(coordinator)
            await anyio.sleep(0.5)  # down for a while: the backoff reaches its ceiling
            await peer.simulator.start_tcp(port=peer.port or 0)
            took_s = await read_until_ok(coordinator, "m3")
        finally:
            coordinator.close()
    assert took_s <= QUICK.max_delay_s + 0.5


async def test_a_serial_device_that_vanishes_and_reappears_is_read_again(
    registry: ProfileRegistry, tmp_path: Path
) -> None:
    async with serving_rtu(registry, tmp_path) as peer:
        assert isinstance(peer.pair, PtyPair)
        coordinator = coordinator_for(peer, registry, units=(3,), reconnect_policy=QUICK)
        try:
            assert (await coordinator.read_meter("m3")).ok
            # Unplugged: the simulator lets go of its end and both pty devices disappear.
            await peer.simulator.stop()
            peer.pair.stop()
            await assert_fails_fast_while_down(coordinator)
            peer.pair.start()
            await peer.simulator.start_serial(str(peer.pair.meters_path))
            took_s = await read_until_ok(coordinator, "m3")
        finally:
            coordinator.close()
    assert took_s <= QUICK.max_delay_s + 0.5


async def test_a_half_open_connection_is_reopened_after_a_run_of_silence(
    tcp_peer: Peer, registry: ProfileRegistry
) -> None:
    # Every unit silent looks, from the gateway, like a TCP peer that lost power mid-connection.
    policy = ReconnectPolicy(first_delay_s=0.1, max_delay_s=0.4, silent_transactions_max=4)
    coordinator = coordinator_for(tcp_peer, registry, units=(3,), reconnect_policy=policy)
    connections = []
    try:
        assert (await coordinator.read_meter("m3")).ok
        tcp_peer.simulator.misbehave(3, "silent")
        for _ in range(2):  # two polls with one retry each: four unanswered requests
            await coordinator.read_meter("m3")
            connections.append(coordinator.connected)
        tcp_peer.simulator.misbehave(3, "normal")
        assert (await coordinator.read_meter("m3")).ok
    finally:
        coordinator.close()
    assert connections == [True, False], "the connection was dropped after the fourth silent request"
