"""Writes readings back out as a D0010 flow that this package (and the catalogue) accepts.

Every value goes through the same data-item checks the importer applies, so the writer cannot
produce a file its own importer would reject. Consecutive readings with the same MPAN core and
BSC status share one 026 group, and consecutive readings of the same meter one 028 group: give
the readings in that order (as the importer yields them) to get the fewest groups.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from cloud.d0010 import items as it
from cloud.d0010.envelope import FLOW_VERSION, TrailerRecord, parse_header
from cloud.d0010.errors import FieldError, WriteError
from cloud.d0010.model import FlowHeader, Reading

_FORBIDDEN = (b"|", b"\r", b"\n")


def write_d0010(
    readings: Iterable[Reading],
    header: FlowHeader,
    *,
    completed_at: datetime,
    line_ending: bytes = b"\n",
) -> Iterator[bytes]:
    """The lines of a D0010 file (each ending with ``line_ending``): header, groups, trailer.

    The trailer carries the counts of what was written and an empty checksum (our reference does
    not define its algorithm). Raises ``WriteError`` naming the reading that cannot be written.
    """
    dates = it.DateTimes(datetime.max)
    yield _line(_header_fields(header), line_ending, "header")
    group_count = flow_count = 0
    flow_key: tuple[str, str] | None = None
    meter_key: tuple[str, str] | None = None
    for reading in readings:
        if (reading.mpan_core, reading.bsc_validation_status) != flow_key:
            flow_key = (reading.mpan_core, reading.bsc_validation_status)
            meter_key = None
            flow_count += 1
            group_count += 1
            yield _line(_group_026(reading), line_ending, _where(reading))
        if (reading.meter_id, reading.reading_type) != meter_key:
            meter_key = (reading.meter_id, reading.reading_type)
            group_count += 1
            yield _line(_group_028(reading), line_ending, _where(reading))
        for fields in _groups_030_032(reading, dates):
            group_count += 1
            yield _line(fields, line_ending, _where(reading))
    trailer = [b"ZPT", header.file_id.encode(), b"%d" % group_count, b"", b"%d" % flow_count]
    trailer.append(_stamp(completed_at))
    _checked("trailer", lambda: TrailerRecord(trailer, dates))
    yield _line(trailer, line_ending, "trailer")


def _header_fields(header: FlowHeader) -> list[bytes]:
    fields = [
        b"ZHV", header.file_id.encode(), FLOW_VERSION, header.from_role.encode(),
        header.from_participant.encode(), header.to_role.encode(), header.to_participant.encode(),
        _stamp(header.created_at), header.sending_application.encode(),
        header.receiving_application.encode(), header.broadcast.encode(), header.test_flag.encode(),
    ]  # fmt: skip
    _checked("header", lambda: parse_header(fields, it.DateTimes(datetime.max)))
    return fields


def _group_026(reading: Reading) -> list[bytes]:
    fields = [b"026", reading.mpan_core.encode(), reading.bsc_validation_status.encode()]
    _checked(_where(reading), lambda: it.mpan_core(fields[1]))
    _checked(_where(reading), lambda: it.code(fields[2], it.BSC_STATUSES, it.BSC_STATUS))
    return fields


def _group_028(reading: Reading) -> list[bytes]:
    fields = [b"028", reading.meter_id.encode(), reading.reading_type.encode()]
    _checked(_where(reading), lambda: it.meter_id(fields[1]))
    _checked(_where(reading), lambda: it.code(fields[2], it.READING_TYPES, it.READING_TYPE))
    return fields


def _groups_030_032(reading: Reading, dates: it.DateTimes) -> Iterator[list[bytes]]:
    where = _where(reading)
    flag = {None: b"", True: b"T", False: b"F"}[reading.meter_reading_flag]
    fields_030 = [
        b"030", reading.register_id.encode(), _stamp(reading.reading_at),
        format(reading.register_reading, "f").encode(),
        b"" if reading.md_reset_at is None else _stamp(reading.md_reset_at),
        b"" if reading.md_reset_count is None else str(reading.md_reset_count).encode(),
        flag, reading.reading_method.encode(),
    ]  # fmt: skip
    _checked(where, lambda: it.register_id(fields_030[1]))
    _checked(where, lambda: dates.required(fields_030[2], it.READING_AT))
    _checked(where, lambda: it.register_reading(fields_030[3]))
    _checked(where, lambda: dates.optional(fields_030[4], it.MD_RESET_AT))
    _checked(where, lambda: it.md_resets(fields_030[5]))
    _checked(where, lambda: it.code(fields_030[7], it.READING_METHODS, it.READING_METHOD))
    yield fields_030
    if reading.reason_code is None and reading.reading_status is None:
        return
    if reading.reason_code is None or reading.reading_status is None:
        raise WriteError(f"{where}: an 032 needs both a reason code and a reading status")
    fields_032 = [b"032", reading.reason_code.encode(), b"T" if reading.reading_status else b"F"]
    _checked(where, lambda: it.code(fields_032[1], it.REASON_CODES, it.REASON_CODE))
    yield fields_032


def _line(fields: list[bytes], line_ending: bytes, where: str) -> bytes:
    for field in fields:
        if any(forbidden in field for forbidden in _FORBIDDEN):
            record = fields[0].decode()
            raise WriteError(f"{where}: {record} record: a field may not contain '|' or a line break")
    return b"|".join(fields) + b"|" + line_ending


def _stamp(value: datetime) -> bytes:
    return b"%04d%02d%02d%02d%02d%02d" % (
        value.year, value.month, value.day, value.hour, value.minute, value.second,
    )  # fmt: skip


def _checked(where: str, check: Callable[[], object]) -> None:
    """Run an importer check, turning its complaint into a WriteError that says which record."""
    try:
        check()
    except FieldError as exc:
        raise WriteError(f"{where}: {exc.field}: {exc.message}") from None


def _where(reading: Reading) -> str:
    return f"reading of MPAN {reading.mpan_core} meter '{reading.meter_id}' register {reading.register_id}"
