"""Operator holds: a person's relay command that credit control must not undo.

An operator's ``open`` (a meter swap, a tamper, a safety isolation) holds the relay open whatever
the credit: only an operator's ``close`` or an explicit release ends it. An operator's ``close``
restores the supply and hands it back to credit control, except when the pocket's credit is
already due for disconnection: then the close is an *emergency reconnect*, held closed until the
pocket's balance next changes in the cloud (a top-up, an adjustment), when credit control decides
again from the new balance. Without that hold the next reading would switch the household straight
back off, undoing the person's decision within seconds.

While a hold lasts, :func:`decide_held` keeps the relay where the hold says: if the meter reports
it elsewhere (someone switched it at the meter, a command was never confirmed) the same command is
decided again.
"""

from __future__ import annotations

import msgspec

from shared.credit.policy import CreditInputs, CreditPolicy, PolicyState, RelayHold, Supply


def hold_for_operator_close(policy: CreditPolicy, inputs: CreditInputs) -> RelayHold | None:
    """The hold an operator's ``close`` starts: ``closed`` when credit is due for disconnection.

    With credit (or a balance not known yet, when credit control makes no decision anyway) the
    close simply ends any hold and credit control carries on from a connected supply.
    """
    if not policy.disconnectable or inputs.balance_cents is None:
        return None
    return RelayHold.CLOSED if policy.disconnect_due(inputs.available_cents) else None


def hold_after_balance_change(hold: RelayHold | None) -> RelayHold | None:
    """A new balance from the cloud ends an emergency reconnect; an operator's open stays."""
    return None if hold is RelayHold.CLOSED else hold


def state_after_operator_command(state: PolicyState, closed: bool) -> PolicyState:
    """The policy state once an operator switched the relay: the supply follows the person.

    After a close the supply is connected, so credit control does not take the closed relay for a
    reconnect given below the threshold and open it again; after an open it is disconnected, so
    that once the hold is released the supply comes back only at the reconnect threshold.
    """
    supply = Supply.CONNECTED if closed else Supply.DISCONNECTED
    return msgspec.structs.replace(state, supply=supply)
