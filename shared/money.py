"""Money: integer cents, one rounding rule, and the sub-cent carry.

Every amount the system stores or moves is an ``int`` number of cents of an explicit currency.
Rating works in ``Decimal`` and rounds exactly once, at the charge boundary, with
:func:`round_half_up_to_cents`; nothing else in the project rounds money.

A meter read every minute produces charges far smaller than a cent. Rounding each one alone
would bill R0.00 for a day of 1 Wh readings; so each meter keeps a *carry*: the sub-cent remainder
left over by its previous charge, added to the next exact amount before rounding. The sum of
charged cents over any run of readings then stays within one cent of the exact total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DEFAULT_CURRENCY = "ZAR"
CENTS_PER_UNIT = 100
_ONE_CENT = Decimal("0.01")
ZERO = Decimal(0)


class MoneyError(ValueError):
    """A monetary value that cannot be understood (bad text, float, wrong currency)."""


def round_half_up_to_cents(amount: Decimal) -> int:
    """Round an exact amount in currency units to whole cents, halves away from zero.

    This is the project's one rounding rule. ``Decimal('0.005')`` → 1, ``Decimal('-0.005')`` → -1.
    """
    return int((amount * CENTS_PER_UNIT).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_amount(text: str, *, where: str = "amount") -> Decimal:
    """Parse a decimal string in currency units (``"2.50"``) into an exact ``Decimal``.

    Floats are refused on purpose: ``0.1`` as a float is not one tenth.
    """
    if not isinstance(text, str):
        raise MoneyError(f'{where}: expected a decimal string such as "2.50", got {text!r}')
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise MoneyError(f'{where}: expected a decimal string such as "2.50", got {text!r}') from None
    if not value.is_finite():
        raise MoneyError(f"{where}: expected a finite amount, got {text!r}")
    return value


def cents_from_amount(text: str, *, where: str = "amount") -> int:
    """Parse an amount that must already be whole cents (``"20.00"`` → 2000)."""
    value = parse_amount(text, where=where)
    cents = value * CENTS_PER_UNIT
    if cents != cents.to_integral_value():
        raise MoneyError(f"{where}: expected at most two decimal places, got {text!r}")
    return int(cents)


def format_cents(cents: int, currency: str = DEFAULT_CURRENCY) -> str:
    """Render cents for people: ``format_cents(-1234)`` → ``"-ZAR 12.34"``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), CENTS_PER_UNIT)
    return f"{sign}{currency} {whole}.{part:02d}"


def cents_to_amount(cents: int) -> Decimal:
    """Cents as an exact ``Decimal`` in currency units (for display and re-rating)."""
    return (Decimal(cents) / CENTS_PER_UNIT).quantize(_ONE_CENT)


@dataclass(frozen=True, slots=True)
class CarriedCharge:
    """The cents to charge now, and the sub-cent remainder to carry to the next charge."""

    cents: int
    carry: Decimal


def charge_with_carry(exact_amount: Decimal, carry: Decimal) -> CarriedCharge:
    """Turn an exact amount into whole cents, carrying the remainder forward.

    ``carry`` is the remainder left by the previous charge of the same meter (start at ``ZERO``).
    The returned carry always lies in [-0.005, 0.005), so over any run the charged cents differ
    from the exact total by at most half a cent. A non-negative amount never yields negative
    cents: a carry of -0.005 followed by zero consumption charges 0 and keeps the carry.
    """
    due = exact_amount + carry
    cents = round_half_up_to_cents(due)
    if cents < 0 <= exact_amount:
        cents = 0
    return CarriedCharge(cents=cents, carry=due - Decimal(cents) / CENTS_PER_UNIT)
