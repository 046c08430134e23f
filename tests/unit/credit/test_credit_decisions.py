"""Credit-control decisions: when a tenant's supply goes off, comes back, or they are warned."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest

from shared.credit import (
    Action,
    CreditError,
    CreditInputs,
    CreditPolicy,
    DayType,
    FriendlyWindow,
    PolicyState,
    RelayState,
    Supply,
    decide,
)
from shared.quantities import Utility

SAST = ZoneInfo("Africa/Johannesburg")
WEDNESDAY_NOON = datetime(2026, 11, 18, 12, 0, tzinfo=SAST)
CONNECTED = PolicyState(supply=Supply.CONNECTED)
DISCONNECTED = PolicyState(supply=Supply.DISCONNECTED)
OPEN, CLOSED, UNKNOWN = RelayState.OPEN, RelayState.CLOSED, RelayState.UNKNOWN
PLAIN = CreditPolicy(utility=Utility.ELECTRICITY, low_credit_warning_cents=None)
EMERGENCY = msgspec.structs.replace(PLAIN, emergency_credit_cents=1000)
ALL_DAYS = frozenset(DayType)
WEEKEND_AND_HOLIDAYS = frozenset({DayType.SATURDAY, DayType.SUNDAY, DayType.HOLIDAY})
FRIENDLY = msgspec.structs.replace(
    PLAIN,
    friendly_windows=(
        FriendlyWindow(days=ALL_DAYS, start_minute=18 * 60, end_minute=7 * 60),
        FriendlyWindow(days=WEEKEND_AND_HOLIDAYS, start_minute=0, end_minute=24 * 60),
    ),
)


def run(
    policy: CreditPolicy,
    balance_cents: int,
    relay: RelayState,
    state: PolicyState = CONNECTED,
    at: datetime = WEDNESDAY_NOON,
    holidays: frozenset[date] = frozenset(),
    credit_limit_cents: int = 0,
) -> tuple[Action, Supply]:
    inputs = CreditInputs(
        balance_cents=balance_cents,
        relay=relay,
        at=at,
        holidays=holidays,
        credit_limit_cents=credit_limit_cents,
    )
    step = decide(policy, inputs, state)
    return step.decision.action, step.state.supply


@pytest.mark.parametrize(
    ("balance", "relay", "state", "action", "supply"),
    [
        pytest.param(100, CLOSED, CONNECTED, Action.NONE, Supply.CONNECTED, id="in credit"),
        pytest.param(0, CLOSED, CONNECTED, Action.DISCONNECT, Supply.DISCONNECTED, id="reaches zero"),
        pytest.param(-1, CLOSED, CONNECTED, Action.DISCONNECT, Supply.DISCONNECTED, id="below zero"),
        pytest.param(0, UNKNOWN, CONNECTED, Action.DISCONNECT, Supply.DISCONNECTED, id="unknown relay"),
        pytest.param(0, OPEN, CONNECTED, Action.NONE, Supply.DISCONNECTED, id="already open"),
        pytest.param(
            -1, CLOSED, DISCONNECTED, Action.DISCONNECT, Supply.DISCONNECTED, id="retry unconfirmed"
        ),
        pytest.param(
            1500, CLOSED, DISCONNECTED, Action.DISCONNECT, Supply.DISCONNECTED, id="retry, under R20"
        ),
        pytest.param(1999, OPEN, DISCONNECTED, Action.NONE, Supply.DISCONNECTED, id="R19.99 is not enough"),
        pytest.param(2000, OPEN, DISCONNECTED, Action.RECONNECT, Supply.CONNECTED, id="R20 reconnects"),
        pytest.param(2000, UNKNOWN, DISCONNECTED, Action.RECONNECT, Supply.CONNECTED, id="reconnect unknown"),
        pytest.param(2000, CLOSED, DISCONNECTED, Action.NONE, Supply.CONNECTED, id="already closed"),
        pytest.param(2500, OPEN, CONNECTED, Action.RECONNECT, Supply.CONNECTED, id="retry reconnect"),
        pytest.param(1500, OPEN, CONNECTED, Action.NONE, Supply.CONNECTED, id="no reconnect under R20"),
        pytest.param(1500, UNKNOWN, CONNECTED, Action.NONE, Supply.CONNECTED, id="unknown, under R20"),
        pytest.param(1, CLOSED, CONNECTED, Action.NONE, Supply.CONNECTED, id="one cent keeps supply"),
    ],
)
def test_supply_follows_thresholds_with_hysteresis(
    balance: int, relay: RelayState, state: PolicyState, action: Action, supply: Supply
) -> None:
    assert run(PLAIN, balance, relay, state) == (action, supply)


@pytest.mark.parametrize(
    ("balance", "relay", "state", "action"),
    [
        pytest.param(0, CLOSED, CONNECTED, Action.NONE, id="at threshold: emergency starts"),
        pytest.param(-1000, CLOSED, CONNECTED, Action.NONE, id="emergency fully used"),
        pytest.param(-1001, CLOSED, CONNECTED, Action.DISCONNECT, id="beyond emergency"),
        pytest.param(-500, OPEN, DISCONNECTED, Action.NONE, id="partial repayment"),
        pytest.param(500, OPEN, DISCONNECTED, Action.NONE, id="repaid but under R20"),
        pytest.param(2000, OPEN, DISCONNECTED, Action.RECONNECT, id="repaid and R20"),
    ],
)
def test_emergency_credit_keeps_supply_on_until_used_and_must_be_repaid(
    balance: int, relay: RelayState, state: PolicyState, action: Action
) -> None:
    assert run(EMERGENCY, balance, relay, state)[0] is action


@pytest.mark.parametrize(
    ("balance", "relay", "state", "action"),
    [
        pytest.param(-4999, CLOSED, CONNECTED, Action.NONE, id="within the limit"),
        pytest.param(-5000, CLOSED, CONNECTED, Action.DISCONNECT, id="limit reached"),
        pytest.param(-3001, OPEN, DISCONNECTED, Action.NONE, id="R19.99 above the limit"),
        pytest.param(-3000, OPEN, DISCONNECTED, Action.RECONNECT, id="R20 above the limit"),
    ],
)
def test_credit_limit_lets_the_balance_go_down_to_minus_limit(
    balance: int, relay: RelayState, state: PolicyState, action: Action
) -> None:
    assert run(PLAIN, balance, relay, state, credit_limit_cents=5000)[0] is action


def test_custom_thresholds_move_both_levels() -> None:
    policy = msgspec.structs.replace(PLAIN, disconnect_threshold_cents=500, reconnect_threshold_cents=5000)
    assert run(policy, 500, CLOSED)[0] is Action.DISCONNECT
    assert run(policy, 4999, OPEN, DISCONNECTED)[0] is Action.NONE
    assert run(policy, 5000, OPEN, DISCONNECTED)[0] is Action.RECONNECT


FRIDAY_EVENING = datetime(2026, 11, 20, 19, 0, tzinfo=SAST)
MONDAY_MORNING = datetime(2026, 11, 23, 7, 0, tzinfo=SAST)


def test_disconnection_in_a_friendly_window_is_deferred_to_the_window_end() -> None:
    inputs = CreditInputs(balance_cents=-100, relay=CLOSED, at=FRIDAY_EVENING)
    step = decide(FRIENDLY, inputs, CONNECTED)
    assert step.decision.action is Action.NONE
    assert step.decision.recheck_at == MONDAY_MORNING
    assert "deferred" in step.decision.reason and "2026-11-23 07:00 SAST" in step.decision.reason
    assert step.state.supply is Supply.CONNECTED


@pytest.mark.parametrize(
    ("at", "holidays", "action"),
    [
        pytest.param(datetime(2026, 11, 23, 6, 59, tzinfo=SAST), frozenset(), Action.NONE, id="Mon 06:59"),
        pytest.param(MONDAY_MORNING, frozenset(), Action.DISCONNECT, id="Mon 07:00 still due"),
        pytest.param(
            datetime(2026, 11, 18, 17, 59, tzinfo=SAST), frozenset(), Action.DISCONNECT, id="Wed 17:59"
        ),
        pytest.param(datetime(2026, 11, 18, 18, 0, tzinfo=SAST), frozenset(), Action.NONE, id="Wed 18:00"),
        pytest.param(WEDNESDAY_NOON, frozenset({date(2026, 11, 18)}), Action.NONE, id="public holiday"),
        pytest.param(datetime(2026, 11, 21, 12, 0, tzinfo=SAST), frozenset(), Action.NONE, id="Saturday"),
    ],
)
def test_friendly_windows_cover_nights_weekends_and_holidays(
    at: datetime, holidays: frozenset[date], action: Action
) -> None:
    assert run(FRIENDLY, -100, CLOSED, at=at, holidays=holidays)[0] is action


def test_a_holiday_joins_the_night_window_so_the_recheck_is_the_next_morning() -> None:
    holiday = frozenset({date(2026, 11, 18)})
    inputs = CreditInputs(balance_cents=-100, relay=CLOSED, at=WEDNESDAY_NOON, holidays=holiday)
    assert decide(FRIENDLY, inputs, CONNECTED).decision.recheck_at == datetime(
        2026, 11, 19, 7, 0, tzinfo=SAST
    )


def test_top_up_during_the_window_means_no_disconnection_at_its_end() -> None:
    deferred = decide(FRIENDLY, CreditInputs(balance_cents=-100, relay=CLOSED, at=FRIDAY_EVENING), CONNECTED)
    topped_up = CreditInputs(balance_cents=500, relay=CLOSED, at=MONDAY_MORNING)
    assert decide(FRIENDLY, topped_up, deferred.state).decision.action is Action.NONE


def test_an_unconfirmed_disconnection_is_not_retried_inside_a_window_but_is_after_it() -> None:
    assert run(FRIENDLY, -100, CLOSED, DISCONNECTED, at=FRIDAY_EVENING) == (Action.NONE, Supply.DISCONNECTED)
    assert run(FRIENDLY, -100, CLOSED, DISCONNECTED, at=MONDAY_MORNING)[0] is Action.DISCONNECT


def test_reconnection_is_not_held_back_by_a_friendly_window() -> None:
    assert run(FRIENDLY, 2000, OPEN, DISCONNECTED, at=FRIDAY_EVENING)[0] is Action.RECONNECT


def test_a_restarted_gateway_retries_the_unconfirmed_command_from_the_stored_state() -> None:
    inputs = CreditInputs(balance_cents=-100, relay=CLOSED, at=WEDNESDAY_NOON)
    first = decide(PLAIN, inputs, CONNECTED)
    stored = msgspec.json.decode(msgspec.json.encode(first.state), type=PolicyState)
    again = decide(PLAIN, inputs, stored)
    assert again.decision == first.decision and again.decision.action is Action.DISCONNECT
    assert again.state == first.state


WARNING = CreditPolicy(utility=Utility.ELECTRICITY, low_credit_warning_cents=5000)


def test_low_credit_warning_is_given_once_per_crossing() -> None:
    state = CONNECTED
    actions = []
    for balance in (6000, 4999, 4000, 5000, 4999):
        step = decide(WARNING, CreditInputs(balance_cents=balance, relay=CLOSED, at=WEDNESDAY_NOON), state)
        actions.append(step.decision.action)
        state = step.state
    assert actions == [Action.NONE, Action.WARN_LOW_CREDIT, Action.NONE, Action.NONE, Action.WARN_LOW_CREDIT]


def test_a_disconnection_takes_precedence_over_the_warning_and_the_warning_is_not_sent_late() -> None:
    cut = decide(WARNING, CreditInputs(balance_cents=-1, relay=CLOSED, at=WEDNESDAY_NOON), CONNECTED)
    assert cut.decision.action is Action.DISCONNECT
    back = decide(WARNING, CreditInputs(balance_cents=2500, relay=OPEN, at=WEDNESDAY_NOON), cut.state)
    assert back.decision.action is Action.RECONNECT
    after = decide(WARNING, CreditInputs(balance_cents=2400, relay=CLOSED, at=WEDNESDAY_NOON), back.state)
    assert after.decision.action is Action.NONE


def test_a_deferred_disconnection_still_warns_and_says_when_to_look_again() -> None:
    policy = msgspec.structs.replace(FRIENDLY, low_credit_warning_cents=5000)
    step = decide(policy, CreditInputs(balance_cents=-100, relay=CLOSED, at=FRIDAY_EVENING), CONNECTED)
    assert step.decision.action is Action.WARN_LOW_CREDIT
    assert step.decision.recheck_at == MONDAY_MORNING


WATER = CreditPolicy(utility=Utility.WATER, water_debt_cap_cents=10_000, low_credit_warning_cents=None)


@pytest.mark.parametrize("utility", [Utility.WATER, Utility.HOT_WATER])
@pytest.mark.parametrize("relay", [OPEN, CLOSED, UNKNOWN])
@pytest.mark.parametrize("state", [CONNECTED, DISCONNECTED])
def test_water_is_never_switched_whatever_the_debt(
    utility: Utility, relay: RelayState, state: PolicyState
) -> None:
    policy = msgspec.structs.replace(WATER, utility=utility)
    for balance in (-1_000_000, -1, 0, 1_000_000):
        assert run(policy, balance, relay, state)[0] not in (Action.DISCONNECT, Action.RECONNECT)


def test_water_debt_past_the_cap_is_flagged_once_per_crossing() -> None:
    state = CONNECTED
    actions = []
    for balance in (-10_000, -10_001, -20_000, -5_000, -10_001):
        step = decide(WATER, CreditInputs(balance_cents=balance, relay=CLOSED, at=WEDNESDAY_NOON), state)
        actions.append(step.decision.action)
        state = step.state
    assert actions == [Action.NONE, Action.FLAG_DEBT_CAP, Action.NONE, Action.NONE, Action.FLAG_DEBT_CAP]
    assert "water is never disconnected" in step.decision.reason


def test_water_defaults_flag_any_debt_and_a_disabled_cap_flags_none() -> None:
    default = CreditPolicy(utility=Utility.WATER, low_credit_warning_cents=None)
    assert run(default, -1, CLOSED)[0] is Action.FLAG_DEBT_CAP
    uncapped = msgspec.structs.replace(default, water_debt_cap_cents=None)
    assert run(uncapped, -1_000_000, CLOSED)[0] is Action.NONE


def test_water_low_credit_warning() -> None:
    policy = msgspec.structs.replace(WATER, low_credit_warning_cents=2000)
    assert run(policy, 1999, CLOSED)[0] is Action.WARN_LOW_CREDIT


def test_reasons_name_the_balance_and_the_level() -> None:
    step = decide(EMERGENCY, CreditInputs(balance_cents=-1001, relay=CLOSED, at=WEDNESDAY_NOON), CONNECTED)
    assert step.decision.reason == (
        "balance -ZAR 10.01 is at or below the disconnect level "
        "(threshold ZAR 0.00 with ZAR 10.00 emergency credit)"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"at": datetime(2026, 11, 18, 12, 0)}, "at: expected a timezone-aware datetime"),
        ({"credit_limit_cents": -1}, "credit_limit_cents: expected ≥ 0"),
    ],
)
def test_bad_inputs_are_refused(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"balance_cents": 0, "relay": CLOSED, "at": WEDNESDAY_NOON}
    with pytest.raises(CreditError, match=message):
        CreditInputs(**(base | fields))  # type: ignore[arg-type]
