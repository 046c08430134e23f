"""``quantify-provision``: the installer's command line.

Each concern contributes its sub-commands through a ``register(subparsers)`` function in its own
module, listed in :data:`COMMAND_MODULES`; this module only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules that contribute sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = ("provisioning.enrol", "provisioning.passwords", "provisioning.decode")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quantify-provision", description="Quantify installer tools: enrol gateways, decode payloads."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status is returned (0 success, 1 failure, 2 usage)."""
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
