"""``make demo --fast``: the simulated meters and the gateway agent run on one timeline."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from demo.simulator.model import SimClock
from edge_agent.config.test_clock import TEST_CLOCK_EPOCH_ENV, TEST_CLOCK_RATE_ENV, clock_from_environment


def test_a_simulator_sharing_the_agents_epoch_and_rate_tells_the_agents_time() -> None:
    epoch_s = time.time() - 2.5  # the demo started the meters a moment before the agent
    meters = SimClock.sharing_epoch(epoch_s, speedup=360)
    agent = clock_from_environment({TEST_CLOCK_RATE_ENV: "360", TEST_CLOCK_EPOCH_ENV: repr(epoch_s)})
    assert agent is not None
    # Both are about 15 simulated minutes ahead of real time; a few ms of real time between the
    # two reads is a second or two of simulated time.
    assert abs(meters.now() - agent()) < timedelta(seconds=5)
    assert meters.now() - datetime.now(UTC) > timedelta(minutes=14)


def test_without_an_epoch_the_simulated_time_starts_now() -> None:
    clock = SimClock(speedup=360)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
