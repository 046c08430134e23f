"""The billing service: every reading journalled, rated, charged and judged, then acted on.

For each reading: register delta → rate with the shared tariff → charge entries → cached balance →
credit policy → relay command entry. All the entries one reading causes, and the state they change,
commit in one journal transaction; only after the commit does anything act on them (the relay
controller sends the command; the sync client uploads). :meth:`apply_cloud_balances` is the one
way money reaches the gateway: the sync client calls it with what the cloud reports, every pocket
of one answer in one transaction. :meth:`seal_operator_command` starts or ends an operator's hold
on a relay (``shared.credit.holds``), which every credit decision here honours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import msgspec
import sqlite_utils

from edge_agent.billing.balances import CloudTerms, PocketBalances, PocketKey
from edge_agent.billing.decide import BillingStep, MeterBilling, bill_reading, evaluate_credit
from edge_agent.billing.holds import OperatorHolds
from edge_agent.billing.meters import build_meter_billing
from edge_agent.billing.replacement import close_old_meter, revealed_replacement
from edge_agent.billing.state import MeterBillingState, decode_state, encode_state
from edge_agent.config.model import EdgeConfig, MeterConfig
from edge_agent.relay.controller import RelayController
from edge_agent.store.journal import Journal, Transaction
from edge_agent.store.statements import (
    CLEAR_OPEN_ALARM,
    INSERT_CHARGE_INDEX,
    UPSERT_METER_STATE,
    UPSERT_OPEN_ALARM,
    UPSERT_POCKET_BALANCE,
)
from firmware_profiles import ProfileRegistry
from shared.credit import (
    CreditInputs,
    RelayHold,
    hold_after_balance_change,
    hold_for_operator_close,
    state_after_operator_command,
)
from shared.journal import (
    Alarm,
    AlarmKind,
    Charge,
    CreditApplied,
    Entry,
    Pocket,
    Reading,
    ReadingSource,
    RelayAction,
    RelayCommand,
)
from shared.quantities import BILLING_REGISTER, Measurement
from shared.tariffs.calendar_days import public_holidays

log = logging.getLogger(__name__)

#: One pocket's balance as the cloud reports it: (wallet, pocket, cloud balance, posted through seq).
CloudBalance = tuple[str, Pocket, int, int]


class BillingService:
    """Owns every meter's billing state and every pocket's cached balance on the gateway."""

    def __init__(
        self,
        config: EdgeConfig,
        journal: Journal,
        *,
        reader: sqlite_utils.Database,
        registry: ProfileRegistry,
        relays: RelayController,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.journal = journal
        self.reader = reader
        self.relays = relays
        self.clock = clock
        self.meters: dict[str, MeterBilling] = {
            meter.id: build_meter_billing(meter, config, registry) for meter in config.meters
        }
        self.states: dict[str, MeterBillingState] = self._load_states()
        self.balances = PocketBalances(reader)
        self.holds = OperatorHolds(reader)
        #: The earliest moment a deferred decision (a friendly window's end) must be looked at again.
        self.recheck_at: datetime | None = None

    async def on_reading(
        self,
        meter_id: str,
        measurements: dict[Measurement, Decimal],
        read_at: datetime,
        source: ReadingSource,
    ) -> list[Entry]:
        """Journal a reading and everything it causes; act on the relay only after the commit."""
        billing = self.meters[meter_id]
        register = measurements.get(BILLING_REGISTER[billing.meter.utility])
        step: BillingStep | None = None
        with self.journal.transaction(self.clock()) as txn:
            if billing.meter.wallet_id is not None and register is not None:
                self._close_replaced_meter(txn, billing, register, read_at)
            reading = txn.append(
                Reading(meter_id=meter_id, read_at=read_at, source=source, measurements=measurements,
                        billing_register=register)
            )  # fmt: skip
            if billing.meter.wallet_id is not None and register is not None:
                balance = self.balance_of(billing.meter)
                step = bill_reading(
                    billing, self.states[meter_id], register_value=register, read_at=read_at,
                    reading_seq=reading.seq, balance_cents=balance,
                    relay=self.relays.confirmed(meter_id), pending_relay_action=self.relays.pending(meter_id),
                    holidays=self.holidays(read_at), hold=self.holds.get(meter_id),
                )  # fmt: skip
                self._record(txn, billing.meter, step)
                if balance is None and billing.controls_credit:
                    self.balances.note_awaiting(txn, (billing.meter.wallet_id, billing.meter.pocket))
        entries = await txn.committed()
        if step is not None:
            self._act(billing.meter, step)
        return entries

    async def apply_cloud_balance(
        self, wallet_id: str, pocket: Pocket, cloud_balance_cents: int, posted_through_seq: int
    ) -> int:
        """Take the cloud's balance of one pocket as of our seq N; return the cached one."""
        cached = await self.apply_cloud_balances(
            [(wallet_id, pocket, cloud_balance_cents, posted_through_seq)]
        )
        return cached[(wallet_id, pocket)]

    async def apply_cloud_balances(self, balances: Sequence[CloudBalance]) -> dict[PocketKey, int]:
        """Take the cloud's balances of pockets as of our seq N, all in one transaction; re-judge their
        meters; return each pocket's cached balance.

        One transaction for a whole sync answer: no reading is judged between two of its pockets.
        Each pocket journals ``credit applied`` with both terms and the result, so every cent the
        relay acted on is explained by the journal. A new balance ends the pocket's emergency
        reconnects (``shared.credit.hold_after_balance_change``).
        """
        cached: dict[PocketKey, int] = {}
        now = self.clock()
        with self.journal.transaction(now) as txn:
            for wallet_id, pocket, cloud_balance_cents, through in balances:
                key = (wallet_id, pocket)
                cached[key] = self.balances.set_cloud_terms(key, CloudTerms(cloud_balance_cents, through))
                txn.append(
                    CreditApplied(wallet_id=wallet_id, pocket=pocket, cloud_balance_cents=cloud_balance_cents,
                                  posted_through_seq=through, cached_balance_cents=cached[key])
                )  # fmt: skip
                txn.execute(UPSERT_POCKET_BALANCE, (wallet_id, pocket.value, cloud_balance_cents, through))
                self.balances.first_balance_arrived(txn, key)
            self._end_emergency_reconnects(txn, set(cached))
            steps = self._reevaluate(txn, now, lambda meter: (meter.wallet_id, meter.pocket) in cached)
        await txn.committed()
        for meter, step in steps:
            self._act(meter, step)
        return cached

    def seal_operator_command(self, txn: Transaction, meter: MeterConfig, command: RelayCommand) -> None:
        """An operator's relay command, just sealed into ``txn``: start or end its hold.

        ``open`` holds the relay open. ``close`` ends any hold, unless the pocket's credit is due
        for disconnection: then it is an emergency reconnect, held closed until the balance next
        changes. The policy state's supply follows the person either way.
        """
        self.relays.expect(meter.id, command)
        closed = command.action is RelayAction.CLOSE
        billing = self.meters.get(meter.id)
        hold: RelayHold | None = RelayHold.OPEN
        if closed:
            hold = None if billing is None else hold_for_operator_close(billing.policy, self._inputs(meter))
        if hold is None:
            self.holds.release(txn, meter.id, f"operator command {command.command_id} closed it")
        else:
            self.holds.hold(txn, meter.id, hold, command.command_id)
        if billing is not None and meter.wallet_id is not None:
            state = self.states[meter.id]
            state = msgspec.structs.replace(state, policy=state_after_operator_command(state.policy, closed))
            txn.execute(UPSERT_METER_STATE, (meter.id, encode_state(state), txn.journal.head.seq))
            self.states[meter.id] = state

    async def recheck(self) -> None:
        """Re-apply the credit policy to every billed meter (a friendly window ended, or on a timer)."""
        now = self.clock()
        self.recheck_at = None
        with self.journal.transaction(now) as txn:
            steps = self._reevaluate(txn, now, lambda meter: meter.wallet_id is not None)
        if txn.rows:
            await txn.committed()
        for meter, step in steps:
            self._act(meter, step)

    def balance_of(self, meter: MeterConfig) -> int | None:
        """The meter's pocket's cached balance; ``None`` until the cloud has reported it."""
        assert meter.wallet_id is not None
        return self.balances.balance((meter.wallet_id, meter.pocket))

    def holidays(self, at: datetime) -> frozenset[date]:
        """Public holidays around ``at``: enough for windows that wrap past midnight or a year end."""
        return holidays_around(self.config.holiday_country, at.year)

    def _reevaluate(
        self, txn: Transaction, now: datetime, which: Callable[[MeterConfig], bool]
    ) -> list[tuple[MeterConfig, BillingStep]]:
        steps = []
        for meter_id, billing in self.meters.items():
            meter = billing.meter
            if meter.wallet_id is None or not which(meter) or self.states[meter_id].register is None:
                continue
            step = evaluate_credit(
                billing, self.states[meter_id], at=now, balance_cents=self.balance_of(meter),
                relay=self.relays.confirmed(meter_id), pending_relay_action=self.relays.pending(meter_id),
                holidays=self.holidays(now), command_id=f"{meter_id}@{self.journal.head.seq + 1}",
                hold=self.holds.get(meter_id),
            )  # fmt: skip
            if step.bodies or step.state != self.states[meter_id]:
                self._record(txn, meter, step)
                steps.append((meter, step))
        return steps

    def _close_replaced_meter(
        self, txn: Transaction, billing: MeterBilling, register: Decimal, read_at: datetime
    ) -> None:
        """If this is a new meter's first reading, journal the replacement and the old meter's close."""
        meter = billing.meter
        replaced = revealed_replacement(billing, self.states[meter.id], register, read_at)
        if replaced is None:
            return
        entry = txn.append(replaced)
        state, bodies = close_old_meter(billing, self.states[meter.id], replaced, entry.seq)
        for kind in (AlarmKind.REVERSE_REGISTER, AlarmKind.IMPLAUSIBLE_READING):
            txn.execute(CLEAR_OPEN_ALARM, (meter.id, kind.value))  # the swap explains them
        self._record(txn, meter, BillingStep(bodies, [], state, None))
        log.info("meter %s: meter %s replaced by %s (old final register %s, new first register %s)",
                 meter.id, replaced.old_serial, replaced.new_serial, replaced.old_final_register,
                 replaced.new_first_register)  # fmt: skip

    def _end_emergency_reconnects(self, txn: Transaction, pockets: set[PocketKey]) -> None:
        for billing in self.meters.values():
            meter = billing.meter
            hold = self.holds.get(meter.id)
            if hold is None or (meter.wallet_id, meter.pocket) not in pockets:
                continue
            if hold_after_balance_change(hold) is None:
                self.holds.release(txn, meter.id, "the pocket's balance changed in the cloud")

    def _inputs(self, meter: MeterConfig) -> CreditInputs:
        """The facts credit control would judge the meter on now."""
        balance = None if meter.wallet_id is None else self.balance_of(meter)
        now = self.clock()
        return CreditInputs(
            balance_cents=balance, relay=self.relays.confirmed(meter.id), at=now,
            holidays=self.holidays(now), credit_limit_cents=meter.credit_limit_cents,
        )  # fmt: skip

    def _record(self, txn: Transaction, meter: MeterConfig, step: BillingStep) -> None:
        """Seal the step's entries and state writes into the open transaction."""
        assert meter.wallet_id is not None
        key: PocketKey = (meter.wallet_id, meter.pocket)
        for body in step.bodies:
            entry = txn.append(body)
            if isinstance(body, Charge):
                txn.execute(
                    INSERT_CHARGE_INDEX, (entry.seq, body.wallet_id, body.pocket.value, body.amount_cents)
                )
                self.balances.charged(key, body.amount_cents)
            elif isinstance(body, Alarm) and body.meter_id is not None:
                txn.execute(UPSERT_OPEN_ALARM, (body.meter_id, body.kind.value, body.detail, entry.seq))
            elif isinstance(body, RelayCommand):
                self.relays.expect(meter.id, body)
        txn.execute(UPSERT_METER_STATE, (meter.id, encode_state(step.state), txn.journal.head.seq))
        self.states[meter.id] = step.state
        if step.recheck_at is not None and (self.recheck_at is None or step.recheck_at < self.recheck_at):
            self.recheck_at = step.recheck_at

    def _act(self, meter: MeterConfig, step: BillingStep) -> None:
        """After the commit: hand a relay command to the controller."""
        if step.relay_command is not None:
            self.relays.carry_out(meter, step.relay_command)

    def _load_states(self) -> dict[str, MeterBillingState]:
        stored = {
            row[0]: row[1]
            for row in self.reader.execute("SELECT meter_id, state FROM meter_state").fetchall()
        }
        return {meter_id: decode_state(stored.get(meter_id)) for meter_id in self.meters}


@lru_cache(maxsize=8)
def holidays_around(country: str, year: int) -> frozenset[date]:
    """The year's public holidays and its neighbours'; built once per year, not once per reading."""
    return (
        public_holidays(country, year - 1)
        | public_holidays(country, year)
        | public_holidays(country, year + 1)
    )
