"""Credit control: when a prepaid supply is switched off, back on, warned about or flagged.

A pure state machine per wallet pocket and meter: :func:`decide` takes the
:class:`CreditPolicy` (per estate and utility), the :class:`CreditInputs` of the moment (cached
balance, confirmed relay state, aware time, public holidays, the wallet's credit limit) and the
stored :class:`PolicyState`, and returns a :class:`CreditDecision` with the next state.
:func:`friendly_window_end` tells the daemon when to look again after a deferred disconnection.
An operator's hold (:class:`RelayHold`, rules in ``shared.credit.holds``) and a balance never
received (``balance_cents=None``) come before every other rule.
The rules and every parameter are described in ``docs/credit-control.md``.
"""

from shared.credit.errors import CreditError, CreditPolicyError
from shared.credit.holds import (
    hold_after_balance_change,
    hold_for_operator_close,
    state_after_operator_command,
)
from shared.credit.machine import (
    AWAITING_BALANCE,
    Action,
    CreditDecision,
    CreditStep,
    decide,
    friendly_window_end,
)
from shared.credit.parse import parse_credit_policies, parse_credit_policy, parse_friendly_window
from shared.credit.policy import (
    DEFAULT_LOW_CREDIT_WARNING_CENTS,
    DEFAULT_RECONNECT_THRESHOLD_CENTS,
    DEFAULT_TIMEZONE,
    CreditInputs,
    CreditPolicy,
    PolicyState,
    RelayHold,
    RelayState,
    Supply,
)
from shared.credit.windows import DayType, FriendlyWindow, day_type

__all__ = [
    "AWAITING_BALANCE",
    "DEFAULT_LOW_CREDIT_WARNING_CENTS",
    "DEFAULT_RECONNECT_THRESHOLD_CENTS",
    "DEFAULT_TIMEZONE",
    "Action",
    "CreditDecision",
    "CreditError",
    "CreditInputs",
    "CreditPolicy",
    "CreditPolicyError",
    "CreditStep",
    "DayType",
    "FriendlyWindow",
    "PolicyState",
    "RelayHold",
    "RelayState",
    "Supply",
    "day_type",
    "decide",
    "friendly_window_end",
    "hold_after_balance_change",
    "hold_for_operator_close",
    "parse_credit_policies",
    "parse_credit_policy",
    "parse_friendly_window",
    "state_after_operator_command",
]
