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
#: The types ``msgspec.to_builtins`` yields that are already canonical as they are.
_AS_IS = frozenset({str, int, bool, type(None)})
#: msgspec spells a UTC instant as RFC 3339 with ``Z``, and its fraction as six digits unless it is
#: zero, in a tenth of the time ``isoformat`` takes (the slowest step of an entry otherwise).
_SPELL_UTC = msgspec.json.Encoder().encode
_WHOLE_SECOND_CHARS = len('"2026-11-22T03:21:26Z"')


def canonical_decimal(value: Decimal, *, where: str = "value") -> str:
    """Spell a finite ``Decimal`` in fixed point with no exponent and no trailing zeros.

    ``Decimal("1.500")`` → ``"1.5"``, ``Decimal("1E+3")`` → ``"1000"``, ``Decimal("-0.00")`` → ``"0"``.
    The conversion is exact: it never consults a decimal context, so no digit is ever rounded away.
    """
    if not value.is_finite():
        raise JournalError(f"{where}: expected a finite decimal, got {value!r}")
    return _spell_decimal(value)


def _spell_decimal(value: Decimal) -> str:
    text = str(value)  # the same as format(value, "f"), four times faster, unless it has an exponent
    if "E" in text:
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
    return _spell_datetime(value)


def _spell_datetime(value: datetime) -> str:
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    spelled = _SPELL_UTC(utc)
    if len(spelled) == _WHOLE_SECOND_CHARS:
        return spelled[1:-2].decode() + ".000000Z"
    return spelled[1:-1].decode()


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
    try:
        return _fast(tree)
    except _NotCanonical:
        return _convert(tree, where)  # the slow walk names where the offending value is


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


class _NotCanonical(Exception):
    """Raised by :func:`_fast` at the first value it cannot spell; :func:`_convert` says where."""


def _fast(value: Any) -> Any:
    """The hot path of :func:`_convert`: same output, no path bookkeeping, exact type checks.

    ``msgspec.to_builtins`` yields only dict, list, str, int, bool, None and the pass-through
    ``Decimal`` and ``datetime``, so exact type tests suffice. Anything unusual (a float, a
    non-finite decimal, a naive datetime) raises :class:`_NotCanonical` for the slow walk to report.
    """
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:
        # Leaves are spelled inline: a call per leaf is the walk's main cost.
        out = {}
        for key, item in value.items():
            leaf = type(item)
            if leaf in _AS_IS:
                out[key] = item
            elif leaf is datetime and item.utcoffset() is not None:
                out[key] = _spell_datetime(item)
            elif leaf is Decimal and item.is_finite():
                out[key] = _spell_decimal(item)
            else:
                out[key] = _fast(item)
        return out
    if kind is Decimal:
        if not value.is_finite():
            raise _NotCanonical
        return _spell_decimal(value)
    if kind is datetime:
        if value.utcoffset() is None:
            raise _NotCanonical
        return _spell_datetime(value)
    if kind is list:
        return [_fast(item) for item in value]
    raise _NotCanonical


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
