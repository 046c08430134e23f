"""Credit-control invariants a tenant would notice if they broke, over generated policies and days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.credit import (
    Action,
    CreditInputs,
    CreditPolicy,
    DayType,
    FriendlyWindow,
    PolicyState,
    RelayState,
    Supply,
    day_type,
    decide,
)
from shared.quantities import Utility

ZONES = ("Africa/Johannesburg", "Europe/London", "America/New_York")
SWITCHED = (Utility.ELECTRICITY, Utility.SOLAR)

windows = st.builds(
    FriendlyWindow,
    days=st.frozensets(st.sampled_from(DayType), min_size=1),
    start_minute=st.integers(0, 95).map(lambda quarter: quarter * 15),
    end_minute=st.integers(1, 96).map(lambda quarter: quarter * 15),
)


@st.composite
def policies(draw: st.DrawFn, utilities: tuple[Utility, ...] = tuple(Utility)) -> CreditPolicy:
    disconnect = draw(st.integers(-5000, 5000))
    return CreditPolicy(
        utility=draw(st.sampled_from(utilities)),
        timezone=draw(st.sampled_from(ZONES)),
        disconnect_threshold_cents=disconnect,
        emergency_credit_cents=draw(st.sampled_from([0, 0, 500, 2000])),
        reconnect_threshold_cents=disconnect + draw(st.integers(1, 10_000)),
        low_credit_warning_cents=draw(st.none() | st.integers(-5000, 10_000)),
        water_debt_cap_cents=draw(st.none() | st.integers(0, 20_000)),
        friendly_windows=tuple(draw(st.lists(windows, max_size=3))),
    )


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
states = st.builds(PolicyState, supply=st.sampled_from(Supply), low_credit_warned=st.booleans())


@st.composite
def inputs(draw: st.DrawFn) -> CreditInputs:
    at = draw(moments)
    # Make the moment's own dates holidays often enough to matter.
    nearby = [at.date() + timedelta(days=offset) for offset in (-1, 0, 1)]
    holidays = frozenset(draw(st.lists(st.sampled_from(nearby), max_size=2)))
    return CreditInputs(
        balance_cents=draw(st.integers(-20_000, 20_000)),
        relay=draw(st.sampled_from(RelayState)),
        at=at,
        holidays=holidays,
        credit_limit_cents=draw(st.sampled_from([0, 0, 3000])),
    )


def covered(policy: CreditPolicy, at: datetime, holidays: frozenset[date]) -> bool:
    """An independent reading of the window rules, minute by minute, for cross-checking."""
    local = at.astimezone(ZoneInfo(policy.timezone))
    minute = local.hour * 60 + local.minute
    today, yesterday = local.date(), local.date() - timedelta(days=1)
    for window in policy.friendly_windows:
        start, end = window.start_minute, window.end_minute
        if end > start:
            if day_type(today, holidays) in window.days and start <= minute < end:
                return True
        elif (day_type(today, holidays) in window.days and minute >= start) or (
            day_type(yesterday, holidays) in window.days and minute < end
        ):
            return True
    return False


@given(policies(), inputs(), states)
def test_never_disconnects_inside_a_friendly_window(
    policy: CreditPolicy, facts: CreditInputs, state: PolicyState
) -> None:
    if decide(policy, facts, state).decision.action is Action.DISCONNECT:
        assert not covered(policy, facts.at, facts.holidays)


@given(policies(utilities=(Utility.WATER, Utility.HOT_WATER)), inputs(), states)
def test_never_switches_water(policy: CreditPolicy, facts: CreditInputs, state: PolicyState) -> None:
    assert decide(policy, facts, state).decision.action not in (Action.DISCONNECT, Action.RECONNECT)


@given(policies(), inputs(), states)
def test_never_reconnects_below_the_reconnect_threshold(
    policy: CreditPolicy, facts: CreditInputs, state: PolicyState
) -> None:
    if decide(policy, facts, state).decision.action is Action.RECONNECT:
        assert facts.available_cents >= policy.reconnect_threshold_cents


@given(policies(SWITCHED), inputs(), states)
def test_an_unconfirmed_command_is_decided_again_even_after_a_restart(
    policy: CreditPolicy, facts: CreditInputs, state: PolicyState
) -> None:
    first = decide(policy, facts, state)
    stored = msgspec.json.decode(msgspec.json.encode(first.state), type=PolicyState)
    if first.decision.action in (Action.DISCONNECT, Action.RECONNECT):
        assert decide(policy, facts, stored).decision.action is first.decision.action


@settings(max_examples=150)
@given(
    policies(SWITCHED),
    st.integers(-20_000, 20_000),
    st.lists(
        st.tuples(st.integers(-3000, 3000), st.integers(1, 600), st.booleans()), min_size=1, max_size=60
    ),
    moments,
)
def test_relay_toggles_no_more_often_than_the_balance_crosses_the_thresholds(
    policy: CreditPolicy, start: int, moves: list[tuple[int, int, bool]], at: datetime
) -> None:
    """Balance moves by charges and top-ups; the meter confirms a command or not on each step."""
    balance = max(start, policy.reconnect_threshold_cents)
    relay, state = RelayState.CLOSED, PolicyState()
    toggles = crossings = 0
    for change, minutes, confirmed in moves:
        before, balance, at = balance, balance + change, at + timedelta(minutes=minutes)
        crossed_down = not policy.disconnect_due(before) and policy.disconnect_due(balance)
        crossed_up = before < policy.reconnect_threshold_cents <= balance
        crossings += crossed_down or crossed_up
        step = decide(policy, CreditInputs(balance_cents=balance, relay=relay, at=at), state)
        state = step.state
        wanted = {Action.DISCONNECT: RelayState.OPEN, Action.RECONNECT: RelayState.CLOSED}
        if confirmed and step.decision.action in wanted and wanted[step.decision.action] is not relay:
            relay = wanted[step.decision.action]
            toggles += 1
    assert toggles <= crossings
