"""Seen from the meters' side of the bus: one request at a time, each after the quiet time owed."""

from __future__ import annotations

import itertools

import anyio
import pytest

from demo.simulator import Behaviour, RequestRecord
from firmware_profiles import ProfileRegistry
from tests.integration.modbus.conftest import FAST_TIMEOUT_MS, MODELS, Peer, coordinator_for

pytestmark = pytest.mark.anyio

#: How long a request may take from the gateway's write to the simulator's decode (pty or loopback).
DELIVERY_ALLOWANCE_S = 0.010


def spacing_s(registry: ProfileRegistry, unit: int) -> float:
    return registry.get(MODELS[unit]).modbus.request_spacing_ms / 1000


async def test_concurrent_callers_get_requests_one_at_a_time_and_spaced(
    peer: Peer, registry: ProfileRegistry
) -> None:
    peer.simulator.misbehave(4, Behaviour.SILENT)  # a timeout in the mix must not break pacing
    coordinator = coordinator_for(peer, registry)
    peer.simulator.clear_requests()
    try:
        async with anyio.create_task_group() as group:
            for meter_id in ("m1", "m2", "m3", "m4"):
                group.start_soon(coordinator.read_meter, meter_id)
            group.start_soon(coordinator.read_relay, "m3")
    finally:
        coordinator.close()

    requests = peer.simulator.requests()
    assert len(requests) >= 8 + 4 + 1 + 1 + 1
    for earlier, later in itertools.pairwise(requests):
        assert_after_quiet_time(registry, earlier, later)


def assert_after_quiet_time(registry: ProfileRegistry, earlier: RequestRecord, later: RequestRecord) -> None:
    """``later`` arrived after ``earlier`` ended plus the larger of the two meters' spacings."""
    owed_s = max(spacing_s(registry, earlier.unit), spacing_s(registry, later.unit))
    if earlier.answered_s is not None:
        gap_s = later.received_s - earlier.answered_s
    else:
        # Unanswered, it ended for the gateway when its timeout expired, counted from the moment
        # it was sent: a little before it arrived here, so allow the line's delivery time.
        gap_s = later.received_s - earlier.received_s - FAST_TIMEOUT_MS / 1000 + DELIVERY_ALLOWANCE_S
    assert gap_s >= owed_s, (
        f"unit {later.unit} was asked {gap_s * 1000:.1f} ms after unit {earlier.unit}'s request ended; "
        f"owed {owed_s * 1000:.0f} ms"
    )
