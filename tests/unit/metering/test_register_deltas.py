"""Register deltas: what a tenant is billed for a reading, and when the gateway raises an alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from shared.metering import (
    Consumption,
    MeteringError,
    RegisterAlarm,
    RegisterAlarmKind,
    RegisterSpec,
    RegisterState,
    advance_register,
    replace_meter,
    start_register,
    supply_max_rate_per_h,
)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
D = Decimal
# A 5-digit kWh counter with 0.1 kWh resolution, read in Wh: shows 0 after 99 999.9 kWh.
FIVE_DIGIT = RegisterSpec(resolution=D(100), maximum=D(99_999_900), max_rate_per_h=D(23_000))
UNBOUNDED = RegisterSpec(resolution=D(1), max_rate_per_h=D(23_000))
NO_RATE = RegisterSpec(resolution=D(1), maximum=D(99_999))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("spec", "previous", "current", "minutes", "quantity", "rolled_over"),
    [
        pytest.param(UNBOUNDED, D(1000), D(1250), 60, D(250), False, id="forwards"),
        pytest.param(UNBOUNDED, D(1000), D(1000), 60, D(0), False, id="unchanged"),
        pytest.param(NO_RATE, D(99_990), D(5), 1, D(15), True, id="rollover: 9 to max, 1 step to 0, 5"),
        pytest.param(NO_RATE, D(99_999), D(0), 1, D(1), True, id="rollover: max to 0 is one step"),
        pytest.param(FIVE_DIGIT, D(99_999_800), D(300), 60, D(500), True, id="rollover with 100 Wh steps"),
        pytest.param(UNBOUNDED, D(1000), D(1001), 0, D(1), False, id="one step of slack at zero time"),
        pytest.param(UNBOUNDED, D(0), D(23_001), 60, D(23_001), False, id="exactly the limit plus a step"),
    ],
)
def test_reading_is_billed_as(
    spec: RegisterSpec,
    previous: Decimal,
    current: Decimal,
    minutes: int,
    quantity: Decimal,
    rolled_over: bool,
) -> None:
    step = advance_register(start_register(spec, previous, T0), current, at(minutes))
    assert step.outcome == Consumption(quantity=quantity, rolled_over=rolled_over)
    assert (step.state.value, step.state.read_at) == (current, at(minutes))


@pytest.mark.parametrize(
    ("spec", "previous", "current", "minutes", "kind"),
    [
        pytest.param(UNBOUNDED, D(1000), D(999), 60, RegisterAlarmKind.REVERSE_REGISTER, id="back, no max"),
        pytest.param(
            NO_RATE, D(60_000), D(50_000), 60, RegisterAlarmKind.REVERSE_REGISTER, id="back, not wrap"
        ),
        pytest.param(
            FIVE_DIGIT, D(99_000_000), D(500_000), 5, RegisterAlarmKind.REVERSE_REGISTER, id="wrap too fast"
        ),
        pytest.param(
            UNBOUNDED, D(1000), D(25_000), 60, RegisterAlarmKind.IMPLAUSIBLE_JUMP, id="jump over 23 kW"
        ),
        pytest.param(
            UNBOUNDED, D(1000), D(1002), 0, RegisterAlarmKind.IMPLAUSIBLE_JUMP, id="2 steps at once"
        ),
        pytest.param(NO_RATE, D(1000), D(100_000), 60, RegisterAlarmKind.OUT_OF_RANGE, id="above maximum"),
        pytest.param(UNBOUNDED, D(1000), D(-1), 60, RegisterAlarmKind.OUT_OF_RANGE, id="negative"),
        pytest.param(UNBOUNDED, D(1000), D(1001), -1, RegisterAlarmKind.STALE_READING, id="older reading"),
    ],
)
def test_reading_raises_alarm_and_bills_nothing(
    spec: RegisterSpec, previous: Decimal, current: Decimal, minutes: int, kind: RegisterAlarmKind
) -> None:
    baseline = start_register(spec, previous, T0)
    step = advance_register(baseline, current, at(minutes))
    assert isinstance(step.outcome, RegisterAlarm)
    assert step.outcome.kind is kind
    assert not step.outcome.repeated
    assert (step.state.value, step.state.read_at, step.state.open_alarm) == (previous, T0, kind)


def test_garbled_reading_costs_nothing_the_next_good_one_bills_everything_since() -> None:
    state = start_register(UNBOUNDED, D(1000), T0)
    garbled = advance_register(state, D(999_999), at(1))
    good = advance_register(garbled.state, D(1010), at(2))
    assert good.outcome == Consumption(quantity=D(10))
    assert good.state.open_alarm is None


def test_a_repeated_alarm_is_marked_so_the_journal_is_not_flooded() -> None:
    state = start_register(UNBOUNDED, D(1000), T0)
    first = advance_register(state, D(900), at(1))
    second = advance_register(first.state, D(900), at(2))
    assert isinstance(first.outcome, RegisterAlarm) and not first.outcome.repeated
    assert isinstance(second.outcome, RegisterAlarm) and second.outcome.repeated


def test_alarm_reason_says_what_the_register_did() -> None:
    step = advance_register(start_register(UNBOUNDED, D(1000), T0), D(999), at(1))
    assert isinstance(step.outcome, RegisterAlarm)
    assert "went backwards from 1000 to 999" in step.outcome.reason


def test_meter_replacement_bills_the_old_meter_to_its_final_reading_and_nothing_across() -> None:
    old = start_register(UNBOUNDED, D(5000), T0)
    swap = replace_meter(old, new_spec=NO_RATE, new_value=D(0), replaced_at=at(60), final_value=D(5400))
    assert swap.closing is not None and swap.closing.outcome == Consumption(quantity=D(400))
    assert (swap.state.value, swap.state.spec, swap.state.read_at) == (D(0), NO_RATE, at(60))
    assert advance_register(swap.state, D(12), at(61)).outcome == Consumption(quantity=D(12))


def test_meter_replacement_without_final_reading_just_starts_the_new_baseline() -> None:
    old = start_register(UNBOUNDED, D(5000), T0)
    swap = replace_meter(old, new_spec=UNBOUNDED, new_value=D(30), replaced_at=at(5))
    assert swap.closing is None and swap.state.value == D(30)


def test_meter_replacement_cannot_be_backdated_before_the_last_reading() -> None:
    old = start_register(UNBOUNDED, D(5000), at(10))
    with pytest.raises(MeteringError, match=r"replaced_at .* is before the old register's last accepted"):
        replace_meter(old, new_spec=UNBOUNDED, new_value=D(0), replaced_at=at(5))


def test_state_survives_storage_and_replays_to_the_same_result() -> None:
    state = advance_register(start_register(FIVE_DIGIT, D(99_999_000), T0), D(99_999_900), at(5)).state
    stored = msgspec.json.decode(msgspec.json.encode(state), type=RegisterState)
    assert stored == state
    assert advance_register(stored, D(200), at(10)) == advance_register(state, D(200), at(10))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RegisterSpec(resolution=D(0)), "resolution: expected a positive"),
        (lambda: RegisterSpec(resolution=D(100), maximum=D(99_999_950)), "not a whole number of resolution"),
        (lambda: RegisterSpec(resolution=D(1), max_rate_per_h=D(-5)), "max_rate_per_h: expected a positive"),
        (lambda: start_register(NO_RATE, D(100_000), T0), "above the register's declared maximum"),
        (lambda: start_register(UNBOUNDED, D(1), datetime(2026, 1, 1)), "read_at: expected a timezone-aware"),
        (lambda: advance_register(start_register(UNBOUNDED, D(1), T0), D(2), datetime(2026, 12, 1)), "aware"),
    ],
)
def test_bad_specs_and_baselines_are_refused_with_a_reason(build: object, message: str) -> None:
    with pytest.raises(MeteringError, match=message):
        build()  # type: ignore[operator]


def test_supply_max_rate_is_volts_times_amps_times_phases() -> None:
    assert supply_max_rate_per_h(D(100)) == D(23_000)
    assert supply_max_rate_per_h(D(60), D(230), phases=3) == D(41_400)
    with pytest.raises(MeteringError, match="phases"):
        supply_max_rate_per_h(D(60), phases=2)
