"""Gateway pipeline throughput and memory (issue: edge agent, benchmark).

- readings per second through the whole pipeline: Modbus register words decoded by the meter's
  firmware profile → rated with the shared tariff → reading and charge entries committed with
  ``synchronous=FULL`` and group commit → credit decision; 200 meters read concurrently, as a
  busy estate's buses deliver them. Target ≥ 5,000/s on one core (the process's CPU time is
  reported beside the wall-clock rate: the writer thread shares the same core).
- resident memory of an agent process with 500 configured meters after each was read once.
  Target ≤ 64 MB.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_database
from firmware_profiles import decode_read, packaged_registry, plan_reads
from shared.journal import Pocket, ReadingSource
from tests.bench.figures import Figure
from tests.support.paths import REPO_ROOT

FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"
TOU_BLOCKS = REPO_ROOT / "examples" / "tariffs" / "time_of_use_blocks.toml"
START = datetime(2026, 8, 3, 6, 0, tzinfo=UTC)
METERS = 200
ROUNDS = 40
REPEATS = 3


def estate_config(store: Path, meters: int, tariff: Path) -> str:
    """An estate of ``meters`` DDS238-2 meters with relays, each with its own wallet."""
    lines = [
        f'[gateway]\nid = "gw-bench"\nstore = "{store}"',
        '[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"',
        f'[tariffs]\nelectricity = "{tariff}"',
    ]
    for n in range(meters):
        lines.append(
            f'[[meters]]\nid = "m{n}"\nunit = "Unit {n}"\nutility = "electricity"\nprofile = "hiking-dds238-2"\n'
            f'bus = "bus"\naddress = {n % 247 + 1}\nwallet = "w{n}"'
        )
    return "\n".join(lines)


def confirm_relays_closed(store: Path, meters: int) -> None:
    """As the agent does at start by reading every relay: here all meters said "closed"."""
    db = open_database(store)
    db.conn.executemany(
        "INSERT INTO relay_state (meter_id, closed, confirmed_at, command_id, confirmed_seq) VALUES (?, 1, ?, NULL, 0)",
        [(f"m{n}", START.isoformat()) for n in range(meters)],
    )
    db.conn.close()


def dds_words(total_centi_kwh: int) -> list[int]:
    """The DDS238-2 holding registers 0x00-0x1A for a given register value (1/100 kWh)."""
    words = [0] * 27
    for address in (0x00, 0x0A):
        words[address], words[address + 1] = divmod(total_centi_kwh, 65536)
    words[0x0C], words[0x0D], words[0x0E], words[0x10], words[0x11], words[0x1A] = 2306, 62, 132, 917, 4999, 1
    return words


async def pipeline_run(tmp: Path, tariff: Path) -> tuple[float, float, int]:
    """Feed METERS x ROUNDS readings through decode → bill → commit; return wall s, CPU s, readings."""
    config = load_config(estate_config(tmp / "gw.sqlite3", METERS, tariff), source=tmp / "edge.toml",
                         registry=packaged_registry())  # fmt: skip
    confirm_relays_closed(tmp / "gw.sqlite3", METERS)
    agent = GatewayAgent(config, clock=lambda: START)
    for n in range(METERS):
        await agent.billing.apply_cloud_balance(f"w{n}", Pocket.ELECTRICITY, 10_000_000, 0)
    plans = plan_reads(packaged_registry().get("hiking-dds238-2"))

    async def meter(n: int) -> None:
        """One meter's readings, each after the previous one's commit, as its poll scheduler delivers them."""
        for round_ in range(ROUNDS):
            words = dds_words(100_000 + round_ * 3 + n % 5)
            values = {}
            for planned in plans:
                values.update(decode_read(planned, words[planned.address : planned.address + planned.count]))
            at = START + timedelta(minutes=round_)
            await agent.billing.on_reading(f"m{n}", values, at, ReadingSource.MODBUS)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(meter(n) for n in range(METERS)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await agent.shutdown([])
    return wall, cpu, METERS * ROUNDS


def throughput(tariff: Path) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu, count = asyncio.run(pipeline_run(Path(tmp), tariff))
        walls.append(count / wall)
        cpus.append(count / cpu)
    return statistics.median(walls), statistics.median(cpus)


MEMORY_PROBE = """
import asyncio, sys, tempfile
from datetime import timedelta
from pathlib import Path
from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_database
from firmware_profiles import packaged_registry
from shared.journal import ReadingSource
from shared.quantities import Measurement
from tests.bench.bench_edge_pipeline import FLAT, START, estate_config
from decimal import Decimal

async def main(tmp):
    config = load_config(estate_config(tmp / "gw.sqlite3", 500, FLAT), source=tmp / "edge.toml",
                         registry=packaged_registry())
    agent = GatewayAgent(config, clock=lambda: START)
    for minute in range(2):
        for n in range(500):
            await agent.billing.on_reading(f"m{n}", {Measurement.ENERGY_IMPORT_WH: Decimal(1000 + minute)},
                                           START + timedelta(minutes=minute), ReadingSource.MODBUS)
    rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS"))
    await agent.shutdown([])
    print(rss)

with tempfile.TemporaryDirectory() as tmp:
    asyncio.run(main(Path(tmp)))
"""


def resident_memory_mb() -> float:
    """RSS of a fresh agent process with 500 meters, each read twice (KiB → MiB)."""
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return int(out.strip().splitlines()[-1]) / 1024


def run() -> list[Figure]:
    flat_wall, flat_cpu = throughput(FLAT)
    tou_wall, tou_cpu = throughput(TOU_BLOCKS)
    return [
        Figure("readings/s through the pipeline, flat tariff", flat_wall, "readings/s", 5000,
               note=f"{flat_cpu:,.0f}/s per CPU-second; {METERS} meters concurrent, FULL sync, group commit"),
        Figure("readings/s through the pipeline, TOU with blocks", tou_wall, "readings/s", 5000,
               note=f"{tou_cpu:,.0f}/s per CPU-second"),
        Figure("agent resident memory, 500 meters", resident_memory_mb(), "MiB", 64, higher_is_better=False),
    ]  # fmt: skip


if __name__ == "__main__":
    for figure in run():
        print(figure)
