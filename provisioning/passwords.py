"""``quantify-provision hash-password``: the installer password line for ``edge.toml``.

The gateway stores only a scrypt hash of the installer's password (``[web]
installer_password_hash``); this command reads the password without echoing it (or from standard
input with ``--stdin``, for scripts) and prints the line to paste into the config.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from edge_agent.web.passwords import hash_password

MIN_PASSWORD_CHARS = 10


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = subparsers.add_parser("hash-password", help="hash the installer password for edge.toml")
    command.add_argument("--stdin", action="store_true", help="read the password from standard input")
    command.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("installer password: ")
        if getpass.getpass("again: ") != password:
            print("quantify-provision: the two passwords differ; nothing written", file=sys.stderr)
            return 1
    if len(password) < MIN_PASSWORD_CHARS:
        print(f"quantify-provision: use at least {MIN_PASSWORD_CHARS} characters", file=sys.stderr)
        return 1
    print(f'installer_password_hash = "{hash_password(password)}"')
    return 0
