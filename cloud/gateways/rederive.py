"""Re-deriving charges from the readings: the cloud's own register, month-to-date and carry per meter.

Pure: no I/O. :func:`walk` goes once over the entries of an accepted batch in journal order with
the shared register and rating code, exactly as the gateway's billing does (``edge_agent.billing.
decide``): a meter's first reading sets its baseline; each later reading advances it
(``advance_register``: rollover, a reverse step or an implausible jump bills nothing); the
consumption is rated from the baseline's time to the reading's, piece by piece, each piece carrying
the month-to-date and the sub-cent carry left by the one before; ``meter_replaced`` closes the old
register (its consumption up to its final register is billed, citing the replacement) and starts
the new one's baseline (``edge_agent/billing/replacement.py``).

The gateway journals a reading and its charges in one transaction, so a reading's charges are the
charges right after it, citing its seq. Each is compared, field by field, with the charge the cloud
derives in its place as it arrives; whatever entry comes next settles the reading (charges due and
not journalled). Every difference is a discrepancy: a reading with no charge for its consumption, a
charge for none, a forged quantity, a month-to-date or carry that does not follow from the meter's
previous charge, a charge citing no reading just before it. A batch may end inside a reading's
charges: the open reading is kept in the meter's state for the next batch.

What the cloud cannot know it takes from the gateway rather than guess: the first reading it holds
for a meter (or the first after a discrepancy) starts its baseline and, when charged, the
month-to-date and carry are taken from the first charge that follows; those charges are still
re-rated from their own fields (:mod:`cloud.gateways.assurance`). Readings of a meter without a
wallet in the cloud's configuration are not billed, as on the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import msgspec

from shared.journal import Charge, MeterReplaced, Reading
from shared.journal.bodies import Body
from shared.metering import (
    Consumption,
    MeteringError,
    RegisterSpec,
    RegisterState,
    advance_register,
    start_register,
)
from shared.money import ZERO, charge_with_carry
from shared.tariffs import CompiledTariff, MonthToDate, TariffError, rate_interval


@dataclass(frozen=True, slots=True)
class MeterTerms:
    """What billing a meter depends on, from the cloud's config: its register spec and tariff."""

    spec: RegisterSpec
    tariff: CompiledTariff | None


class ExpectedCharge(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of one charge the readings call for, named as in :class:`Charge`."""

    interval_start: datetime
    interval_end: datetime
    quantity: Decimal
    band: str
    tariff_version: str
    month: str
    month_to_date_quantity_before: Decimal
    carry_before: Decimal
    amount_cents: int


_FIELDS = ExpectedCharge.__struct_fields__


class Derived(msgspec.Struct, frozen=True, kw_only=True):
    """The charges the cloud derives for an open reading, and the month-to-date and carry after them."""

    charges: tuple[ExpectedCharge, ...]
    month_to_date: MonthToDate
    carry: Decimal


class OpenReading(msgspec.Struct, kw_only=True):
    """A reading (or a meter replacement) whose charges may still follow.

    ``quantity`` is the consumption the cloud derives for it (``None``: nothing to bill, and
    ``why_none`` says why); ``checked`` is false when the cloud cannot derive it (no baseline yet,
    no tariff). ``derived`` is filled when the first charge arrives (or at settlement); ``seen`` counts
    the charges compared so far and ``differs`` records whether any of them differed.
    """

    seq: int
    start: datetime | None = None
    end: datetime | None = None
    quantity: Decimal | None = None
    why_none: str = ""
    checked: bool = True
    derived: Derived | str | None = None
    seen: int = 0
    differs: bool = False


class MeterAssurance(msgspec.Struct, kw_only=True):
    """The cloud's billing state of one meter: baseline, month-to-date, carry, and its open reading.

    Mutable, as is its open reading: a batch updates each meter's state in place many times over,
    and it is saved once at the end.

    ``chain_known`` is false until the cloud has derived a charge chain of its own; until then the
    month-to-date and carry are taken from the next charge.
    """

    register: RegisterState | None = None
    month_to_date: MonthToDate | None = None
    carry: Decimal = ZERO
    chain_known: bool = False
    open: OpenReading | None = None


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One entry the cloud bills differently; ``rerated_cents`` is None when it has no figure."""

    seq: int
    meter_id: str
    tariff_version: str
    charged_cents: int
    rerated_cents: int | None
    detail: str


@dataclass(slots=True)
class Walk:
    """The outcome of a batch: discrepancies; the charges the readings confirmed, and those they
    could not (to be re-rated from their own fields); the meters whose state changed."""

    states: dict[str, MeterAssurance]
    discrepancies: list[Discrepancy] = field(default_factory=list)
    confirmed: set[int] = field(default_factory=set)
    unconfirmed: list[tuple[int, Charge]] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)


def walk(
    entries: Iterable[tuple[int, Body]],
    states: dict[str, MeterAssurance],
    terms: Mapping[str, MeterTerms],
) -> Walk:
    """Go once over a batch's entries in seq order, updating ``states`` (meter id → state)."""
    out = Walk(states)
    open_meter = next((meter for meter, state in states.items() if state.open is not None), None)
    for seq, body in entries:
        if isinstance(body, Charge):
            if open_meter == body.meter_id and _cites_open(states[open_meter], body):
                _charged(out, open_meter, seq, body, terms)
                continue
            if open_meter is not None:
                _settle(out, open_meter, terms)
                open_meter = None
            out.discrepancies.append(_stray(seq, body))
            out.unconfirmed.append((seq, body))
            continue
        if open_meter is not None:
            _settle(out, open_meter, terms)
            open_meter = None
        if isinstance(body, Reading | MeterReplaced):
            meter_terms = terms.get(body.meter_id)
            if meter_terms is None:
                # Not billed as the cloud's config stands; a gateway still on an older config may
                # have billed it: its charges are re-rated from their own fields only.
                _state(out, body.meter_id).open = OpenReading(seq=seq, checked=False)
                open_meter = body.meter_id
            elif isinstance(body, MeterReplaced):
                _replace(out, seq, body, meter_terms)
                open_meter = body.meter_id
            elif body.billing_register is not None:
                _read(out, seq, body, meter_terms)
                open_meter = body.meter_id
    return out


def _cites_open(state: MeterAssurance, charge: Charge) -> bool:
    return state.open is not None and charge.reading_seq == state.open.seq


def _state(out: Walk, meter_id: str) -> MeterAssurance:
    """The meter's state, to be updated in place (and saved at the end of the batch)."""
    state = out.states.get(meter_id)
    if state is None:
        state = out.states[meter_id] = MeterAssurance()
    out.changed.add(meter_id)
    return state


def _read(out: Walk, seq: int, reading: Reading, terms: MeterTerms) -> None:
    """Advance the meter's baseline to this reading and open it for its charges."""
    state = _state(out, reading.meter_id)
    value = reading.billing_register
    assert value is not None
    if state.register is None:
        try:
            state.register = start_register(terms.spec, value, reading.read_at)
        except MeteringError:
            state.register = None
        state.open = OpenReading(seq=seq, checked=False)
        return
    step = advance_register(state.register, value, reading.read_at)
    if isinstance(step.outcome, Consumption):
        state.open = OpenReading(
            seq=seq,
            start=state.register.read_at,
            end=reading.read_at,
            quantity=step.outcome.quantity,
            checked=terms.tariff is not None,
        )
    else:
        state.open = OpenReading(seq=seq, why_none=step.outcome.reason)
    state.register = step.state


def _replace(out: Walk, seq: int, replaced: MeterReplaced, terms: MeterTerms) -> None:
    """Bill the old register up to its final reading (the charges cite the replacement's seq) and
    start the new meter's baseline, keeping the metering point's month-to-date and carry."""
    state = _state(out, replaced.meter_id)
    opened = OpenReading(seq=seq, checked=False)
    if state.register is not None:
        closing = advance_register(state.register, replaced.old_final_register, replaced.replaced_at)
        if isinstance(closing.outcome, Consumption):
            opened = OpenReading(
                seq=seq,
                start=state.register.read_at,
                end=replaced.replaced_at,
                quantity=closing.outcome.quantity,
                checked=terms.tariff is not None,
            )
        else:
            opened = OpenReading(seq=seq, why_none=closing.outcome.reason)
    try:
        state.register = start_register(terms.spec, replaced.new_first_register, replaced.replaced_at)
    except MeteringError:
        state.register = None
    state.open = opened


def _charged(out: Walk, meter_id: str, seq: int, charge: Charge, terms: Mapping[str, MeterTerms]) -> None:
    """Compare a charge of the open reading with the charge the cloud derives in its place."""
    state = _state(out, meter_id)
    opened = state.open
    assert opened is not None
    tariff = terms[meter_id].tariff if meter_id in terms else None
    problem: str | None = None
    rerated: int | None = None
    if not opened.checked or tariff is None:
        out.unconfirmed.append((seq, charge))
    elif opened.quantity is None:
        problem = f"reading {opened.seq} bills nothing ({opened.why_none}) but was charged"
    else:
        if opened.derived is None:
            if not state.chain_known and opened.seen == 0:
                _adopt(state, charge, tariff)
            opened.derived = _derive(tariff, state, opened)
        if isinstance(opened.derived, str):
            problem = opened.derived
        else:
            assert opened.derived is not None
            want = opened.derived.charges[opened.seen] if opened.seen < len(opened.derived.charges) else None
            rerated = None if want is None else want.amount_cents
            problem = _difference(charge, want)
            if problem is None:
                out.confirmed.add(seq)
            else:
                problem = f"reading {opened.seq}: {problem}"
    if problem is not None:
        out.discrepancies.append(_found(seq, charge, rerated, problem))
        out.unconfirmed.append((seq, charge))
    opened.seen += 1
    opened.differs = opened.differs or problem is not None


def _settle(out: Walk, meter_id: str, terms: Mapping[str, MeterTerms]) -> None:
    """Close the open reading: flag charges due and not journalled, and move the meter's chain on."""
    state = _state(out, meter_id)
    opened = state.open
    assert opened is not None
    state.open = None
    tariff = terms[meter_id].tariff if meter_id in terms else None
    if not opened.checked or tariff is None or opened.quantity is None:
        # Nothing derived to move on with: the next charge starts the chain again.
        state.chain_known = state.chain_known and opened.seen == 0
        return
    derived = opened.derived if opened.derived is not None else _derive(tariff, state, opened)
    if isinstance(derived, str):
        state.chain_known = False
        return
    missing = derived.charges[opened.seen :]
    if missing:
        out.discrepancies.append(_missing(meter_id, opened, missing))
    if opened.differs or missing:
        # Each difference is reported where it first appears; the next charge starts a new chain.
        state.chain_known = False
    elif opened.seen:
        state.month_to_date, state.carry = derived.month_to_date, derived.carry


def _missing(meter_id: str, opened: OpenReading, missing: tuple[ExpectedCharge, ...]) -> Discrepancy:
    cents = sum(piece.amount_cents for piece in missing)
    assert opened.start is not None
    detail = (
        f"reading {opened.seq}: the register moved {opened.quantity} since {opened.start.isoformat()}; "
        f"{len(missing)} charge(s) of {cents} cents in all are due for it and were not journalled"
    )
    return Discrepancy(opened.seq, meter_id, missing[0].tariff_version, 0, cents, detail)


def _adopt(state: MeterAssurance, first: Charge, tariff: CompiledTariff) -> None:
    """Start the cloud's chain from the month-to-date and carry the gateway's charge says it had."""
    try:
        month_start = _month_start(tariff, first.interval_start)
    except TariffError:
        return
    state.month_to_date = MonthToDate(month_start, first.month_to_date_quantity_before)
    state.carry, state.chain_known = first.carry_before, True


def _derive(tariff: CompiledTariff, state: MeterAssurance, opened: OpenReading) -> Derived | str:
    assert opened.start is not None and opened.end is not None and opened.quantity is not None
    try:
        return expected_charges(
            tariff,
            opened.start,
            opened.end,
            opened.quantity,
            month_to_date=state.month_to_date,
            carry=state.carry,
        )
    except TariffError as error:
        return f"reading {opened.seq} cannot be rated: {error}"


def expected_charges(
    tariff: CompiledTariff,
    start: datetime,
    end: datetime,
    quantity: Decimal,
    *,
    month_to_date: MonthToDate | None,
    carry: Decimal,
) -> Derived:
    """The charges the gateway journals for one interval, as its billing computes them, with the
    month-to-date and carry they leave."""
    result = rate_interval(tariff, start, end, quantity, month_to_date)
    running, pieces = month_to_date, []
    for piece in result.charges:
        month_start = _month_start(tariff, piece.start)
        consumed = running.consumed if running is not None and running.month_start == month_start else ZERO
        carried = charge_with_carry(piece.amount, carry)
        pieces.append(
            ExpectedCharge(
                interval_start=piece.start, interval_end=piece.end, quantity=piece.quantity, band=piece.band,
                tariff_version=piece.tariff_version, month=f"{month_start.year:04d}-{month_start.month:02d}",
                month_to_date_quantity_before=consumed, carry_before=carry, amount_cents=carried.cents,
            )
        )  # fmt: skip
        running = MonthToDate(month_start, consumed + piece.quantity)
        carry = carried.carry
    return Derived(charges=tuple(pieces), month_to_date=result.state, carry=carry)


def _difference(charge: Charge, expected: ExpectedCharge | None) -> str | None:
    if expected is None:
        return "the readings give no further charge for it"
    if _fields_of(charge) == msgspec.structs.astuple(expected):
        return None
    wrong = [
        f"{name} {getattr(charge, name)} where the readings give {getattr(expected, name)}"
        for name in _FIELDS
        if getattr(charge, name) != getattr(expected, name)
    ]
    return "; ".join(wrong) or None


def _fields_of(c: Charge) -> tuple[object, ...]:
    """A charge's fields in :class:`ExpectedCharge`'s order, to compare in one step."""
    return (c.interval_start, c.interval_end, c.quantity, c.band, c.tariff_version, c.month,
            c.month_to_date_quantity_before, c.carry_before, c.amount_cents)  # fmt: skip


def _stray(seq: int, charge: Charge) -> Discrepancy:
    cites = "no reading" if charge.reading_seq is None else f"reading {charge.reading_seq}"
    detail = f"charge cites {cites}, which is not a reading of meter {charge.meter_id} just before it"
    return _found(seq, charge, None, detail)


def _found(seq: int, charge: Charge, rerated: int | None, detail: str) -> Discrepancy:
    return Discrepancy(seq, charge.meter_id, charge.tariff_version, charge.amount_cents, rerated, detail)


def _month_start(tariff: CompiledTariff, at: datetime) -> datetime:
    return tariff.plan_at(tariff.instant_us(at)).month_start
