"""``quantify-cloud``: the cloud's one command line.

Each bounded context contributes its own sub-commands through a ``register(subparsers)`` function
in ``cloud/<context>/cli.py``; this module only wires them together, so adding a context never
means editing another's commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules that contribute sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "cloud.entrypoints.service_cli",
    "cloud.database.cli",
    "cloud.workers.cli",
    "cloud.ledger.cli",
    "cloud.wallets.cli",
    "cloud.tariffs.cli",
    "cloud.gateways.cli",
    "cloud.d0010.cli",
    "cloud.seed_cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every context's sub-commands registered."""
    parser = argparse.ArgumentParser(
        prog="quantify-cloud", description="Quantify cloud: ledger, wallets, estates and API."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status is the command's (0 success, 1 failure, 2 usage)."""
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
