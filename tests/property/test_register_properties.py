"""Register-delta invariants: never a negative bill, and nothing lost or invented over a run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from shared.metering import (
    Consumption,
    RegisterSpec,
    RegisterState,
    advance_register,
    start_register,
)

T0 = datetime(2026, 11, 20, tzinfo=UTC)


@st.composite
def specs(draw: st.DrawFn) -> RegisterSpec:
    resolution = draw(st.sampled_from([Decimal(1), Decimal(10), Decimal(100), Decimal("0.1")]))
    steps = draw(st.none() | st.integers(10, 10**6))
    rate = draw(st.none() | st.sampled_from([Decimal(23_000), Decimal(5000)]))
    maximum = None if steps is None else resolution * steps
    return RegisterSpec(resolution=resolution, maximum=maximum, max_rate_per_h=rate)


@given(
    specs(),
    st.integers(0, 10**6),
    st.lists(st.tuples(st.integers(-(10**6), 2 * 10**6), st.integers(-5, 600)), max_size=40),
)
def test_consumption_is_never_negative_and_the_baseline_stays_valid(
    spec: RegisterSpec, first: int, readings: list[tuple[int, int]]
) -> None:
    modulus = spec.modulus
    start = spec.resolution * first % modulus if modulus else spec.resolution * first
    state, at = start_register(spec, start, T0), T0
    for steps, minutes in readings:
        at += timedelta(minutes=minutes)
        step = advance_register(state, spec.resolution * steps, at)
        if isinstance(step.outcome, Consumption):
            assert step.outcome.quantity >= 0
        state = step.state
        assert state.value >= 0 and (spec.maximum is None or state.value <= spec.maximum)


@given(
    specs(),
    st.integers(0, 10**6),
    st.lists(st.tuples(st.integers(0, 400), st.integers(1, 120)), min_size=1, max_size=60),
)
def test_sum_of_deltas_over_rising_readings_with_rollovers_equals_the_true_consumption(
    spec: RegisterSpec, first: int, increments: list[tuple[int, int]]
) -> None:
    """Readings rise (and wrap at the maximum); every step is physically plausible."""
    # The register shows 0 one resolution step after its maximum (computed here, not by the code).
    modulus = Decimal(10**12) if spec.maximum is None else spec.maximum + spec.resolution
    # Keep each step plausible for the supply and under half the register, as a real meter's are.
    rate_steps = (spec.max_rate_per_h or Decimal(10**9)) / spec.resolution / 60
    counted, at, total, rollovers = spec.resolution * first % modulus, T0, Decimal(0), 0
    state = start_register(spec, counted, T0)
    billed = Decimal(0)
    for wanted_steps, minutes in increments:
        steps = min(wanted_steps, int(rate_steps * minutes), int(modulus / spec.resolution / 2) - 1)
        at += timedelta(minutes=minutes)
        total += spec.resolution * steps
        rollovers += (counted + spec.resolution * steps) >= modulus
        counted = (counted + spec.resolution * steps) % modulus
        step = advance_register(state, counted, at)
        assert isinstance(step.outcome, Consumption), step.outcome
        billed += step.outcome.quantity
        rollovers -= step.outcome.rolled_over
        state = step.state
    assert billed == total
    assert rollovers == 0


@given(specs(), st.integers(0, 10**5), st.lists(st.integers(-(10**5), 10**6), max_size=20))
def test_stored_state_replays_to_the_same_outcomes(spec: RegisterSpec, first: int, values: list[int]) -> None:
    modulus = spec.modulus
    state = start_register(
        spec, spec.resolution * first % modulus if modulus else spec.resolution * first, T0
    )
    for index, value in enumerate(values, start=1):
        stored = msgspec.json.decode(msgspec.json.encode(state), type=RegisterState)
        at = T0 + timedelta(minutes=index)
        step, replayed = (
            advance_register(state, spec.resolution * value, at),
            advance_register(stored, spec.resolution * value, at),
        )
        assert replayed == step
        state = step.state
