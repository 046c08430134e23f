"""Export: the writer's files import back to the same readings, and it refuses what it cannot encode."""

from datetime import datetime
from decimal import Decimal

import msgspec
import pytest

from cloud.d0010 import FlowHeader, ImportReport, ImportStatus, Reading, WriteError, write_d0010
from tests.unit.d0010.flowfiles import D0010_FIXTURES, run

HEADER = FlowHeader("QX00000001", "X", "QNTY", "M", "ABCD", datetime(2026, 1, 1, 9, 0))
COMPLETED = datetime(2026, 1, 1, 9, 5)


def _readings(name: str) -> list[Reading]:
    with (D0010_FIXTURES / name).open("rb") as file:
        flows, report = run(list(file))
    assert report.status is ImportStatus.IMPORTED
    return [reading for flow in flows for reading in flow.readings]


def _reimported(readings: list[Reading], **options: bytes) -> tuple[list[Reading], ImportReport]:
    lines = list(write_d0010(readings, HEADER, completed_at=COMPLETED, **options))
    flows, report = run(lines)
    return [reading for flow in flows for reading in flow.readings], report


def _without_lines(readings: list[Reading]) -> list[Reading]:
    # Line numbers differ between files by design; every other field must survive the round trip.
    return [msgspec.structs.replace(reading, line=0) for reading in readings]


@pytest.mark.parametrize("fixture", ["all_groups.uff"])
def test_import_export_import_reproduces_the_readings(fixture: str) -> None:
    original = _readings(fixture)

    again, report = _reimported(original)

    assert _without_lines(again) == _without_lines(original)
    assert report.status is ImportStatus.IMPORTED


def test_written_file_has_header_groups_and_a_trailer_with_true_counts() -> None:
    lines = list(
        write_d0010(_readings("all_groups.uff"), HEADER, completed_at=COMPLETED, line_ending=b"\r\n")
    )

    assert lines[0] == b"ZHV|QX00000001|D0010002|X|QNTY|M|ABCD|20260101090000||||OPER|\r\n"
    assert [line[:3] for line in lines[1:5]] == [b"026", b"028", b"030", b"032"]
    # 2 × 026, 3 × 028, 4 × 030, 3 × 032 = 12 groups; 2 flows; checksum left empty.
    assert lines[-1] == b"ZPT|QX00000001|12||2|20260101090500|\r\n"


def _reading(**changes: object) -> Reading:
    base = Reading(
        "1400000000010", "V", "M1", "C", "S", datetime(2025, 3, 30), Decimal("1.0"),
        None, None, True, "N", None, None, 0,
    )  # fmt: skip
    return msgspec.structs.replace(base, **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mpan_core": "1400000000011"}, "J0003 MPAN core: check digit of 1400000000011 should be 0"),
        ({"meter_id": "M|1"}, "a field may not contain '|' or a line break"),
        ({"meter_id": "METER-00001"}, "J0004 meter id"),
        ({"register_reading": Decimal("1.25")}, "J0040 register reading"),
        ({"register_reading": Decimal("-1")}, "J0040 register reading"),
        ({"reason_code": "01"}, "an 032 needs both a reason code and a reading status"),
        ({"reason_code": "99", "reading_status": True}, "J0332 meter reading reason code"),
    ],
)
def test_writer_refuses_readings_it_cannot_encode(changes: dict[str, object], message: str) -> None:
    with pytest.raises(WriteError, match="reading of MPAN") as raised:
        list(write_d0010([_reading(**changes)], HEADER, completed_at=COMPLETED))

    assert message in str(raised.value)


def test_whole_readings_and_exponent_forms_are_written_in_plain_digits() -> None:
    again, _ = _reimported([_reading(register_reading=Decimal("1E+3"))])

    assert again[0].register_reading == Decimal("1000")
