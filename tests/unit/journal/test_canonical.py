"""The canonical spelling of values: each value has exactly one byte string, pinned here.

If one of these fails, entries written by older gateways would no longer hash the same: the
change must not ship (see docs/journal.md, "Changing the encoding").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from shared.journal import JournalError, canonical_datetime, canonical_decimal, encode_canonical


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        ("1.500", "1.5"),
        ("1E+3", "1000"),
        ("1.2E+3", "1200"),
        ("-0.00", "0"),
        ("0E+5", "0"),
        ("0E-7", "0"),
        ("-12.340", "-12.34"),
        ("100", "100"),
        ("12E-40", "0.0000000000000000000000000000000000000012"),
        # More digits than the default decimal context keeps: nothing may be rounded away.
        ("1.0000000000000000000000000000000001", "1.0000000000000000000000000000000001"),
        ("123456789012345678901234567890.5", "123456789012345678901234567890.5"),
    ],
)
def test_decimals_are_spelled_fixed_point_without_trailing_zeros(value: str, spelled: str) -> None:
    assert canonical_decimal(Decimal(value)) == spelled
    assert Decimal(spelled) == Decimal(value)


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_non_finite_decimals_are_refused_with_the_field_named(value: str) -> None:
    with pytest.raises(JournalError, match=r"body\.quantity: expected a finite decimal"):
        canonical_decimal(Decimal(value), where="body.quantity")


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        (datetime(2026, 11, 22, 3, 21, 26, tzinfo=UTC), "2026-11-22T03:21:26.000000Z"),
        (
            datetime(2026, 11, 22, 5, 21, 26, 5, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-22T03:21:26.000005Z",
        ),
        (datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "2026-12-31T23:30:00.000000Z"),
        (datetime(999, 1, 2, 3, 4, 5, 600000, tzinfo=UTC), "0999-01-02T03:04:05.600000Z"),
    ],
)
def test_datetimes_are_utc_with_six_fractional_digits(value: datetime, spelled: str) -> None:
    assert canonical_datetime(value) == spelled


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(JournalError, match="read_at: expected a timezone-aware datetime"):
        canonical_datetime(datetime(2026, 11, 22, 3, 0), where="read_at")


def test_objects_have_sorted_keys_and_no_whitespace() -> None:
    encoded = encode_canonical({"seq": 2, "body": {"z": None, "a": True}, "b": [1, "x"]})
    assert encoded == b'{"b":[1,"x"],"body":{"a":true,"z":null},"seq":2}'


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ('say "hi"', rb'"say \"hi\""'),
        ("back\\slash/slash", rb'"back\\slash/slash"'),
        ("\b\f\n\r\t", rb'"\b\f\n\r\t"'),
        ("\x00\x01\x1f", rb'"\u0000\u0001\u001f"'),
        ("\x7f", b'"\x7f"'),
        ("ü—\u2028😀", '"ü—\u2028😀"'.encode()),
    ],
)
def test_strings_are_utf8_with_only_the_required_escapes(text: str, spelled: bytes) -> None:
    assert encode_canonical({"t": text}) == b'{"t":' + spelled + b"}"


def test_a_string_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(JournalError, match="not valid Unicode"):
        encode_canonical({"detail": "bad \ud800 text"})


def test_floats_are_refused_wherever_they_hide() -> None:
    with pytest.raises(
        JournalError, match=r"body\.measurements\.power_w: floats are not allowed, use Decimal"
    ):
        encode_canonical({"body": {"measurements": {"power_w": 0.1}}})
    with pytest.raises(JournalError, match=r"values\[1\]: floats are not allowed"):
        encode_canonical({"values": [Decimal(1), 2.5]})


def test_decimals_and_datetimes_nested_anywhere_use_their_canonical_spelling() -> None:
    encoded = encode_canonical(
        {"q": [Decimal("1.50")], "at": {"t": datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))}}
    )
    assert encoded == b'{"at":{"t":"2026-01-01T00:00:00.000000Z"},"q":["1.5"]}'
