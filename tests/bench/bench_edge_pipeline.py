"""Gateway pipeline throughput and memory (issue: edge agent, benchmark).

- readings per second through the whole pipeline: Modbus register words decoded by the meter's
  firmware profile → rated with the shared tariff → reading and charge entries committed with
  ``synchronous=FULL`` and group commit → credit decision; 200 meters read concurrently, as a
  busy estate's buses deliver them. Target ≥ 5,000/s on one core. Each run is a fresh process
  pinned to one core, so the journal's writer thread shares that core with the event loop. Two
  figures: readings per second of wall time on a core of its own (waiting for fsync included, the
  time other processes on this shared machine held the core left out, from the scheduler's own
  accounting) and readings per CPU-second of the process (all threads). The register words are
  made before the clock starts, and the harness's own CPU (its loop and calls, measured with a
  sink that does nothing) is taken out of both.
- resident memory of a running agent with 500 configured meters, each read twice, with its local
  page started and served once. The issue's target is 64 MB = 61.0 MiB; the figure is in MiB.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.bench.figures import Figure
from tests.support.paths import REPO_ROOT

FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"
TOU_BLOCKS = REPO_ROOT / "examples" / "tariffs" / "time_of_use_blocks.toml"
TARIFFS = {"flat": FLAT, "tou": TOU_BLOCKS}
START = datetime(2026, 8, 3, 6, 0, tzinfo=UTC)
METERS = 200
ROUNDS = 40
REPEATS = 3
MEMORY_METERS = 500
#: The issue's "64 MB" in the MiB that resident memory is counted in.
MEMORY_TARGET_MIB = 64e6 / 2**20

Sink = Callable[[str, dict, datetime, object], Awaitable[object]]


def estate_config(store: Path, meters: int, tariff: Path) -> str:
    """An estate of ``meters`` DDS238-2 meters with relays, each with its own wallet."""
    lines = [
        f'[gateway]\nid = "gw-bench"\nstore = "{store}"',
        '[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"',
        f'[tariffs]\nelectricity = "{tariff}"',
        '[web]\nhost = "127.0.0.1"\nport = 0',
    ]
    for n in range(meters):
        lines.append(
            f'[[meters]]\nid = "m{n}"\nunit = "Unit {n}"\nutility = "electricity"\nprofile = "hiking-dds238-2"\n'
            f'bus = "bus"\naddress = {n % 247 + 1}\nwallet = "w{n}"'
        )
    return "\n".join(lines)


def confirm_relays_closed(store: Path, meters: int) -> None:
    """As the agent does at start by reading every relay: here all meters said "closed"."""
    from edge_agent.store.database import open_database

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


def process_cpu_s() -> float:
    """CPU time of every thread of this process (the event loop and the journal's writer)."""
    return time.process_time()


def thread_times_s() -> dict[int, tuple[float, float]]:
    """Each thread's (time on the CPU, time waiting for it on the run queue), from the scheduler."""
    times = {}
    for task in Path("/proc/self/task").iterdir():
        on_cpu_ns, waiting_ns, _ = (task / "schedstat").read_text().split()
        times[int(task.name)] = (int(on_cpu_ns) / 1e9, int(waiting_ns) / 1e9)
    return times


def own_core_wall_s(wall_s: float, before: dict[int, tuple[float, float]]) -> float:
    """The wall time the run would have taken had the core been its own.

    The event loop's thread was either on the core, waiting for it, or idle (waiting for an fsync).
    Waiting for the core is taken out and the other threads' CPU time (the journal's writer) put
    back in, all of it, as if it never overlapped an idle moment: so the estimate errs on the slow
    side, and only the time other processes held the shared core is left out.
    """
    after = thread_times_s()
    loop_thread = threading.get_native_id()
    waited_s = after[loop_thread][1] - before.get(loop_thread, (0.0, 0.0))[1]
    others_cpu_s = sum(
        cpu - before.get(tid, (0.0, 0.0))[0] for tid, (cpu, _) in after.items() if tid != loop_thread
    )
    return wall_s - waited_s + others_cpu_s


async def feed(sink: Sink, decode: Callable[[list[int]], dict]) -> tuple[float, float, float]:
    """Every meter's readings, each after the previous one's commit; (wall s, own-core wall s, CPU s).

    The words and times are made before the clock starts: only decoding, the pipeline and the
    loop that hands readings to it are timed.
    """
    from shared.journal import ReadingSource

    made = [
        [(dds_words(100_000 + round_ * 3 + n % 5), START + timedelta(minutes=round_)) for round_ in range(ROUNDS)]
        for n in range(METERS)
    ]  # fmt: skip

    async def meter(n: int) -> None:
        meter_id = f"m{n}"
        for words, at in made[n]:
            await sink(meter_id, decode(words), at, ReadingSource.MODBUS)

    threads0, wall0, cpu0 = thread_times_s(), time.perf_counter(), process_cpu_s()
    await asyncio.gather(*(meter(n) for n in range(METERS)))
    wall = time.perf_counter() - wall0
    return wall, own_core_wall_s(wall, threads0), process_cpu_s() - cpu0


async def pipeline_run(tmp: Path, tariff: Path) -> dict[str, float]:
    """Feed METERS x ROUNDS readings through decode → bill → commit; and the harness alone."""
    from edge_agent.config import load_config
    from edge_agent.daemon import GatewayAgent
    from firmware_profiles import decode_read, packaged_registry, plan_reads
    from shared.journal import Pocket

    config = load_config(estate_config(tmp / "gw.sqlite3", METERS, tariff), source=tmp / "edge.toml",
                         registry=packaged_registry())  # fmt: skip
    confirm_relays_closed(tmp / "gw.sqlite3", METERS)
    agent = GatewayAgent(config, clock=lambda: START)
    for n in range(METERS):
        await agent.billing.apply_cloud_balance(f"w{n}", Pocket.ELECTRICITY, 10_000_000, 0)
    plans = plan_reads(packaged_registry().get("hiking-dds238-2"))

    def decode(words: list[int]) -> dict[object, Decimal]:
        values: dict[object, Decimal] = {}
        for planned in plans:
            values.update(decode_read(planned, words[planned.address : planned.address + planned.count]))
        return values

    async def nothing(*_: object) -> None:
        return None

    *_, harness_cpu = await feed(nothing, lambda words: {})
    wall, own_core_wall, cpu = await feed(agent.billing.on_reading, decode)  # type: ignore[arg-type]
    await agent.shutdown([])
    return {"wall_s": wall, "own_core_wall_s": own_core_wall, "cpu_s": cpu, "harness_cpu_s": harness_cpu,
            "readings": METERS * ROUNDS}  # fmt: skip


def throughput_probe(tariff: str) -> None:
    """One measurement in this (fresh) process, pinned to one core; prints it as JSON."""
    core = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})  # before the writer thread starts: it inherits the one core
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        result = asyncio.run(pipeline_run(Path(tmp), TARIFFS[tariff]))
    print(json.dumps(result))


def probe(*args: str) -> dict[str, float]:
    """Run this module's probe in a fresh interpreter; its last line of output is JSON."""
    out = subprocess.run([sys.executable, "-m", "tests.bench.bench_edge_pipeline", "--probe", *args],
                         cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
    return dict(json.loads(out.strip().splitlines()[-1]))


def throughput(tariff: str) -> dict[str, float]:
    """Medians over REPEATS fresh processes, each figure with the harness's CPU taken out.

    ``own_core`` is readings per second of wall time on a core of its own (see
    :func:`own_core_wall_s`): the shared machine's other processes slow the plain wall clock by
    anything up to half, and are left out; waiting for fsync is kept in.
    """
    rates: dict[str, list[float]] = {"wall": [], "own_core": [], "cpu": [], "harness_us": []}
    for _ in range(REPEATS):
        run = probe("throughput", tariff)
        count, harness_s = run["readings"], run["harness_cpu_s"]
        rates["wall"].append(count / (run["wall_s"] - harness_s))
        rates["own_core"].append(count / (run["own_core_wall_s"] - harness_s))
        rates["cpu"].append(count / (run["cpu_s"] - harness_s))
        rates["harness_us"].append(harness_s / count * 1e6)
    return {name: statistics.median(values) for name, values in rates.items()}


async def memory_run(tmp: Path) -> dict[str, float]:
    """RSS of an agent with MEMORY_METERS meters, each read twice, its page started and served."""
    import logging

    from edge_agent.config import load_config
    from edge_agent.daemon import GatewayAgent
    from edge_agent.web import WebServer, create_web_app
    from firmware_profiles import packaged_registry
    from shared.journal import ReadingSource
    from shared.quantities import Measurement

    logging.disable(logging.WARNING)  # no credit was loaded: 500 relay commands find no meter
    config = load_config(estate_config(tmp / "gw.sqlite3", MEMORY_METERS, FLAT), source=tmp / "edge.toml",
                         registry=packaged_registry())  # fmt: skip
    agent = GatewayAgent(config, clock=lambda: START)
    for minute in range(2):
        for n in range(MEMORY_METERS):
            await agent.billing.on_reading(f"m{n}", {Measurement.ENERGY_IMPORT_WH: Decimal(1000 + minute)},
                                           START + timedelta(minutes=minute), ReadingSource.MODBUS)  # fmt: skip
    web = WebServer(create_web_app(agent, installer_password_hash=None, session_secret=os.urandom(32)),
                    host="127.0.0.1", port=0)  # fmt: skip
    serving = asyncio.create_task(web.serve())
    await web.started()
    reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
    page = await reader.read()
    writer.close()
    assert page.startswith(b"HTTP/1.1 200") and b'id="meter-m499"' in page
    status = Path("/proc/self/status").read_text().splitlines()
    rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    web.stop()
    await agent.shutdown([serving])
    return {"rss_mib": rss_kib / 1024}


def memory_probe() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        print(json.dumps(asyncio.run(memory_run(Path(tmp)))))


def resident_memory_mib() -> float:
    return probe("memory")["rss_mib"]


def run() -> list[Figure]:
    figures = []
    for tariff, name in (("flat", "flat tariff"), ("tou", "TOU with blocks")):
        rate = throughput(tariff)
        figures += [
            Figure(f"readings/s through the pipeline, {name}", rate["own_core"], "readings/s", 5000,
                   note=f"one core of its own: wall clock with fsync waits, without time other processes held "
                        f"the core (plain wall clock here: {rate['wall']:,.0f}/s); {METERS} meters concurrent, "
                        f"FULL sync, group commit; harness {rate['harness_us']:.1f} µs/reading not counted"),
            Figure(f"readings per CPU-second through the pipeline, {name}", rate["cpu"], "readings/s", 5000,
                   note=f"{1e6 / rate['cpu']:.0f} µs CPU per reading, all threads (event loop and journal writer)"),
        ]  # fmt: skip
    figures.append(
        Figure(f"agent resident memory, {MEMORY_METERS} meters, page served", resident_memory_mib(), "MiB",
               round(MEMORY_TARGET_MIB, 1), higher_is_better=False, note="target 64 MB = 61.0 MiB")
    )  # fmt: skip
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        if sys.argv[2] == "throughput":
            throughput_probe(sys.argv[3])
        else:
            memory_probe()
    else:
        for figure in run():
            print(figure)
