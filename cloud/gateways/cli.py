"""``quantify-cloud gateway …``: enrolment codes for installers, and what gateways reported.

- ``gateway enrolment-code --gateway ID [--ttl-min N] [--json]`` prints a one-time code (shown once).
- ``gateway alarms --gateway ID [--json]`` lists the gateway's and the cloud's alarms about it.
- ``gateway discrepancies --gateway ID [--json]`` lists the charges and readings revenue assurance
  flagged: billed differently from what the readings and the tariff give.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cloud.audit.actor import Actor
from cloud.errors import ApplicationError
from cloud.estates.scope import Scope
from cloud.settings import Settings

DEFAULT_TTL_MIN = 24 * 60


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway`` and its sub-commands to ``quantify-cloud``."""
    gateway = subparsers.add_parser(
        "gateway",
        help="enrol gateways and read what they report",
        description="Enrol gateways and read what they report.",
    )
    commands = gateway.add_subparsers(dest="gateway_command", required=True, metavar="SUBCOMMAND")
    code = commands.add_parser(
        "enrolment-code",
        help="issue a one-time enrolment code for a gateway",
        description="Issue a one-time code the installer enters on the gateway. It is shown once, "
        "works once and expires; enrolling again replaces (revokes) the gateway's old key.",
    )
    code.add_argument("--gateway", type=int, required=True, metavar="GATEWAY_ID")
    code.add_argument(
        "--ttl-min",
        type=int,
        default=DEFAULT_TTL_MIN,
        metavar="N",
        help=f"minutes the code stays valid (default {DEFAULT_TTL_MIN})",
    )
    code.add_argument("--json", action="store_true", help="print JSON")
    code.set_defaults(handler=run_enrolment_code)
    for name, handler, text in (
        ("alarms", run_alarms, "alarms the gateway journalled and the cloud raised about it"),
        ("discrepancies", run_discrepancies, "charges and readings billed differently from the readings"),
    ):
        listing = commands.add_parser(name, help=text, description=f"List {text}.")
        listing.add_argument("--gateway", type=int, required=True, metavar="GATEWAY_ID")
        listing.add_argument("--json", action="store_true", help="print JSON")
        listing.set_defaults(handler=handler)


def run_enrolment_code(args: argparse.Namespace) -> int:
    """Issue the code and print it (the only time it is ever shown)."""
    from cloud.gateways.enrolment import create_enrolment_code

    actor = Actor.system("enrolment code issued from the command line", source="quantify-cloud gateway")

    async def issue(session: Any) -> dict[str, Any]:
        issued = await create_enrolment_code(
            session,
            Scope.everything(),
            actor,
            args.gateway,
            timedelta(minutes=args.ttl_min),
            now=datetime.now(UTC),
        )
        return {
            "gateway_id": issued.gateway_id,
            "code": issued.code,
            "expires_at": issued.expires_at.isoformat(),
        }

    return _run(
        issue,
        args.json,
        lambda r: (
            f"enrolment code for gateway {r['gateway_id']}: {r['code']}\n"
            f"valid until {r['expires_at']}; it is shown only now"
        ),
    )


def run_alarms(args: argparse.Namespace) -> int:
    """Print the gateway's alarms, oldest first."""
    from cloud.gateways.reports import list_alarms

    async def rows(session: Any) -> list[dict[str, Any]]:
        alarms = await list_alarms(session, Scope.everything(), args.gateway, limit=1000)
        return [
            {
                "id": a.id,
                "seq": a.seq,
                "origin": a.origin,
                "meter_id": a.meter_id,
                "kind": a.kind,
                "detail": a.detail,
                "raised_at": a.raised_at.isoformat(),
            }
            for a in alarms
        ]

    return _run(
        rows,
        args.json,
        lambda r: (
            "\n".join(
                f"{a['raised_at']}  {a['origin']:7}  {a['kind']:24} {a['meter_id'] or '-'}  {a['detail']}"
                for a in r
            )
            or "no alarms"
        ),
    )


def run_discrepancies(args: argparse.Namespace) -> int:
    """Print the entries revenue assurance flagged, by seq."""
    from cloud.gateways.reports import list_discrepancies

    async def rows(session: Any) -> list[dict[str, Any]]:
        found = await list_discrepancies(session, Scope.everything(), args.gateway, limit=1000)
        return [
            {
                "seq": d.seq,
                "meter_id": d.meter_id,
                "tariff_version": d.tariff_version,
                "charged_cents": d.charged_cents,
                "rerated_cents": d.rerated_cents,
                "detail": d.detail,
            }
            for d in found
        ]

    return _run(
        rows,
        args.json,
        lambda r: (
            "\n".join(f"seq {d['seq']}  meter {d['meter_id']}  {d['detail']}" for d in r)
            or "no discrepancies"
        ),
    )


def _run(work: Callable[[Any], Awaitable[Any]], as_json: bool, human: Callable[[Any], str]) -> int:
    from cloud.database.server import database_url

    url = database_url(Settings.from_env(os.environ))
    try:
        result = asyncio.run(_in_transaction(url, work))
    except ApplicationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if as_json else human(result))
    return 0


async def _in_transaction(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from cloud.database.session import create_engine, transaction

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with transaction(engine) as session:
            return await work(session)
    finally:
        await engine.dispose()
