"""Data-item rules: each bad value rejects its MPAN group with a message naming item and rule."""

from datetime import UTC, datetime

import pytest

from cloud.d0010 import ImportStatus
from cloud.d0010.items import mpan_check_digit
from tests.unit.d0010.flowfiles import MPAN_A, flow_file, group, messages, run

GOOD_030 = "030|S|20250330000000|100.0|||T|N|"


def _reading_error(line_030: str, line_032: str = "032|01|T|") -> tuple[str, str]:
    """(field, message) of the error on a single bad reading line."""
    flows, report = run(flow_file(*group(MPAN_A, line_030, line_032)))
    assert flows == [] and report.status is ImportStatus.REJECTED
    bad = [issue for issue in report.errors if issue.field != "026 MPAN group"]
    assert len(bad) == 1, report.errors
    return bad[0].field, bad[0].message


@pytest.mark.parametrize(
    ("mpan", "message"),
    [
        ("1200023305968", "check digit of 1200023305968 should be 7"),
        ("120002330596", "expected 13 digits, got '120002330596'"),
        ("12000233059A7", "expected 13 digits, got '12000233059A7'"),
    ],
)
def test_bad_mpan_core_is_named(mpan: str, message: str) -> None:
    flows, report = run(flow_file(*group(mpan)))

    assert flows == []
    assert (2, "J0003 MPAN core", message) in messages(report)


def test_mpan_check_digit_matches_the_public_sample() -> None:
    for core in ("1200023305967", "1900001059816", "2000055433806", "1013044353630"):
        assert mpan_check_digit(core[:12].encode()) == int(core[12])


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("030|S|20250229000000|1.0|||T|N|", "J0016 reading date & time", "20250229000000 is not a real date"),
        ("030|S|20250330240000|1.0|||T|N|", "J0016 reading date & time", "is not a real date"),
        ("030|S|2025-03-30|1.0|||T|N|", "J0016 reading date & time", "expected ccyymmddhhmmss (14 digits)"),
        (
            "030|S|20260102000000|1.0|||T|N|",
            "J0016 reading date & time",
            "2026-01-02 00:00:00 is in the future",
        ),
        ("030|S|20250330000000|123456789.0|||T|N|", "J0040 register reading", "NUM(9,1)"),
        ("030|S|20250330000000|1.25|||T|N|", "J0040 register reading", "NUM(9,1)"),
        ("030|S|20250330000000|1e5|||T|N|", "J0040 register reading", "NUM(9,1)"),
        ("030|S|20250330000000||||T|N|", "J0040 register reading", "got an empty field"),
        ("030|SSS|20250330000000|1.0|||T|N|", "J0010 meter register id", "expected 1 or 2 letters or digits"),
        ("030|S|20250330000000|1.0||1000|T|N|", "J1013 number of MD resets", "expected up to 3 digits"),
        ("030|S|20250330000000|1.0|||Y|N|", "J0045 meter reading flag", "expected T or F or empty, got 'Y'"),
        ("030|S|20250330000000|1.0|||T|X|", "J1888 reading method", "expected one of N, P, got 'X'"),
        ("030|S|20250330000000|1.0|||T||", "J1888 reading method", "got an empty field"),
        ("030|S|20250330000000|1.0|2025033|1|T|N|", "J0044 MD reset date & time", "expected ccyymmddhhmmss"),
    ],
)
def test_bad_030_items_are_named(line: str, field: str, message: str) -> None:
    got_field, got_message = _reading_error(line)

    assert got_field == field
    assert message in got_message


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("032|28|T|", "J0332 meter reading reason code", "expected one of 01…27"),
        ("032|01||", "J0047 meter reading status", "expected T or F, got an empty field"),
    ],
)
def test_bad_032_items_are_named(line: str, field: str, message: str) -> None:
    assert _reading_error(GOOD_030, line)[0] == field
    assert message in _reading_error(GOOD_030, line)[1]


def test_future_is_judged_in_uk_local_time() -> None:
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): a midnight read of 1 July is not ahead.
    now = datetime(2025, 6, 30, 23, 30, tzinfo=UTC)
    line = "030|S|20250701000000|1.0|||T|N|"

    flows, report = run(flow_file(*group(MPAN_A, line, "032|01|T|")), now=now)

    assert report.status is ImportStatus.IMPORTED
    assert flows[0].readings[0].reading_at == datetime(2025, 7, 1)


def test_meter_id_keeps_inner_spaces_and_is_limited_to_ten_characters() -> None:
    flows, _ = run(flow_file(*group(MPAN_A, meter="D03A 09936")))
    assert flows[0].meters[0].meter_id == "D03A 09936"

    _, report = run(flow_file(*group(MPAN_A, meter="D03A  099361")))
    assert report.errors[1].field == "J0004 meter id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (["026|1400000000010|X|", "028|M|C|", GOOD_030, "032|01|T|"], "J0022 BSC validation status"),
        (["026|1400000000010|V|", "028|M|O|", GOOD_030, "032|01|T|"], "J0171 reading type"),
        (["026|1400000000010|V|", "027|59||", "028|M|C|"], "J0024 site visit check code"),
        (["026|1400000000010|V|", "027|01|" + "x" * 201 + "|", "028|M|C|"], "J0012 additional information"),
    ],
)
def test_code_lists_and_text_lengths(body: list[str], field: str) -> None:
    _, report = run(flow_file(*body))

    assert field in [issue.field for issue in report.errors]


def test_strict_import_turns_missing_032_and_empty_checksum_into_errors() -> None:
    lines = flow_file(*group(MPAN_A, GOOD_030), trailer="ZPT|QF00000200|3||1|20250401090500|")

    lenient = run(lines)[1]
    strict_flows, strict = run(lines, strict=True)

    assert lenient.status is ImportStatus.IMPORTED
    assert [issue.field for issue in lenient.warnings] == ["structure", "ZPT checksum"]
    assert strict.status is ImportStatus.REJECTED and strict_flows == []
    assert [issue.message for issue in strict.errors] == [
        "MPAN group rejected: none of its 1 reading(s) is imported (first error on line 4)",
        "no 032 validation result follows this 030 register reading (strict import)",
        "the checksum is empty (strict import)",
    ]
