"""The fast path: whole runs of well-formed 026 groups checked at once, in C, by regular expressions.

Almost every line of a real file has one of a few shapes. One compiled pattern per record type,
combined into the grammar of a group (026, 027*, then 028 with 029* and 030 with an optional 032
and 033*), checks the layout, code lists and number formats of thousands of lines in one call.
What a pattern cannot check runs in Python once per distinct value: calendar dates and "not in
the future" (a file repeats a few dates), and the MPAN check digit once per group.

A run that fails any check is not reported from here: the parser hands its groups to the
field-by-field validator (``groups.FlowBuilder``), which finds the same problem and writes the
message. So this module decides only "certainly valid"; the rules and messages live in one place.

Groups that pass keep their validated bytes; ``decode`` turns them into ``MeterGroup`` and
``Reading`` values only if someone asks (the database import formats rows from the bytes).
"""

import re
from datetime import datetime
from decimal import Decimal

from cloud.d0010 import items as it
from cloud.d0010.errors import FieldError
from cloud.d0010.model import MeterGroup, Reading

# Printable ASCII except '|' (the separator), as the catalogue's CHAR items allow. Every record
# type starts with its own tag and no field can hold its separator, so the grammar never needs to
# backtrack: possessive quantifiers (``*+``, ``?+``) say so and make the match several times faster.
_TEXT = rb"[\x20-\x7b\x7d\x7e]"
_SITE_VISIT = rb"\|(?:0[1-9]|[1-4][0-9]|5[0-8]|8[89])\|" + _TEXT + rb"{0,200}+\|\n"
_L026 = rb"026\|[0-9]{13}\|[FUV]\|\n"
_L027 = rb"027" + _SITE_VISIT
# A meter id of 1 to 10 printable characters, not all spaces.
_L028 = rb"028\|(?! *\|)" + _TEXT + rb"{1,10}+\|[ACDFIMPQRSTUVWXYZ]\|\n"
_L029 = rb"029" + _SITE_VISIT
_L030 = (
    rb"030\|[A-Za-z0-9]{1,2}+\|[0-9]{14}\|[0-9]{1,8}+(?:\.[0-9])?+\|(?:[0-9]{14})?+\|[0-9]{0,3}+\|[TF]?+\|"
    rb"[NP]\|\n"
)
_L032 = rb"032\|(?:0[1-9]|1[0-9]|2[0-7])\|[TF]\|\n"
_L033 = rb"033" + _SITE_VISIT


def _groups_pattern(*, strict: bool, md_resets: bool) -> re.Pattern[bytes]:
    """One or more complete groups; under ``strict`` every 030 needs its 032.

    Without ``md_resets`` an 030's MD reset date must be empty, as it nearly always is: a run that
    matches this pattern needs no search for MD reset dates to check.
    """
    l030 = _L030 if md_resets else _L030.replace(rb"(?:[0-9]{14})?+", b"")
    optional = b"" if strict else b"?+"
    reading = b"(?:" + l030 + b"(?:" + _L032 + b")" + optional + b"(?:" + _L033 + b")*+)"
    meter = b"(?:" + _L028 + b"(?:" + _L029 + b")*+" + reading + b"*+)"
    return re.compile(b"(?:" + _L026 + b"(?:" + _L027 + b")*+" + meter + b"++)++")


_GROUPS = {
    (strict, md_resets): _groups_pattern(strict=strict, md_resets=md_resets)
    for strict in (False, True)
    for md_resets in (False, True)
}
# Each searched from the newline before the record, so the search skips ahead to a literal prefix.
_GROUP_STARTS = re.compile(rb"\n026\|([0-9]{13})\|([FUV])\|\n")
_READING_DATES = re.compile(rb"\n030\|[^|]*+\|([0-9]{14})")
_MD_RESET_DATES = re.compile(rb"\n030\|[^|]*+\|[0-9]{14}\|[^|]*+\|([0-9]{14})")
_SITE_VISITS = re.compile(rb"\n0(?:27|29|33)\|")
# Ends before the newline it looks past, so an 030 right after it is found too.
_WITHOUT_032 = re.compile(rb"\n030\|[^\n]*+(?=\n(?!032\|))")
_DATES_KEPT_MAX = 4096


class Run:
    """A run of valid groups: where each starts, the lines per record type, 030s without an 032."""

    __slots__ = ("counts", "end", "lines", "starts", "without_032")

    def __init__(self, end: int) -> None:
        self.end = end
        self.starts: list[tuple[int, int, bytes, bytes]] = []
        """(offset, line, MPAN core, BSC status) of each group, in order; each ends where the next
        starts, the last at ``end``."""
        self.counts: dict[bytes, int] = {}
        self.lines = 0
        self.without_032: list[int] = []
        """Offsets of 030 lines with no 032 after them (warnings; never under strict)."""


class FastPath:
    """Checks runs of groups; remembers the date-times it has seen valid (a bounded number)."""

    def __init__(self, dates: it.DateTimes, *, strict: bool) -> None:
        self._dates = dates
        self._plain = _GROUPS[strict, False]
        self._with_md_resets = _GROUPS[strict, True]
        self._valid: set[bytes] = set()

    def longest_run(self, block: bytes, start: int, end: int) -> tuple[int, bool]:
        """Where the well-formed groups from ``start`` stop (``start`` if the first is not), and
        whether an MD reset date may be among them."""
        match = self._plain.match(block, start, end)
        stop = start if match is None else match.end()
        if stop == end or block.startswith(b"026|", stop):
            return stop, False
        match = self._with_md_resets.match(block, start, end)
        wider = start if match is None else match.end()
        return (wider, True) if wider > stop else (stop, False)

    def check(self, block: bytes, start: int, end: int, first_line: int, *, md_resets: bool) -> Run | None:
        """The groups of ``block[start:end]`` (whole groups of well-formed lines) if every value is
        valid, else ``None``: the caller then validates them line by line for the messages.

        ``block[start - 1]`` must be the newline before the run, as in a ``blocks.Block``.
        """
        reading_dates = _READING_DATES.findall(block, start - 1, end)
        if not self._dates_valid(reading_dates):
            return None
        if md_resets and not self._dates_valid(_MD_RESET_DATES.findall(block, start - 1, end)):
            return None
        run = Run(end)
        starts = run.starts
        line, at = first_line, start
        for match in _GROUP_STARTS.finditer(block, start - 1, end):
            mpan = match.group(1)
            if it.mpan_check_digit(mpan) != mpan[12] - 48:
                return None
            group_start = match.start() + 1
            line += block.count(b"\n", at, group_start)
            at = group_start
            starts.append((at, line, mpan, match.group(2)))
        run.lines = line - first_line + block.count(b"\n", at, end)
        self._count(run, block, start, len(reading_dates))
        return run

    @staticmethod
    def _count(run: Run, block: bytes, start: int, readings: int) -> None:
        """Lines per record type (for the trailer check and the report), in as few passes as can be."""
        end, counts = run.end, run.counts
        counts[b"026"] = len(run.starts)
        counts[b"030"] = readings
        counts[b"028"] = block.count(b"\n028|", start - 1, end)
        counts[b"032"] = block.count(b"\n032|", start - 1, end)
        site_visits = _SITE_VISITS.search(block, start - 1, end) is not None
        for tag in (b"027", b"029", b"033"):
            counts[tag] = block.count(b"\n" + tag + b"|", start - 1, end) if site_visits else 0
        if readings != counts[b"032"]:
            run.without_032 = [m.start() + 1 for m in _WITHOUT_032.finditer(block, start - 1, end)]

    def _dates_valid(self, found: list[bytes]) -> bool:
        valid = self._valid
        for raw in set(found) - valid:
            try:
                self._dates.required(raw, it.READING_AT)
            except FieldError:
                return False
            if len(valid) >= _DATES_KEPT_MAX:
                valid.clear()
            valid.add(raw)
        return True


# One reading of the usual shape per match (as in ``direct``), the 028 before it when it is the
# meter's first; the last group holds what follows the value, 032 included.
_USUAL_READINGS = re.compile(
    rb"\n(?:028\|([^|\n]*)\|([A-Z])\|\n)?030\|([^|\n]*)\|([0-9]{14})\|([^|\n]*)\|"
    rb"([^\n]*\|(?:\n032\|[0-9]{2}\|[TF]\|)?)"
)
_Tail = tuple[datetime | None, int | None, bool | None, str, str | None, bool | None, int]


class Decoder:
    """Turns the validated bytes of a group into its meters and readings."""

    def __init__(self, dates: it.DateTimes) -> None:
        self._dates = dates
        # A file repeats a few combinations of the values after the reading (and its 032).
        self._tails: dict[bytes, _Tail] = {}

    def decode(
        self, raw: bytes, first_line: int, mpan: str, bsc: str
    ) -> tuple[tuple[MeterGroup, ...], tuple[Reading, ...]]:
        """Meters and readings of one group whose lines passed the fast path's checks."""
        decoded = self._usual(raw, first_line, mpan, bsc)
        return decoded if decoded is not None else self._any(raw, first_line, mpan, bsc)

    def _usual(
        self, raw: bytes, line: int, mpan: str, bsc: str
    ) -> tuple[tuple[MeterGroup, ...], tuple[Reading, ...]] | None:
        """One ``findall`` for the usual shape; ``None`` if the lines matched do not add up to
        the group's (site visits, a meter without readings)."""
        first_line, dates, tails = line, self._dates, self._tails
        meters: list[MeterGroup] = []
        readings: list[Reading] = []
        meter_id = reading_type = ""
        for meter, kind, register, at, value, tail in _USUAL_READINGS.findall(b"\n" + raw):
            line += 1
            if meter:
                meter_id, reading_type = meter.decode(), kind.decode()
                meters.append(MeterGroup(meter_id, reading_type, line))
                line += 1
            md_at, md_count, flag, method, reason, status, after = tails.get(tail) or self._tail(tail)
            readings.append(
                Reading(
                    mpan, bsc, meter_id, reading_type, register.decode(), dates.anytime(at, it.READING_AT),
                    Decimal(value.decode()), md_at, md_count, flag, method, reason, status, line,
                )
            )  # fmt: skip
            line += after
        if line - first_line + 1 != raw.count(b"\n"):
            return None
        return tuple(meters), tuple(readings)

    def _tail(self, raw: bytes) -> _Tail:
        """The values after a reading's value, with its 032's, and the lines after the 030."""
        tail, _, checked = raw.partition(b"\n032|")
        md_at, md_count, flag, method, _ = tail.split(b"|")
        reason, status = checked.split(b"|")[:2] if checked else (b"", b"")
        values: _Tail = (
            self._dates.anytime(md_at, it.MD_RESET_AT) if md_at else None,
            int(md_count) if md_count else None,
            it.OPTIONAL_BOOLEANS[flag],
            method.decode(),
            reason.decode() if checked else None,
            it.BOOLEANS[status] if checked else None,
            1 if checked else 0,
        )
        if len(self._tails) < _DATES_KEPT_MAX:
            self._tails[raw] = values
        return values

    def _any(
        self, raw: bytes, first_line: int, mpan: str, bsc: str
    ) -> tuple[tuple[MeterGroup, ...], tuple[Reading, ...]]:
        """Line by line, for any shape the fast path accepts."""
        meters: list[MeterGroup] = []
        readings: list[Reading] = []
        head = (mpan, bsc, "", "")  # the 026 and 028 values each reading repeats
        pending: tuple[list[bytes], int] | None = None  # an 030 waiting to see if an 032 follows
        for line, text in enumerate(raw.split(b"\n")[:-1], first_line):
            tag = text[:3]
            if pending is not None:
                reading_032 = text.split(b"|") if tag == b"032" else None
                readings.append(self._reading(head, *pending, reading_032))
                pending = None
            if tag == b"028":
                fields = text.split(b"|")
                meter = MeterGroup(fields[1].decode(), fields[2].decode(), line)
                meters.append(meter)
                head = (mpan, bsc, meter.meter_id, meter.reading_type)
            elif tag == b"030":
                pending = (text.split(b"|"), line)
        if pending is not None:
            readings.append(self._reading(head, *pending, None))
        return tuple(meters), tuple(readings)

    def _reading(
        self, head: tuple[str, str, str, str], f: list[bytes], line: int, f032: list[bytes] | None
    ) -> Reading:
        dates = self._dates
        return Reading(
            *head,
            f[1].decode(),
            dates.anytime(f[2], it.READING_AT),
            it.register_reading(f[3]),
            dates.anytime(f[4], it.MD_RESET_AT) if f[4] else None,
            int(f[5]) if f[5] else None,
            it.OPTIONAL_BOOLEANS[f[6]],
            f[7].decode(),
            None if f032 is None else f032[1].decode(),
            None if f032 is None else it.BOOLEANS[f032[2]],
            line,
        )
