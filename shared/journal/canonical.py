"""The canonical encoding: one byte string per value, stable across versions.

The hash chain is computed over these bytes, so they must never change for a given entry. The
exact rules, with golden vectors, are in ``docs/journal.md``; in short: JSON, UTF-8, object keys
sorted, no insignificant whitespace, integers as JSON numbers, ``Decimal`` as a normalised
fixed-point string, ``datetime`` as RFC 3339 UTC with exactly six fractional digits and ``Z``,
and no floats anywhere.

msgspec does the byte writing (fast, and its string escaping is pinned by the golden vectors);
this module only turns the few types JSON has no single spelling for into the one we chose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from shared.journal.errors import JournalError

_ENCODER = msgspec.json.Encoder(order="sorted")
_PASS_THROUGH = (Decimal, datetime)


def canonical_decimal(value: Decimal, *, where: str = "value") -> str:
    """Spell a finite ``Decimal`` in fixed point with no exponent and no trailing zeros.

    ``Decimal("1.500")`` → ``"1.5"``, ``Decimal("1E+3")`` → ``"1000"``, ``Decimal("-0.00")`` → ``"0"``.
    The conversion is exact: it never consults a decimal context, so no digit is ever rounded away.
    """
    if not value.is_finite():
        raise JournalError(f"{where}: expected a finite decimal, got {value!r}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def canonical_datetime(value: datetime, *, where: str = "value") -> str:
    """Spell a timezone-aware ``datetime`` as RFC 3339 UTC: ``2026-11-22T03:21:26.000000Z``.

    Naive datetimes are refused: a gateway's local wall time means nothing to the cloud.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise JournalError(f"{where}: expected a timezone-aware datetime, got naive {value.isoformat()}")
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def canonical_tree(value: object, *, where: str = "") -> Any:
    """The JSON-ready tree (dicts, lists, str, int, bool, None) for ``value``.

    Structs become objects (a tagged struct includes its tag), enums their values, and
    ``Decimal``/``datetime`` their canonical strings. A float anywhere raises
    :class:`JournalError` naming where it was found (as a path below ``where``).
    """
    try:
        tree = msgspec.to_builtins(value, builtin_types=_PASS_THROUGH)
    except TypeError as error:
        raise JournalError(f"{where or 'value'}: cannot be encoded canonically ({error})") from None
    return _convert(tree, where)


def encode_canonical(value: object) -> bytes:
    """The canonical bytes of ``value`` (a struct, or a tree of dicts and lists)."""
    return encode_tree(canonical_tree(value))


def encode_tree(tree: Any) -> bytes:
    """Write an already canonical tree (from :func:`canonical_tree`) as canonical JSON bytes."""
    try:
        return _ENCODER.encode(tree)
    except UnicodeEncodeError as error:
        # Python strings may hold lone surrogates, which have no UTF-8 spelling.
        text = error.object[:80]
        raise JournalError(f"a text field is not valid Unicode ({error.reason}): {text!r}") from None


def _convert(value: Any, where: str) -> Any:
    # Ordered by how often each type occurs in an entry, for speed.
    if isinstance(value, str) or value is None or isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return {key: _convert(item, f"{where}.{key}" if where else key) for key, item in value.items()}
    if isinstance(value, Decimal):
        return canonical_decimal(value, where=where or "value")
    if isinstance(value, datetime):
        return canonical_datetime(value, where=where or "value")
    if isinstance(value, float):
        raise JournalError(f"{where or 'value'}: floats are not allowed, use Decimal (got {value!r})")
    if isinstance(value, Sequence):
        return [_convert(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise JournalError(f"{where or 'value'}: cannot encode a {type(value).__name__} canonically")
