"""Structure rules: parents, order, envelope and trailer, and the per-MPAN-group isolation policy."""

from collections.abc import Iterator

import pytest

from cloud.d0010 import D0010Import, ImportStatus
from cloud.d0010.blocks import LINES_PER_BATCH
from tests.unit.d0010.flowfiles import HEADER, MPAN_A, MPAN_B, MPAN_C, NOW, flow_file, group, messages, run


def test_orphan_028_before_any_026_is_reported_with_its_line() -> None:
    flows, report = run(flow_file("028|S95105287|C|", "030|S|20250330000000|1.0|||T|N|", *group(MPAN_A)))

    assert [flow.mpan_core for flow in flows] == [MPAN_A]
    assert report.status is ImportStatus.PARTIAL
    assert messages(report)[0] == (2, "structure", "an 028 meter group must follow an 026 MPAN group")
    assert messages(report)[1][0] == 3  # the 030 under it has no meter either
    assert report.rejected_readings == 1


def test_030_directly_under_026_rejects_that_group_only() -> None:
    bad = [f"026|{MPAN_B}|V|", "030|S|20250330000000|1.0|||T|N|", "032|01|T|", "028|M1|C|"]
    flows, report = run(flow_file(*group(MPAN_A), *bad, *group(MPAN_C)))

    assert [flow.mpan_core for flow in flows] == [MPAN_A, MPAN_C]
    assert (7, "structure", "an 030 register reading must follow an 028 meter group") in messages(report)
    assert report.status is ImportStatus.PARTIAL


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (["032|01|T|"], 6, "an 032 must directly follow its 030, once"),
        (["033|01||", "032|01|T|"], 7, "an 032 must directly follow its 030, once"),
        (["027|01||"], 6, "an 027 must follow its 026 MPAN group, before any 028"),
        (["029|01||"], 6, "an 029 must follow its 028 meter group, before any 030"),
    ],
)
def test_children_out_of_order_reject_their_group(body: list[str], line: int, message: str) -> None:
    flows, report = run(flow_file(*group(MPAN_A), *body))

    assert flows == []
    assert (line, "structure", message) in messages(report)
    assert report.status is ImportStatus.REJECTED


def test_026_without_any_028_is_rejected() -> None:
    flows, report = run(flow_file(f"026|{MPAN_B}|V|", *group(MPAN_A)))

    assert [flow.mpan_core for flow in flows] == [MPAN_A]
    assert (2, "structure", "an 026 MPAN group needs at least one 028 meter") in messages(report)


def test_unknown_record_type_rejects_the_group_it_sits_in() -> None:
    flows, report = run(flow_file(*group(MPAN_A), "031|S|1|", *group(MPAN_B)))

    assert [flow.mpan_core for flow in flows] == [MPAN_B]
    assert (6, "structure", "unknown record type '031' in a D0010 flow") in messages(report)
    assert report.groups.other == 1
    assert report.trailer is not None and report.trailer.ok  # unknown lines still count as lines


def test_missing_header_rejects_the_file_but_still_reports_the_rest() -> None:
    lines = flow_file(*group(MPAN_A), "030|S|2025|1|||T|N|")[1:]

    flows, report = run(lines)

    assert flows == []
    assert report.status is ImportStatus.REJECTED
    assert messages(report)[0] == (1, "structure", "the file must start with a ZHV header record")
    assert any(issue.field == "J0016 reading date & time" for issue in report.errors)


def test_missing_trailer_rejects_the_file_so_the_caller_rolls_back() -> None:
    flows, report = run(flow_file(*group(MPAN_A), *group(MPAN_B))[:-1])

    # The first group was complete (and handed out) before the end showed the trailer missing;
    # the last one is held back, as it may be cut short.
    assert [flow.mpan_core for flow in flows] == [MPAN_A]
    assert report.status is ImportStatus.REJECTED
    assert messages(report)[-1][2] == "the file ends without a ZPT trailer (truncated?)"


def test_trailer_counts_that_disagree_reject_the_file() -> None:
    trailer = "ZPT|QF00000200|9|CK01|1|20250401090500|"
    _, report = run(flow_file(*group(MPAN_A), trailer=trailer))

    assert report.status is ImportStatus.REJECTED
    assert report.trailer is not None and not report.trailer.ok
    assert (report.trailer.group_count_declared, report.trailer.group_count_found) == (9, 4)
    assert "trailer declares 9 group lines and 1 flows; the file has 4 and 1" in messages(report)[0][2]


def test_trailer_with_another_file_id_rejects_the_file() -> None:
    _, report = run(flow_file(*group(MPAN_A), trailer="ZPT|OTHER|4|CK01|1|20250401090500|"))

    assert report.status is ImportStatus.REJECTED
    assert messages(report)[0][1] == "ZPT file id"


def test_empty_input_and_data_after_the_trailer_are_rejected() -> None:
    assert run([])[1].status is ImportStatus.REJECTED
    assert messages(run([])[1]) == [(0, "structure", "no ZHV header: the file is empty")]

    _, report = run([*flow_file(*group(MPAN_A)), b"026|x|\n", b"ZPT|again|\n"])

    assert report.status is ImportStatus.REJECTED
    assert messages(report) == [
        (7, "structure", "data after the ZPT trailer (this line and any after it are ignored)")
    ]


def test_second_header_rejects_the_file() -> None:
    _, report = run(flow_file(*group(MPAN_A), HEADER, *group(MPAN_B)))

    assert report.status is ImportStatus.REJECTED
    assert (6, "structure", "a second ZHV header: one flow per file") in messages(report)


def test_wrong_flow_version_is_named() -> None:
    _, report = run(flow_file(*group(MPAN_A), header=HEADER.replace("D0010002", "D0010001")))

    assert report.status is ImportStatus.REJECTED
    assert messages(report)[0][1:] == (
        "ZHV flow id",
        "expected D0010002 (D0010 version 002), got 'D0010001' (the header is unusable)",
    )


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_line_endings_final_newline_and_trailing_empty_fields_are_accepted(ending: str) -> None:
    body = [f"026|{MPAN_A}|V||||", "028|F75A 00802|C", "030|S|20250330000000|5|||T|N|", "032|01|T|||"]
    lines = flow_file(*body, ending=ending)
    lines[-1] = lines[-1].rstrip(b"\r\n")  # no newline after the trailer

    flows, report = run(lines)

    assert report.status is ImportStatus.IMPORTED, report.errors
    assert flows[0].readings[0].meter_id == "F75A 00802"


def test_data_in_an_extra_field_is_an_error() -> None:
    _, report = run(flow_file(*group(MPAN_A, "030|S|20250330000000|5|||T|N|extra|", "032|01|T|")))

    assert messages(report)[1] == (
        4,
        "record layout",
        "expected 7 fields after the record type, found data in field 8: 'extra'",
    )


def test_blank_line_in_the_body_is_a_warning_and_not_counted() -> None:
    lines = flow_file(*group(MPAN_A))
    lines.insert(2, b"\n")
    lines[-1] = b"ZPT|QF00000200|4|CK01|1|20250401090500|\n"

    _, report = run(lines)

    assert report.status is ImportStatus.IMPORTED
    assert [(issue.line, issue.message) for issue in report.warnings] == [(3, "blank line ignored")]


def test_groups_are_yielded_before_the_whole_file_is_read() -> None:
    consumed: list[bytes] = []
    body = [line for _ in range(3 * LINES_PER_BATCH // 4) for line in group(MPAN_A)]

    def lines() -> Iterator[bytes]:
        for line in flow_file(*body):
            consumed.append(line)
            yield line

    flows = D0010Import("t.uff", now=NOW).flows(lines())
    first = next(flows)

    assert first.mpan_core == MPAN_A
    # Read ahead by one batch of lines at most, never the whole file: memory stays flat.
    assert len(consumed) <= LINES_PER_BATCH < len(body)
