"""Before every credit rule: an operator's hold, and a balance the gateway has never received."""

from __future__ import annotations

import pytest

from shared.credit import (
    AWAITING_BALANCE,
    Action,
    CreditInputs,
    CreditPolicy,
    PolicyState,
    RelayHold,
    RelayState,
    Supply,
    decide,
    hold_after_balance_change,
    hold_for_operator_close,
    state_after_operator_command,
)
from shared.quantities import Utility
from tests.unit.credit.test_credit_decisions import CONNECTED, DISCONNECTED, PLAIN, WEDNESDAY_NOON

WATER = CreditPolicy(utility=Utility.WATER)


def inputs(balance: int | None, relay: RelayState, hold: RelayHold | None = None) -> CreditInputs:
    return CreditInputs(balance_cents=balance, relay=relay, at=WEDNESDAY_NOON, hold=hold)


@pytest.mark.parametrize("relay", list(RelayState))
@pytest.mark.parametrize("state", [CONNECTED, DISCONNECTED])
def test_an_unknown_balance_decides_nothing_and_changes_no_state(
    relay: RelayState, state: PolicyState
) -> None:
    step = decide(PLAIN, inputs(None, relay), state)
    assert step.decision.action is Action.NONE and step.decision.reason == AWAITING_BALANCE
    assert step.state == state


@pytest.mark.parametrize(
    ("hold", "balance", "relay", "action", "supply"),
    [
        (RelayHold.OPEN, 50_000, RelayState.OPEN, Action.NONE, Supply.DISCONNECTED),  # credit: stays open
        (RelayHold.OPEN, 50_000, RelayState.CLOSED, Action.DISCONNECT, Supply.DISCONNECTED),  # put back
        (RelayHold.OPEN, None, RelayState.UNKNOWN, Action.DISCONNECT, Supply.DISCONNECTED),
        (RelayHold.CLOSED, -5_000, RelayState.CLOSED, Action.NONE, Supply.CONNECTED),  # no credit: stays on
        (RelayHold.CLOSED, -5_000, RelayState.OPEN, Action.RECONNECT, Supply.CONNECTED),
    ],
)
def test_a_held_relay_stays_where_the_operator_put_it(
    hold: RelayHold, balance: int | None, relay: RelayState, action: Action, supply: Supply
) -> None:
    step = decide(PLAIN, inputs(balance, relay, hold), CONNECTED)
    assert (step.decision.action, step.state.supply) == (action, supply)
    assert "operator" in step.decision.reason


def test_water_is_never_switched_even_when_held() -> None:
    step = decide(WATER, inputs(-100, RelayState.CLOSED, RelayHold.OPEN), CONNECTED)
    assert step.decision.action is not Action.DISCONNECT


@pytest.mark.parametrize(
    ("balance", "expected"),
    [(None, None), (5_000, None), (1, None), (0, RelayHold.CLOSED), (-700, RelayHold.CLOSED)],
)
def test_an_operators_close_is_an_emergency_reconnect_only_when_credit_is_due(
    balance: int | None, expected: RelayHold | None
) -> None:
    assert hold_for_operator_close(PLAIN, inputs(balance, RelayState.OPEN)) is expected
    assert hold_for_operator_close(WATER, inputs(balance, RelayState.OPEN)) is None


def test_a_new_balance_ends_an_emergency_reconnect_but_not_an_operators_open() -> None:
    assert hold_after_balance_change(RelayHold.CLOSED) is None
    assert hold_after_balance_change(RelayHold.OPEN) is RelayHold.OPEN
    assert hold_after_balance_change(None) is None


def test_the_supply_follows_the_operator() -> None:
    assert state_after_operator_command(DISCONNECTED, closed=True).supply is Supply.CONNECTED
    assert state_after_operator_command(CONNECTED, closed=False).supply is Supply.DISCONNECTED
