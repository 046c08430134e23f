"""Register deltas: a new reading against the baseline becomes consumption or an alarm.

Rules, in order (see ``docs/credit-control.md`` § Register deltas):

1. A reading older than the baseline is stale: alarm, baseline kept.
2. A value outside ``[0, maximum]`` is out of range: alarm, baseline kept.
3. Forwards (``current ≥ previous``): consumption ``current − previous``.
4. Backwards with a declared maximum: a rollover of ``maximum − previous + resolution + current``
   if that is under half the register's range; otherwise a reverse-register alarm.
   Backwards without a declared maximum: a reverse-register alarm.
5. Consumption above ``max_rate_per_h x elapsed hours + resolution`` is an alarm
   (implausible jump, or reverse register if it came from a backwards step).

A refused reading never moves the baseline, so a single garbled read costs nothing: the next good
reading bills everything since the last good one. Consumption is never negative.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from shared.metering.errors import MeteringError
from shared.metering.register import (
    RegisterAlarmKind,
    RegisterSpec,
    RegisterState,
    hours_between,
    range_problem,
    require_aware,
    start_register,
)


class Consumption(msgspec.Struct, frozen=True, kw_only=True):
    """Billable consumption in base units (≥ 0) since the previous baseline."""

    quantity: Decimal
    rolled_over: bool = False


class RegisterAlarm(msgspec.Struct, frozen=True, kw_only=True):
    """A reading that was not billed, and why; ``repeated`` if the same alarm is already open."""

    kind: RegisterAlarmKind
    reason: str
    repeated: bool = False


class RegisterStep(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one reading and the register state to store for the next one."""

    outcome: Consumption | RegisterAlarm
    state: RegisterState


class MeterReplacement(msgspec.Struct, frozen=True, kw_only=True):
    """The old register's closing step (if a final reading was taken) and the new baseline."""

    closing: RegisterStep | None
    state: RegisterState


def advance_register(state: RegisterState, value: Decimal, read_at: datetime) -> RegisterStep:
    """Compare a new reading with the baseline and return consumption or an alarm.

    On consumption the baseline moves to this reading; on an alarm it stays where it was.
    """
    require_aware(read_at, "read_at")
    if read_at < state.read_at:
        return _refuse(
            state,
            RegisterAlarmKind.STALE_READING,
            f"reading taken at {read_at.isoformat()} is older than the baseline at "
            f"{state.read_at.isoformat()}; ignored",
        )
    problem = range_problem(state.spec, value)
    if problem:
        return _refuse(state, RegisterAlarmKind.OUT_OF_RANGE, f"register {problem}; not billed")
    if value >= state.value:
        return _forwards(state, value, read_at)
    return _backwards(state, value, read_at)


def replace_meter(
    state: RegisterState,
    *,
    new_spec: RegisterSpec,
    new_value: Decimal,
    replaced_at: datetime,
    final_value: Decimal | None = None,
) -> MeterReplacement:
    """Close the old register and start the new meter's baseline; nothing is billed across the swap.

    ``final_value`` is the old meter's last reading taken at the swap; when given it is billed
    against the old baseline by the usual rules (``closing``). The new baseline is ``new_value``.
    """
    require_aware(replaced_at, "replaced_at")
    if replaced_at < state.read_at:
        raise MeteringError(
            f"replaced_at {replaced_at.isoformat()} is before the old register's last accepted "
            f"reading at {state.read_at.isoformat()}; record the replacement at the time it happened"
        )
    closing = None if final_value is None else advance_register(state, final_value, replaced_at)
    return MeterReplacement(closing=closing, state=start_register(new_spec, new_value, replaced_at))


def _forwards(state: RegisterState, value: Decimal, read_at: datetime) -> RegisterStep:
    quantity = value - state.value
    limit = _plausible_limit(state, read_at)
    if limit is not None and quantity > limit:
        return _refuse(
            state,
            RegisterAlarmKind.IMPLAUSIBLE_JUMP,
            f"register rose by {quantity} in {_elapsed_text(state, read_at)} "
            f"(more than the plausible {limit}); not billed",
        )
    return _accept(state, value, read_at, Consumption(quantity=quantity))


def _backwards(state: RegisterState, value: Decimal, read_at: datetime) -> RegisterStep:
    modulus = state.spec.modulus
    went_back = f"register went backwards from {state.value} to {value}"
    if modulus is None:
        return _refuse(
            state,
            RegisterAlarmKind.REVERSE_REGISTER,
            f"{went_back} and declares no maximum to roll over at; not billed",
        )
    quantity = modulus - state.value + value
    if quantity * 2 >= modulus:
        return _refuse(
            state,
            RegisterAlarmKind.REVERSE_REGISTER,
            f"{went_back}; a rollover would mean {quantity}, half or more of the register's range",
        )
    limit = _plausible_limit(state, read_at)
    if limit is not None and quantity > limit:
        return _refuse(
            state,
            RegisterAlarmKind.REVERSE_REGISTER,
            f"{went_back}; a rollover would mean {quantity} in {_elapsed_text(state, read_at)} "
            f"(more than the plausible {limit}); not billed",
        )
    return _accept(state, value, read_at, Consumption(quantity=quantity, rolled_over=True))


def _plausible_limit(state: RegisterState, read_at: datetime) -> Decimal | None:
    # One resolution step of slack: a register that ticks just after the previous read shows a
    # whole step even though only a sliver of it was consumed in the interval.
    rate = state.spec.max_rate_per_h
    if rate is None:
        return None
    return rate * hours_between(state.read_at, read_at) + state.spec.resolution


def _elapsed_text(state: RegisterState, read_at: datetime) -> str:
    return f"{(read_at - state.read_at).total_seconds():g} s"


def _accept(state: RegisterState, value: Decimal, read_at: datetime, outcome: Consumption) -> RegisterStep:
    moved = msgspec.structs.replace(state, value=value, read_at=read_at, open_alarm=None)
    return RegisterStep(outcome=outcome, state=moved)


def _refuse(state: RegisterState, kind: RegisterAlarmKind, reason: str) -> RegisterStep:
    alarm = RegisterAlarm(kind=kind, reason=reason, repeated=state.open_alarm is kind)
    return RegisterStep(outcome=alarm, state=msgspec.structs.replace(state, open_alarm=kind))
