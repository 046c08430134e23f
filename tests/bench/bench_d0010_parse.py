"""D0010 import throughput and peak memory, on flows generated at run time in a temp dir.

Run directly (``python -m tests.bench.bench_d0010_parse``) or through the lead's harness, which
calls ``run()``.
"""

import os
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from cloud.d0010 import D0010Import, ImportStatus
from cloud.d0010.items import mpan_check_digit
from tests.bench.figures import Figure

NOW = datetime(2026, 1, 1, tzinfo=UTC)
THROUGHPUT_READINGS = 200_000
MEMORY_READINGS = 1_000_000
REPEATS = 5
READINGS_PER_MPAN = 4  # one 028 with DY/NT registers on two dates: a typical Economy 7 pattern


def generate(path: Path, readings: int) -> int:
    """Write a valid D0010 file of ``readings`` 030 groups (each with its 032); return its size."""
    with path.open("wb") as out:
        out.write(b"ZHV|0000475656|D0010002|D|UDMS|X|MRCY|20250302153151||||OPER|\n")
        groups = flows = 0
        for chunk in _groups(readings):
            out.write(chunk)
            groups += chunk.count(b"\n")
            flows += 1
        out.write(b"ZPT|0000475656|%d|X1|%d|20250302154650|\n" % (groups, flows))
    return path.stat().st_size


def _groups(readings: int) -> Iterator[bytes]:
    for flow in range(readings // READINGS_PER_MPAN):
        first = b"%012d" % (100000000000 + flow * 7919)
        mpan = first + b"%d" % mpan_check_digit(first)
        lines = [b"026|%s|V|\n" % mpan, b"028|F75A %05d|C|\n" % (flow % 100000)]
        for n in range(READINGS_PER_MPAN):
            register = b"DY" if n % 2 == 0 else b"NT"
            day = 1 + (flow + n // 2) % 28
            value = (flow * 37 + n * 1013) % 99999999
            lines.append(b"030|%s|202412%02d000000|%d.%d|||T|N|\n" % (register, day, value // 10, value % 10))
            lines.append(b"032|%02d|T|\n" % (1 + n % 27))
        yield b"".join(lines)


def _import(path: Path, *, decode: bool = False) -> int:
    """Import ``path`` as the database import does: groups handed out as they complete, each
    checked in full; with ``decode`` every reading is also built as a ``Reading``."""
    importer = D0010Import(path.name, now=NOW)
    readings = 0
    with path.open("rb") as source:
        for flow in importer.flows(source):
            if decode:
                readings += len(flow.readings)
    report = importer.report()
    assert report.status is ImportStatus.IMPORTED, report.errors[:3]
    return report.readings


def conditions() -> str:
    """What else the machine was doing: the 1-minute load average over its cores."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    return f"load average {load:.1f} on {cores} cores"


def timed(work: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``repeats`` runs of ``work`` (this process, one core)."""
    wall, cpu = [], []
    for _ in range(repeats):
        wall_started, cpu_started = time.perf_counter(), time.process_time()
        work()
        wall.append(time.perf_counter() - wall_started)
        cpu.append(time.process_time() - cpu_started)
    return statistics.median(wall), statistics.median(cpu)


def throughput(folder: Path) -> list[Figure]:
    """Median MB/s over REPEATS imports of a generated file, by wall clock and by CPU time."""
    path = folder / "throughput.uff"
    size = generate(path, THROUGHPUT_READINGS) / 1e6
    wall, cpu = timed(lambda: _import(path), REPEATS)
    decode_wall, decode_cpu = timed(lambda: _import(path, decode=True), REPEATS)
    note = (
        f"{size:.1f} MB, {THROUGHPUT_READINGS:,} readings, median of {REPEATS}, one core, {conditions()}; "
        f"every field checked, readings left as validated bytes (what the database import uses)"
    )
    decoded = f"{size:.1f} MB, median of {REPEATS}, one core; every reading also built as a Reading"
    return [
        Figure("D0010 parse+validate throughput (wall clock)", size / wall, "MB/s", 50.0, True, note),
        Figure("D0010 parse+validate throughput (CPU time)", size / cpu, "MB/s", 50.0, True, note),
        Figure(
            "D0010 parse+validate+decode to Reading objects (wall clock)", size / decode_wall, "MB/s", None, True,
            decoded,
        ),
        Figure(
            "D0010 parse+validate+decode to Reading objects (CPU time)", size / decode_cpu, "MB/s", None, True,
            decoded,
        ),
    ]  # fmt: skip


def peak_memory(folder: Path) -> list[Figure]:
    """Peak memory while importing a 1,000,000-reading file, draining its groups as they come.

    Two views: the Python heap traced by tracemalloc during the import alone, and the process's
    resident-set high-water mark (interpreter, libraries and earlier work included).
    """
    path = folder / "memory.uff"
    size = generate(path, MEMORY_READINGS)
    tracemalloc.start()
    try:
        readings = _import(path, decode=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert readings == MEMORY_READINGS
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    note = f"{size / 1e6:.0f} MB file, groups consumed as they arrive, every reading decoded"
    return [
        Figure("D0010 import peak memory, 1M readings (traced heap)", peak / 1e6, "MB", 150.0, False, note),
        Figure("D0010 import peak memory, 1M readings (process RSS)", rss_mb, "MB", 150.0, False, note),
    ]


def run() -> list[Figure]:
    """Throughput (wall and CPU, with and without decoding) and peak memory."""
    with tempfile.TemporaryDirectory(prefix="bench_d0010_") as folder:
        return [*throughput(Path(folder)), *peak_memory(Path(folder))]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.value:.2f} {figure.unit} (target {figure.target}) — {figure.note}")
