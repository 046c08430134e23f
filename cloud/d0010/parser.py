"""Streaming import of one D0010 file: lines in, validated MPAN groups out, then the report.

Memory stays flat: one 026 group is held at a time and the report keeps a bounded number of
issues. Problems with the file as a whole (no header, a second header, no trailer, trailer counts
that disagree, data after the trailer) are only certain at the end, so the caller writes the
groups it receives inside one transaction and commits only if the final report says
``imported`` or ``partial``.
"""

import enum
import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from cloud.d0010.envelope import TrailerRecord, parse_header
from cloud.d0010.errors import FieldError, ImportUsageError
from cloud.d0010.groups import STRUCTURE, FlowBuilder
from cloud.d0010.issues import IssueLog
from cloud.d0010.items import DateTimes
from cloud.d0010.model import (
    FlowHeader,
    GroupCounts,
    ImportReport,
    ImportSettings,
    ImportStatus,
    TrailerCheck,
    ValidatedFlow,
)

UK = ZoneInfo("Europe/London")
GROUP_TAGS = (b"026", b"027", b"028", b"029", b"030", b"032", b"033")

Handler = Callable[[list[bytes], int, bytes], None]


class D0010Import:
    """One import of one file. Call ``flows`` once and drain it, then ``report``."""

    def __init__(self, file_name: str, *, now: datetime, settings: ImportSettings | None = None) -> None:
        """``now`` must be timezone-aware: readings after it (in UK local time) are refused."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ImportUsageError("now must be a timezone-aware datetime (readings are checked against it)")
        self.file_name = file_name
        self.settings = settings or ImportSettings()
        self._dates = DateTimes(now.astimezone(UK).replace(tzinfo=None))
        self._issues = IssueLog(self.settings.issues_kept_max)
        self._builder = FlowBuilder(self._issues, self._dates, strict=self.settings.strict)
        self._digest = hashlib.sha256()
        self._counts = dict.fromkeys((b"ZHV", *GROUP_TAGS, b"ZPT"), 0)
        self._other_lines = 0
        self._header: FlowHeader | None = None
        self._trailer: TrailerCheck | None = None
        self._rejected = False
        self._started = self._finished = False
        self._phase = _Phase.HEADER
        self._handlers: dict[bytes, Handler] = {b"ZHV": self._on_header}
        b = self._builder
        self._body_handlers: dict[bytes, Handler] = {
            b"030": b.on_030, b"032": b.on_032, b"026": b.on_026, b"028": b.on_028,
            b"033": b.on_033, b"027": b.on_027, b"029": b.on_029, b"ZPT": self._on_trailer,
        }  # fmt: skip

    def flows(self, lines: Iterable[bytes]) -> Iterator[ValidatedFlow]:
        """Validated 026 groups in file order, each yielded once it is complete.

        ``lines`` are the file's lines as bytes, with or without their line endings (a file
        opened in binary mode is such an iterable). Bad lines never raise: they are reported.
        """
        if self._started:
            raise ImportUsageError(f"{self.file_name}: flows() can only be read once per import")
        self._started = True
        builder, counts, update = self._builder, self._counts, self._digest.update
        handlers = self._handlers  # changed in place by _enter, so this local stays current
        number = 0
        for number, line in enumerate(lines, 1):
            update(line)
            body = line.rstrip(b"\r\n")
            fields = body.split(b"|")
            tag = fields[0]
            handler = handlers.get(tag)
            try:
                if handler is None:
                    self._misplaced(fields, number, body)
                else:
                    counts[tag] += 1
                    handler(fields, number, body)
            except FieldError as exc:
                builder.line_error(number, exc.field, exc.message, body)
            if builder.ready is not None:
                flow, builder.ready = builder.ready, None
                if not self._rejected:
                    yield flow
        self._end_of_input(number)
        self._finished = True

    def report(self) -> ImportReport:
        """The report of the whole file; only once ``flows`` has been drained."""
        if not self._finished:
            raise ImportUsageError(f"{self.file_name}: read every flow before asking for the report")
        b, issues = self._builder, self._issues
        return ImportReport(
            file=self.file_name,
            status=self._status(),
            mpans=b.mpans_accepted,
            meters=b.meters_accepted,
            readings=b.readings_accepted,
            rejected_mpans=b.mpans_rejected,
            rejected_readings=b.readings_rejected,
            header=self._header,
            trailer=self._trailer,
            groups=self._group_counts(),
            errors=tuple(sorted(issues.errors, key=lambda issue: issue.line)),
            warnings=tuple(sorted(issues.warnings, key=lambda issue: issue.line)),
            errors_total=issues.errors_total,
            warnings_total=issues.warnings_total,
            sha256=self._digest.hexdigest(),
        )

    def _group_counts(self) -> GroupCounts:
        c = self._counts
        return GroupCounts(
            c[b"ZHV"], c[b"026"], c[b"027"], c[b"028"], c[b"029"], c[b"030"], c[b"032"], c[b"033"],
            c[b"ZPT"], self._other_lines,
        )  # fmt: skip

    def _status(self) -> ImportStatus:
        if self._rejected:
            return ImportStatus.REJECTED
        if self._issues.errors_total == 0:
            return ImportStatus.IMPORTED
        return ImportStatus.PARTIAL if self._builder.mpans_accepted else ImportStatus.REJECTED

    def _reject_file(self, line: int, field: str, message: str, raw: bytes) -> None:
        """An error that makes the whole file unusable."""
        self._issues.error(line, field, message, raw)
        self._rejected = True

    def _on_header(self, fields: list[bytes], line: int, raw: bytes) -> None:
        self._enter(_Phase.BODY)
        try:
            self._header = parse_header(fields, self._dates)
        except FieldError as exc:
            self._reject_file(line, exc.field, exc.message + " (the header is unusable)", raw)

    def _on_trailer(self, fields: list[bytes], line: int, raw: bytes) -> None:
        self._builder.close()
        self._enter(_Phase.AFTER_TRAILER)
        try:
            record = TrailerRecord(fields, self._dates)
        except FieldError as exc:
            self._reject_file(line, exc.field, exc.message + " (the trailer is unusable)", raw)
            return
        group_lines = sum(self._counts[tag] for tag in GROUP_TAGS) + self._other_lines
        self._trailer = check = record.check(group_lines, self._counts[b"026"])
        if not check.ok:
            message = (
                f"trailer declares {check.group_count_declared} group lines and "
                f"{check.flow_count_declared} flows; the file has {check.group_count_found} and "
                f"{check.flow_count_found} (lines lost or added in transfer?)"
            )
            self._reject_file(line, "ZPT counts", message, raw)
        if self._header is not None and record.file_id != self._header.file_id:
            message = f"trailer file id {record.file_id} differs from header file id {self._header.file_id}"
            self._reject_file(line, "ZPT file id", message, raw)
        if not record.checksum:
            self._empty_checksum(line, raw)

    def _empty_checksum(self, line: int, raw: bytes) -> None:
        if self.settings.strict:
            self._reject_file(line, "ZPT checksum", "the checksum is empty (strict import)", raw)
        else:
            self._issues.warning(line, "ZPT checksum", "the checksum is empty; it was not checked", raw)

    def _misplaced(self, fields: list[bytes], line: int, raw: bytes) -> None:
        """A line the current phase has no handler for: blank, unknown, or outside the envelope."""
        if self._phase is _Phase.BODY:
            self._body_other(fields, line, raw)
        elif not raw:
            return  # blank lines around the envelope are harmless
        elif self._phase is _Phase.HEADER:
            self._reject_file(line, STRUCTURE, "the file must start with a ZHV header record", raw)
            # Read on as if the header were there, so the report lists every other problem too.
            self._enter(_Phase.BODY)
            handler = self._handlers.get(fields[0])
            if handler is None:
                self._body_other(fields, line, raw)
            else:
                self._counts[fields[0]] += 1
                handler(fields, line, raw)
        elif self._phase is _Phase.AFTER_TRAILER:
            message = "data after the ZPT trailer (this line and any after it are ignored)"
            self._reject_file(line, STRUCTURE, message, raw)
            self._phase = _Phase.IGNORED

    def _body_other(self, fields: list[bytes], line: int, raw: bytes) -> None:
        if not raw:
            self._issues.warning(line, STRUCTURE, "blank line ignored", raw)
            return
        self._other_lines += 1
        if fields[0] == b"ZHV":
            self._reject_file(line, STRUCTURE, "a second ZHV header: one flow per file", raw)
        else:
            tag = fields[0][:10].decode("ascii", "backslashreplace")
            raise FieldError(STRUCTURE, f"unknown record type '{tag}' in a D0010 flow")

    def _enter(self, phase: "_Phase") -> None:
        self._phase = phase
        self._handlers.clear()
        if phase is _Phase.BODY:
            self._handlers.update(self._body_handlers)

    def _end_of_input(self, last_line: int) -> None:
        if self._phase is _Phase.HEADER:
            self._reject_file(last_line, STRUCTURE, "no ZHV header: the file is empty", b"")
        elif self._phase is _Phase.BODY:
            self._builder.close()
            # Without its trailer the last group may be cut short: it is not handed out, and the
            # file is rejected so the caller rolls back the groups handed out before.
            self._builder.ready = None
            self._reject_file(last_line, STRUCTURE, "the file ends without a ZPT trailer (truncated?)", b"")


class _Phase(enum.Enum):
    """Where in the envelope the import is: which records are expected next."""

    HEADER = "header"
    BODY = "body"
    AFTER_TRAILER = "after trailer"
    IGNORED = "ignored"
