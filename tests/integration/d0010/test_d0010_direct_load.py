"""Groups loaded straight into the final tables store exactly what the parser read, and an MPAN
met again later in the file (even batches later) is judged with all its groups, as in staging."""

from __future__ import annotations

import sys
from datetime import datetime

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.d0010 import ImportStatus, Reading, import_d0010
from cloud.d0010.items import mpan_check_digit
from cloud.d0010.links import readings_for_mpan
from cloud.d0010.loader import BATCH_BYTES, SWITCH_INTERVAL_S, _quick_switching
from cloud.d0010.service import import_file
from cloud.database.session import transaction
from cloud.estates.scope import Scope
from tests.integration.d0010.conftest import IMPORTER, row_counts
from tests.unit.d0010.flowfiles import MPAN_A, MPAN_B, MPAN_C, NOW, flow_file, group

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

# Every shape the loader formats one way or the other: site visits, a meter without readings,
# an MD reset, a reading without its 032, a backslash in a meter id, CRLF endings.
MIXED = flow_file(
    f"026|{MPAN_A}|V|",
    "028|A\\B 1|C|",
    "030|DY|20250330000000|012345.6|||T|N|",
    "032|01|T|",
    "030|NT|20250330000000|0|20250301120000|3|F|P|",
    f"026|{MPAN_B}|U|",
    "027|01|Gate code 1234|",
    "028|M1|R|",
    "029|02||",
    "030|S|20250331235959|99999999.9|||T|N|",
    "032|27|F|",
    "033|03|Read from outside|",
    "028|EMPTY|C|",
    f"026|{MPAN_C}|F|",
    "028|M2|Z|",
    "030|01|20250315101500|5.5||||N|",
    ending="\r\n",
)


# More groups than one batch holds (each group is more than 50 bytes), so the two groups of one
# MPAN arrive in different batches.
FILLER = BATCH_BYTES // 50


def _mpan(n: int) -> str:
    twelve = b"%012d" % (200000000000 + n)
    return (twelve + b"%d" % mpan_check_digit(twelve)).decode()


async def _stored(engine: AsyncEngine, mpan: str) -> list[Reading]:
    async with transaction(engine) as session:
        return await readings_for_mpan(
            session, Scope.everything(), mpan, datetime(2000, 1, 1), datetime(2026, 1, 1)
        )


def _key(reading: Reading) -> tuple[object, ...]:
    return (reading.meter_id, reading.register_id, reading.reading_at)


async def test_stored_readings_are_those_the_parser_read(engine: AsyncEngine, migrated_url: str) -> None:
    flows, parsed = import_d0010(MIXED, file_name="mixed.uff", now=NOW)
    report = await import_file(engine, MIXED, file_name="mixed.uff", now=NOW, actor=IMPORTER)

    assert report.status is ImportStatus.IMPORTED and parsed.readings == 4
    assert report.storage is not None and report.storage.readings_stored == 4
    for flow in flows:
        assert sorted(await _stored(engine, flow.mpan_core), key=_key) == sorted(flow.readings, key=_key)
    assert row_counts(migrated_url)["d0010_meters"] == 4  # the meter without readings too


async def test_a_repeated_mpan_batches_later_rejects_both_groups_on_a_conflict(
    engine: AsyncEngine, migrated_url: str
) -> None:
    first = group(MPAN_A, "030|S|20250330000000|100.0|||T|N|", "032|01|T|")
    filler = [line for n in range(FILLER) for line in group(_mpan(n))]
    later = group(MPAN_A, "030|S|20250330000000|101.0|||T|N|", "032|01|T|")  # same key, other value
    report = await import_file(
        engine, flow_file(*first, *filler, *later), file_name="t.uff", now=NOW, actor=IMPORTER
    )

    assert report.status is ImportStatus.PARTIAL
    assert report.rejected_mpans == 2 and report.storage is not None
    assert report.storage.readings_conflicting == 2
    assert report.storage.readings_stored == FILLER
    assert await _stored(engine, MPAN_A) == []
    assert row_counts(migrated_url)["d0010_readings"] == FILLER


async def test_a_repeated_mpan_batches_later_with_the_same_reading_stores_it_once(
    engine: AsyncEngine, migrated_url: str
) -> None:
    filler = [line for n in range(FILLER) for line in group(_mpan(n))]
    report = await import_file(
        engine, flow_file(*group(MPAN_A), *filler, *group(MPAN_A)), file_name="t.uff", now=NOW, actor=IMPORTER
    )

    assert report.status is ImportStatus.IMPORTED and report.storage is not None
    assert (report.storage.readings_stored, report.storage.readings_already_stored) == (
        FILLER + 1,
        1,
    )
    assert len(await _stored(engine, MPAN_A)) == 1


async def test_new_mpans_and_meters_get_ids_the_sequences_then_skip(
    engine: AsyncEngine, migrated_url: str
) -> None:
    await import_file(engine, MIXED, file_name="mixed.uff", now=NOW, actor=IMPORTER)
    with psycopg.connect(migrated_url) as connection:
        connection.execute("INSERT INTO d0010_mpans (mpan_core) VALUES ('1000000000009')")
        connection.execute("INSERT INTO d0010_meters (mpan_ref, meter_id) VALUES (1, 'NEW')")
        counts = connection.execute(
            "SELECT (SELECT count(DISTINCT id) FROM d0010_mpans), (SELECT count(DISTINCT id) FROM d0010_meters)"
        ).fetchone()
    assert counts == (4, 5)


async def test_the_interpreter_switch_interval_is_restored_after_a_load(engine: AsyncEngine) -> None:
    before = sys.getswitchinterval()
    with _quick_switching():
        assert sys.getswitchinterval() == min(before, SWITCH_INTERVAL_S)
        with _quick_switching():  # overlapping loads
            pass
        assert sys.getswitchinterval() == min(before, SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == before

    await import_file(engine, MIXED, file_name="mixed.uff", now=NOW, actor=IMPORTER)
    assert sys.getswitchinterval() == before
