"""The fast path changes nothing but speed: for any file, the same groups and the same report.

Files are generated from lines that are mostly valid, with every kind of bad value the catalogue
rules out mixed in (bad check digits, impossible or future dates, codes off their lists, numbers
out of format, missing or misplaced records, site visits, CRLF endings, trailing fields, junk), and
then mutated as in the fuzz test. Each is imported field by field (``fast=False``, the reference)
and through the fast path, as a list of lines and as a file read in pieces of random size.
"""

import io
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.d0010 import D0010Import, ImportReport, ImportSettings, ImportStatus, Reading
from cloud.d0010.blocks import PENDING_BYTES_MAX
from cloud.d0010.items import mpan_check_digit
from tests.property.test_d0010_fuzz import MUTATIONS

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
HEADER = b"ZHV|QF00000200|D0010002|M|ABCD|X|QNTY|20250401090000||||OPER|"


def _mpan(first: int) -> bytes:
    twelve = b"%012d" % first
    return twelve + b"%d" % mpan_check_digit(twelve)


MPANS = [_mpan(140000000001), _mpan(110000000002), _mpan(160000123456), b"1400000000011", b"14000000000"]
DATES = [
    b"20250330000000", b"20250331235959", b"20240229120000", b"20251231235959",
    b"20250230000000", b"20250331240000", b"20270101000000", b"2025033100000",
]  # fmt: skip


@st.composite
def reading_lines(draw: st.DrawFn) -> list[bytes]:
    fields = [
        b"030",
        draw(st.sampled_from([b"S", b"DY", b"NT", b"01", b"", b"A-"])),
        draw(st.sampled_from(DATES)),
        draw(
            st.sampled_from([b"100.0", b"012345.6", b"99999999.9", b"0", b"123456789", b"-1", b"1.55", b".5"])
        ),
        draw(st.sampled_from([b"", b"", b"20250301120000", b"20250229000000", b"20270101000000"])),
        draw(st.sampled_from([b"", b"2", b"999", b"1234", b"x"])),
        draw(st.sampled_from([b"T", b"F", b"", b"X"])),
        draw(st.sampled_from([b"N", b"P", b"Q"])),
    ]
    lines = [b"|".join(fields) + draw(st.sampled_from([b"|", b"|", b"||", b"", b"| |"]))]
    if draw(st.booleans()) or draw(st.booleans()):
        reason = draw(st.sampled_from([b"01", b"27", b"28", b"1"]))
        lines.append(b"032|%s|%s|" % (reason, draw(st.sampled_from([b"T", b"F", b"X"]))))
    if not draw(st.integers(0, 5)):
        lines.append(draw(site_visit(b"033")))
    return lines


@st.composite
def site_visit(draw: st.DrawFn, tag: bytes) -> bytes:
    code = draw(st.sampled_from([b"01", b"58", b"59", b"88", b"00"]))
    text = draw(st.sampled_from([b"", b"Read from outside", b"x" * 201, b"tab\there"]))
    return b"%s|%s|%s|" % (tag, code, text)


@st.composite
def group_lines(draw: st.DrawFn) -> list[bytes]:
    bsc = draw(st.sampled_from([b"V", b"U", b"F", b"X"]))
    lines = [b"026|%s|%s|" % (draw(st.sampled_from(MPANS)), bsc)]
    if not draw(st.integers(0, 5)):
        lines.append(draw(site_visit(b"027")))
    for _ in range(draw(st.integers(0, 3))):
        meter = draw(st.sampled_from([b"S95105287", b"K 0005", b"A\\B  7", b"   ", b"ABCDEFGHIJK", b"M9"]))
        lines.append(b"028|%s|%s|" % (meter, draw(st.sampled_from([b"C", b"R", b"O", b"Z"]))))
        if not draw(st.integers(0, 5)):
            lines.append(draw(site_visit(b"029")))
        for _ in range(draw(st.integers(0, 3))):
            lines.extend(draw(reading_lines()))
    return lines


@st.composite
def flow_files(draw: st.DrawFn) -> list[bytes]:
    body = [line for group in draw(st.lists(group_lines(), max_size=8)) for line in group]
    flows = sum(1 for line in body if line.startswith(b"026"))
    lines = [HEADER, *body, b"ZPT|QF00000200|%d|CK01|%d|20250401090500|" % (len(body), flows)]
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines = [line + ending for line in lines]
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=2)):
        if lines:
            mutation(draw(st.data()), lines)
    return lines


class PieceReader:
    """A binary stream that, like a pipe or socket, returns fewer bytes than asked for."""

    def __init__(self, data: bytes, pieces: list[int]) -> None:
        self._data = io.BytesIO(data)
        self._pieces = pieces or [1]
        self._calls = 0

    def read(self, size: int = -1) -> bytes:
        piece = self._pieces[self._calls % len(self._pieces)]
        self._calls += 1
        return self._data.read(min(size, piece) if size >= 0 else piece)


def _import(source: object, *, fast: bool, strict: bool) -> tuple[list[tuple[object, ...]], ImportReport]:
    importer = D0010Import("f.uff", now=NOW, settings=ImportSettings(strict=strict), fast=fast)
    flows = [
        (flow.mpan_core, flow.bsc_validation_status, flow.line, flow.meters, flow.readings)
        for flow in importer.flows(source)  # type: ignore[arg-type]
    ]
    return flows, importer.report()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=flow_files(), strict=st.booleans(), pieces=st.lists(st.integers(1, 400), max_size=5))
def test_fast_path_gives_the_same_groups_and_report(
    lines: list[bytes], strict: bool, pieces: list[int]
) -> None:
    reference = _import(list(lines), fast=False, strict=strict)
    data = b"".join(lines)
    # The same bytes as a file: lines are what lies between LFs (a mutation may have merged some).
    file_reference = _import(list(io.BytesIO(data)), fast=False, strict=strict)

    assert _import(list(lines), fast=True, strict=strict) == reference
    assert _import(PieceReader(data, pieces), fast=True, strict=strict) == file_reference


def test_a_large_valid_file_takes_the_fast_path_and_matches_the_reference() -> None:
    body: list[bytes] = []
    for n in range(3000):  # several blocks' worth, so groups straddle the reads
        body += [b"026|%s|V|" % _mpan(100000000000 + n), b"028|M%d|C|" % n]
        body += [b"030|DY|20250330000000|%d.5|||T|N|" % n, b"032|01|T|", b"030|NT|20250330000000|7|||T|N|"]
    lines = [HEADER, *body, b"ZPT|QF00000200|%d|CK01|3000|20250401090500|" % len(body)]
    data = b"\n".join(lines) + b"\n"

    importer = D0010Import("f.uff", now=NOW)
    fast_groups = sum(flow.raw is not None for flow in importer.flows(PieceReader(data, [65536, 1000, 777])))
    flows, report = _import(PieceReader(data, [65536, 1000, 777]), fast=True, strict=False)
    reference = _import(data.splitlines(keepends=True), fast=False, strict=False)

    assert fast_groups == 2999  # every group but the last, which is read with the trailer
    assert (flows, report) == reference
    assert report.readings == 6000 and report.warnings_total == 3000  # each second 030 lacks its 032
    readings: list[Reading] = [reading for flow in flows for reading in flow[4]]  # type: ignore[attr-defined]
    assert readings[-1].line == len(body) + 1 and readings[-1].reason_code is None


def test_a_group_longer_than_a_block_is_read_line_by_line_with_the_same_result() -> None:
    # No group starts within PENDING_BYTES_MAX bytes: the input is passed on without one.
    readings = PENDING_BYTES_MAX // 30  # lines of 37 bytes or more: more than the limit
    body = [b"026|%s|V|" % _mpan(100000000000), b"028|M1|C|"]
    body += [b"030|%02d|20250330000000|%d.5|||T|N|" % (n % 100, n) for n in range(readings)]
    lines = [HEADER, *body, b"ZPT|QF00000200|%d|CK01|1|20250401090500|" % len(body)]
    data = b"\n".join(lines) + b"\n"

    fast = _import(PieceReader(data, [1 << 20]), fast=True, strict=False)

    assert fast == _import(data.splitlines(keepends=True), fast=False, strict=False)
    assert fast[1].readings == readings and fast[1].status is ImportStatus.IMPORTED
