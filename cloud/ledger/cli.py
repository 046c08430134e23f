"""``quantify-cloud ledger verify [--json]``: check the ledger end to end; non-zero exit on any failure."""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from cloud.ledger.verify import VerificationReport
from cloud.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ledger verify`` to ``quantify-cloud``."""
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
