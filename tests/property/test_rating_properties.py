"""Rating invariants over generated intervals, for every example tariff shape.

- Splitting an interval anywhere, with the quantity split in proportion to time, never changes the
  exact total (nor the month-to-date state).
- Charges are never negative, and the pieces of an interval add up exactly to its quantity.
- Where price does not depend on when in an interval energy was used (flat, standing charges,
  blocks and solar allocation within a month), rating reading by reading equals rating first to
  last within a cent once the sub-cent carry has turned amounts into cents.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.money import ZERO
from shared.tariffs import (
    MonthToDate,
    TariffSchedule,
    charges_to_cents,
    compile_tariff,
    parse_tariff,
    rate_interval,
)
from tests.support.paths import REPO_ROOT

SAST = ZoneInfo("Africa/Johannesburg")
EXAMPLES = REPO_ROOT / "examples" / "tariffs"
TARIFFS = {
    path.stem: compile_tariff(TariffSchedule.of([parse_tariff(path.read_text(), str(path))]))
    for path in sorted(EXAMPLES.glob("*.toml"))
}
TIME_INDEPENDENT = ["flat", "hot_water", "inclining_blocks", "solar_allocation", "water_blocks"]
MONTH_FREE = {"flat", "hot_water"}
SEASON_START = datetime(2026, 7, 1, tzinfo=SAST)
DAY_S = 24 * 3600

tariff_names = st.sampled_from(sorted(TARIFFS))
# Whole seconds from 1 July to mid-October 2026: crosses month ends, seasons and public holidays.
start_seconds = st.integers(min_value=0, max_value=105 * DAY_S)
durations_s = st.integers(min_value=1, max_value=2 * DAY_S)
per_second_wh = st.decimals(min_value=0, max_value=5, places=3)
consumed_before_wh = st.decimals(min_value=0, max_value=800_000, places=3)


def _state(at: datetime, consumed: Decimal) -> MonthToDate:
    return MonthToDate(at.replace(day=1, hour=0, minute=0, second=0, microsecond=0), consumed)


@settings(max_examples=150, deadline=None)
@given(tariff_names, start_seconds, durations_s, durations_s, per_second_wh, consumed_before_wh)
def test_splitting_an_interval_anywhere_keeps_the_exact_total(name, offset, first_s, second_s, rate, before):
    tariff = TARIFFS[name]
    start = SEASON_START + timedelta(seconds=offset)
    split = start + timedelta(seconds=first_s)
    end = split + timedelta(seconds=second_s)
    state = _state(start, before)
    whole = rate_interval(tariff, start, end, rate * (first_s + second_s), state)
    head = rate_interval(tariff, start, split, rate * first_s, state)
    tail = rate_interval(tariff, split, end, rate * second_s, head.state)
    assert head.total + tail.total == whole.total
    assert tail.state == whole.state


@settings(max_examples=150, deadline=None)
@given(
    tariff_names,
    st.integers(min_value=0, max_value=105 * DAY_S * 10**6),
    st.integers(min_value=1, max_value=3 * DAY_S * 10**6),
    st.decimals(min_value=0, max_value=10**6, places=6),
    consumed_before_wh,
)
def test_charges_are_never_negative_and_add_up_to_the_quantity(
    name, offset_us, duration_us, quantity, before
):
    start = SEASON_START + timedelta(microseconds=offset_us)
    end = start + timedelta(microseconds=duration_us)
    result = rate_interval(TARIFFS[name], start, end, quantity, _state(start, before))
    assert all(charge.amount >= 0 and charge.quantity >= 0 for charge in result.charges)
    assert sum((charge.quantity for charge in result.charges), ZERO) == quantity
    assert all(charge.start <= charge.end for charge in result.charges)


readings = st.lists(
    st.tuples(st.integers(min_value=1, max_value=DAY_S), st.decimals(min_value=0, max_value=5000, places=3)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(TIME_INDEPENDENT),
    st.integers(min_value=0, max_value=3 * DAY_S),
    readings,
    consumed_before_wh,
)
def test_reading_by_reading_equals_first_to_last_within_a_cent(name, offset, steps, before):
    tariff = TARIFFS[name]
    start = SEASON_START + timedelta(seconds=offset)
    if name not in MONTH_FREE:
        # Blocks and the allocation reset on the 1st: keep the readings inside July, where rating
        # first to last cannot move consumption across the reset.
        longest_gap_s = 20 * DAY_S // len(steps)
        steps = [(min(gap_s, longest_gap_s), quantity) for gap_s, quantity in steps]
    state = _state(start, before)
    charges, at, total_quantity = [], start, ZERO
    for gap_s, quantity in steps:
        result = rate_interval(tariff, at, at + timedelta(seconds=gap_s), quantity, state)
        charges.extend(result.charges)
        state, at, total_quantity = result.state, at + timedelta(seconds=gap_s), total_quantity + quantity
    at_once = rate_interval(tariff, start, at, total_quantity, _state(start, before))
    by_reading_cents, _ = charges_to_cents(charges, ZERO)
    at_once_cents, _ = charges_to_cents(list(at_once.charges), ZERO)
    assert abs(sum(by_reading_cents) - sum(at_once_cents)) <= 1
    assert state == at_once.state
