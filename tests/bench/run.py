"""``make bench``: run every ``tests/bench/bench_*.py`` and record the figures.

Each benchmark module exposes ``run() -> list[Figure]``. This harness runs them in turn (in this
process, so on one core), prints a table, and rewrites ``docs/benchmarks.md`` with the figures, the
targets the issues set, and a description of the machine. Machines here are shared and noisy, so
every benchmark reports a median over repeats; compare ratios within one run.

Usage: ``python -m tests.bench.run [--only NAME ...] [--no-write]``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.figures import Figure
from tests.support.paths import REPO_ROOT

BENCH_DIR = Path(__file__).parent
REPORT = REPO_ROOT / "docs" / "benchmarks.md"


def bench_names() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def machine_description() -> str:
    """CPU model, cores, memory, OS and Python: what a reader needs to weigh the figures."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}; {os.cpu_count()} cores; {memory} RAM; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def run_bench(name: str) -> tuple[list[Figure], str | None]:
    """Run one benchmark module; a failure is reported, not fatal to the others."""
    try:
        module = importlib.import_module(f"tests.bench.bench_{name}")
        return list(module.run()), None
    except Exception:  # a broken benchmark must not hide the others' figures
        return [], traceback.format_exc(limit=3)


def verdict(figure: Figure) -> str:
    met = figure.meets_target
    return "—" if met is None else ("meets" if met else "**misses**")


def target_text(figure: Figure) -> str:
    if figure.target is None:
        return "—"
    return f"{'≥' if figure.higher_is_better else '≤'} {figure.target:,.6g} {figure.unit}"


def render(results: dict[str, tuple[list[Figure], str | None]], machine: str, when: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`tests/bench/run.py`); do not edit by hand. Each figure is the median",
        "of several repeats in one process on one core. The machines are shared and noisy: compare",
        "ratios within one run rather than absolute figures across runs.",
        "",
        f"- Measured: {when}",
        f"- Machine: {machine}",
        "",
        "| benchmark | figure | value | target | verdict | note |",
        "|---|---|---|---|---|---|",
    ]
    for name, (figures, error) in results.items():
        for f in figures:
            value = f"{f.value:,.6g} {f.unit}"
            lines.append(f"| {name} | {f.name} | {value} | {target_text(f)} | {verdict(f)} | {f.note} |")
        if error:
            lines.append(f"| {name} | (failed) | — | — | — | {error.strip().splitlines()[-1]} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", default=None, help=f"benchmarks to run: {', '.join(bench_names())}"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    names = args.only or bench_names()
    results: dict[str, tuple[list[Figure], str | None]] = {}
    for name in names:
        print(f"== {name}", flush=True)
        figures, error = run_bench(name)
        results[name] = (figures, error)
        for f in figures:
            print(
                f"   {f.name}: {f.value:,.6g} {f.unit}  (target {target_text(f)}: {verdict(f)})", flush=True
            )
        if error:
            print(error, file=sys.stderr)
    if not args.no_write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        REPORT.write_text(render(results, machine_description(), when))
        print(f"wrote {REPORT.relative_to(REPO_ROOT)}")
    return 1 if any(error for _, error in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
