"""COPY rows for groups loaded straight into the final tables: no staging, no INSERT … SELECT.

A group can go straight in when nothing it holds can conflict: its MPAN is new to the database and
to the file so far, no meter id occurs twice in it, and no reading key (meter, register, time)
repeats within it. Its MPAN, meters and readings then get ids chosen here (the import lock rules
out any other writer, see ``loader``), and are formatted as COPY text, from the validated bytes
when the fast path checked the group, else from its decoded readings.

Every other group goes through the staging table and its conflict checks (``staging``), exactly
as before. Should a later group of the file name the same MPAN, the loader moves the earlier
group back into staging (``storage.move_back``), so repeats in one file are judged together.
"""

import re

from cloud.d0010.model import ValidatedFlow
from cloud.d0010.staging import NULL

_NULL = NULL.encode()
_FLAGS = {b"": _NULL, b"T": b"t", b"F": b"f", None: _NULL, True: b"t", False: b"f"}
_KEPT_MAX = 4096
# One reading per match, with the 028 before it when it is the meter's first: each match starts at
# the newline before its first line (so never inside a line) and ends before the newline after it.
# The last group holds what follows the value: the rest of the 030 and the 032 line, if any.
_READINGS = re.compile(
    rb"\n(?:028\|([^|\n]*)\|([A-Z])\|\n)?030\|([^|\n]*)\|([0-9]{14})\|([^|\n]*)\|"
    rb"([^\n]*\|(?:\n032\|[0-9]{2}\|[TF]\|)?)"
)
_Rows = tuple[list[bytes], list[bytes], list[bytes]]


class DirectRows:
    """COPY text for ``d0010_mpans``, ``d0010_meters``, ``d0010_readings`` and the list of the
    file's directly loaded meters (``d0010_direct_meters``, what ``move_back`` needs)."""

    def __init__(self, file_ref: int) -> None:
        self.file_ref = file_ref
        self.mpans: list[bytes] = []
        self.meters: list[bytes] = []
        self.direct_meters: list[bytes] = []
        self.readings: list[bytes] = []
        # A file repeats a few date-times and a few combinations of the values after the reading.
        self._stamps: dict[bytes, bytes] = {}
        self._ends: dict[bytes, tuple[bytes, int]] = {}

    def fresh(self) -> "DirectRows":
        """New, empty rows for the same file, sharing this one's caches."""
        rows = DirectRows(self.file_ref)
        rows._stamps, rows._ends = self._stamps, self._ends
        return rows

    def add_mpan(self, mpan_ref: int, mpan_core: str) -> None:
        """A new MPAN row (for a group loaded either way: later groups of the file then see it)."""
        self.mpans.append(b"%d\t%s\n" % (mpan_ref, mpan_core.encode()))

    def add(self, flow: ValidatedFlow, mpan_ref: int, first_meter_ref: int) -> int | None:
        """Rows for ``flow``'s meters and readings; the number of meter ids used, or ``None`` (and
        no rows) if the group repeats a meter or a reading key and so needs the staging checks."""
        meters = self.meters
        before = (len(meters), len(self.direct_meters), len(self.readings))
        raw = flow.raw
        if raw is None or not self._from_raw(flow, raw, mpan_ref, first_meter_ref):
            out = (meters, self.direct_meters, self.readings)
            _truncate(out, before)
            if not self._from_values(flow, mpan_ref, first_meter_ref, out):
                _truncate(out, before)
                return None
        return len(meters) - before[0]

    def _from_raw(self, flow: ValidatedFlow, raw: bytes, mpan_ref: int, meter_ref: int) -> bool:
        """From the validated lines, values copied as written: one ``findall`` per group.

        Covers the usual shape (every 028 followed by its 030s, each with or without its 032); for
        any other (site visits, a meter without readings) the lines matched do not add up to the
        group's, and the caller formats the group from its decoded values instead.
        """
        meters, direct, readings = self.meters, self.direct_meters, self.readings
        bsc = flow.bsc_validation_status.encode()
        stamps, ends = self._stamps, self._ends
        meter_ids: list[bytes] = []  # usually one: a list is quicker than a set
        keys: set[tuple[int, bytes, bytes]] = set()
        line, first = flow.line, len(readings)
        prefix = middle = b""
        for meter_id, reading_type, register, at, value, end in _READINGS.findall(raw):
            line += 1
            if meter_id:
                if meter_id in meter_ids:
                    return False
                meter_ids.append(meter_id)
                meters.append(b"%d\t%d\t%s\n" % (meter_ref, mpan_ref, meter_id.replace(b"\\", b"\\\\")))
                direct.append(
                    b"%d\t%d\t%d\t%d\t%s\t%s\n" % (meter_ref, mpan_ref, flow.line, line, reading_type, bsc)
                )
                prefix, middle = b"%d\t" % meter_ref, b"\t%s\t%s\t" % (reading_type, bsc)
                meter_ref += 1
                line += 1
            columns, lines = ends.get(end) or self._end(end)
            readings.append(
                b"%s%s\t%s\t%s%s%s%d\n"
                % (prefix, register, stamps.get(at) or self._stamp(at), value, middle, columns, line)
            )
            keys.add((meter_ref, register, at))
            line += lines
        return line - flow.line + 1 == raw.count(b"\n") and len(keys) == len(readings) - first

    def _stamp(self, raw: bytes) -> bytes:
        """``ccyymmddhhmmss`` as PostgreSQL reads it (``ccyymmdd hhmmss``)."""
        text = raw[:8] + b" " + raw[8:]
        if len(self._stamps) < _KEPT_MAX:
            self._stamps[raw] = text
        return text

    def _end(self, raw: bytes) -> tuple[bytes, int]:
        """The columns after the reading's value (MD reset time and count, flag, method, the 032's
        reason and status, the file), and the lines after the 030 (1 with an 032, else 0)."""
        tail, _, checked = raw.partition(b"\n032|")
        md_at, md_count, flag, method, _ = tail.split(b"|")
        reason, status = checked.split(b"|")[:2] if checked else (_NULL, b"")
        columns = b"\t".join((
            self._stamp(md_at) if md_at else _NULL, md_count or _NULL, _FLAGS[flag], method, reason,
            _FLAGS[status], b"%d\t" % self.file_ref,
        ))  # fmt: skip
        if len(self._ends) < _KEPT_MAX:
            self._ends[raw] = (columns, 1 if checked else 0)
        return columns, 1 if checked else 0

    def _from_values(
        self,
        flow: ValidatedFlow,
        mpan_ref: int,
        meter_ref: int,
        out: tuple[list[bytes], list[bytes], list[bytes]],
    ) -> bool:
        """From decoded meters and readings (a group the field-by-field path checked)."""
        meters, direct, readings = out
        refs: dict[str, int] = {}
        bsc = flow.bsc_validation_status.encode()
        for meter in flow.meters:
            if meter.meter_id in refs:
                return False
            refs[meter.meter_id] = meter_ref
            meter_id = meter.meter_id.encode()
            meters.append(b"%d\t%d\t%s\n" % (meter_ref, mpan_ref, meter_id.replace(b"\\", b"\\\\")))
            direct.append(
                b"%d\t%d\t%d\t%d\t%s\t%s\n"
                % (meter_ref, mpan_ref, flow.line, meter.line, meter.reading_type.encode(), bsc)
            )
            meter_ref += 1
        keys = {(r.meter_id, r.register_id, r.reading_at) for r in flow.readings}
        if len(keys) != len(flow.readings):
            return False
        for r in flow.readings:
            readings.append(
                b"%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n"
                % (
                    refs[r.meter_id], r.register_id.encode(), r.reading_at.isoformat(" ").encode(),
                    str(r.register_reading).encode(), r.reading_type.encode(), bsc,
                    _NULL if r.md_reset_at is None else r.md_reset_at.isoformat(" ").encode(),
                    _NULL if r.md_reset_count is None else b"%d" % r.md_reset_count,
                    _FLAGS[r.meter_reading_flag], r.reading_method.encode(),
                    _NULL if r.reason_code is None else r.reason_code.encode(), _FLAGS[r.reading_status],
                    self.file_ref, r.line,
                )
            )  # fmt: skip
        return True


def _truncate(out: _Rows, lengths: tuple[int, int, int]) -> None:
    """Drop the rows added after ``lengths`` were taken (a group that was not added after all)."""
    for rows, length in zip(out, lengths, strict=True):
        del rows[length:]
