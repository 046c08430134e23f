"""Rating throughput on one core: flat rate, and time of use with blocks.

Each run rates a meter's consecutive readings, 1 to 15 minutes apart, through several days, so
band switches, midnights and block limits occur as often as they would for a real meter; both
tariffs (the documented examples) also accrue a daily standing charge on every interval.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from shared.tariffs import (
    CompiledTariff,
    MonthToDate,
    TariffSchedule,
    compile_tariff,
    parse_tariff,
    rate_interval,
)
from tests.bench.figures import Figure
from tests.support.paths import REPO_ROOT

INTERVALS = 20_000
REPEATS = 5
GAPS_MIN = (1, 2, 5, 10, 15)
WH_PER_MINUTE = Decimal("12.345")


def _tariff(stem: str) -> CompiledTariff:
    path = REPO_ROOT / "examples" / "tariffs" / f"{stem}.toml"
    return compile_tariff(TariffSchedule.of([parse_tariff(path.read_text(), str(path))]))


def _readings() -> list[tuple[datetime, datetime, Decimal]]:
    at = datetime(2026, 7, 1, tzinfo=ZoneInfo("Africa/Johannesburg"))
    intervals = []
    for index in range(INTERVALS):
        gap = GAPS_MIN[index % len(GAPS_MIN)]
        end = at + timedelta(minutes=gap)
        intervals.append((at, end, WH_PER_MINUTE * gap))
        at = end
    return intervals


def _intervals_per_second(
    tariff: CompiledTariff, intervals: list[tuple[datetime, datetime, Decimal]]
) -> float:
    timings = []
    for _ in range(REPEATS):
        state: MonthToDate | None = None
        began = time.perf_counter()
        for start, end, quantity in intervals:
            state = rate_interval(tariff, start, end, quantity, state).state
        timings.append(time.perf_counter() - began)
    return len(intervals) / statistics.median(timings)


def run() -> list[Figure]:
    """Median intervals per second over several repeats, for each tariff shape with a target."""
    intervals = _readings()
    days = (intervals[-1][1] - intervals[0][0]).days
    note = f"{INTERVALS} intervals of 1–15 min over {days} days, daily standing charge, median of {REPEATS}"
    return [
        Figure(
            "rating, flat rate",
            _intervals_per_second(_tariff("flat"), intervals),
            "intervals/s",
            200_000,
            note=note,
        ),
        Figure(
            "rating, time of use with blocks",
            _intervals_per_second(_tariff("time_of_use_blocks"), intervals),
            "intervals/s",
            50_000,
            note=note,
        ),
    ]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.value:,.0f} {figure.unit} (target {figure.target:,.0f}) {figure.note}")
