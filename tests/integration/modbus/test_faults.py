"""A meter answering exceptions, nothing, or corrupt frames is reported as such; the others go on."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict

import anyio
import pytest

from demo.simulator import Behaviour
from edge_agent.adapters.modbus import FailureKind, MeterReading, PollScheduler, TransitionKind
from firmware_profiles import ProfileRegistry
from shared.quantities import Measurement
from tests.integration.modbus.conftest import Peer, coordinator_for

pytestmark = pytest.mark.anyio

BAD_UNIT = 4
EXPECTED = {
    Behaviour.EXCEPTION: FailureKind.EXCEPTION,
    Behaviour.SILENT: FailureKind.TIMEOUT,
    # Over RTU the frame's CRC is broken; over TCP the answer is a register short.
    Behaviour.CORRUPT: FailureKind.CORRUPT,
}


@pytest.mark.parametrize("behaviour", list(EXPECTED))
async def test_a_misbehaving_meter_is_reported_and_its_neighbours_still_read(
    peer: Peer, registry: ProfileRegistry, behaviour: Behaviour
) -> None:
    coordinator = coordinator_for(peer, registry, units=(1, 3, 4))
    peer.simulator.misbehave(BAD_UNIT, behaviour, exception_code=0x02)
    try:
        bad = await coordinator.read_meter("m4")
        good = [await coordinator.read_meter(m) for m in ("m1", "m3")]
    finally:
        coordinator.close()
    assert bad.failure is not None and bad.values == {}
    assert bad.failure.kind is EXPECTED[behaviour], bad.failure.detail
    assert "unit 4" in bad.failure.detail
    if behaviour is Behaviour.EXCEPTION:
        assert bad.failure.exception_code == 0x02
    assert all(reading.ok for reading in good), [r.failure for r in good]


async def test_scheduled_polls_of_good_meters_keep_their_interval_beside_bad_ones(
    tcp_peer: Peer, registry: ProfileRegistry
) -> None:
    tcp_peer.simulator.misbehave(2, Behaviour.EXCEPTION)
    tcp_peer.simulator.misbehave(BAD_UNIT, Behaviour.SILENT)
    tcp_peer.simulator.misbehave(5, Behaviour.CORRUPT)
    units = (1, 2, 3, 4, 5)
    coordinator = coordinator_for(
        tcp_peer, registry, units, wanted=[Measurement.ENERGY_IMPORT_WH, Measurement.POWER_W]
    )
    seen: dict[str, list[tuple[float, MeterReading]]] = defaultdict(list)

    async def on_reading(reading: MeterReading) -> None:
        seen[reading.meter_id].append((time.monotonic(), reading))

    scheduler = PollScheduler(coordinator, on_reading)
    started = time.monotonic()
    try:
        with anyio.move_on_after(3.6):
            await scheduler.run()
    finally:
        coordinator.close()

    for meter_id in ("m1", "m3"):  # 1 s interval each
        times = [at for at, _ in seen[meter_id]]
        assert all(reading.ok for _, reading in seen[meter_id])
        assert len(times) >= 3, f"{meter_id} read {len(times)} times in 3.6 s"
        assert times[0] - started < 1.0
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert max(gaps) < 1.3, f"{meter_id} waited {max(gaps):.2f} s between reads"
    assert {r.failure.kind for _, r in seen["m2"] if r.failure} == {FailureKind.EXCEPTION}
    assert {r.failure.kind for _, r in seen["m4"] if r.failure} == {FailureKind.TIMEOUT}
    assert {r.failure.kind for _, r in seen["m5"] if r.failure} == {FailureKind.CORRUPT}
    assert all(not r.ok for meter_id in ("m2", "m4", "m5") for _, r in seen[meter_id])
    assert scheduler.stats.stretched_polls == 0


async def test_communication_lost_and_restored_are_each_reported_once(
    tcp_peer: Peer, registry: ProfileRegistry
) -> None:
    coordinator = coordinator_for(tcp_peer, registry, units=(BAD_UNIT,), wanted=[])
    try:
        assert (await coordinator.read_meter("m4")).transition is None
        tcp_peer.simulator.misbehave(BAD_UNIT, Behaviour.SILENT)
        silent = [await coordinator.read_meter("m4") for _ in range(4)]
        health_while_silent = coordinator.health("m4")
        tcp_peer.simulator.misbehave(BAD_UNIT, Behaviour.NORMAL)
        back = [await coordinator.read_meter("m4") for _ in range(3)]
    finally:
        coordinator.close()

    transitions = [r.transition for r in silent + back if r.transition is not None]
    assert [t.kind for t in transitions] == [
        TransitionKind.COMMUNICATION_LOST,
        TransitionKind.COMMUNICATION_RESTORED,
    ]
    lost, restored = transitions
    assert silent[1].transition is lost, "lost after the second failure in a row (the policy's threshold)"
    assert lost.failure_kind is FailureKind.TIMEOUT and lost.meter_id == "m4"
    assert back[0].transition is restored and restored.consecutive_failures == 4
    assert health_while_silent.lost and health_while_silent.consecutive_failures == 4
    assert health_while_silent.error_rate == pytest.approx(4 / 5)
    health = coordinator.health("m4")
    assert not health.lost and health.consecutive_failures == 0
    assert health.last_good_at == back[-1].read_at


async def test_a_lost_meter_costs_the_bus_one_timeout_per_poll(
    tcp_peer: Peer, registry: ProfileRegistry
) -> None:
    coordinator = coordinator_for(tcp_peer, registry, units=(BAD_UNIT,))
    tcp_peer.simulator.misbehave(BAD_UNIT, Behaviour.SILENT)
    try:
        for _ in range(2):  # lost after two failed polls
            await coordinator.read_meter("m4")
        tcp_peer.simulator.clear_requests()
        await coordinator.read_meter("m4")
    finally:
        coordinator.close()
    assert len(tcp_peer.simulator.requests()) == 1, "no retries for a meter already known to be silent"
