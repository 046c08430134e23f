"""Meter replacement: a new serial at a metering point closes the old register and starts the new.

Decided purely, like the rest of billing. When the configuration names a serial for a meter id
other than the one its baseline was read from, the next reading of that meter is the new meter's
first. Before that reading's entry, in the same journal transaction, the billing service journals
``meter_replaced`` and the old meter's closing charges:

- the old meter's **final register** is the installer's ``old_meter_final_reading``, or else the
  baseline (its last accepted reading, so nothing more is billed);
- the new meter's **first register** is the installer's ``new_meter_first_reading``, or else this
  reading's register (a value above this reading cannot be the new meter's start and is ignored);
- the installer's readings of a replacement recorded in the cloud name the serial they replaced,
  and are ignored unless the baseline is that meter's: after two swaps the gateway did not see
  apart, the second's readings are not the first meter's;
- the swap is dated halfway between the old meter's last accepted reading and this one: the agent
  only knows it happened between them, and each meter's consumption then gets half the time to
  be plausible in;
- the old meter's consumption up to its final register is rated from its baseline to the swap
  (charges citing the ``meter_replaced`` entry's seq), the baseline restarts at the new meter's
  first register, and the reading then bills the new meter's consumption from there as usual.

The cloud re-derives exactly this from the journal (``cloud/gateways/rederive.py``). Nothing is
computed across the swap, so the new meter's low register is never taken for one going backwards.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from edge_agent.billing.decide import MeterBilling, rate_consumption, register_alarm
from edge_agent.billing.state import MeterBillingState
from shared.journal import Body, MeterReplaced
from shared.metering import Consumption, replace_meter


def revealed_replacement(
    billing: MeterBilling, state: MeterBillingState, register_value: Decimal, read_at: datetime
) -> MeterReplaced | None:
    """The replacement this reading is the first reading after, or ``None``."""
    meter, old = billing.meter, state.register
    if meter.serial is None or state.serial in (None, meter.serial) or old is None or read_at <= old.read_at:
        return None
    assert state.serial is not None
    given = meter.replaced_serial in (None, state.serial)
    final = meter.old_meter_final_register if given else None
    if final is None:
        final = old.value
    first = meter.new_meter_first_register if given else None
    if first is None or first > register_value:
        first = register_value
    return MeterReplaced(
        meter_id=meter.id, old_serial=state.serial, new_serial=meter.serial, old_final_register=final,
        new_first_register=first, replaced_at=old.read_at + (read_at - old.read_at) / 2,
    )  # fmt: skip


def close_old_meter(
    billing: MeterBilling, state: MeterBillingState, replaced: MeterReplaced, replaced_seq: int
) -> tuple[MeterBillingState, list[Body]]:
    """Bill the old meter up to its final register and start the new meter's baseline."""
    assert state.register is not None
    swap = replace_meter(
        state.register, new_spec=billing.register_spec, new_value=replaced.new_first_register,
        replaced_at=replaced.replaced_at, final_value=replaced.old_final_register,
    )  # fmt: skip
    bodies: list[Body] = []
    assert swap.closing is not None  # a final value is always given
    if isinstance(swap.closing.outcome, Consumption):
        state, charges = rate_consumption(
            billing, state, swap.closing.outcome, replaced.replaced_at, replaced_seq
        )
        bodies.extend(charges)
    else:  # an installer's final reading below the last one read: not billed, and said so
        bodies.extend(register_alarm(billing, swap.closing.outcome))
    return msgspec.structs.replace(state, register=swap.state, serial=replaced.new_serial), bodies
