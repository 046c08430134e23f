"""Operators' holds on relays, kept in memory and in the store, each change journalled.

The rules are pure (``shared.credit.holds``); this is their memory. A hold starts or ends inside
the journal transaction that causes it (an operator's command, a new balance from the cloud), with
an ``operator_hold`` or ``operator_hold_released`` alarm entry and the ``relay_hold`` row written
in that same transaction, so a restarted agent honours exactly the holds the journal reports. An
open hold is also an open alarm, which is how the local page shows it.
"""

from __future__ import annotations

import sqlite_utils

from edge_agent.store.journal import Transaction
from edge_agent.store.statements import (
    CLEAR_OPEN_ALARM,
    DELETE_RELAY_HOLD,
    UPSERT_OPEN_ALARM,
    UPSERT_RELAY_HOLD,
)
from shared.credit import RelayHold
from shared.journal import Alarm, AlarmKind

HOLD_TEXT = {
    RelayHold.OPEN: "an operator holds the relay open: credit control will not close it until an "
    "operator closes it",
    RelayHold.CLOSED: "an operator reconnected the supply without credit (emergency reconnect): "
    "credit control will not open the relay until the pocket's balance next changes in the cloud",
}


class OperatorHolds:
    """The hold on each meter's relay, if any."""

    def __init__(self, reader: sqlite_utils.Database) -> None:
        self.holds: dict[str, RelayHold] = {
            meter_id: RelayHold(hold)
            for meter_id, hold in reader.execute("SELECT meter_id, hold FROM relay_hold").fetchall()
        }

    def get(self, meter_id: str) -> RelayHold | None:
        return self.holds.get(meter_id)

    def hold(self, txn: Transaction, meter_id: str, hold: RelayHold, command_id: str) -> None:
        """Start (or change) a hold, journalled in ``txn``."""
        detail = f"{HOLD_TEXT[hold]} (command {command_id})"
        entry = txn.append(Alarm(meter_id=meter_id, kind=AlarmKind.OPERATOR_HOLD, detail=detail))
        txn.execute(UPSERT_RELAY_HOLD, (meter_id, hold.value, command_id, entry.seq))
        txn.execute(UPSERT_OPEN_ALARM, (meter_id, AlarmKind.OPERATOR_HOLD.value, detail, entry.seq))
        self.holds[meter_id] = hold

    def release(self, txn: Transaction, meter_id: str, why: str) -> None:
        """End a meter's hold, if it has one, journalled in ``txn``."""
        hold = self.holds.pop(meter_id, None)
        if hold is None:
            return
        detail = f"the relay is no longer held {hold}: {why}; credit control switches it again"
        txn.append(Alarm(meter_id=meter_id, kind=AlarmKind.OPERATOR_HOLD_RELEASED, detail=detail))
        txn.execute(DELETE_RELAY_HOLD, (meter_id,))
        txn.execute(CLEAR_OPEN_ALARM, (meter_id, AlarmKind.OPERATOR_HOLD.value))
