"""One reading's consequences, decided purely: register delta → rating → charges → balance → policy.

:func:`bill_reading` does no I/O: the billing service calls it inside a journal transaction, right
after sealing the reading entry (so charges can cite the reading's seq), and commits what it returns
before anything acts on it. The same inputs always give the same entries, which is what lets the
cloud re-rate every reading and compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import msgspec

from edge_agent.billing.state import MeterBillingState
from edge_agent.config.model import MeterConfig
from shared.credit import Action, CreditInputs, CreditPolicy, RelayHold, RelayState, decide
from shared.journal import (
    Alarm,
    AlarmKind,
    Body,
    Charge,
    RelayAction,
    RelayCommand,
    RelayReason,
)
from shared.metering import Consumption, RegisterAlarm, RegisterSpec, advance_register, start_register
from shared.metering.register import RegisterAlarmKind
from shared.money import charge_with_carry
from shared.tariffs import CompiledTariff, MonthToDate, rate_interval

REGISTER_ALARMS = {
    RegisterAlarmKind.REVERSE_REGISTER: AlarmKind.REVERSE_REGISTER,
    RegisterAlarmKind.IMPLAUSIBLE_JUMP: AlarmKind.IMPLAUSIBLE_READING,
    RegisterAlarmKind.OUT_OF_RANGE: AlarmKind.IMPLAUSIBLE_READING,
    RegisterAlarmKind.STALE_READING: AlarmKind.STALE_READING,
}


@dataclass(frozen=True, slots=True)
class MeterBilling:
    """What does not change between one meter's readings: its config, register, tariff and policy."""

    meter: MeterConfig
    register_spec: RegisterSpec
    tariff: CompiledTariff
    policy: CreditPolicy
    has_relay: bool

    @property
    def controls_credit(self) -> bool:
        """Whether the credit policy applies: switchable supplies need a relay; water is flag-only."""
        return self.has_relay or not self.policy.disconnectable


@dataclass(frozen=True, slots=True)
class BillingStep:
    """The entries to journal after the reading, the new state, and the balance after the charges
    (``None`` while the pocket's balance has never arrived from the cloud)."""

    bodies: list[Body]
    charge_cents: list[int]
    state: MeterBillingState
    balance_cents: int | None
    relay_command: RelayCommand | None = None
    recheck_at: datetime | None = None


def bill_reading(
    billing: MeterBilling,
    state: MeterBillingState,
    *,
    register_value: Decimal,
    read_at: datetime,
    reading_seq: int,
    balance_cents: int | None,
    relay: RelayState,
    pending_relay_action: RelayAction | None,
    holidays: frozenset[date],
    hold: RelayHold | None = None,
) -> BillingStep:
    """Charge the consumption since the last reading and apply the credit policy.

    A pocket whose balance is unknown (``None``) is still charged: its charges count against the
    cloud's first balance when it comes, as the cached-balance formula says.
    """
    bodies: list[Body] = []
    charge_cents: list[int] = []
    if state.serial is None and billing.meter.serial is not None:
        state = msgspec.structs.replace(state, serial=billing.meter.serial)  # the meter is named at last
    if state.register is None:
        state = msgspec.structs.replace(
            state, register=start_register(billing.register_spec, register_value, read_at)
        )
    else:
        step = advance_register(state.register, register_value, read_at)
        if isinstance(step.outcome, Consumption):
            state, charges = rate_consumption(billing, state, step.outcome, read_at, reading_seq)
            bodies.extend(charges)
            charge_cents = [charge.amount_cents for charge in charges]
            state = msgspec.structs.replace(state, register=step.state)
        else:
            bodies.extend(register_alarm(billing, step.outcome))
            state = msgspec.structs.replace(state, register=step.state)
    balance = None if balance_cents is None else balance_cents - sum(charge_cents)
    return _apply_policy(
        billing, state, bodies=bodies, charge_cents=charge_cents, balance=balance, at=read_at, relay=relay,
        pending=pending_relay_action, holidays=holidays, command_id=f"{billing.meter.id}@{reading_seq}",
        hold=hold,
    )  # fmt: skip


def evaluate_credit(
    billing: MeterBilling,
    state: MeterBillingState,
    *,
    at: datetime,
    balance_cents: int | None,
    relay: RelayState,
    pending_relay_action: RelayAction | None,
    holidays: frozenset[date],
    command_id: str,
    hold: RelayHold | None = None,
) -> BillingStep:
    """Re-apply the credit policy without a reading: after a top-up, or when a friendly window ends."""
    return _apply_policy(
        billing, state, bodies=[], charge_cents=[], balance=balance_cents, at=at, relay=relay,
        pending=pending_relay_action, holidays=holidays, command_id=command_id, hold=hold,
    )  # fmt: skip


def rate_consumption(
    billing: MeterBilling,
    state: MeterBillingState,
    consumption: Consumption,
    read_at: datetime,
    reading_seq: int,
) -> tuple[MeterBillingState, list[Charge]]:
    """Rate the interval from the baseline to ``read_at``; one charge entry per piece, each with its carry."""
    assert state.register is not None
    meter = billing.meter
    assert meter.wallet_id is not None, "only meters with a wallet are billed"
    result = rate_interval(
        billing.tariff, state.register.read_at, read_at, consumption.quantity, state.month_to_date
    )
    month_to_date, carry = state.month_to_date, state.carry
    charges: list[Charge] = []
    for piece in result.charges:
        before = _month_to_date_at(month_to_date, piece.start, billing.tariff)
        carried = charge_with_carry(piece.amount, carry)
        charges.append(
            Charge(
                meter_id=meter.id, wallet_id=meter.wallet_id, utility=meter.utility, pocket=meter.pocket,
                reading_seq=reading_seq, interval_start=piece.start, interval_end=piece.end,
                quantity=piece.quantity, band=piece.band, tariff_version=piece.tariff_version,
                amount_cents=carried.cents, month=_month_text(before.month_start),
                month_to_date_quantity_before=before.consumed, carry_before=carry,
            )
        )  # fmt: skip
        month_to_date = MonthToDate(before.month_start, before.consumed + piece.quantity)
        carry = carried.carry
    return msgspec.structs.replace(state, month_to_date=result.state, carry=carry), charges


def _month_text(month_start: datetime) -> str:
    """``YYYY-MM``, as ``strftime("%Y-%m")`` spells it, at a tenth of its cost (twice per reading)."""
    return f"{month_start.year:04d}-{month_start.month:02d}"


def _month_to_date_at(state: MonthToDate | None, at: datetime, tariff: CompiledTariff) -> MonthToDate:
    """The month-to-date state in force at ``at``: zero when ``at`` falls in a later month."""
    month_start = tariff.plan_at(tariff.instant_us(at)).month_start
    if state is None or state.month_start != month_start:
        return MonthToDate(month_start, Decimal(0))
    return state


def _command_reason(action: RelayAction, hold: RelayHold | None) -> RelayReason:
    if hold is not None:
        return RelayReason.OPERATOR  # the operator's command, repeated because the meter disagrees
    return RelayReason.CREDIT_EXHAUSTED if action is RelayAction.OPEN else RelayReason.CREDIT_RESTORED


def register_alarm(billing: MeterBilling, alarm: RegisterAlarm) -> list[Body]:
    """The alarm entry for a refused reading: only its first occurrence is journalled."""
    if alarm.repeated:
        return []  # the first occurrence is journalled; one per poll would drown the journal
    return [Alarm(meter_id=billing.meter.id, kind=REGISTER_ALARMS[alarm.kind], detail=alarm.reason)]


def _apply_policy(
    billing: MeterBilling,
    state: MeterBillingState,
    *,
    bodies: list[Body],
    charge_cents: list[int],
    balance: int | None,
    at: datetime,
    relay: RelayState,
    pending: RelayAction | None,
    holidays: frozenset[date],
    command_id: str,
    hold: RelayHold | None,
) -> BillingStep:
    if not billing.controls_credit:
        return BillingStep(bodies, charge_cents, state, balance)
    inputs = CreditInputs(
        balance_cents=balance, relay=relay, at=at, holidays=holidays,
        credit_limit_cents=billing.meter.credit_limit_cents, hold=hold,
    )  # fmt: skip
    step = decide(billing.policy, inputs, state.policy)
    state = msgspec.structs.replace(state, policy=step.state)
    decision = step.decision
    command = None
    meter_id = billing.meter.id
    if decision.action in (Action.DISCONNECT, Action.RECONNECT):
        action = RelayAction.OPEN if decision.action is Action.DISCONNECT else RelayAction.CLOSE
        if action is not pending:  # the relay controller is already carrying out this command
            reason = _command_reason(action, hold)
            command = RelayCommand(meter_id=meter_id, command_id=command_id, action=action, reason=reason)
            bodies.append(command)
    elif decision.action is Action.WARN_LOW_CREDIT:
        bodies.append(Alarm(meter_id=meter_id, kind=AlarmKind.LOW_CREDIT, detail=decision.reason))
    elif decision.action is Action.FLAG_DEBT_CAP:
        bodies.append(Alarm(meter_id=meter_id, kind=AlarmKind.WATER_DEBT_CAP_REACHED, detail=decision.reason))
    return BillingStep(bodies, charge_cents, state, balance, command, decision.recheck_at)
