"""D0010 import into PostgreSQL: a 1,000,000-reading file end to end, load rate and peak memory.

Each repeat creates a scratch database, migrates it, and runs the import in a subprocess (so its
peak resident set is the import's alone), then drops the database. The file is generated in a temp
dir by the parser benchmark's generator: 250,000 MPANs × one meter × four readings with their 032.

Run directly (``python -m tests.bench.bench_d0010_import``) or through the harness (``run()``).
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.bench_d0010_parse import generate
from tests.bench.figures import Figure
from tests.support.paths import REPO_ROOT

READINGS = 1_000_000
REPEATS = 3
#: One import of a million readings takes seconds; a minute means something is wrong.
CHILD_TIMEOUT_S = 300
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def run() -> list[Figure]:
    """End-to-end seconds, readings per second (overall and for the database's part), peak RSS."""
    from tests.support.services import postgres_admin_url

    admin_url = postgres_admin_url()
    with tempfile.TemporaryDirectory(prefix="bench_d0010_import_") as folder:
        path = Path(folder) / "million.uff"
        size = generate(path, READINGS)
        results = []
        for _ in range(REPEATS):
            with scratch_database(admin_url) as url:
                results.append(_child(url, path))
    return _figures(results, size)


def _figures(results: list[dict[str, float]], size: int) -> list[Figure]:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in results)

    total, parse = median("import_s"), median("parse_s")
    rss = max(r["rss_mb"] for r in results)
    load = f"load average {statistics.median(r['load'] for r in results):.1f} on {os.cpu_count()} cores"
    cpu = (
        f"CPU: importing process {median('import_cpu_s'):.1f} s (parse-only pass {median('parse_cpu_s'):.1f} s), "
        f"PostgreSQL backend {median('server_cpu_s'):.1f} s"
    )
    note = (
        f"{size / 1e6:.0f} MB file, {READINGS:,} readings, median of {REPEATS}, fresh database each, {load}"
    )
    database_s = max(total - parse, 1e-9)
    return [
        Figure(
            "D0010 import end to end, 1M readings (parse+validate+store)",
            total,
            "s",
            10.0,
            False,
            f"{note}; {cpu}",
        ),
        Figure(
            "D0010 import readings per second, end to end", READINGS / total, "readings/s", None, True, note
        ),
        Figure(
            "D0010 readings loaded per second into PostgreSQL",
            READINGS / database_s,
            "readings/s",
            200_000.0,
            True,
            f"wall time of the import less that of a parse-only pass ({total:.1f} s − {parse:.1f} s, medians "
            f"of {REPEATS}): COPY, checks and inserts, and formatting the rows; {load}",
        ),
        Figure(
            "D0010 readings loaded per CPU-second (importing process + PostgreSQL backend)",
            READINGS / max(median("import_cpu_s") + median("server_cpu_s") - median("parse_cpu_s"), 1e-9),
            "readings/s",
            None,
            True,
            "CPU time of both processes, less the parse-only pass: steady whatever else runs, and "
            "stricter than the wall-clock figure, as the two processes overlap on two cores",
        ),
        Figure("D0010 import peak memory, 1M readings (subprocess RSS)", rss, "MB", 150.0, False, note),
    ]


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new, migrated database, dropped afterwards."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from cloud.database.cli import upgrade_to_head

    name = f"quantify_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        params = conninfo_to_dict(admin_url)
        params["dbname"] = name
        url = make_conninfo("", **params)
        upgrade_to_head(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _child(url: str, path: Path) -> dict[str, float]:
    """Run the import in a fresh interpreter and read back its timings and peak RSS."""
    command = [sys.executable, "-m", "tests.bench.bench_d0010_import", "--child", url, str(path)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"import subprocess failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def child_main(url: str, path: Path) -> None:
    """In the subprocess: time a parse-only pass, then the real import; print JSON."""
    import asyncio

    from cloud.audit.actor import Actor
    from cloud.d0010 import D0010Import, ImportStatus
    from cloud.d0010.service import import_file
    from cloud.database.session import create_engine

    started, cpu_started = time.perf_counter(), time.process_time()
    importer = D0010Import(path.name, now=NOW)
    with path.open("rb", buffering=1 << 20) as lines:
        for _ in importer.flows(lines):
            pass
    parse_s, parse_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started

    async def store() -> dict[str, float]:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as connection:  # the pool's one connection: the import's too
                backend = await connection.exec_driver_sql("SELECT pg_backend_pid()")
                server = _BackendCpu(int(backend.scalar_one()))
            began, cpu_began, server_began = time.perf_counter(), time.process_time(), server.seconds()
            report = await import_file(engine, path, now=NOW, actor=Actor.system("benchmark"))
            seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
            server_s = server.seconds() - server_began
        finally:
            await engine.dispose()
        assert report.status is ImportStatus.IMPORTED, report.errors[:3]
        assert report.storage is not None and report.storage.readings_stored == READINGS
        return {"import_s": seconds, "import_cpu_s": cpu, "server_cpu_s": server_s}

    timings = asyncio.run(store())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    result = {"parse_s": parse_s, "parse_cpu_s": parse_cpu_s, "rss_mb": rss_mb, "load": os.getloadavg()[0]}
    print(json.dumps(result | timings))


class _BackendCpu:
    """CPU seconds a PostgreSQL backend has used, from /proc (NaN where that cannot be read)."""

    def __init__(self, pid: int) -> None:
        self._stat = Path(f"/proc/{pid}/stat")

    def seconds(self) -> float:
        try:
            fields = self._stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return math.nan
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child_main(sys.argv[2], Path(sys.argv[3]))
    else:
        for figure in run():
            print(
                f"{figure.name}: {figure.value:,.2f} {figure.unit} (target {figure.target}) — {figure.note}"
            )
