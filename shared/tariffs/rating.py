"""Rating: (compiled tariff, interval, quantity, month-to-date state) → charges and the new state.

A pure function of its inputs, so the gateway and the cloud (re-rating to check the gateway) get
identical charges. Consumption inside an interval is apportioned linearly in time; the interval is
split exactly at band, day, month and tariff-version boundaries (every charge lies within one local
day) and, by quantity, at solar-allocation and block limits. Standing charges accrue in proportion
to time: a daily charge by the fraction of the day, a monthly charge evenly over the days of its
month.

Exactness: the quantity up to each split instant is ``quantity × elapsed / duration`` (to a
nano-unit), and a standing charge's accrual is a function of the instant alone (see
:meth:`CompiledTariff.accrued`), so charges telescope: rating [a, c) gives the same exact total as
[a, b) then [b, c) whenever the quantity splits exactly at b. Every operation that can round uses
:data:`RATING_CONTEXT`, never the caller's decimal context.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from decimal import Decimal
from functools import reduce

import msgspec

from shared.money import ZERO, charge_with_carry
from shared.tariffs.compiled import RATING_CONTEXT, CompiledTariff, DayPlan, PriceLadder
from shared.tariffs.errors import RatingError

#: Apportioned quantities are kept to a nano-Wh (or nano-litre): fixed point, so the pieces of an
#: interval, its block splits and the month-to-date total add up exactly.
_QUANTITY_QUANTUM = Decimal("1E-9")
_add = RATING_CONTEXT.add
_subtract = RATING_CONTEXT.subtract
_multiply = RATING_CONTEXT.multiply
_divide = RATING_CONTEXT.divide


class Charge(msgspec.Struct, frozen=True):
    """One piece of a rated interval, within one local day, band, block and tariff version.

    ``quantity`` is in base units (Wh, L), zero for standing charges; ``amount`` is the exact
    amount in currency units, before any rounding to cents; ``band`` is e.g. ``flat``, ``peak``,
    ``high/peak/block:2``, ``block:1``, ``solar:free`` or ``fixed:<name>``.
    """

    start: datetime
    end: datetime
    quantity: Decimal
    band: str
    amount: Decimal
    tariff_version: str


class MonthToDate(msgspec.Struct, frozen=True):
    """What one meter has consumed this month, in base units, since ``month_start``.

    ``month_start`` is local midnight of the 1st in the estate's time zone.
    """

    month_start: datetime
    consumed: Decimal


class RatingResult(msgspec.Struct, frozen=True):
    """The charges of one interval and the meter's month-to-date state after it."""

    charges: tuple[Charge, ...]
    state: MonthToDate

    @property
    def total(self) -> Decimal:
        """The exact total of the charges, in currency units."""
        return reduce(_add, (charge.amount for charge in self.charges), ZERO)


def rate_interval(
    tariff: CompiledTariff,
    start: datetime,
    end: datetime,
    quantity: Decimal,
    state: MonthToDate | None = None,
) -> RatingResult:
    """Rate ``quantity`` (base units) consumed between ``start`` and ``end``.

    ``state`` is the meter's month-to-date state after its previous interval (``None`` for a meter
    with nothing rated yet); it resets by itself on the 1st. Raises :class:`RatingError` for an
    interval that does not move forward, a negative quantity, naive datetimes, a state from a later
    month than the interval, or a time before the tariff's first version.
    """
    try:
        start_us = tariff.instant_us(start)
        end_us = tariff.instant_us(end)
    except TypeError:
        raise RatingError("start and end must be timezone-aware datetimes (with a UTC offset)") from None
    if end_us <= start_us:
        raise RatingError(f"the interval must end after it starts: {start.isoformat()} → {end.isoformat()}")
    if quantity < 0:
        raise RatingError(
            f"negative consumption {quantity} between {start.isoformat()} and {end.isoformat()}: a register "
            "that goes backwards is an alarm, not a credit"
        )
    plan = tariff.plan_at(start_us)
    if end_us <= plan.end_us and (state is None or state.month_start == plan.month_start):
        # Fast path: the whole interval lies in one local day and one band; most do.
        segment = bisect_right(plan.segment_ends, start_us)
        if plan.segment_ends[segment] >= end_us:
            out: list[Charge] = []
            consumed = ZERO if state is None else state.consumed
            consumed = _price(
                tariff,
                plan,
                plan.segment_ladders[segment],
                (start_us, end_us),
                (start, end),
                quantity=quantity,
                consumed=consumed,
                out=out,
            )
            if plan.fixed:
                _accrue_fixed(tariff, plan, (start_us, end_us), (start, end), out)
            return RatingResult(tuple(out), MonthToDate(plan.month_start, consumed))
    return _rate_pieces(tariff, (start_us, end_us), (start, end), quantity, state)


def _rate_pieces(
    tariff: CompiledTariff,
    span_us: tuple[int, int],
    span: tuple[datetime, datetime],
    quantity: Decimal,
    state: MonthToDate | None,
) -> RatingResult:
    """The general case: walk day by day and band by band, apportioning the quantity by time."""
    start_us, end_us = span_us
    duration_us = end_us - start_us
    out: list[Charge] = []
    month_start, consumed = (None, ZERO) if state is None else (state.month_start, state.consumed)
    cursor, cursor_dt = start_us, span[0]
    apportioned = ZERO
    while cursor < end_us:
        plan = tariff.plan_at(cursor)
        if month_start is None or month_start < plan.month_start:
            month_start, consumed = plan.month_start, ZERO
        elif month_start > plan.month_start:
            raise RatingError(
                f"month-to-date state is for the month from {month_start.isoformat()}, later than the "
                f"interval starting {cursor_dt.isoformat()}: intervals must be rated in order"
            )
        day_end = min(end_us, plan.end_us)
        segment = bisect_right(plan.segment_ends, cursor)
        x, x_dt = cursor, cursor_dt
        while x < day_end:
            y = min(plan.segment_ends[segment], day_end)
            y_dt = span[1] if y == end_us else tariff.moment(y)
            quantity_to_y = quantity if y == end_us else _apportion(quantity, y - start_us, duration_us)
            piece, apportioned = _subtract(quantity_to_y, apportioned), quantity_to_y
            consumed = _price(
                tariff,
                plan,
                plan.segment_ladders[segment],
                (x, y),
                (x_dt, y_dt),
                quantity=piece,
                consumed=consumed,
                out=out,
            )
            x, x_dt = y, y_dt
            segment += 1
        if plan.fixed:
            _accrue_fixed(tariff, plan, (cursor, day_end), (cursor_dt, x_dt), out)
        cursor, cursor_dt = day_end, x_dt
    assert month_start is not None
    return RatingResult(tuple(out), MonthToDate(month_start, consumed))


def _apportion(quantity: Decimal, elapsed_us: int, duration_us: int) -> Decimal:
    share = _divide(_multiply(quantity, elapsed_us), duration_us)
    return share.quantize(_QUANTITY_QUANTUM, context=RATING_CONTEXT)


def _price(
    tariff: CompiledTariff,
    plan: DayPlan,
    ladder: PriceLadder,
    span_us: tuple[int, int],
    span: tuple[datetime, datetime],
    *,
    quantity: Decimal,
    consumed: Decimal,
    out: list[Charge],
) -> Decimal:
    """Charge ``quantity`` within one band segment, splitting at month-to-date limits.

    Returns the month-to-date quantity after the piece.
    """
    if not quantity:
        return consumed
    uppers = ladder.uppers
    step = 0
    while (upper := uppers[step]) is not None and consumed >= upper:
        step += 1
    x, y = span_us
    x_dt, y_dt = span
    while upper is not None and _add(consumed, quantity) > upper:
        part = _subtract(upper, consumed)
        # The limit is crossed part-way through the piece; consumption is uniform within it.
        t = x + int(_divide(_multiply(part, y - x), quantity).to_integral_value(context=RATING_CONTEXT))
        t_dt = tariff.moment(t)
        out.append(
            Charge(
                x_dt, t_dt, part, ladder.labels[step], _multiply(part, ladder.rates[step]), plan.version_id
            )
        )
        quantity = _subtract(quantity, part)
        consumed = upper
        x, x_dt = t, t_dt
        step += 1
        upper = uppers[step]
    out.append(
        Charge(
            x_dt,
            y_dt,
            quantity,
            ladder.labels[step],
            _multiply(quantity, ladder.rates[step]),
            plan.version_id,
        )
    )
    return _add(consumed, quantity)


def _accrue_fixed(
    tariff: CompiledTariff,
    plan: DayPlan,
    span_us: tuple[int, int],
    span: tuple[datetime, datetime],
    out: list[Charge],
) -> None:
    """Standing charges for a span inside one local day: accrued at its end minus accrued at its start."""
    before = tariff.accrued(plan, span_us[0])
    after = tariff.accrued(plan, span_us[1])
    for fixed, start_value, end_value in zip(plan.fixed, before, after, strict=True):
        out.append(
            Charge(span[0], span[1], ZERO, fixed.label, _subtract(end_value, start_value), plan.version_id)
        )


def charges_to_cents(charges: tuple[Charge, ...] | list[Charge], carry: Decimal) -> tuple[list[int], Decimal]:
    """Whole cents for each charge with the meter's sub-cent ``carry``; returns the cents and the new carry.

    Over any run of charges the cents stay within one cent of the exact total (see
    :func:`shared.money.charge_with_carry`).
    """
    cents: list[int] = []
    for charge in charges:
        carried = charge_with_carry(charge.amount, carry)
        cents.append(carried.cents)
        carry = carried.carry
    return cents, carry
