"""Streaming import of one D0010 file: lines in, validated MPAN groups out, then the report.

Memory stays flat: one block of input (about 1 MB, see ``blocks``) is held at a time, and the
report keeps a bounded number of issues. Runs of well-formed groups are checked by the fast path
(``fastpath``); everything else, and whatever the fast path refuses, line by line by the
field-by-field validator (``groups``), which writes every message.

Problems with the file as a whole (no header, a second header, no trailer, trailer counts that
disagree, data after the trailer) are only certain at the end, so the caller writes the groups it
receives inside one transaction and commits only if the final report says ``imported`` or
``partial``.
"""

import enum
import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from cloud.d0010 import items as it
from cloud.d0010.blocks import GROUP_START, Block, Readable, blocks
from cloud.d0010.envelope import TrailerRecord, parse_header
from cloud.d0010.errors import FieldError, ImportUsageError
from cloud.d0010.fastpath import Decoder, FastPath, Run
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
_BSC = {raw: raw.decode() for raw in it.BSC_STATUSES}
#: Groups per retry after a run of groups failed a check (then one at a time within a failing few).
RETRY_GROUPS = 32


class D0010Import:
    """One import of one file. Call ``flows`` once and drain it, then ``report``."""

    def __init__(
        self, file_name: str, *, now: datetime, settings: ImportSettings | None = None, fast: bool = True
    ) -> None:
        """``now`` must be timezone-aware: readings after it (in UK local time) are refused.

        ``fast=False`` checks every line field by field: the reference the fast path is tested
        against (same groups, same report), and a way to rule it out when chasing a problem.
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ImportUsageError("now must be a timezone-aware datetime (readings are checked against it)")
        self.file_name = file_name
        self.settings = settings or ImportSettings()
        self._dates = DateTimes(now.astimezone(UK).replace(tzinfo=None))
        self._issues = IssueLog(self.settings.issues_kept_max)
        self._builder = FlowBuilder(self._issues, self._dates, strict=self.settings.strict)
        self._fast = FastPath(self._dates, strict=self.settings.strict) if fast else None
        self._decoder = Decoder(self._dates)
        self._line = 0
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

    def flows(self, source: Iterable[bytes] | Readable) -> Iterator[ValidatedFlow]:
        """Validated 026 groups in file order, each yielded once it is complete.

        ``source`` is a binary file (read in large chunks) or the file's lines as bytes, with or
        without their line endings. Bad lines never raise: they are reported.
        """
        if self._started:
            raise ImportUsageError(f"{self.file_name}: flows() can only be read once per import")
        self._started = True
        for block in blocks(source, self._digest.update):
            if block.verbatim is not None:
                yield from self._lines(block.verbatim)
            else:
                yield from self._block(block)
        self._end_of_input(self._line)
        self._finished = True

    def _block(self, block: Block) -> Iterator[ValidatedFlow]:
        """Runs of well-formed groups through the fast path, everything else line by line."""
        data, size, pos = block.data, len(block.data), 1  # after the block's leading newline
        # After a run fails a check, look for the bad group among a few groups at a time, then one
        # at a time, so one bad value costs little and the groups around it stay on the fast path.
        groups_max: int | None = None
        narrowed_until = 0
        while pos < size:
            if groups_max == 1 and pos >= narrowed_until:
                groups_max = RETRY_GROUPS
            stop, md_resets = self._fast_run(data, pos, block.at_group_start, groups_max)
            if stop > pos and self._fast is not None:
                run = self._fast.check(data, pos, stop, self._line + 1, md_resets=md_resets)
                if run is not None:
                    yield from self._accept(run, data)
                    pos = stop
                    continue
                if groups_max != 1:
                    groups_max, narrowed_until = (RETRY_GROUPS, 0) if groups_max is None else (1, stop)
                    continue
            # Line by line up to the next group start: the field checks find and report the problem.
            nxt = data.find(GROUP_START, pos) + 1 or size
            yield from self._lines(data[pos:nxt].split(b"\n")[:-1])
            pos = nxt

    def _fast_run(
        self, data: bytes, pos: int, at_group_start: bool, groups_max: int | None
    ) -> tuple[int, bool]:
        """The end of the complete, well-formed groups from ``pos`` (at most ``groups_max`` of them;
        ``pos`` if there are none)."""
        fast = self._fast
        if (
            fast is None
            or self._phase is not _Phase.BODY
            or self._rejected
            or not data.startswith(b"026|", pos)
        ):
            return pos, False
        end = len(data)
        if groups_max is not None:
            at = pos
            for _ in range(groups_max):
                at = data.find(GROUP_START, at) + 1
                if not at:
                    break
            else:
                end = at  # where the group after the last one allowed starts
        stop, md_resets = fast.longest_run(data, pos, end)
        # A group is complete only if a new group follows it. The last group before the trailer goes
        # line by line: it is handed out only once the trailer has been read, and not at all if
        # the trailer rejects the file, as the line-by-line path does.
        complete = data.startswith(b"026|", stop) or (stop == len(data) and at_group_start)
        if stop > pos and not complete:
            stop = max(pos, data.rfind(GROUP_START, pos, stop) + 1)
        return stop, md_resets

    def _accept(self, run: Run, data: bytes) -> Iterator[ValidatedFlow]:
        """Hand out the groups of a run that passed every check, as the line-by-line path would."""
        yield from self._close_group()
        for tag, count in run.counts.items():
            self._counts[tag] += count
        self._warn_missing_032(run, data)
        builder, decode = self._builder, self._decoder.decode
        starts = run.starts
        builder.mpans_accepted += len(starts)
        builder.meters_accepted += run.counts[b"028"]
        builder.readings_accepted += run.counts[b"030"]
        self._line += run.lines
        ends = [start for start, _, _, _ in starts[1:]]
        ends.append(run.end)
        for (start, line, mpan, bsc), stop in zip(starts, ends, strict=True):
            yield ValidatedFlow(mpan.decode(), _BSC[bsc], line, raw=data[start:stop], decode=decode)

    def _warn_missing_032(self, run: Run, data: bytes) -> None:
        if not run.without_032:
            return
        line, at = self._line + 1, run.starts[0][0]
        for offset in run.without_032:
            line += data.count(b"\n", at, offset)
            at = offset
            self._builder.missing_032(line, data[offset : data.index(b"\n", offset)])

    def _close_group(self) -> Iterator[ValidatedFlow]:
        """Finish the group the line-by-line path left open (as the next 026 line would)."""
        builder = self._builder
        builder.close()
        if builder.ready is not None:
            flow, builder.ready = builder.ready, None
            if not self._rejected:
                yield flow

    def _lines(self, lines: list[bytes]) -> Iterator[ValidatedFlow]:
        """The field-by-field path: every rule checked on each line, with its message."""
        builder, counts = self._builder, self._counts
        handlers = self._handlers  # changed in place by _enter, so this local stays current
        number = self._line
        for line in lines:
            number += 1
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
        self._line = number

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
