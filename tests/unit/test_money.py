"""Money: one rounding rule, the sub-cent carry, and amounts that refuse to be floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import (
    ZERO,
    MoneyError,
    cents_from_amount,
    charge_with_carry,
    format_cents,
    parse_amount,
    round_half_up_to_cents,
)


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("0.004", 0),
        ("0.005", 1),
        ("0.015", 2),
        ("2.494999", 249),
        ("-0.005", -1),
        ("-0.004", 0),
        ("12.345", 1235),
    ],
)
def test_the_one_rounding_rule_rounds_halves_away_from_zero(amount: str, cents: int) -> None:
    assert round_half_up_to_cents(Decimal(amount)) == cents


def test_a_thousand_watt_hours_at_r2_50_charge_r2_50_not_nothing() -> None:
    """The issue's example: 1,000 readings of 1 Wh at R2.50/kWh charge R2.50, not R0.00."""
    carry, total = ZERO, 0
    for _ in range(1000):
        charge = charge_with_carry(Decimal("0.0025"), carry)
        total, carry = total + charge.cents, charge.carry
    assert total == 250


def test_zero_consumption_after_a_rounded_up_charge_charges_nothing_not_minus_a_cent() -> None:
    first = charge_with_carry(Decimal("0.005"), ZERO)
    assert first.cents == 1
    second = charge_with_carry(ZERO, first.carry)
    assert second.cents == 0
    assert second.carry == Decimal("-0.005")


@given(st.lists(st.decimals(min_value=0, max_value=50, places=6), max_size=300))
def test_charged_cents_stay_within_half_a_cent_of_the_exact_total(amounts: list[Decimal]) -> None:
    carry, total = ZERO, 0
    for amount in amounts:
        charge = charge_with_carry(amount, carry)
        assert charge.cents >= 0
        total, carry = total + charge.cents, charge.carry
    exact_cents = sum(amounts, ZERO) * 100
    assert abs(Decimal(total) - exact_cents) <= Decimal("0.5")


@pytest.mark.parametrize("bad", ["", "abc", "1,50", "NaN", "Infinity"])
def test_amount_text_that_is_not_a_finite_decimal_is_refused_with_its_name(bad: str) -> None:
    with pytest.raises(MoneyError, match=r"top_up\.amount"):
        parse_amount(bad, where="top_up.amount")


def test_a_float_is_refused_because_it_cannot_hold_one_tenth_exactly() -> None:
    with pytest.raises(MoneyError, match="decimal string"):
        parse_amount(0.1)  # type: ignore[arg-type]


def test_whole_cent_amounts_parse_and_sub_cent_ones_are_refused() -> None:
    assert cents_from_amount("20.00") == 2000
    with pytest.raises(MoneyError, match="two decimal places"):
        cents_from_amount("20.005")


def test_cents_render_for_people_with_their_currency() -> None:
    assert format_cents(-1234) == "-ZAR 12.34"
    assert format_cents(5, "GBP") == "GBP 0.05"
