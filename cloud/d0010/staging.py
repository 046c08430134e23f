"""The temporary staging table, and its COPY rows, for groups that need the conflict checks.

Groups whose MPAN is already stored (or that repeat a meter or a reading key) are COPYed here by
the loader (``loader``); the staging table lives for the transaction only (``ON COMMIT DROP``);
the conflict checks and the ``INSERT … SELECT`` into the real tables run over it in
:mod:`cloud.d0010.storage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cloud.d0010.model import Reading, ValidatedFlow

CREATE_STAGING = """
CREATE TEMPORARY TABLE d0010_staging (
    group_line integer NOT NULL,
    meter_line integer NOT NULL,
    mpan_core text NOT NULL,
    bsc_validation_status text NOT NULL,
    meter_id text NOT NULL,
    reading_type text NOT NULL,
    opens_meter boolean NOT NULL,
    line integer NOT NULL,
    register_id text,
    reading_at timestamp,
    register_reading numeric(9, 1),
    md_reset_at timestamp,
    md_reset_count smallint,
    meter_reading_flag boolean,
    reading_method text,
    reason_code text,
    reading_status boolean
) ON COMMIT DROP
"""

COPY_STAGING = "COPY d0010_staging FROM STDIN"

#: COPY's text format: NULL, and booleans; column values never hold tabs or line breaks (the
#: parser admits printable ASCII only), and a backslash in a meter id is escaped.
NULL = "\\N"
_BOOLEANS = {None: NULL, True: "t", False: "f"}
_STAMPS_MAX = 4096
#: Staged meters remembered to tell whether a reading key can repeat in the file (about 15 MB at
#: most, so memory stays flat); past this the database checks for repeats instead.
_METERS_REMEMBERED_MAX = 200_000


@dataclass(slots=True)
class Staged:
    """What went into the staging table."""

    readings: int = 0
    may_repeat: bool = False
    """Whether a reading key may occur twice (a meter in two 028 groups, or a key twice in one):
    only then does the database need its (costly) search for repeated keys."""


class StagingRows:
    """Formats 026 groups as COPY text rows: the hot path of a bulk import after the parser."""

    def __init__(self) -> None:
        self.staged = Staged()
        # A file repeats a few date-times; None (an absent MD reset) is NULL.
        self._stamps: dict[datetime | None, str] = {None: NULL}
        # Hashes of (MPAN, meter id): a collision only costs the database's repeat search.
        self._meters_seen: set[int] = set()

    def add(self, flow: ValidatedFlow, block: list[str]) -> None:
        """Append the rows of one 026 group to ``block``: its readings, and meters without any.

        Readings and meters are both in file order, so a reading belongs to the last 028 before
        it; an 028 with no reading after it still gets a row, so the meter is stored too.
        """
        readings, meters = flow.readings, flow.meters
        index = 0
        for position, meter in enumerate(meters):
            end = meters[position + 1].line if position + 1 < len(meters) else None
            self._note_meter(flow.mpan_core, meter.meter_id)
            meter_id = meter.meter_id.replace("\\", "\\\\")
            prefix = (
                f"{flow.line}\t{meter.line}\t{flow.mpan_core}\t{flow.bsc_validation_status}\t"
                f"{meter_id}\t{meter.reading_type}\t"
            )
            first = index
            index = self._meter_readings(prefix, readings, index, end, block)
            if index == first:
                block.append(f"{prefix}t\t{meter.line}{_LONE_METER_TAIL}")
        self.staged.readings += len(readings)

    def _meter_readings(
        self, prefix: str, readings: tuple[Reading, ...], index: int, end: int | None, block: list[str]
    ) -> int:
        """Rows for the readings of one 028 (those before line ``end``); the index after them."""
        first, count = index, len(readings)
        keys: set[tuple[str, datetime]] = set()
        while index < count and (end is None or readings[index].line < end):
            reading = readings[index]
            keys.add((reading.register_id, reading.reading_at))
            # The first row of each 028 opens it, so meters are found without a DISTINCT over all rows.
            opens = "t\t" if index == first else "f\t"
            block.append(prefix + opens + self._reading(reading))
            index += 1
        if len(keys) < index - first:
            self.staged.may_repeat = True
        return index

    def _note_meter(self, mpan_core: str, meter_id: str) -> None:
        key = hash((mpan_core, meter_id))
        if key in self._meters_seen or len(self._meters_seen) >= _METERS_REMEMBERED_MAX:
            self.staged.may_repeat = True
        else:
            self._meters_seen.add(key)

    def _reading(self, r: Reading) -> str:
        stamps = self._stamps
        at = stamps.get(r.reading_at) or self._stamp(r.reading_at)
        md_at = stamps.get(r.md_reset_at) or self._stamp(r.md_reset_at)
        md_count = NULL if r.md_reset_count is None else r.md_reset_count
        return (
            f"{r.line}\t{r.register_id}\t{at}\t{r.register_reading}\t{md_at}\t{md_count}\t"
            f"{_BOOLEANS[r.meter_reading_flag]}\t{r.reading_method}\t{r.reason_code or NULL}\t"
            f"{_BOOLEANS[r.reading_status]}\n"
        )

    def _stamp(self, value: datetime | None) -> str:
        assert value is not None, "None is in the table from the start"
        text = value.isoformat(" ")
        if len(self._stamps) < _STAMPS_MAX:
            self._stamps[value] = text
        return text


_LONE_METER_TAIL = ("\t" + NULL) * 9 + "\n"
