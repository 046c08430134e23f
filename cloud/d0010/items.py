"""Data-item rules of the catalogue, as checks over the raw bytes of one field.

Each check returns the decoded value or raises ``FieldError`` naming the data item and what was
expected. They run once per field of a multi-million-line file, so they use ``bytes`` methods and
set look-ups rather than regular expressions, and cache date-times (a flow repeats a few dates).
"""

import operator
from datetime import datetime
from decimal import Decimal

from cloud.d0010.errors import FieldError

MPAN = "J0003 MPAN core"
BSC_STATUS = "J0022 BSC validation status"
SITE_VISIT = "J0024 site visit check code"
ADDITIONAL_INFO = "J0012 additional information"
METER_ID = "J0004 meter id"
READING_TYPE = "J0171 reading type"
REGISTER_ID = "J0010 meter register id"
READING_AT = "J0016 reading date & time"
REGISTER_READING = "J0040 register reading"
MD_RESET_AT = "J0044 MD reset date & time"
MD_RESETS = "J1013 number of MD resets"
READING_FLAG = "J0045 meter reading flag"
READING_METHOD = "J1888 reading method"
REASON_CODE = "J0332 meter reading reason code"
READING_STATUS = "J0047 meter reading status"

BSC_STATUSES = frozenset((b"F", b"U", b"V"))
# "O" (old supplier's estimated change-of-supply read) is in J0171 but not valid in a D0010.
READING_TYPES = frozenset(b"ACDFIMPQRSTUVWXYZ"[i : i + 1] for i in range(17))
SITE_VISIT_CODES = frozenset(b"%02d" % n for n in (*range(1, 59), 88, 89))
REASON_CODES = frozenset(b"%02d" % n for n in range(1, 28))
READING_METHODS = frozenset((b"N", b"P"))
# bytes → text tables for the per-reading codes, so a valid value costs one look-up.
REASON_CODE_TEXT = {raw: raw.decode() for raw in REASON_CODES}
BOOLEANS = {b"T": True, b"F": False}
OPTIONAL_BOOLEANS = {b"": None, b"T": True, b"F": False}

_MPAN_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
_MPAN_OFFSET = 48 * sum(_MPAN_WEIGHTS)
_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_PRINTABLE = bytes(range(0x20, 0x7F))
_DATETIME_CACHE_MAX = 4096
# NUM(9,1): nine digits in all, one of them after the point; no sign.
_READING_INT_DIGITS_MAX = 8


def mpan_check_digit(first_twelve: bytes) -> int:
    """The J0003 check digit of the first 12 digits of an MPAN core."""
    # Digits are ASCII bytes: the weighted sum of (byte - 48) is the byte sum less 48 per weight.
    total: int = sum(map(operator.mul, first_twelve, _MPAN_WEIGHTS))
    return (total - _MPAN_OFFSET) % 11 % 10


def mpan_core(raw: bytes) -> str:
    """A 13-digit MPAN core whose last digit is its check digit."""
    if len(raw) != 13 or not raw.isdigit():
        raise FieldError(MPAN, f"expected 13 digits, got {_show(raw)}")
    expected = mpan_check_digit(raw[:12])
    if raw[12] - 48 != expected:
        raise FieldError(MPAN, f"check digit of {raw.decode()} should be {expected}")
    return raw.decode()


def code(raw: bytes, allowed: frozenset[bytes], field: str) -> str:
    """A value from a closed code list."""
    if raw not in allowed:
        listing = ", ".join(sorted(value.decode() for value in allowed))
        if len(allowed) > 20:
            listing = f"{min(allowed).decode()}…{max(allowed).decode()} (see docs/d0010.md)"
        raise FieldError(field, f"expected one of {listing}, got {_show(raw)}")
    return raw.decode()


def boolean(raw: bytes, field: str, *, optional: bool) -> bool | None:
    """A DTC BOOLEAN: ``T`` or ``F`` (or empty where the item is optional)."""
    table = OPTIONAL_BOOLEANS if optional else BOOLEANS
    if raw not in table:
        blank = " or empty" if optional else ""
        raise FieldError(field, f"expected T or F{blank}, got {_show(raw)}")
    return table[raw]


def free_text(raw: bytes, field: str, max_length: int) -> None:
    """Optional printable text of at most ``max_length`` characters (the value is not kept)."""
    if len(raw) > max_length:
        raise FieldError(field, f"expected at most {max_length} characters, got {len(raw)}")
    if raw.translate(None, _PRINTABLE):
        raise FieldError(field, f"expected printable ASCII text, got {_show(raw)}")


def meter_id(raw: bytes) -> str:
    """CHAR(10) meter serial, kept exactly as written (inner spaces included)."""
    if not raw.strip() or len(raw) > 10 or raw.translate(None, _PRINTABLE):
        raise FieldError(METER_ID, f"expected 1 to 10 printable characters, got {_show(raw)}")
    return raw.decode()


def register_id(raw: bytes) -> str:
    """CHAR(2) register id such as ``S``, ``DY``, ``01``."""
    if not raw or len(raw) > 2 or raw.translate(None, _ALNUM):
        raise FieldError(REGISTER_ID, f"expected 1 or 2 letters or digits, got {_show(raw)}")
    return raw.decode()


def register_reading(raw: bytes) -> Decimal:
    """NUM(9,1): zero or positive, at most 8 digits before an optional point and 1 after it."""
    whole, point, tenths = raw.partition(b".")
    if (
        whole.isdigit()
        and len(whole) <= _READING_INT_DIGITS_MAX
        and (not point or (len(tenths) == 1 and tenths.isdigit()))
    ):
        return Decimal(raw.decode())
    raise FieldError(
        REGISTER_READING,
        f"expected a reading of up to 8 digits and 1 decimal place (NUM(9,1)), got {_show(raw)}",
    )


def md_resets(raw: bytes) -> int | None:
    """NUM(3) number of MD resets, optional."""
    if not raw:
        return None
    if len(raw) > 3 or not raw.isdigit():
        raise FieldError(MD_RESETS, f"expected up to 3 digits or empty, got {_show(raw)}")
    return int(raw)


class DateTimes:
    """Parses ``ccyymmddhhmmss`` into naive datetimes, remembering recent values.

    ``latest`` is the current UK local time; a value after it is refused as being in the future.
    """

    __slots__ = ("_cache", "latest")

    def __init__(self, latest: datetime) -> None:
        self._cache: dict[bytes, datetime] = {}
        self.latest = latest

    def required(self, raw: bytes, field: str) -> datetime:
        """A calendar date-time not after ``latest``."""
        value = self._cache.get(raw)
        if value is None:
            value = self._parse(raw, field)
        if value > self.latest:
            raise FieldError(field, f"{value:%Y-%m-%d %H:%M:%S} is in the future")
        return value

    def optional(self, raw: bytes, field: str) -> datetime | None:
        """As ``required``, but an empty field is allowed."""
        return self.required(raw, field) if raw else None

    def anytime(self, raw: bytes, field: str) -> datetime:
        """A calendar date-time with no bound (header and trailer stamps)."""
        value = self._cache.get(raw)
        return self._parse(raw, field) if value is None else value

    def _parse(self, raw: bytes, field: str) -> datetime:
        if len(raw) != 14 or not raw.isdigit():
            raise FieldError(field, f"expected ccyymmddhhmmss (14 digits), got {_show(raw)}")
        try:
            value = datetime(
                int(raw[0:4]), int(raw[4:6]), int(raw[6:8]), int(raw[8:10]), int(raw[10:12]), int(raw[12:14])
            )
        except ValueError as exc:
            raise FieldError(field, f"{raw.decode()} is not a real date and time ({exc})") from None
        if len(self._cache) >= _DATETIME_CACHE_MAX:
            self._cache.clear()
        self._cache[raw] = value
        return value


def _show(raw: bytes) -> str:
    """A field value quoted for a message, shortened so one junk field cannot flood the report."""
    if not raw:
        return "an empty field"
    text = raw[:40].decode("ascii", "backslashreplace")
    return f"'{text}…'" if len(raw) > 40 else f"'{text}'"


def record_fields(fields: list[bytes], count: int) -> list[bytes]:
    """The first ``count`` fields of a record (tag included) when any fields after them are blank.

    A record normally ends with ``|``, which leaves one empty field after the last item; senders
    also add further empty fields or drop the final ``|``, and both are accepted.
    """
    if len(fields) < count:
        raise FieldError(
            "record layout", f"expected {count - 1} fields after the record type, got {len(fields) - 1}"
        )
    for position in range(count, len(fields)):
        if fields[position].strip():
            raise FieldError(
                "record layout",
                f"expected {count - 1} fields after the record type, found data in field {position}: "
                f"{_show(fields[position])}",
            )
    return fields
