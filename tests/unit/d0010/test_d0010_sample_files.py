"""The public sample flow and our own fixtures import as a reader of the files would expect.

The public sample (``DTC5259515123502080915D0010.uff``, the flow many open-source D0010 importers
ship) is read from the workplace's reference data beside the checkout: the public copies carry no
licence, so the project does not redistribute it (see tests/fixtures/d0010/README.md).
"""

import json
from pathlib import Path

import pytest

from cloud.d0010 import ImportStatus
from tests.support.paths import D0010_PUBLIC_SAMPLE
from tests.unit.d0010.flowfiles import D0010_FIXTURES, run

SAMPLE = D0010_PUBLIC_SAMPLE
needs_public_sample = pytest.mark.skipif(
    not SAMPLE.exists(), reason=f"public sample flow not present at {SAMPLE} (not redistributed: no licence)"
)


def _lines(name: str) -> list[bytes]:
    path = SAMPLE if name == SAMPLE.name else D0010_FIXTURES / name
    with Path(path).open("rb") as file:
        return list(file)


@needs_public_sample
def test_public_sample_imports_every_reading_counted_by_hand() -> None:
    # Counted by reading the file: 11 026 groups, 11 028 meters, 13 030 readings, no 032s.
    flows, report = run(_lines(SAMPLE.name))

    assert report.status is ImportStatus.IMPORTED
    assert (report.mpans, report.meters, report.readings) == (11, 11, 13)
    assert report.errors == ()
    assert report.trailer is not None and report.trailer.ok
    assert (report.trailer.group_count_declared, report.trailer.flow_count_declared) == (35, 11)
    assert sum(len(flow.readings) for flow in flows) == 13
    # 13 readings without an 032 and an empty trailer checksum: warnings, not errors.
    assert report.warnings_total == 14


@needs_public_sample
def test_public_sample_header_and_first_reading() -> None:
    flows, report = run(_lines(SAMPLE.name))

    assert report.header is not None
    assert (report.header.file_id, report.header.from_role, report.header.from_participant) == (
        "0000475656",
        "D",
        "UDMS",
    )
    assert report.header.test_flag == "OPER" and not report.header.is_test
    first = flows[0].readings[0]
    assert (first.mpan_core, first.meter_id, first.register_id) == ("1200023305967", "F75A 00802", "S")
    assert str(first.register_reading) == "56311.0"
    assert first.reading_at.isoformat() == "2016-02-22T00:00:00"
    two_registers = next(flow for flow in flows if flow.mpan_core == "2200031930792")
    assert [r.register_id for r in two_registers.readings] == ["01", "02"]


def test_all_groups_fixture_with_crlf_and_no_final_newline() -> None:
    flows, report = run(_lines("all_groups.uff"))

    assert report.status is ImportStatus.IMPORTED
    assert (report.mpans, report.meters, report.readings) == (2, 3, 4)
    assert report.groups.g027 == report.groups.g029 == report.groups.g033 == 1
    assert report.header is not None and report.header.is_test
    md_read = flows[0].readings[2]
    assert md_read.meter_id == "K 0005"
    assert (md_read.md_reset_count, md_read.meter_reading_flag, md_read.reading_method) == (2, False, "P")
    assert (md_read.reason_code, md_read.reading_status) == ("05", False)
    assert md_read.reading_at.isoformat() == "2025-03-31T23:59:59"
    assert [issue.line for issue in report.warnings] == [16]  # the one 030 without its 032


def test_partial_fixture_drops_only_the_bad_mpan_group() -> None:
    flows, report = run(_lines("partial.uff"))

    assert report.status is ImportStatus.PARTIAL
    assert [flow.mpan_core for flow in flows] == ["1400000000010", "1600001234564"]
    assert (report.rejected_mpans, report.rejected_readings) == (1, 2)
    assert [(issue.line, issue.field) for issue in report.errors] == [
        (6, "026 MPAN group"),
        (8, "J0016 reading date & time"),
        (10, "J0040 register reading"),
    ]


def test_json_report_has_the_fields_the_issue_asks_for() -> None:
    _, report = run(_lines("partial.uff"))

    document = json.loads(report.to_json())

    assert document["file"] == "test.uff" and document["status"] == "partial"
    assert {"mpans", "meters", "readings", "errors", "warnings", "header", "trailer"} <= document.keys()
    assert document["header"]["created_at"] == "2025-04-01T09:00:00"
    assert document["trailer"]["ok"] is True
    error = document["errors"][1]
    assert error == {
        "line": 8,
        "field": "J0016 reading date & time",
        "message": "20250230000000 is not a real date and time (day is out of range for month)",
        "raw": "030|S|20250230000000|200.0|||T|N|",
    }
