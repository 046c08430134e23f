"""``quantify-cloud d0010 import|export|imports``: D0010 flow files in and out of the database.

``import FILE... [--dry-run] [--strict] [--json]`` imports each file in its own transaction and
exits 0 when every file was imported or was a duplicate, 1 when any was rejected or partial (or
could not be read). ``--json`` prints one JSON report per file per line (JSON Lines).
``export --mpan MPAN ... --from DATE --to DATE`` writes a D0010 file of the stored readings to
stdout (or ``--output``). ``imports [--json]`` lists stored imports, newest first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec

from cloud.settings import Settings

#: A D0010 file is short lines; far beyond a few million readings it is not one we should parse.
FILE_SIZE_MAX_MB = 1024
ERRORS_SHOWN_MAX = 5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``d0010 import``, ``d0010 export`` and ``d0010 imports`` to ``quantify-cloud``."""
    d0010 = subparsers.add_parser("d0010", help="import and export D0010 meter-reading flows")
    commands = d0010.add_subparsers(dest="d0010_command", required=True, metavar="SUBCOMMAND")
    imp = commands.add_parser("import", help="import D0010 files (one transaction per file)")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="check everything, store nothing")
    imp.add_argument("--strict", action="store_true", help="a missing 032 or empty checksum is an error")
    imp.add_argument("--json", action="store_true", help="print each file's JSON report (one per line)")
    imp.set_defaults(handler=run_import)
    _export_parser(commands)
    listing = commands.add_parser("imports", help="list stored imports, newest first")
    listing.add_argument("--limit", type=int, default=100, help="how many (at most 500)")
    listing.add_argument("--json", action="store_true", help="print the listing as JSON")
    listing.set_defaults(handler=run_imports)


def _export_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export",
        help="write stored readings as a D0010 file",
        description="Readings of the MPANs dated FROM..TO inclusive (UK local dates) as a D0010 file.",
    )
    export.add_argument("--mpan", action="append", required=True, help="MPAN core (repeatable)")
    export.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    export.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    export.add_argument("--output", type=Path, help="write here instead of stdout")
    export.add_argument("--file-id", help="ZHV file id (default: the time, yymmddHHMM)")
    export.add_argument("--from-role", default="X", help="sender's market role (default X)")
    export.add_argument("--from-participant", default="QNTY", help="sender's participant id (default QNTY)")
    export.add_argument("--to-role", default="X", help="recipient's market role (default X)")
    export.add_argument("--to-participant", default="QNTY", help="recipient's participant id (default QNTY)")
    export.add_argument("--test-flag", default="OPER", help="ZHV test flag (default OPER)")
    export.set_defaults(handler=run_export)


def run_import(args: argparse.Namespace) -> int:
    """Import every file named; print a summary (or JSON) per file."""
    from cloud.database.server import database_url

    url = database_url(Settings.from_env(os.environ))
    options = {"strict": args.strict, "dry_run": args.dry_run, "as_json": args.json}
    return asyncio.run(import_paths(url, args.files, **options))


async def import_paths(url: str, paths: Sequence[Path], *, strict: bool, dry_run: bool, as_json: bool) -> int:
    """Import ``paths`` one by one into the database at ``url``; the command's exit status."""
    from cloud.audit.actor import Actor
    from cloud.d0010.model import ImportStatus
    from cloud.d0010.service import import_file
    from cloud.database.session import create_engine

    actor = Actor.system("quantify-cloud d0010 import", source="quantify-cloud d0010")
    engine = create_engine(url, pool_size=1, max_overflow=0)
    status = 0
    try:
        for path in paths:
            problem = _unreadable(path)
            if problem:
                print(f"{path}: {problem}", file=sys.stderr)
                status = 1
                continue
            now = datetime.now(UTC)
            report = await import_file(engine, path, now=now, strict=strict, dry_run=dry_run, actor=actor)
            print(report.to_json().decode() if as_json else _summary(path, report))
            if report.status not in (ImportStatus.IMPORTED, ImportStatus.DUPLICATE):
                status = 1
    finally:
        await engine.dispose()
    return status


def _unreadable(path: Path) -> str:
    """Why ``path`` cannot be imported, or ``""``: checked before parsing, so no traceback."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read the file: {exc.strerror}"
    if not path.is_file():
        return "not a regular file"
    if size > FILE_SIZE_MAX_MB * 1_000_000:
        return f"{size / 1e6:.0f} MB is larger than the {FILE_SIZE_MAX_MB} MB a D0010 import accepts"
    return ""


def _summary(path: Path, report: object) -> str:
    from cloud.d0010.service import StoredReport

    assert isinstance(report, StoredReport)
    storage = report.storage
    lines = [
        f"{path}: {report.status.value}{' (dry run)' if storage and storage.dry_run else ''}: "
        f"{report.mpans} MPANs, {report.readings} readings accepted, {report.rejected_readings} rejected; "
        f"{report.errors_total} errors, {report.warnings_total} warnings"
    ]
    if storage is not None and storage.duplicate_of is not None:
        lines.append(f"  already imported as import {storage.duplicate_of}: nothing stored")
    elif storage is not None and report.status.value in ("imported", "partial"):
        lines.append(
            f"  stored {storage.readings_stored} new readings, {storage.readings_already_stored} already "
            f"stored, {storage.readings_conflicting} conflicting"
        )
    lines += [f"  line {i.line}: {i.field}: {i.message}" for i in report.errors[:ERRORS_SHOWN_MAX]]
    if report.errors_total > ERRORS_SHOWN_MAX:
        lines.append(f"  … {report.errors_total - ERRORS_SHOWN_MAX} more errors (--json lists them)")
    return "\n".join(lines)


def run_imports(args: argparse.Namespace) -> int:
    """List stored imports."""
    from cloud.database.server import database_url

    url = database_url(Settings.from_env(os.environ))
    print(asyncio.run(listing(url, limit=args.limit, as_json=args.json)))
    return 0


async def listing(url: str, *, limit: int, as_json: bool) -> str:
    """The ``imports`` output for the database at ``url``."""
    from cloud.d0010.service import list_imports
    from cloud.database.session import create_engine, transaction
    from cloud.estates.scope import Scope

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with transaction(engine) as session:
            imports = await list_imports(session, Scope.everything(), limit=limit)
    finally:
        await engine.dispose()
    if as_json:
        return msgspec.json.encode(imports).decode()
    rows = [
        f"{i.id:>6} {i.imported_at:%Y-%m-%d %H:%M} {i.status:<8} {i.sender:<8} {i.file_id:<10} "
        f"{i.readings:>9} readings {i.readings_stored:>9} new {i.errors_total:>6} errors  {i.file_name}"
        for i in imports
    ]
    return "\n".join(rows) if rows else "no D0010 imports yet"


def run_export(args: argparse.Namespace) -> int:
    """Write the readings asked for as one D0010 file."""
    from cloud.d0010.export import ExportRequest, export_d0010
    from cloud.database.server import database_url

    url = database_url(Settings.from_env(os.environ))
    now = datetime.now(UTC)
    request = ExportRequest(
        mpan_cores=tuple(args.mpan), first_day=args.start, last_day=args.end,
        file_id=args.file_id or now.strftime("%y%m%d%H%M"), from_role=args.from_role,
        from_participant=args.from_participant, to_role=args.to_role, to_participant=args.to_participant,
        test_flag=args.test_flag,
    )  # fmt: skip
    if args.output is None:
        return export_d0010(url, request, sys.stdout.buffer, now=now)
    # Written beside the target and renamed on success, so a failed export leaves no half file.
    partial = args.output.with_name(args.output.name + ".part")
    with partial.open("wb") as out:
        status = export_d0010(url, request, out, now=now)
    if status == 0:
        partial.replace(args.output)
    else:
        partial.unlink()
    return status
