"""``quantify-cloud wallet adjust``: an operator's correction to a pocket, from the command line.

``wallet adjust --pocket ID --amount-cents N --reason TEXT --idempotency-key KEY
[--effective-at ISO] [--json]`` credits (N > 0) or debits (N < 0) the pocket against suspense,
exactly as ``POST /api/v1/pockets/{id}/adjustments`` does; running it again with the same key
posts nothing more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import socket
import sys
from datetime import UTC, datetime
from typing import Any

from cloud.audit.actor import Actor
from cloud.errors import ApplicationError
from cloud.estates.scope import Scope
from cloud.ledger.periods import EARLIEST
from cloud.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``wallet adjust`` to ``quantify-cloud``."""
    wallet = subparsers.add_parser(
        "wallet", help="correct wallet pockets", description="Correct wallet pockets."
    )
    commands = wallet.add_subparsers(dest="wallet_command", required=True, metavar="SUBCOMMAND")
    adjust = commands.add_parser(
        "adjust",
        help="credit or debit a pocket against suspense",
        description="Credit (positive cents) or debit (negative cents) a pocket against the suspense "
        "account, with the reason as the posting's memo and in the audit trail. The same "
        "--idempotency-key again posts nothing more.",
    )
    adjust.add_argument("--pocket", type=int, required=True, metavar="POCKET_ID")
    adjust.add_argument("--amount-cents", type=int, required=True, metavar="N", help="e.g. 2500 or -2500")
    adjust.add_argument("--reason", required=True, help="why, kept in the ledger and the audit trail")
    adjust.add_argument(
        "--idempotency-key", required=True, metavar="KEY", help="your reference for this one correction"
    )
    adjust.add_argument(
        "--effective-at", metavar="ISO", help="date the correction (with offset), default now"
    )
    adjust.add_argument("--json", action="store_true", help="print JSON")
    adjust.set_defaults(handler=run_adjust)


def run_adjust(args: argparse.Namespace) -> int:
    """Post the adjustment and print it; exit 1 with the reason if refused, 2 for a bad argument."""
    try:
        effective_at = _moment(args.effective_at) if args.effective_at else None
    except ValueError as error:
        print(f"error: --effective-at: {error}", file=sys.stderr)
        return 2
    operator = f"{pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}"
    actor = Actor.system(args.reason.strip(), source=f"quantify-cloud wallet adjust ({operator})")
    try:
        result = asyncio.run(_adjust(args, actor, effective_at))
    except ApplicationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        verb = "posted" if result["created"] else "already posted"
        print(
            f"adjustment {verb}: pocket {result['pocket_id']} {result['amount_cents']:+d} cents "
            f"(seq {result['seq']}), balance {result['balance_cents']} cents"
        )
    return 0


async def _adjust(args: argparse.Namespace, actor: Actor, effective_at: datetime | None) -> dict[str, Any]:
    from cloud.database.server import database_url
    from cloud.database.session import create_engine, transaction
    from cloud.wallets.adjustments import adjust_pocket
    from cloud.wallets.services import get_pocket

    engine = create_engine(database_url(Settings.from_env(os.environ)), pool_size=1, max_overflow=0)
    try:
        async with transaction(engine) as session:
            done = await adjust_pocket(
                session,
                Scope.everything(),
                actor,
                args.pocket,
                amount_cents=args.amount_cents,
                idempotency_key=f"{args.pocket}:{args.idempotency_key.strip()}",
                effective_at=effective_at,
            )
            pocket = await get_pocket(session, Scope.everything(), args.pocket)
    finally:
        await engine.dispose()
    posting = done.posting
    return {
        "pocket_id": done.pocket_id,
        "seq": posting.seq,
        "amount_cents": posting.amount_cents
        if posting.credit_account_id == pocket.account_id
        else -posting.amount_cents,
        "effective_at": posting.effective_at.isoformat(),
        "created": done.created,
        "balance_cents": pocket.balance_cents,
    }


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError(f"give the offset, e.g. {text}+02:00")
    if moment > datetime.now(UTC):
        raise ValueError(f"{text} is in the future; date it now or earlier")
    if moment < EARLIEST:
        raise ValueError(f"{text} is before {EARLIEST.date()}; no posting is")
    return moment
