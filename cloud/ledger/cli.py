"""``quantify-cloud ledger …``: verify the ledger, and close accounting periods.

- ``ledger verify [--json]`` checks the ledger end to end; non-zero exit on any failure.
- ``ledger close-period --from DATE --to DATE --reason TEXT [--time-zone TZ] [--json]`` closes
  [from, to) for posting, for good; ``ledger periods [--json]`` lists the closed periods.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.errors import ApplicationError
from cloud.ledger.models import ClosedPeriod
from cloud.ledger.verify import VerificationReport
from cloud.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ledger verify``, ``ledger close-period`` and ``ledger periods`` to ``quantify-cloud``."""
    ledger = subparsers.add_parser(
        "ledger", help="inspect the ledger of record", description="Inspect the ledger."
    )
    commands = ledger.add_subparsers(dest="ledger_command", required=True, metavar="SUBCOMMAND")
    verify = commands.add_parser(
        "verify",
        help="check the hash chain, the zero sum and every balance row",
        description=(
            "Walk every posting's hash chain, check that all balances sum to zero and that each "
            "account's balance row equals the sum of its postings. Exit status 0 when everything "
            "checks out, 1 otherwise."
        ),
    )
    verify.add_argument("--json", action="store_true", help="print the full report as JSON")
    verify.set_defaults(handler=run_verify)
    _register_periods(commands)


def _register_periods(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    close = commands.add_parser(
        "close-period",
        help="close an accounting period for posting, for good",
        description=(
            "Close [--from, --to) for posting across the whole ledger: from then on no posting may be "
            "dated inside it, and the period can never be reopened. The period must be over and may "
            "not overlap one already closed. Audited with the reason and the operator's account."
        ),
    )
    close.add_argument(
        "--from", dest="starts", required=True, metavar="DATE", help="first day, e.g. 2026-10-01"
    )
    close.add_argument(
        "--to", dest="ends", required=True, metavar="DATE", help="first day after the period (exclusive)"
    )
    close.add_argument(
        "--reason", required=True, help="why, for the audit trail (e.g. 'October books signed off')"
    )
    close.add_argument(
        "--time-zone", default="UTC", metavar="TZ", help="whose midnight the dates mean (default UTC)"
    )
    close.add_argument("--json", action="store_true", help="print the closed period as JSON")
    close.set_defaults(handler=run_close_period)
    listing = commands.add_parser(
        "periods", help="list the closed periods", description="List the closed periods, earliest first."
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list_periods)


def run_verify(args: argparse.Namespace) -> int:
    """Verify the configured database's ledger and print the report."""
    from cloud.database.server import database_url

    report = asyncio.run(verify_url(database_url(Settings.from_env(os.environ))))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(summary(report))
    return 0 if report.ok else 1


async def verify_url(libpq_url: str) -> VerificationReport:
    """Verify the ledger in the database at ``libpq_url`` on a short-lived engine."""
    from cloud.database.session import create_engine
    from cloud.ledger.verify import verify_ledger

    engine = create_engine(libpq_url, pool_size=1, max_overflow=0)
    try:
        return await verify_ledger(engine)
    finally:
        await engine.dispose()


def summary(report: VerificationReport) -> str:
    """A few lines for people: the verdict, what was checked, and each problem."""
    verdict = "OK" if report.ok else "FAILED"
    lines = [
        f"ledger {verdict}: {report.postings_checked} postings through seq {report.through_seq}, "
        f"{report.accounts_checked} accounts, balances sum to {report.balance_total_cents} cents"
    ]
    lines += [f"  {problem.check}: {problem.message}" for problem in report.problems]
    if report.problems_not_listed:
        lines.append(f"  … and {report.problems_not_listed} more problems")
    return "\n".join(lines)


def run_close_period(args: argparse.Namespace) -> int:
    """Close the period the arguments name and print it; exit 1 with the reason if refused."""
    from cloud.ledger.periods import close_period

    try:
        starts_at, ends_at = (period_bound(value, args.time_zone) for value in (args.starts, args.ends))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    actor = Actor.system(args.reason.strip(), source=f"quantify-cloud ledger close-period ({_operator()})")

    async def close(session: AsyncSession) -> dict[str, Any]:
        period = await close_period(session, starts_at, ends_at, actor, now=datetime.now(UTC))
        return period_json(period)

    return _run(
        close,
        args.json,
        lambda p: (
            f"closed period #{p['id']}: {p['starts_at']} to {p['ends_at']} (no posting may be dated in it)"
        ),
    )


def run_list_periods(args: argparse.Namespace) -> int:
    """Print the closed periods, earliest first."""
    from cloud.ledger.periods import list_closed_periods

    async def periods(session: AsyncSession) -> list[dict[str, Any]]:
        return [period_json(p) for p in await list_closed_periods(session)]

    return _run(
        periods,
        args.json,
        lambda rows: (
            "\n".join(
                f"#{p['id']}  {p['starts_at']} to {p['ends_at']}  closed {p['closed_at']}  {p['reason']}"
                for p in rows
            )
            or "no closed periods"
        ),
    )


def period_bound(value: str, time_zone: str) -> datetime:
    """A period's edge from the command line: a date means midnight in ``time_zone``; a full ISO time
    with its offset is taken as given."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"--time-zone: expected an IANA name such as Africa/Johannesburg, got {time_zone!r}"
        ) from None
    try:
        return datetime.combine(date.fromisoformat(value), time(), zone)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"expected a date such as 2026-10-01 (or an ISO time with offset), got {value!r}"
        ) from None
    if moment.utcoffset() is None:
        raise ValueError(f"{value!r}: give the offset (e.g. +02:00), or a plain date and --time-zone")
    return moment


def period_json(period: ClosedPeriod) -> dict[str, Any]:
    """A closed period as JSON."""
    return {
        "id": period.id,
        "starts_at": period.starts_at.isoformat(),
        "ends_at": period.ends_at.isoformat(),
        "closed_at": period.closed_at.isoformat(),
        "closed_by_user_id": period.closed_by_user_id,
        "reason": period.reason,
    }


def _operator() -> str:
    # Who ran the command: the account on this host (the audit trail's "who" for an operator).
    return f"{pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}"


def _run(work: Callable[[AsyncSession], Awaitable[Any]], as_json: bool, human: Callable[[Any], str]) -> int:
    from cloud.database.server import database_url
    from cloud.database.session import create_engine, transaction

    async def in_transaction() -> Any:
        engine = create_engine(database_url(Settings.from_env(os.environ)), pool_size=1, max_overflow=0)
        try:
            async with transaction(engine) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(in_transaction())
    except ApplicationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if as_json else human(result))
    return 0
