"""Importing D0010 files into PostgreSQL: what is stored, what is refused, and that nothing half-written stays."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.d0010 import ImportStatus
from cloud.d0010.links import readings_for_mpan
from cloud.d0010.service import StoredReport, import_file
from cloud.database.session import transaction
from cloud.estates.scope import Scope
from tests.integration.d0010.conftest import IMPORTER, row_counts
from tests.support.paths import D0010_PUBLIC_SAMPLE
from tests.unit.d0010.flowfiles import D0010_FIXTURES, MPAN_A, MPAN_B, NOW, flow_file, group

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

ALL_GROUPS = D0010_FIXTURES / "all_groups.uff"
PARTIAL = D0010_FIXTURES / "partial.uff"
SAMPLE = D0010_PUBLIC_SAMPLE
NOTHING = dict.fromkeys(("d0010_files", "d0010_mpans", "d0010_meters", "d0010_readings", "audit_records"), 0)


async def run(
    engine: AsyncEngine, source: Path | list[bytes], name: str = "test.uff", **options: bool
) -> StoredReport:
    """Import a fixture path (its own name) or lines (as ``name``) at the unit tests' clock."""
    file_name = None if isinstance(source, Path) else name
    return await import_file(engine, source, file_name=file_name, now=NOW, actor=IMPORTER, **options)


async def test_all_groups_fixture_is_stored_with_every_item(engine: AsyncEngine, migrated_url: str) -> None:
    report = await run(engine, ALL_GROUPS)

    assert report.status is ImportStatus.IMPORTED
    assert report.storage is not None and report.storage.import_id is not None
    assert report.storage.readings_stored == 4
    assert row_counts(migrated_url) == {
        "d0010_files": 1, "d0010_mpans": 2, "d0010_meters": 3, "d0010_readings": 4, "audit_records": 1,
    }  # fmt: skip
    async with transaction(engine) as session:
        readings = await readings_for_mpan(
            session, Scope.everything(), "1600001234564", datetime(2025, 3, 1), datetime(2025, 4, 1)
        )
    by_register = {r.register_id: r for r in readings}
    assert by_register["DY"].register_reading == Decimal("12345.6")
    assert (by_register["DY"].reason_code, by_register["DY"].reading_status, by_register["DY"].line) == (
        "27",
        True,
        6,
    )
    special = by_register["S"]
    assert (special.meter_id, special.reading_at) == ("K 0005", datetime(2025, 3, 31, 23, 59, 59))
    assert special.register_reading == Decimal("99999999.9")
    assert (special.md_reset_at, special.md_reset_count, special.meter_reading_flag) == (
        datetime(2025, 3, 1, 12), 2, False,
    )  # fmt: skip


async def test_partial_file_stores_only_its_valid_groups(engine: AsyncEngine, migrated_url: str) -> None:
    report = await run(engine, PARTIAL)

    assert report.status is ImportStatus.PARTIAL
    assert (report.mpans, report.readings, report.rejected_mpans, report.rejected_readings) == (2, 2, 1, 2)
    assert report.storage is not None and report.storage.readings_stored == 2
    assert row_counts(migrated_url)["d0010_readings"] == 2
    async with transaction(engine) as session:
        rejected = await readings_for_mpan(
            session, Scope.everything(), MPAN_B, datetime(2025, 1, 1), datetime(2026, 1, 1)
        )
    assert rejected == []


@pytest.mark.parametrize(
    "lines",
    [
        # The trailer's group count disagrees with the file: lines lost in transfer.
        flow_file(*group(), trailer="ZPT|QF00000200|9|CK01|1|20250401090500|"),
        # No trailer at all (truncated).
        flow_file(*group())[:-1],
        # Every group bad: nothing valid to store.
        flow_file(*group(MPAN_A, "030|S|20250330000000|-1.0|||T|N|", "032|01|T|")),
    ],
    ids=["trailer-counts", "truncated", "all-groups-bad"],
)
async def test_rejected_file_writes_nothing(
    engine: AsyncEngine, migrated_url: str, lines: list[bytes]
) -> None:
    report = await run(engine, lines)

    assert report.status is ImportStatus.REJECTED
    assert report.storage is not None and report.storage.import_id is None
    assert row_counts(migrated_url) == NOTHING


async def test_dry_run_checks_everything_and_writes_nothing(engine: AsyncEngine, migrated_url: str) -> None:
    report = await run(engine, ALL_GROUPS, dry_run=True)

    assert report.status is ImportStatus.IMPORTED
    assert report.storage is not None and report.storage.dry_run
    assert (report.storage.import_id, report.storage.readings_stored) == (None, 4)
    assert row_counts(migrated_url) == NOTHING


async def test_same_sender_and_file_id_is_a_duplicate(engine: AsyncEngine, migrated_url: str) -> None:
    first = await run(engine, flow_file(*group(MPAN_A)))
    again = await run(engine, flow_file(*group(MPAN_B)), name="resent.uff")  # other content, same file id

    assert first.status is ImportStatus.IMPORTED
    assert again.status is ImportStatus.DUPLICATE
    assert first.storage is not None and again.storage is not None
    assert again.storage.duplicate_of == first.storage.import_id
    assert row_counts(migrated_url)["d0010_readings"] == 1
    assert row_counts(migrated_url)["d0010_mpans"] == 1


async def test_same_content_under_another_name_is_a_duplicate(engine: AsyncEngine, migrated_url: str) -> None:
    await run(engine, ALL_GROUPS)
    again = await run(
        engine, ALL_GROUPS.read_bytes().splitlines(keepends=True), name="copy-of-all-groups.uff"
    )

    assert again.status is ImportStatus.DUPLICATE
    assert row_counts(migrated_url)["d0010_files"] == 1


def _other_file(*body: str, file_id: str = "QF00000300") -> list[bytes]:
    header = f"ZHV|{file_id}|D0010002|M|ABCD|X|QNTY|20250402090000||||OPER|"
    flows = sum(1 for line in body if line.startswith("026"))
    trailer = f"ZPT|{file_id}|{len(body)}|CK02|{flows}|20250402090500|"
    return flow_file(*body, header=header, trailer=trailer)


async def test_conflicting_reading_is_reported_naming_both_files_and_kept_out(
    engine: AsyncEngine, migrated_url: str
) -> None:
    await run(engine, ALL_GROUPS)
    # Same MPAN, meter, register and date-time as all_groups.uff line 6 (12345.6), another value.
    changed = group("1600001234564", "030|DY|20250331000000|12399.9|||T|N|", "032|01|T|", meter="E10BG 1234")
    report = await run(engine, _other_file(*changed, *group(MPAN_B)), name="later.uff")

    assert report.status is ImportStatus.PARTIAL
    assert (report.mpans, report.readings, report.rejected_mpans, report.rejected_readings) == (1, 1, 1, 1)
    assert report.storage is not None and report.storage.readings_conflicting == 1
    conflict = next(issue for issue in report.errors if issue.line == 4)
    assert "12399.9 on this line" in conflict.message and "all_groups.uff line 6" in conflict.message
    assert any(issue.line == 2 and "rejected" in issue.message for issue in report.errors)
    async with transaction(engine) as session:
        kept = await readings_for_mpan(
            session, Scope.everything(), "1600001234564", datetime(2025, 3, 31), datetime(2025, 4, 1)
        )
    assert next(r for r in kept if r.register_id == "DY").register_reading == Decimal("12345.6")
    assert row_counts(migrated_url)["d0010_readings"] == 5


async def test_identical_readings_in_a_new_file_are_skipped(engine: AsyncEngine, migrated_url: str) -> None:
    await run(engine, flow_file(*group(MPAN_A)))
    report = await run(engine, _other_file(*group(MPAN_A), *group(MPAN_B)), name="overlap.uff")

    assert report.status is ImportStatus.IMPORTED
    assert report.storage is not None
    assert (report.storage.readings_stored, report.storage.readings_already_stored) == (1, 1)
    assert row_counts(migrated_url)["d0010_readings"] == 2


async def test_readings_contradicting_each_other_in_one_file_reject_both_groups(
    engine: AsyncEngine, migrated_url: str
) -> None:
    twice = [
        *group(MPAN_A, "030|S|20250330000000|100.0|||T|N|", "032|01|T|"),
        *group(MPAN_A, "030|S|20250330000000|101.0|||T|N|", "032|01|T|"),
    ]
    report = await run(engine, flow_file(*twice))

    assert report.status is ImportStatus.REJECTED
    assert sorted(issue.line for issue in report.errors) == [2, 4, 6, 8]
    assert row_counts(migrated_url) == NOTHING


@pytest.mark.parametrize(
    "body",
    [
        [*group(MPAN_A), *group(MPAN_A)],  # the same meter in two 026 groups
        group(MPAN_A, *["030|S|20250330000000|100.0|||T|N|", "032|01|T|"] * 2),  # twice in one 028
    ],
    ids=["two-groups", "one-meter-group"],
)
async def test_a_reading_repeated_identically_in_one_file_is_stored_once(
    engine: AsyncEngine, migrated_url: str, body: list[str]
) -> None:
    report = await run(engine, flow_file(*body))

    assert report.status is ImportStatus.IMPORTED
    assert report.storage is not None
    assert (report.storage.readings_stored, report.storage.readings_already_stored) == (1, 1)


async def test_strict_import_rejects_groups_without_their_032(engine: AsyncEngine) -> None:
    report = await run(engine, ALL_GROUPS, strict=True)

    # all_groups.uff's last 026 (line 14) has a reading without an 032.
    assert report.status is ImportStatus.PARTIAL
    assert report.storage is not None and report.storage.readings_stored == 3


@pytest.mark.skipif(
    not SAMPLE.exists(), reason=f"public sample flow not present at {SAMPLE} (not redistributed)"
)
async def test_public_sample_is_stored(engine: AsyncEngine, migrated_url: str) -> None:
    report = await run(engine, SAMPLE)

    assert report.status is ImportStatus.IMPORTED
    assert row_counts(migrated_url)["d0010_readings"] == 13
    assert row_counts(migrated_url)["d0010_mpans"] == 11


async def test_meter_ids_are_kept_exactly_and_meters_without_readings_are_stored(
    engine: AsyncEngine, migrated_url: str
) -> None:
    body = [
        f"026|{MPAN_A}|V|",
        "028|A\\B  7|C|",  # a backslash and two inner spaces, as written
        "030|S|20250330000000|100.0|||T|N|",
        "032|01|T|",
        "028|NOREADS|R|",  # a meter read under the MPAN with no register reading
    ]
    report = await run(engine, flow_file(*body))

    assert report.status is ImportStatus.IMPORTED
    assert row_counts(migrated_url)["d0010_meters"] == 2
    async with transaction(engine) as session:
        stored = await readings_for_mpan(
            session, Scope.everything(), MPAN_A, datetime(2025, 3, 1), datetime(2025, 4, 1)
        )
    assert [r.meter_id for r in stored] == ["A\\B  7"]
