"""Import one D0010 file into PostgreSQL in one transaction, and list what was imported.

``import_file`` parses the file while it COPYs the valid groups into a staging table, then, under
the import lock: refuses a file seen before (same sender and file id, or same SHA-256) as
``duplicate``; reports readings that contradict stored ones (or each other) and drops their whole
026 group, as the parser does for a bad line; and moves the rest into the real tables with
``INSERT … SELECT``. It commits only when the final status is ``imported`` or ``partial`` (and not
a dry run), so a rejected file leaves nothing behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from psycopg import AsyncConnection
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection as SAConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.d0010 import storage
from cloud.d0010.loader import Loader, finish_ids
from cloud.d0010.model import ImportReport, ImportSettings, ImportStatus
from cloud.d0010.models import FlowFile, MpanLink, RegisterReading, SupplyMeter
from cloud.d0010.parser import D0010Import
from cloud.errors import NotFound
from cloud.estates.scope import Scope

#: Read files in large blocks: a million-reading file is ~60 MB of short lines.
READ_BUFFER_BYTES = 1 << 20
#: Most imports one listing returns; callers page with ``before_id``.
LIST_PAGE_MAX = 500
STORABLE = (ImportStatus.IMPORTED, ImportStatus.PARTIAL)


class StorageOutcome(msgspec.Struct, frozen=True):
    """What the storage layer did with a file, beside what the parser found in it."""

    dry_run: bool
    import_id: int | None = None
    """The stored file's id (``None`` when nothing was committed)."""
    duplicate_of: int | None = None
    """The earlier import this file repeats, for a ``duplicate``."""
    readings_stored: int = 0
    readings_already_stored: int = 0
    """Valid readings identical to one stored before (or repeated in the file): skipped."""
    readings_conflicting: int = 0
    """Readings whose value contradicts a stored one or another in the file (reported as errors)."""


class StoredReport(ImportReport, frozen=True):
    """The parser's report (conflicts merged into its errors and counts) plus the storage outcome."""

    storage: StorageOutcome | None = None


class ImportSummary(msgspec.Struct, frozen=True):
    """One stored import, as the ``imports`` listing and the admin API show it."""

    id: int
    file_name: str
    file_id: str
    sender: str
    created_at: datetime
    is_test: bool
    status: str
    mpans: int
    readings: int
    readings_stored: int
    errors_total: int
    warnings_total: int
    imported_at: datetime
    imported_by_user_id: int | None
    imported_by_role: str


class ImportDetail(msgspec.Struct, frozen=True):
    """One stored import with its full JSON report."""

    summary: ImportSummary
    report: dict[str, Any]


async def import_file(
    engine: AsyncEngine,
    source: Path | str | Iterable[bytes],
    *,
    file_name: str | None = None,
    now: datetime,
    strict: bool = False,
    dry_run: bool = False,
    actor: Actor,
) -> StoredReport:
    """Import one file (a path, or its lines as bytes) and return its report; never raises on bad input.

    ``now`` (timezone-aware) is the clock readings are checked against. With ``dry_run`` every
    check runs, duplicate and conflict checks included, and the transaction is rolled back.
    """
    if isinstance(source, (str, Path)):
        name = file_name or Path(source).name
    elif file_name is None:
        raise TypeError("file_name is required when importing lines rather than a path")
    else:
        name = file_name
    importer = D0010Import(name, now=now, settings=ImportSettings(strict=strict))
    with contextlib.ExitStack() as files:
        lines: Iterable[bytes]
        if isinstance(source, (str, Path)):
            lines = files.enter_context(Path(source).open("rb", buffering=READ_BUFFER_BYTES))
        else:
            lines = source
        async with engine.connect() as connection, connection.begin() as transaction:
            report = await _import(connection, importer, lines, dry_run=dry_run, actor=actor)
            committed = report.storage is not None and report.storage.import_id is not None
            if not committed:
                await transaction.rollback()
    return report


async def _import(
    connection: SAConnection, importer: D0010Import, lines: Iterable[bytes], *, dry_run: bool, actor: Actor
) -> StoredReport:
    """The steps of one import in the caller's transaction; the report says whether to commit."""
    pg: AsyncConnection[Any] = (await connection.get_raw_connection()).driver_connection  # type: ignore[assignment]
    await storage.set_import_limits(pg)
    await storage.serialise_imports(pg)  # before the loader chooses ids for new MPANs and meters
    loaded = await Loader(pg).load(importer.flows(lines))
    parsed = importer.report()
    report = StoredReport(**msgspec.structs.asdict(parsed), storage=StorageOutcome(dry_run))
    if parsed.status not in STORABLE or parsed.header is None:
        return report
    duplicate_of = await storage.find_duplicate(pg, parsed.header, parsed.sha256)
    if duplicate_of is not None:
        return _with_storage(report.as_duplicate(), dry_run=dry_run, duplicate_of=duplicate_of)
    await finish_ids(pg, loaded)
    moved = 0
    if loaded.repeats_new_mpan:
        moved = await storage.move_back(pg, loaded.file_ref)
    kept_max = importer.settings.issues_kept_max
    conflicts = storage.Conflicts()
    if loaded.staged or moved:
        await storage.add_supply_points(pg)
        conflicts = await storage.reject_conflicting_groups(pg, kept_max, may_repeat=loaded.may_repeat)
    report = with_conflicts(report, conflicts, kept_max)
    if report.status not in STORABLE:
        return report
    file_ref = await storage.insert_file(pg, report, actor, loaded.file_ref)
    if file_ref is None:  # only without the lock, kept so a race can never store a file twice
        return _with_storage(report.as_duplicate(), dry_run=dry_run)
    stored = loaded.readings_direct - moved
    if loaded.staged or moved:
        stored += await storage.store_readings(pg, file_ref)
    outcome = StorageOutcome(
        dry_run,
        import_id=None if dry_run else file_ref,
        readings_stored=stored,
        readings_already_stored=report.readings - stored,
        readings_conflicting=conflicts.readings,
    )
    report = msgspec.structs.replace(report, storage=outcome)
    await storage.finish_file(pg, file_ref, report, stored)
    await _audit(connection, actor, report, file_ref)
    return report


def with_conflicts(report: StoredReport, conflicts: storage.Conflicts, kept_max: int) -> StoredReport:
    """The report with conflicting readings as errors and their groups moved to the rejected counts."""
    if not conflicts.readings:
        return report
    mpans = report.mpans - conflicts.groups
    status = ImportStatus.PARTIAL if mpans else ImportStatus.REJECTED
    errors = tuple(sorted((*report.errors, *conflicts.issues), key=lambda issue: issue.line))[:kept_max]
    outcome = StorageOutcome(report.storage is not None and report.storage.dry_run)
    return msgspec.structs.replace(
        report,
        status=status,
        mpans=mpans,
        meters=report.meters - conflicts.meters,
        readings=report.readings - conflicts.group_readings,
        rejected_mpans=report.rejected_mpans + conflicts.groups,
        rejected_readings=report.rejected_readings + conflicts.group_readings,
        errors=errors,
        errors_total=report.errors_total + conflicts.readings + conflicts.groups,
        storage=msgspec.structs.replace(outcome, readings_conflicting=conflicts.readings),
    )


def _with_storage(report: ImportReport, *, dry_run: bool, duplicate_of: int | None = None) -> StoredReport:
    assert isinstance(report, StoredReport), "as_duplicate keeps the report's type"
    return msgspec.structs.replace(report, storage=StorageOutcome(dry_run, duplicate_of=duplicate_of))


async def _audit(connection: SAConnection, actor: Actor, report: StoredReport, file_ref: int) -> None:
    """The import in the audit trail, in the same transaction (so a dry run leaves none)."""
    session = AsyncSession(bind=connection)
    after = {"file": report.file, "status": report.status.value, "readings": report.readings}
    try:
        subject = ("d0010_file", file_ref)
        await record(session, actor, "d0010.import", subject, estate_id=None, before=None, after=after)
    finally:
        await session.close()


async def list_imports(
    session: AsyncSession, scope: Scope, *, before_id: int | None = None, limit: int = 100
) -> list[ImportSummary]:
    """Stored imports, newest first. A scope limited to estates sees files with their linked MPANs."""
    query = _scoped(select(FlowFile), scope).order_by(FlowFile.id.desc()).limit(min(limit, LIST_PAGE_MAX))
    if before_id is not None:
        query = query.where(FlowFile.id < before_id)
    return [_summary(row) for row in (await session.scalars(query)).all()]


async def get_import(session: AsyncSession, scope: Scope, import_id: int) -> ImportDetail:
    """One stored import with its report; ``NotFound`` if it does not exist or is out of scope."""
    row = (await session.scalars(_scoped(select(FlowFile), scope).where(FlowFile.id == import_id))).first()
    if row is None:
        raise NotFound(f"D0010 import {import_id} not found")
    return ImportDetail(_summary(row), row.report)


def _scoped(query: Any, scope: Scope) -> Any:
    if scope.estate_ids is None:
        return query
    linked = (
        select(RegisterReading.file_ref)
        .join(SupplyMeter, SupplyMeter.id == RegisterReading.meter_ref)
        .join(MpanLink, MpanLink.mpan_ref == SupplyMeter.mpan_ref)
        .where(RegisterReading.file_ref == FlowFile.id, MpanLink.estate_id.in_(scope.estate_ids))
    )
    return query.where(exists(linked))


def _summary(row: FlowFile) -> ImportSummary:
    return ImportSummary(
        id=row.id, file_name=row.file_name, file_id=row.file_id,
        sender=f"{row.from_role}/{row.from_participant}", created_at=row.created_at, is_test=row.is_test,
        status=row.status, mpans=row.mpans, readings=row.readings, readings_stored=row.readings_stored,
        errors_total=row.errors_total, warnings_total=row.warnings_total, imported_at=row.imported_at,
        imported_by_user_id=row.imported_by_user_id, imported_by_role=row.imported_by_role,
    )  # fmt: skip


__all__: Sequence[str] = (
    "ImportDetail",
    "ImportSummary",
    "StorageOutcome",
    "StoredReport",
    "get_import",
    "import_file",
    "list_imports",
    "with_conflicts",
)
