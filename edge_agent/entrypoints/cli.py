"""``quantify-edge``: the gateway agent's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from edge_agent.errors import EdgeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quantify-edge", description="Quantify gateway agent.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the gateway agent until SIGTERM or Ctrl-C")
    run.add_argument("--config", type=Path, required=True, help="the agent's edge.toml")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(handler=run_agent)

    journal = commands.add_parser("journal", help="inspect the local journal")
    journal_commands = journal.add_subparsers(dest="journal_command", required=True, metavar="ACTION")
    verify = journal_commands.add_parser("verify", help="check the hash chain and sequence of every entry")
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="the agent's edge.toml (its store path is used)")
    source.add_argument("--store", type=Path, help="path of the gateway store (SQLite file)")
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify.set_defaults(handler=run_journal_verify)
    return parser


def run_agent(args: argparse.Namespace) -> int:
    """Load the config (failing fast on any mistake) and run the agent until a signal stops it."""
    import asyncio
    import logging
    import os
    import signal

    from edge_agent.config import load_config_file
    from edge_agent.config.test_clock import clock_from_environment
    from edge_agent.daemon import GatewayAgent, utc_now

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config_file(args.config)
    clock = clock_from_environment(os.environ) or utc_now  # a fast clock for tests and the demo only

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await GatewayAgent(config, clock=clock).run(stop)

    asyncio.run(main())
    return 0


def run_journal_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the chain is sound; 1 naming the first bad entry otherwise."""
    from edge_agent.store.verify import verdict_json, verify_store

    store = args.store if args.store is not None else _store_from_config(args.config)
    verdict = verify_store(store)
    if args.json:
        sys.stdout.write(verdict_json(verdict).decode() + "\n")
    elif verdict.ok:
        head = verdict.head
        print(f"journal ok: {verdict.entries_verified} entries, head seq {head.seq} hash {head.hash}")
    else:
        assert verdict.problem is not None
        problem = verdict.problem
        print(f"journal BROKEN at seq {problem.seq} (entry #{problem.index + 1}): {problem.kind}")
        print(f"  {problem.detail}")
        print(f"  the chain is sound through seq {verdict.head.seq} ({verdict.entries_verified} entries)")
    return 0 if verdict.ok else 1


def _store_from_config(config_path: Path) -> Path:
    from edge_agent.config import load_config_file

    store_path: Path = load_config_file(config_path).store_path
    return store_path


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except EdgeError as error:
        print(f"quantify-edge: {error}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
