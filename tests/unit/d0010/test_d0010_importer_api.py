"""How the storage layer drives an import: one pass, a report at the end, bounded issues."""

from datetime import datetime

import pytest

from cloud.d0010 import D0010Import, ImportSettings, ImportStatus, ImportUsageError
from tests.unit.d0010.flowfiles import MPAN_A, NOW, flow_file, group


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ImportUsageError, match="timezone-aware"):
        D0010Import("a.uff", now=datetime(2026, 1, 1))


def test_report_before_the_flows_are_drained_and_a_second_pass_are_refused() -> None:
    importer = D0010Import("a.uff", now=NOW)
    flows = importer.flows(flow_file(*group(MPAN_A)))
    with pytest.raises(ImportUsageError, match=r"a\.uff: read every flow"):
        importer.report()

    list(flows)

    assert importer.report().status is ImportStatus.IMPORTED
    with pytest.raises(ImportUsageError, match="only be read once"):
        next(importer.flows([]))


def test_duplicate_is_a_status_the_storage_layer_sets() -> None:
    importer = D0010Import("a.uff", now=NOW)
    list(importer.flows(flow_file(*group(MPAN_A))))
    report = importer.report()

    duplicate = report.as_duplicate()

    assert duplicate.status is ImportStatus.DUPLICATE
    assert (duplicate.readings, duplicate.sha256) == (report.readings, report.sha256)
    assert b'"status":"duplicate"' in duplicate.to_json()


def test_issues_past_the_limit_are_counted_not_kept() -> None:
    body = [line for _ in range(30) for line in group(MPAN_A, "030|S|20250330000000|1.0|||T|N|")]
    importer = D0010Import("a.uff", now=NOW, settings=ImportSettings(issues_kept_max=5))
    list(importer.flows(flow_file(*body)))

    report = importer.report()

    assert report.warnings_total == 30 and len(report.warnings) == 5


def test_same_content_gives_the_same_digest_whatever_the_name() -> None:
    digests = set()
    for name in ("a.uff", "b.uff"):
        importer = D0010Import(name, now=NOW)
        list(importer.flows(flow_file(*group(MPAN_A))))
        digests.add(importer.report().sha256)

    assert len(digests) == 1
