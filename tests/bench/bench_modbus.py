"""The gateway's CPU cost per Modbus transaction, against the wire time of a 9600-baud read.

The simulated meters run in their own process (``python -m demo.simulator``) so only the
client's work is counted: the coordinator's lock and pacing, pymodbus' client and framer, the
answer's checks and ``decode_read``, with the event loop that runs them. The figure is this
process's CPU time (``time.process_time``) per transaction over Modbus TCP on the loopback, and
its share of the ≈ 27.5 ms one single-value read occupies on a 9600-baud RS485 line (refdata
"modbus/"): while it stays a small share, the bus, not the gateway, limits how many meters an
estate can poll.

The profiles' request spacing is cut to 1 ms here (the pacing code still runs each time), or a
run would be mostly waiting: spacing costs wall time, not CPU.
"""

from __future__ import annotations

import asyncio
import select
import statistics
import subprocess
import sys
import time

from edge_agent.adapters.modbus import BusCoordinator
from edge_agent.config.model import BusConfig, BusKind, MeterConfig
from firmware_profiles import ProfileRegistry, parse_profile
from shared.journal import Pocket
from shared.quantities import Measurement, Utility
from tests.bench.figures import Figure
from tests.support.paths import REPO_ROOT

TRANSACTIONS = 400
REPEATS = 5
WIRE_TIME_9600_US = 27_500.0
TARGET_SHARE_PCT = 5.0
START_TIMEOUT_S = 20.0
PROFILE_FILES = {"eastron-sdm120": "eastron_sdm120.toml", "hiking-dds238-2": "hiking_dds238_2.toml"}


def _quick_registry() -> ProfileRegistry:
    profiles = []
    for name in PROFILE_FILES.values():
        path = REPO_ROOT / "firmware_profiles" / "data" / name
        text = path.read_text()
        for spacing in ("request_spacing_ms = 50", "request_spacing_ms = 100"):
            text = text.replace(spacing, "request_spacing_ms = 1")
        profiles.append(parse_profile(text, f"{path} (spacing 1 ms)"))
    return ProfileRegistry(profiles)


def _start_simulator() -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "demo.simulator", "--tcp", "127.0.0.1:0"]
    command += ["--meter", "1:eastron-sdm120:950", "--meter", "3:hiking-dds238-2:1500"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
    banner = process.stdout.readline() if ready else ""
    if "Modbus TCP" not in banner:
        process.kill()
        process.wait(timeout=START_TIMEOUT_S)
        raise RuntimeError(f"the simulator did not start within {START_TIMEOUT_S} s: {banner!r}")
    return process, int(banner.rsplit(":", 1)[1])


def _meter(unit: int, model_id: str) -> MeterConfig:
    return MeterConfig(
        f"m{unit}",
        f"Unit {unit}",
        Utility.ELECTRICITY,
        model_id,
        "bench",
        unit,
        1,
        "w",
        Pocket.ELECTRICITY,
        0,
    )


async def _cpu_us_per_transaction(port: int, meter_id: str, wanted: list[Measurement] | None) -> list[float]:
    bus = BusConfig("bench", BusKind.TCP, None, "127.0.0.1", port, 1000, 0)
    meters = [_meter(1, "eastron-sdm120"), _meter(3, "hiking-dds238-2")]
    coordinator = BusCoordinator(bus, meters, _quick_registry(), wanted=wanted)
    reads_per_poll = len(coordinator.plan(meter_id).reads)
    try:
        for _ in range(20):  # warm up: connect, caches, first allocations
            await coordinator.read_meter(meter_id)
        samples = []
        for _ in range(REPEATS):
            cpu_started = time.process_time()
            for _ in range(TRANSACTIONS // reads_per_poll):
                reading = await coordinator.read_meter(meter_id)
                if not reading.ok:
                    raise RuntimeError(f"benchmark read failed: {reading.failure}")
            cpu_s = time.process_time() - cpu_started
            samples.append(cpu_s / (TRANSACTIONS // reads_per_poll * reads_per_poll) * 1e6)
        return samples
    finally:
        coordinator.close()


def _figures(label: str, samples: list[float], note: str) -> list[Figure]:
    median_us = statistics.median(samples)
    return [
        Figure(f"modbus TCP, CPU per transaction, {label}", median_us, "µs", None, False, note),
        Figure(
            f"modbus TCP, CPU share of 9600-baud wire time, {label}",
            median_us / WIRE_TIME_9600_US * 100,
            "%",
            TARGET_SHARE_PCT,
            higher_is_better=False,
            note=f"median µs / {WIRE_TIME_9600_US / 1000} ms; {note}",
        ),
    ]


def run() -> list[Figure]:
    """Median client CPU per transaction, for a single-value read and a full DDS238-2 read."""
    process, port = _start_simulator()
    try:
        single = asyncio.run(_cpu_us_per_transaction(port, "m1", [Measurement.ENERGY_IMPORT_WH]))
        full = asyncio.run(_cpu_us_per_transaction(port, "m3", None))
    finally:
        process.terminate()
        try:
            process.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=START_TIMEOUT_S)
    note = f"{TRANSACTIONS} transactions × {REPEATS} repeats, simulator in its own process"
    return [
        *_figures("SDM120 energy (1 value, 2 registers)", single, note),
        *_figures("DDS238-2 full read (9 values, 18 registers)", full, note),
    ]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.value:,.4g} {figure.unit}")
