"""The credit-control state machine: (policy, inputs, previous state) → decision and next state.

The decision depends only on its inputs, so a restarted gateway that reloads the stored state and
reads the confirmed relay state reaches the same decision; while the relay disagrees with the
policy's intended supply the same command is decided again, so the daemon retries it.

Supply rules for a disconnectable utility (hysteresis between the two thresholds):

- connected → disconnected when ``disconnect_due`` and no friendly window covers the moment;
  inside a window the disconnection is deferred (``recheck_at`` = the window's end).
- disconnected → connected once available credit ≥ the reconnect threshold.
- a reconnect command is only ever given at or above the reconnect threshold, and a disconnect
  command never inside a friendly window.

Water is never switched: only the low-credit warning and the debt-cap flag apply.

Before any rule: an operator's hold keeps a switchable relay where the person put it
(``shared.credit.holds``), and a balance the gateway has never received decides nothing at all,
so a gateway starting up before its first sync answer leaves every relay as it is.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import msgspec

from shared.credit.policy import CreditInputs, CreditPolicy, PolicyState, RelayHold, RelayState, Supply
from shared.credit.windows import covering_window_end
from shared.money import format_cents


class Action(enum.StrEnum):
    """What the daemon should do now."""

    NONE = "none"
    DISCONNECT = "disconnect"
    RECONNECT = "reconnect"
    WARN_LOW_CREDIT = "warn_low_credit"
    FLAG_DEBT_CAP = "flag_debt_cap"


class CreditDecision(msgspec.Struct, frozen=True, kw_only=True):
    """An action, the reason in words, and when to evaluate again if a window deferred something."""

    action: Action
    reason: str
    recheck_at: datetime | None = None


class CreditStep(msgspec.Struct, frozen=True, kw_only=True):
    """The decision and the policy state to store for the next evaluation."""

    decision: CreditDecision
    state: PolicyState


def decide(policy: CreditPolicy, inputs: CreditInputs, state: PolicyState) -> CreditStep:
    """Evaluate the credit policy for one wallet pocket and its meter's relay."""
    if inputs.hold is not None and policy.disconnectable:
        return _decide_held(inputs.hold, inputs.relay, state)
    if inputs.balance_cents is None:
        return CreditStep(decision=_none(AWAITING_BALANCE), state=state)
    if not policy.disconnectable:
        return _decide_flag_only(policy, inputs, state)
    supply = _decide_supply(policy, inputs, state)
    warned = _below_warning(policy, inputs)
    next_state = msgspec.structs.replace(state, supply=supply.supply, low_credit_warned=warned)
    decision = supply.decision
    # Warn only while the supply is meant to be on: once it is off, the disconnection says it all.
    fresh_warning = warned and not state.low_credit_warned and supply.supply is Supply.CONNECTED
    if decision.action is Action.NONE and fresh_warning:
        decision = CreditDecision(
            action=Action.WARN_LOW_CREDIT,
            reason=f"{_credit_text(policy, inputs)} is below the low-credit warning level "
            f"{_money(policy, policy.low_credit_warning_cents)}; {decision.reason}",
            recheck_at=decision.recheck_at,
        )
    return CreditStep(decision=decision, state=next_state)


def friendly_window_end(policy: CreditPolicy, at: datetime, holidays: frozenset[date]) -> datetime | None:
    """When the friendly-credit period covering ``at`` ends (aware, estate time), or ``None``.

    Adjoining windows count as one period, so the daemon can schedule one re-check at the end.
    """
    return covering_window_end(policy.friendly_windows, at, policy.zone, holidays)


#: The reason given while a pocket's balance has never arrived from the cloud.
AWAITING_BALANCE = "no balance for this pocket has arrived from the cloud yet: the relay stays as it is"


def _decide_held(hold: RelayHold, relay: RelayState, state: PolicyState) -> CreditStep:
    """Keep a held relay where the operator put it; repeat the command if the meter says otherwise."""
    reason = f"held {hold} by an operator: credit control does not switch it"
    if hold is RelayHold.OPEN:
        outcome = _command(Supply.DISCONNECTED, relay, Action.DISCONNECT, RelayState.OPEN, reason)
    else:
        outcome = _command(Supply.CONNECTED, relay, Action.RECONNECT, RelayState.CLOSED, reason)
    return CreditStep(decision=outcome.decision, state=msgspec.structs.replace(state, supply=outcome.supply))


class _SupplyOutcome(msgspec.Struct, frozen=True):
    supply: Supply
    decision: CreditDecision


def _decide_supply(policy: CreditPolicy, inputs: CreditInputs, state: PolicyState) -> _SupplyOutcome:
    available = inputs.available_cents
    credit = _credit_text(policy, inputs)
    reconnect_at = _money(policy, policy.reconnect_threshold_cents)
    if state.supply is Supply.CONNECTED and not policy.disconnect_due(available):
        return _keep_connected(policy, inputs, credit, reconnect_at)
    if state.supply is Supply.DISCONNECTED and available >= policy.reconnect_threshold_cents:
        reason = f"{credit} has reached the reconnect threshold {reconnect_at}"
        return _command(Supply.CONNECTED, inputs.relay, Action.RECONNECT, RelayState.CLOSED, reason)
    if policy.disconnect_due(available):
        reason = f"{credit} is at or below the disconnect level ({_due_text(policy)})"
    else:
        reason = f"{credit} is below the reconnect threshold {reconnect_at}"
    if inputs.relay is RelayState.OPEN:
        return _SupplyOutcome(Supply.DISCONNECTED, _none(f"supply off: relay open and {reason}"))
    window_end = friendly_window_end(policy, inputs.at, inputs.holidays)
    if window_end is not None:
        local_end = window_end.astimezone(policy.zone).strftime("%Y-%m-%d %H:%M %Z")
        reason = f"disconnection deferred to the friendly-credit window's end at {local_end}: {reason}"
        deferred = CreditDecision(action=Action.NONE, reason=reason, recheck_at=window_end)
        return _SupplyOutcome(state.supply, deferred)
    return _command(Supply.DISCONNECTED, inputs.relay, Action.DISCONNECT, RelayState.OPEN, reason)


def _keep_connected(
    policy: CreditPolicy, inputs: CreditInputs, credit: str, reconnect_at: str
) -> _SupplyOutcome:
    if inputs.relay is RelayState.CLOSED:
        in_emergency = inputs.available_cents <= policy.disconnect_threshold_cents
        detail = f"using emergency credit ({_due_text(policy)})" if in_emergency else "in credit"
        return _SupplyOutcome(Supply.CONNECTED, _none(f"supply on: {credit}, {detail}"))
    if inputs.available_cents >= policy.reconnect_threshold_cents:
        reason = f"relay is {inputs.relay} and {credit} is at or above the reconnect threshold {reconnect_at}"
        return _SupplyOutcome(Supply.CONNECTED, CreditDecision(action=Action.RECONNECT, reason=reason))
    # The relay is not (known to be) closed and credit is under the reconnect threshold: never
    # reconnect below it; wait for a top-up (or for a reconnect already sent to be confirmed).
    reason = f"relay is {inputs.relay} and {credit} is below the reconnect threshold {reconnect_at}"
    return _SupplyOutcome(Supply.CONNECTED, _none(reason))


def _command(
    supply: Supply, relay: RelayState, action: Action, wanted: RelayState, reason: str
) -> _SupplyOutcome:
    if relay is wanted:
        return _SupplyOutcome(supply, _none(f"relay already {relay}: {reason}"))
    return _SupplyOutcome(supply, CreditDecision(action=action, reason=reason))


def _decide_flag_only(policy: CreditPolicy, inputs: CreditInputs, state: PolicyState) -> CreditStep:
    cap = policy.water_debt_cap_cents
    assert inputs.balance_cents is not None
    debt = -inputs.balance_cents
    over_cap = cap is not None and debt > cap
    warned = _below_warning(policy, inputs)
    next_state = msgspec.structs.replace(state, debt_cap_flagged=over_cap, low_credit_warned=warned)
    never = f"{policy.utility} is never disconnected"
    if over_cap and not state.debt_cap_flagged:
        reason = f"debt {_money(policy, debt)} has passed the cap {_money(policy, cap or 0)}; {never}"
        decision = CreditDecision(action=Action.FLAG_DEBT_CAP, reason=reason)
    elif warned and not state.low_credit_warned:
        reason = (
            f"{_credit_text(policy, inputs)} is below the low-credit warning level "
            f"{_money(policy, policy.low_credit_warning_cents)}"
        )
        decision = CreditDecision(action=Action.WARN_LOW_CREDIT, reason=reason)
    else:
        decision = _none(f"{_credit_text(policy, inputs)}; {never}")
    return CreditStep(decision=decision, state=next_state)


def _below_warning(policy: CreditPolicy, inputs: CreditInputs) -> bool:
    level = policy.low_credit_warning_cents
    return level is not None and inputs.available_cents < level


def _due_text(policy: CreditPolicy) -> str:
    threshold = _money(policy, policy.disconnect_threshold_cents)
    if policy.emergency_credit_cents == 0:
        return f"threshold {threshold}"
    emergency = _money(policy, policy.emergency_credit_cents)
    return f"threshold {threshold} with {emergency} emergency credit"


def _credit_text(policy: CreditPolicy, inputs: CreditInputs) -> str:
    assert inputs.balance_cents is not None
    text = f"balance {_money(policy, inputs.balance_cents)}"
    if inputs.credit_limit_cents:
        text += f" (available {_money(policy, inputs.available_cents)} with the credit limit)"
    return text


def _money(policy: CreditPolicy, cents: int | None) -> str:
    return format_cents(cents or 0, policy.currency)


def _none(reason: str) -> CreditDecision:
    return CreditDecision(action=Action.NONE, reason=reason)
