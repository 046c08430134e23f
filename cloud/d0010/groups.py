"""Builds 026 MPAN groups from their child records and decides whether each one is valid.

Policy (per-flow isolation): any error on a line inside an 026 group rejects that whole group —
none of its readings is emitted, they are counted as rejected and one error on the 026 line says
so. Groups around it are unaffected. A group is emitted only once it is complete (the next 026,
the trailer or the end of input), so a reading is never handed out before its 032 is seen.
"""

from datetime import datetime
from decimal import Decimal

from cloud.d0010 import items as it
from cloud.d0010.errors import FieldError
from cloud.d0010.issues import IssueLog
from cloud.d0010.items import READING_AT, record_fields, register_reading
from cloud.d0010.model import MeterGroup, Reading, ValidatedFlow

STRUCTURE = "structure"
# The checked values of an 030: register id, reading time, reading, MD reset time and count,
# meter reading flag, reading method.
CheckedReading = tuple[str, datetime, Decimal, datetime | None, int | None, bool | None, str]
ReadingTail = tuple[datetime | None, int | None, bool | None, str]
# A value the 030 check fills in on success; until then the reading is known to be bad.
_UNCHECKED = None
# Register ids and 030 tails seen valid in this file: a file repeats a handful, and junk cannot
# grow these tables past the cap.
_REMEMBERED_MAX = 256


class OpenFlow:
    """An 026 group being read."""

    __slots__ = ("bsc", "first_error", "line", "meters", "mpan", "raw", "reading_lines", "readings")

    def __init__(self, line: int, raw: bytes) -> None:
        self.line = line
        self.raw = raw
        self.mpan = ""
        self.bsc = ""
        self.meters: list[MeterGroup] = []
        self.readings: list[Reading] = []
        self.reading_lines = 0
        self.first_error = 0


class FlowBuilder:
    """State machine over the 026…033 records; finished groups appear in ``ready``."""

    def __init__(self, issues: IssueLog, dates: it.DateTimes, *, strict: bool) -> None:
        self.issues = issues
        self.dates = dates
        self.strict = strict
        self.ready: ValidatedFlow | None = None
        self.flow: OpenFlow | None = None
        self.meter: MeterGroup | None = None
        self.meter_has_readings = False
        # The 030 being read: its checked values (or _UNCHECKED if they failed), line and state.
        self.reading: CheckedReading | None = _UNCHECKED
        self.registers: dict[bytes, str] = {}
        self.tails: dict[tuple[bytes, bytes, bytes, bytes], ReadingTail] = {}
        self.reading_open = False
        self.reading_line = 0
        self.reading_raw = b""
        self.reading_has_032 = False
        self.reading_has_033 = False
        self.reason: str | None = None
        self.status: bool | None = None
        self.mpans_accepted = self.meters_accepted = self.readings_accepted = 0
        self.mpans_rejected = self.readings_rejected = 0

    def line_error(self, line: int, field: str, message: str, raw: bytes) -> None:
        """Report an error on ``line``; if it lies inside an 026 group, that group is rejected."""
        self.issues.error(line, field, message, raw)
        if self.flow is not None and not self.flow.first_error:
            self.flow.first_error = line

    def on_026(self, f: list[bytes], line: int, raw: bytes) -> None:
        """Open a new MPAN group (closing the previous one)."""
        self.close()
        flow = self.flow = OpenFlow(line, raw)
        f = it.record_fields(f, 3)
        flow.mpan = it.mpan_core(f[1])
        flow.bsc = it.code(f[2], it.BSC_STATUSES, it.BSC_STATUS)

    def on_027(self, f: list[bytes], line: int, raw: bytes) -> None:
        """Site visit information under the 026, before its first 028."""
        self._close_reading()
        if self.flow is None or self.meter is not None:
            raise FieldError(STRUCTURE, "an 027 must follow its 026 MPAN group, before any 028")
        self._site_visit(f)

    def on_028(self, f: list[bytes], line: int, raw: bytes) -> None:
        """Open a meter under the current MPAN group."""
        self._close_reading()
        self.meter = None
        if self.flow is None:
            raise FieldError(STRUCTURE, "an 028 meter group must follow an 026 MPAN group")
        self.meter_has_readings = False
        f = it.record_fields(f, 3)
        meter = MeterGroup(it.meter_id(f[1]), it.code(f[2], it.READING_TYPES, it.READING_TYPE), line)
        self.meter = meter
        self.flow.meters.append(meter)

    def on_029(self, f: list[bytes], line: int, raw: bytes) -> None:
        """Site visit information under the 028, before its first 030."""
        self._close_reading()
        if (self.meter is None and not self._in_rejected_flow()) or self.meter_has_readings:
            raise FieldError(STRUCTURE, "an 029 must follow its 028 meter group, before any 030")
        self._site_visit(f)

    def on_030(self, f: list[bytes], line: int, raw: bytes) -> None:
        """A register reading under the current meter; finished when its children have been read."""
        if self.reading_open:
            self._close_reading()
        self.reading_open = True
        self.reading_line = line
        self.reading_raw = raw
        self.reading = _UNCHECKED
        flow = self.flow
        if flow is not None:
            flow.reading_lines += 1
        else:
            self.readings_rejected += 1
        if self.meter is None and not self._in_rejected_flow():
            raise FieldError(STRUCTURE, "an 030 register reading must follow an 028 meter group")
        if len(f) != 9 or f[8]:
            f = record_fields(f, 8)
        # The hot path: look-ups in small tables first, the full checks (and messages) on a miss.
        tail = self.tails.get((f[4], f[5], f[6], f[7])) or self._tail(f)
        self.reading = (
            self.registers.get(f[1]) or self._register(f[1]),
            self.dates.required(f[2], READING_AT),
            register_reading(f[3]),
            *tail,
        )

    def _register(self, raw: bytes) -> str:
        register = it.register_id(raw)
        if len(self.registers) < _REMEMBERED_MAX:
            self.registers[raw] = register
        return register

    def _tail(self, f: list[bytes]) -> ReadingTail:
        """The checked MD reset time and count, flag and method; a file repeats a few combinations."""
        tail = (
            self.dates.optional(f[4], it.MD_RESET_AT),
            it.md_resets(f[5]),
            it.boolean(f[6], it.READING_FLAG, optional=True),
            it.code(f[7], it.READING_METHODS, it.READING_METHOD),
        )
        if len(self.tails) < _REMEMBERED_MAX:
            self.tails[(f[4], f[5], f[6], f[7])] = tail
        return tail

    def on_032(self, f: list[bytes], line: int, raw: bytes) -> None:
        """The validation result of the current 030 (at most one, before any 033)."""
        if not self.reading_open or self.reading_has_032 or self.reading_has_033:
            raise FieldError(STRUCTURE, "an 032 must directly follow its 030, once")
        self.reading_has_032 = True
        if len(f) != 4 or f[3]:
            f = it.record_fields(f, 3)
        self.reason = it.REASON_CODE_TEXT.get(f[1]) or it.code(f[1], it.REASON_CODES, it.REASON_CODE)
        status = it.BOOLEANS.get(f[2])
        self.status = it.boolean(f[2], it.READING_STATUS, optional=False) if status is None else status

    def on_033(self, f: list[bytes], line: int, raw: bytes) -> None:
        """Site visit information under the current 030."""
        if not self.reading_open:
            raise FieldError(STRUCTURE, "an 033 must follow an 030 register reading")
        self.reading_has_033 = True
        self._site_visit(f)

    def close(self) -> None:
        """Finish the open 026 group: emit it into ``ready`` if valid, else count it as rejected."""
        self._close_reading()
        flow, self.flow, self.meter = self.flow, None, None
        if flow is None:
            return
        if not flow.meters and not flow.first_error:
            self.line_error(flow.line, STRUCTURE, "an 026 MPAN group needs at least one 028 meter", flow.raw)
            flow.first_error = flow.line
        if flow.first_error:
            self._reject(flow)
            return
        self.mpans_accepted += 1
        self.meters_accepted += len(flow.meters)
        self.readings_accepted += len(flow.readings)
        self.ready = ValidatedFlow(flow.mpan, flow.bsc, flow.line, tuple(flow.meters), tuple(flow.readings))

    def _reject(self, flow: OpenFlow) -> None:
        self.mpans_rejected += 1
        self.readings_rejected += flow.reading_lines
        where = f"line {flow.first_error}" if flow.first_error != flow.line else "this line"
        message = (
            f"MPAN group rejected: none of its {flow.reading_lines} reading(s) is imported "
            f"(first error on {where})"
        )
        self.issues.error(flow.line, "026 MPAN group", message, flow.raw)

    def _close_reading(self) -> None:
        """Turn the open 030 into a Reading, once its 032/033 children (if any) have been read."""
        if not self.reading_open:
            return
        values, flow, meter = self.reading, self.flow, self.meter
        self.reading_open = False
        if not self.reading_has_032:
            self.missing_032(self.reading_line, self.reading_raw)
        if values is not _UNCHECKED and flow is not None and meter is not None and not flow.first_error:
            register, at, value, md_at, md_count, flag, method = values
            flow.readings.append(
                Reading(
                    flow.mpan,
                    flow.bsc,
                    meter.meter_id,
                    meter.reading_type,
                    register,
                    at,
                    value,
                    md_at,
                    md_count,
                    flag,
                    method,
                    self.reason,
                    self.status,
                    self.reading_line,
                )
            )
        self.reading_has_032 = self.reading_has_033 = False
        self.reason = self.status = None
        self.meter_has_readings = True

    def missing_032(self, line: int, raw: bytes) -> None:
        """Report the 030 on ``line`` that has no 032: a warning, or under ``strict`` an error."""
        message = "no 032 validation result follows this 030 register reading"
        if self.strict:
            self.line_error(line, STRUCTURE, message + " (strict import)", raw)
        else:
            self.issues.warning(line, STRUCTURE, message, raw)

    def _in_rejected_flow(self) -> bool:
        """Inside an 026 group already rejected, where a missing parent was reported already."""
        return self.flow is not None and self.flow.first_error != 0

    @staticmethod
    def _site_visit(f: list[bytes]) -> None:
        f = it.record_fields(f, 3)
        it.code(f[1], it.SITE_VISIT_CODES, it.SITE_VISIT)
        it.free_text(f[2], it.ADDITIONAL_INFO, 200)
