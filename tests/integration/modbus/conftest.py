"""Real Modbus peers for the coordinator: the simulator over TCP, and over a socat pty pair (RTU).

One bus carries an SDM120 (unit 1), an SDM630 (unit 2) and a DDS238-2 (unit 3), plus two spare
SDM120s (units 4 and 5) that tests make misbehave. The simulated clock runs 240× real time (a second is four minutes) so energy
visibly advances within a test. Every server and socat process started here is stopped by the
fixture that started it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pytest

from demo.simulator import MeterSimulator, PtyPair, SimClock, SimulatedMeter
from edge_agent.adapters.modbus import BusCoordinator, HealthPolicy, RetryPolicy
from edge_agent.config.model import BusConfig, BusKind, MeterConfig, Parity, SerialLine
from firmware_profiles import ProfileRegistry, packaged_registry
from shared.journal import Pocket
from shared.quantities import Utility

SPEEDUP = 240.0
MODELS = {
    1: "eastron-sdm120",
    2: "eastron-sdm630",
    3: "hiking-dds238-2",
    4: "eastron-sdm120",
    5: "eastron-sdm120",
}
LOADS_W = {1: Decimal(950), 2: Decimal(4200), 3: Decimal(1500), 4: Decimal(600), 5: Decimal(300)}
#: Short timeouts keep fault tests quick; the meters answer a loopback request in well under 10 ms.
FAST_TIMEOUT_MS = 150


@dataclass(frozen=True)
class Peer:
    """A running simulator and the bus configuration that reaches it."""

    simulator: MeterSimulator
    bus: BusConfig
    kind: str
    pair: PtyPair | None = None
    port: int | None = None


@pytest.fixture(scope="session")
def registry() -> ProfileRegistry:
    return packaged_registry()


def meter_config(unit: int, bus_id: str = "bus-1", poll_interval_s: int = 1) -> MeterConfig:
    """The configuration the daemon would hold for the meter at ``unit``."""
    return MeterConfig(
        id=f"m{unit}",
        unit=f"Unit {unit}",
        utility=Utility.ELECTRICITY,
        profile=MODELS[unit],
        bus=bus_id,
        address=unit,
        poll_interval_s=poll_interval_s,
        wallet_id=f"w{unit}",
        pocket=Pocket.ELECTRICITY,
        credit_limit_cents=0,
    )


def coordinator_for(
    peer: Peer, registry: ProfileRegistry, units: tuple[int, ...] = (1, 2, 3, 4), **kwargs: object
) -> BusCoordinator:
    """A coordinator for the peer's bus with quick retries and a low "lost" threshold."""
    kwargs.setdefault("retry_policy", RetryPolicy(first_s=0.01, max_s=0.05))
    kwargs.setdefault("health_policy", HealthPolicy(lost_after_failures=2, window_reads=10))
    return BusCoordinator(peer.bus, [meter_config(u) for u in units], registry, **kwargs)  # type: ignore[arg-type]


def new_simulator(registry: ProfileRegistry) -> MeterSimulator:
    clock = SimClock(speedup=SPEEDUP)
    meters = [
        SimulatedMeter(unit, registry.get(model), load_w=LOADS_W[unit], at=clock.now())
        for unit, model in MODELS.items()
    ]
    return MeterSimulator(meters, clock)


@asynccontextmanager
async def serving_tcp(registry: ProfileRegistry) -> AsyncIterator[Peer]:
    """The simulated bus behind a Modbus TCP server on a free loopback port."""
    simulator = new_simulator(registry)
    port = await simulator.start_tcp()
    bus = BusConfig("bus-1", BusKind.TCP, None, "127.0.0.1", port, FAST_TIMEOUT_MS, 1)
    try:
        yield Peer(simulator, bus, "tcp", port=port)
    finally:
        await simulator.stop()


@asynccontextmanager
async def serving_rtu(registry: ProfileRegistry, directory: Path) -> AsyncIterator[Peer]:
    """The simulated bus on one end of a socat pty pair; the gateway opens the other end."""
    simulator = new_simulator(registry)
    with PtyPair(directory) as pair:
        # 9600 8N1 as a DDS238-2 ships; a pty ignores the rate, the framing is real RTU with CRC.
        await simulator.start_serial(str(pair.meters_path), baud=9600, parity="N", stop_bits=1)
        line = SerialLine(str(pair.gateway_path), 9600, Parity.NONE, 1, 8)
        bus = BusConfig("bus-1", BusKind.RTU, line, None, None, FAST_TIMEOUT_MS, 1)
        try:
            yield Peer(simulator, bus, "rtu", pair=pair)
        finally:
            await simulator.stop()


@pytest.fixture
async def tcp_peer(registry: ProfileRegistry) -> AsyncIterator[Peer]:
    async with serving_tcp(registry) as peer:
        yield peer


@pytest.fixture(params=["tcp", "rtu"])
async def peer(
    request: pytest.FixtureRequest, registry: ProfileRegistry, tmp_path: Path
) -> AsyncIterator[Peer]:
    """The same bus over Modbus TCP, and over a serial line with RTU framing."""
    serving = serving_tcp(registry) if request.param == "tcp" else serving_rtu(registry, tmp_path)
    async with serving as running:
        yield running


def with_timeout(peer: Peer, timeout_ms: int | None) -> Peer:
    """The peer with the bus's timeout override changed (None: each profile's own timeout)."""
    return replace(peer, bus=replace(peer.bus, timeout_ms=timeout_ms))
