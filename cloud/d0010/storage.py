"""SQL over the staging table: duplicate and conflict checks, then the set-based writes.

Everything here runs inside the one transaction of one file import, on the psycopg connection
under the SQLAlchemy session (COPY needs the driver). Imports are serialised by a transaction-level
advisory lock taken before anything is written: the loader chooses ids for new MPANs and meters
itself, and two files carrying the same reading key with different values could otherwise both
pass the conflict check before either commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from psycopg import AsyncConnection

from cloud.audit.actor import Actor
from cloud.d0010.model import FlowHeader, ImportReport, Issue

#: Advisory lock key for "a D0010 import is writing" (any constant unique within the cloud).
IMPORT_LOCK_KEY = 0x0D0010
#: A 1,000,000-reading COPY streams for seconds while the file is parsed; bounded all the same.
IMPORT_STATEMENT_TIMEOUT_MS = 600_000
#: Waiting for another import to finish; a big one holds the lock for its SQL phase only.
IMPORT_LOCK_TIMEOUT_MS = 120_000
#: Sort and hash memory for the set-based steps over a million staged rows (per operation).
IMPORT_WORK_MEM_MB = 128
CONFLICT_FIELD = "J0040 register reading (conflict)"
GROUP_FIELD = "026 MPAN group"

# New MPANs and meters first, found from the one row that opens each 028. Plain inserts with an
# anti-join: the import lock (which link_mpan takes too) rules out a concurrent insert.
_INSERT_MPANS = """
INSERT INTO d0010_mpans (mpan_core)
SELECT DISTINCT s.mpan_core FROM d0010_staging s
WHERE s.opens_meter AND NOT EXISTS (SELECT 1 FROM d0010_mpans p WHERE p.mpan_core = s.mpan_core)
"""

_INSERT_METERS = """
INSERT INTO d0010_meters (mpan_ref, meter_id)
SELECT DISTINCT p.id, s.meter_id FROM d0010_staging s JOIN d0010_mpans p USING (mpan_core)
WHERE s.opens_meter
  AND NOT EXISTS (SELECT 1 FROM d0010_meters m WHERE m.mpan_ref = p.id AND m.meter_id = s.meter_id)
"""

# Each 028 group of the file → its meter's row id, so readings join on an integer.
_METER_REFS = """
CREATE TEMPORARY TABLE d0010_meter_refs ON COMMIT DROP AS
SELECT s.meter_line, m.id AS meter_ref
FROM d0010_staging s
JOIN d0010_mpans p USING (mpan_core)
JOIN d0010_meters m ON m.mpan_ref = p.id AND m.meter_id = s.meter_id
WHERE s.opens_meter
"""

# Readings of this file whose key is already stored: identical (skipped) or not (a conflict).
_MATCHES = """
CREATE TEMPORARY TABLE d0010_matches ON COMMIT DROP AS
SELECT s.line, s.group_line, s.register_reading <> r.register_reading AS clash,
       r.file_ref AS other_file_ref, r.line AS other_line, r.register_reading AS other_value
FROM d0010_staging s
JOIN d0010_meter_refs k USING (meter_line)
JOIN d0010_readings r
  ON r.meter_ref = k.meter_ref AND r.register_id = s.register_id AND r.reading_at = s.reading_at
"""

# Keys that occur more than once in this file, and whether their values disagree.
_REPEATS = """
CREATE TEMPORARY TABLE d0010_repeats ON COMMIT DROP AS
SELECT mpan_core, meter_id, register_id, reading_at, min(register_reading) <> max(register_reading) AS clash
FROM d0010_staging WHERE register_id IS NOT NULL
GROUP BY mpan_core, meter_id, register_id, reading_at HAVING count(*) > 1
"""

# The same table, empty, for a file the staging step found cannot repeat a key.
_NO_REPEATS = _REPEATS.replace("WHERE register_id IS NOT NULL", "WHERE false")

_STORED_CONFLICTS = """
SELECT s.line, s.group_line, s.mpan_core, s.meter_id, s.register_id, s.reading_at, s.register_reading,
       f.file_name AS other_file, x.other_line, x.other_value
FROM d0010_matches x
JOIN d0010_staging s USING (line)
JOIN d0010_files f ON f.id = x.other_file_ref
WHERE x.clash
"""

_FILE_CONFLICTS = """
SELECT DISTINCT ON (s.line) s.line, s.group_line, s.mpan_core, s.meter_id, s.register_id,
       s.reading_at, s.register_reading, NULL::text AS other_file, o.line AS other_line,
       o.register_reading AS other_value
FROM d0010_repeats c
JOIN d0010_staging s USING (mpan_core, meter_id, register_id, reading_at)
JOIN d0010_staging o USING (mpan_core, meter_id, register_id, reading_at)
WHERE c.clash AND o.register_reading <> s.register_reading
ORDER BY s.line, o.line
"""

_CREATE_CONFLICTS = f"""
CREATE TEMPORARY TABLE d0010_conflicts ON COMMIT DROP AS
({_STORED_CONFLICTS}) UNION ALL ({_FILE_CONFLICTS})
"""

# Per rejected group: its 026 line, MPAN, first conflicting line, and what it held.
_REJECTED_GROUPS = """
SELECT s.group_line, min(s.mpan_core), min(s.bsc_validation_status),
       (SELECT min(c.line) FROM d0010_conflicts c WHERE c.group_line = s.group_line),
       count(DISTINCT s.meter_line), count(s.register_id)
FROM d0010_staging s
WHERE s.group_line IN (SELECT group_line FROM d0010_conflicts)
GROUP BY s.group_line ORDER BY s.group_line
"""

# Lines not to insert: identical to a stored reading, or a later repeat of one in this file
# (counted after conflicting groups are gone, so a repeat in a kept group still gets stored).
_SKIPPED = """
CREATE TEMPORARY TABLE d0010_skipped ON COMMIT DROP AS
SELECT line FROM d0010_matches WHERE NOT clash
UNION
SELECT line FROM (
    SELECT s.line, row_number() OVER (
               PARTITION BY mpan_core, meter_id, register_id, reading_at ORDER BY s.line
           ) AS seen
    FROM d0010_repeats c
    JOIN d0010_staging s USING (mpan_core, meter_id, register_id, reading_at)
    WHERE NOT c.clash
) repeated WHERE seen > 1
"""

_INSERT_READINGS = """
INSERT INTO d0010_readings (
    meter_ref, register_id, reading_at, register_reading, reading_type, bsc_validation_status,
    md_reset_at, md_reset_count, meter_reading_flag, reading_method, reason_code, reading_status,
    file_ref, line)
SELECT k.meter_ref, s.register_id, s.reading_at, s.register_reading, s.reading_type,
       s.bsc_validation_status, s.md_reset_at, s.md_reset_count, s.meter_reading_flag,
       s.reading_method, s.reason_code, s.reading_status, %(file_ref)s, s.line
FROM d0010_staging s
JOIN d0010_meter_refs k USING (meter_line)
WHERE s.register_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM d0010_skipped x WHERE x.line = s.line)
"""

# Groups loaded directly whose MPAN a later group of the file names again (that group was staged,
# as a directly loaded MPAN is stored by then): back into staging, so the conflict checks see all
# of that MPAN's groups together, as if none had been loaded directly.
_MOVE_BACK_READINGS = """
WITH moved AS (
    DELETE FROM d0010_readings r
    USING d0010_direct_meters d
    WHERE d.mpan_ref IN (SELECT p.id FROM d0010_staging s JOIN d0010_mpans p USING (mpan_core))
      AND r.meter_ref = d.meter_ref AND r.file_ref = %(file_ref)s
    RETURNING r.*, d.group_line, d.meter_line
)
INSERT INTO d0010_staging (
    group_line, meter_line, mpan_core, bsc_validation_status, meter_id, reading_type, opens_meter, line,
    register_id, reading_at, register_reading, md_reset_at, md_reset_count, meter_reading_flag,
    reading_method, reason_code, reading_status)
SELECT x.group_line, x.meter_line, p.mpan_core, x.bsc_validation_status, m.meter_id, x.reading_type, false,
       x.line, x.register_id, x.reading_at, x.register_reading, x.md_reset_at, x.md_reset_count,
       x.meter_reading_flag, x.reading_method, x.reason_code, x.reading_status
FROM moved x JOIN d0010_meters m ON m.id = x.meter_ref JOIN d0010_mpans p ON p.id = m.mpan_ref
"""

# One row per moved 028 that opens it (so its meter is mapped, and counted if its group is rejected).
_MOVE_BACK_METERS = """
INSERT INTO d0010_staging (
    group_line, meter_line, mpan_core, bsc_validation_status, meter_id, reading_type, opens_meter, line)
SELECT d.group_line, d.meter_line, p.mpan_core, d.bsc_validation_status, m.meter_id, d.reading_type, true,
       d.meter_line
FROM d0010_direct_meters d JOIN d0010_meters m ON m.id = d.meter_ref JOIN d0010_mpans p ON p.id = d.mpan_ref
WHERE d.mpan_ref IN (SELECT p.id FROM d0010_staging s JOIN d0010_mpans p USING (mpan_core))
"""

_INSERT_FILE = """
INSERT INTO d0010_files (
    id, file_name, file_id, from_role, from_participant, to_role, to_participant, created_at, test_flag,
    is_test, sha256, status, mpans, readings, readings_stored, errors_total, warnings_total, report,
    imported_by_user_id, imported_by_role, source_address)
VALUES (
    %(id)s, %(file_name)s, %(file_id)s, %(from_role)s, %(from_participant)s, %(to_role)s, %(to_participant)s,
    %(created_at)s, %(test_flag)s, %(is_test)s, %(sha256)s, %(status)s, %(mpans)s, %(readings)s, 0,
    %(errors_total)s, %(warnings_total)s, '{}', %(user_id)s, %(role)s, %(source)s)
ON CONFLICT DO NOTHING
RETURNING id
"""


@dataclass(slots=True)
class Conflicts:
    """Readings of this file that contradict stored ones (or each other), and the groups they sink."""

    readings: int = 0
    groups: int = 0
    meters: int = 0
    group_readings: int = 0
    issues: list[Issue] = field(default_factory=list)


async def set_import_limits(connection: AsyncConnection) -> None:
    """Raise this transaction's time limits to fit a bulk import (still bounded)."""
    await connection.execute(f"SET LOCAL statement_timeout = {IMPORT_STATEMENT_TIMEOUT_MS}")
    await connection.execute(f"SET LOCAL lock_timeout = {IMPORT_LOCK_TIMEOUT_MS}")
    await connection.execute(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM_MB}MB'")


async def serialise_imports(connection: AsyncConnection) -> None:
    """Take the import lock (held until commit or rollback)."""
    await connection.execute("SELECT pg_advisory_xact_lock(%s)", (IMPORT_LOCK_KEY,))


async def find_duplicate(connection: AsyncConnection, header: FlowHeader, sha256: str) -> int | None:
    """The id of a stored file with the same sender and file id, or the same content digest."""
    cursor = await connection.execute(
        "SELECT id FROM d0010_files WHERE (from_role = %s AND from_participant = %s AND file_id = %s) "
        "OR sha256 = %s ORDER BY id LIMIT 1",
        (header.from_role, header.from_participant, header.file_id, sha256),
    )
    row = await cursor.fetchone()
    return None if row is None else int(row[0])


async def add_supply_points(connection: AsyncConnection) -> None:
    """Store the file's new MPANs and meters, and map each of its 028 groups to a meter row."""
    await connection.execute(_INSERT_MPANS)
    await connection.execute(_INSERT_METERS)
    await connection.execute(_METER_REFS)
    await connection.execute("ANALYZE d0010_meter_refs")


async def reject_conflicting_groups(
    connection: AsyncConnection, kept_max: int, *, may_repeat: bool
) -> Conflicts:
    """Find conflicting readings, report each, and drop their whole 026 groups from staging.

    ``may_repeat``: whether a reading key can occur twice in the file; if not, the search for
    repeats (a grouping of every staged row) is skipped.
    """
    await connection.execute(_MATCHES)
    await connection.execute(_REPEATS if may_repeat else _NO_REPEATS)
    await connection.execute(_CREATE_CONFLICTS)
    found = Conflicts()
    cursor = await connection.execute("SELECT count(*) FROM d0010_conflicts")
    found.readings = int((await cursor.fetchone() or (0,))[0])
    if not found.readings:
        return found
    cursor = await connection.execute("SELECT * FROM d0010_conflicts ORDER BY line LIMIT %s", (kept_max,))
    found.issues = [_conflict_issue(row) for row in await cursor.fetchall()]
    cursor = await connection.execute(_REJECTED_GROUPS)
    for group_line, mpan, bsc, first, meters, readings in await cursor.fetchall():
        found.groups += 1
        found.meters += meters
        found.group_readings += readings
        if found.groups <= kept_max:
            found.issues.append(_group_issue(group_line, mpan, bsc, first, readings))
    await connection.execute(
        "DELETE FROM d0010_staging WHERE group_line IN (SELECT group_line FROM d0010_conflicts)"
    )
    return found


def _conflict_issue(row: tuple[object, ...]) -> Issue:
    line, _, mpan, meter, register, at, value, other_file, other_line, other_value = row
    where = "this file" if other_file is None else f"stored file {other_file}"
    message = (
        f"MPAN {mpan} meter '{meter}' register {register} at {at}: {value} on this line, but "
        f"{other_value} in {where} line {other_line}; a reading is never overwritten"
    )
    return Issue(int(str(line)), CONFLICT_FIELD, message, "")


def _group_issue(group_line: int, mpan: str, bsc: str, first: int, readings: int) -> Issue:
    message = (
        f"MPAN group rejected: none of its {readings} reading(s) is imported "
        f"(a reading conflicts with another, first on line {first})"
    )
    return Issue(group_line, GROUP_FIELD, message, f"026|{mpan}|{bsc}|")


async def move_back(connection: AsyncConnection, file_ref: int) -> int:
    """Move the directly loaded groups of MPANs that staged groups name too into staging (once,
    before the conflict checks); the number of readings moved."""
    # The meters first: the readings' statement changes what the staging table holds.
    await connection.execute(_MOVE_BACK_METERS)
    cursor = await connection.execute(_MOVE_BACK_READINGS, {"file_ref": file_ref})
    return cursor.rowcount


async def insert_file(
    connection: AsyncConnection, report: ImportReport, actor: Actor, file_ref: int
) -> int | None:
    """Record the file under the id its readings carry (its final report is written by
    ``finish_file``); ``None`` if already there."""
    header = report.header
    assert header is not None, "only a file with a header can be imported or partial"
    cursor = await connection.execute(
        _INSERT_FILE,
        {
            "id": file_ref, "file_name": report.file, "file_id": header.file_id,
            "from_role": header.from_role, "from_participant": header.from_participant,
            "to_role": header.to_role, "to_participant": header.to_participant,
            "created_at": header.created_at,
            "test_flag": header.test_flag, "is_test": header.is_test, "sha256": report.sha256,
            "status": report.status.value, "mpans": report.mpans, "readings": report.readings,
            "errors_total": report.errors_total, "warnings_total": report.warnings_total,
            "user_id": actor.user_id, "role": actor.role, "source": actor.source_address,
        },
    )  # fmt: skip
    row = await cursor.fetchone()
    return None if row is None else int(row[0])


async def store_readings(connection: AsyncConnection, file_ref: int) -> int:
    """Insert the file's new readings; the number inserted (identical ones are skipped)."""
    await connection.execute(_SKIPPED)
    cursor = await connection.execute(_INSERT_READINGS, {"file_ref": file_ref})
    return cursor.rowcount


async def finish_file(connection: AsyncConnection, file_ref: int, report: ImportReport, stored: int) -> None:
    """Write the final report and counts onto the file's row."""
    await connection.execute(
        "UPDATE d0010_files SET status = %s, mpans = %s, readings = %s, readings_stored = %s, "
        "errors_total = %s, warnings_total = %s, report = %s::jsonb WHERE id = %s",
        (
            report.status.value, report.mpans, report.readings, stored, report.errors_total,
            report.warnings_total, msgspec.json.encode(report).decode(), file_ref,
        ),
    )  # fmt: skip
