"""What an import of a D0010 flow produces: validated readings, grouped per MPAN, and a report.

Date-times are naive and mean UK local time, exactly as the flow carries them (data item J0016):
the catalogue writes midnight reads as ``000000`` or ``235959`` and does not say which side of a
clock change a local time falls on, so converting here would invent information. Whoever needs an
instant converts with ``Europe/London`` at the point of use.
"""

import enum
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import msgspec


class ImportStatus(enum.StrEnum):
    """Outcome of one file: what the storage layer did, or must do, with its readings."""

    IMPORTED = "imported"
    """Every flow was valid; all readings may be stored."""
    PARTIAL = "partial"
    """Some MPAN groups were rejected; the readings of the valid ones may be stored."""
    REJECTED = "rejected"
    """Nothing in this file may be stored (envelope, trailer or every group was bad)."""
    DUPLICATE = "duplicate"
    """Already imported; set by the storage layer, never by the parser."""


class Reading(msgspec.Struct, frozen=True, gc=False):
    """One validated register reading (an 030 group) with the context of its 026 and 028 parents."""

    mpan_core: str
    bsc_validation_status: str
    meter_id: str
    reading_type: str
    register_id: str
    reading_at: datetime
    register_reading: Decimal
    md_reset_at: datetime | None
    md_reset_count: int | None
    meter_reading_flag: bool | None
    reading_method: str
    reason_code: str | None
    reading_status: bool | None
    line: int


class MeterGroup(msgspec.Struct, frozen=True, gc=False):
    """An 028 group: a meter read under an MPAN, listed even when it carries no register reading."""

    meter_id: str
    reading_type: str
    line: int


Decode = Callable[[bytes, int, str, str], tuple[tuple[MeterGroup, ...], tuple[Reading, ...]]]


class ValidatedFlow:
    """A complete 026 group that passed validation: the unit the storage layer writes.

    A group checked by the fast path keeps its validated lines (``raw``, LF endings) and decodes
    ``meters`` and ``readings`` on first use: the database import formats its rows from ``raw``
    and never needs the Python values. A group checked line by line has ``raw`` ``None``.
    """

    __slots__ = ("_decode", "_meters", "_readings", "bsc_validation_status", "line", "mpan_core", "raw")

    def __init__(
        self,
        mpan_core: str,
        bsc_validation_status: str,
        line: int,
        meters: tuple[MeterGroup, ...] = (),
        readings: tuple[Reading, ...] = (),
        *,
        raw: bytes | None = None,
        decode: Decode | None = None,
    ) -> None:
        self.mpan_core = mpan_core
        self.bsc_validation_status = bsc_validation_status
        self.line = line
        self.raw = raw
        self._decode = decode
        self._meters: tuple[MeterGroup, ...] | None = None if decode else meters
        self._readings: tuple[Reading, ...] | None = None if decode else readings

    @property
    def meters(self) -> tuple[MeterGroup, ...]:
        """The group's 028 meters, in file order."""
        if self._meters is None:
            self._decoded()
        assert self._meters is not None
        return self._meters

    @property
    def readings(self) -> tuple[Reading, ...]:
        """The group's register readings (030 with their 032), in file order."""
        if self._readings is None:
            self._decoded()
        assert self._readings is not None
        return self._readings

    def _decoded(self) -> None:
        assert self._decode is not None and self.raw is not None, "a group is given values or bytes"
        self._meters, self._readings = self._decode(
            self.raw, self.line, self.mpan_core, self.bsc_validation_status
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ValidatedFlow):
            return NotImplemented
        return (self.mpan_core, self.bsc_validation_status, self.line, self.meters, self.readings) == (
            other.mpan_core, other.bsc_validation_status, other.line, other.meters, other.readings,
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]  # equal by value, and not meant as a key

    def __repr__(self) -> str:
        return (
            f"ValidatedFlow(mpan_core={self.mpan_core!r}, "
            f"bsc_validation_status={self.bsc_validation_status!r}, line={self.line}, "
            f"meters={self.meters!r}, readings={self.readings!r})"
        )


class FlowHeader(msgspec.Struct, frozen=True):
    """The ZHV record: who sent the file, when, and whether it is a test file."""

    file_id: str
    from_role: str
    from_participant: str
    to_role: str
    to_participant: str
    created_at: datetime
    sending_application: str = ""
    receiving_application: str = ""
    broadcast: str = ""
    test_flag: str = "OPER"

    @property
    def is_test(self) -> bool:
        """True for a test file: any test flag other than operational (``OPER``) or blank."""
        return self.test_flag not in ("", "OPER")


class TrailerCheck(msgspec.Struct, frozen=True):
    """The ZPT record set against what the file actually contained."""

    group_count_declared: int | None
    group_count_found: int
    flow_count_declared: int | None
    flow_count_found: int
    checksum: str
    completed_at: datetime | None
    ok: bool


class Issue(msgspec.Struct, frozen=True):
    """A problem found on one line: where, which data item, what was expected, and the line itself."""

    line: int
    field: str
    message: str
    raw: str


class GroupCounts(msgspec.Struct, frozen=True):
    """Lines seen per record type, valid or not (``other`` counts unknown record types)."""

    zhv: int = 0
    g026: int = msgspec.field(default=0, name="026")
    g027: int = msgspec.field(default=0, name="027")
    g028: int = msgspec.field(default=0, name="028")
    g029: int = msgspec.field(default=0, name="029")
    g030: int = msgspec.field(default=0, name="030")
    g032: int = msgspec.field(default=0, name="032")
    g033: int = msgspec.field(default=0, name="033")
    zpt: int = 0
    other: int = 0


class ImportReport(msgspec.Struct, frozen=True):
    """The per-file report, serialised as the JSON the issue specifies (see ``docs/d0010.md``)."""

    file: str
    status: ImportStatus
    mpans: int
    meters: int
    readings: int
    rejected_mpans: int
    rejected_readings: int
    header: FlowHeader | None
    trailer: TrailerCheck | None
    groups: GroupCounts
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    errors_total: int
    warnings_total: int
    sha256: str

    def as_duplicate(self) -> "ImportReport":
        """The same report marked ``duplicate``, for the storage layer when it has seen the file."""
        return msgspec.structs.replace(self, status=ImportStatus.DUPLICATE)

    def to_json(self) -> bytes:
        """The report as JSON bytes."""
        return msgspec.json.encode(self)


class ImportSettings(msgspec.Struct, frozen=True):
    """How strict an import is, and how many issues of each kind the report keeps."""

    strict: bool = False
    """Strict: a reading without its 032 group, or a trailer without checksum, is an error."""
    issues_kept_max: int = 1000
    """Errors and warnings beyond this many (each) are counted but not listed."""
