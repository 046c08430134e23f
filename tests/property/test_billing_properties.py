"""Billing over any sequence of readings loses and invents no money.

Runs the real billing service over a real store (a fresh SQLite file per example), with readings at
arbitrary times and register advances across days and the end of a month:

- on a flat tariff with a daily standing charge, where the price does not depend on when energy was
  used, the charged cents equal the rating of first-to-last within a cent;
- on time-of-use with blocks, where it does, the charged cents equal the exact ratings of the
  reading intervals (each apportioned linearly in its own interval) within a cent: the sub-cent
  carry neither leaks nor doubles money, whatever the tariff.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.store.database import open_reader
from edge_agent.store.queries import iter_encoded_entries
from shared.journal import Charge, ReadingSource, decode_entry
from shared.quantities import Measurement
from shared.tariffs import TariffSchedule, compile_tariff, parse_tariff, rate_interval
from tests.integration.edge.test_billing import FLAT, Clock, ObedientRelay, start_gateway
from tests.support.paths import REPO_ROOT

TOU_WITH_BLOCKS = REPO_ROOT / "examples" / "tariffs" / "time_of_use_blocks.toml"
START = datetime(2026, 7, 30, 21, 0, tzinfo=UTC)  # runs cross the end of July, local time
FIRST_REGISTER = Decimal(5_000_000)

# Seconds since the previous reading, and the average power meanwhile: at most the 69 kW the
# gateway deems plausible (a faster register jump is an alarm, never a bill: not what this tests).
readings = st.lists(
    st.tuples(st.integers(min_value=1, max_value=6 * 3600), st.integers(min_value=0, max_value=60_000)),
    min_size=1,
    max_size=25,
)


async def bill(
    tmp: Path, tariff_file: Path, steps: list[tuple[int, int]]
) -> tuple[int, list[datetime], list[Decimal]]:
    """Feed the readings through the gateway; return the cents charged and the reading times/registers."""
    gateway = start_gateway(tmp, ObedientRelay(), Clock(now=START), tariff=tariff_file)
    times, registers = [START], [FIRST_REGISTER]
    for seconds, watts in steps:
        times.append(times[-1] + timedelta(seconds=seconds))
        registers.append(registers[-1] + watts * seconds // 3600)
    for at, register in zip(times, registers, strict=True):
        await gateway.billing.on_reading(
            "m1", {Measurement.ENERGY_IMPORT_WH: register}, at, ReadingSource.MODBUS
        )
    await gateway.close()
    journal = (decode_entry(e).body for e in iter_encoded_entries(open_reader(tmp / "gw.sqlite3")))
    return sum(body.amount_cents for body in journal if isinstance(body, Charge)), times, registers


@settings(max_examples=25, deadline=None)
@given(readings)
def test_flat_charges_over_any_readings_equal_first_to_last_rating_within_a_cent(
    steps: list[tuple[int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        charged, times, registers = asyncio.run(bill(Path(tmp), FLAT, steps))
    tariff = compile_tariff(_schedule(FLAT))
    exact = rate_interval(tariff, times[0], times[-1], registers[-1] - registers[0]).total
    assert abs(Decimal(charged) - exact * 100) <= 1, f"charged {charged}c for an exact R{exact}"


@settings(max_examples=25, deadline=None)
@given(readings)
def test_any_tariff_charges_the_exact_interval_ratings_within_a_cent(steps: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        charged, times, registers = asyncio.run(bill(Path(tmp), TOU_WITH_BLOCKS, steps))
    tariff = compile_tariff(_schedule(TOU_WITH_BLOCKS))
    exact, state = Decimal(0), None
    for i in range(1, len(times)):
        result = rate_interval(tariff, times[i - 1], times[i], registers[i] - registers[i - 1], state)
        exact, state = exact + result.total, result.state
    assert abs(Decimal(charged) - exact * 100) <= 1, f"charged {charged}c for an exact R{exact}"


def _schedule(path: Path) -> TariffSchedule:
    return TariffSchedule.of([parse_tariff(path.read_text(), source=str(path))])
