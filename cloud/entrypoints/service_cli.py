"""``quantify-cloud serve``: run the API (migrating an embedded database first, seeding on request)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from types import FrameType

from cloud.settings import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the service commands to ``quantify-cloud``."""
    serve = subparsers.add_parser("serve", help="run the HTTP API (embedded PostgreSQL without DATABASE_URL)")
    serve.add_argument("--host", help="address to listen on (default QUANTIFY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default QUANTIFY_PORT or 8000)")
    serve.add_argument(
        "--seed-demo",
        action="store_true",
        help="create the demo estate and print its logins before serving (idempotent)",
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Resolve the database, prepare it, build the app and serve it until interrupted.

    An embedded database belongs to this process, so it is migrated here; a configured server is
    migrated by its operator (``quantify-cloud migrate``) as a deliberate step of a deployment.
    """
    import uvicorn

    from cloud.app import create_app
    from cloud.database.cli import upgrade_to_head
    from cloud.database.server import database_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    exit_normally_on_sigterm()
    settings = Settings.from_env(os.environ)
    url = database_url(settings)
    if settings.database_url is None or args.seed_demo:
        upgrade_to_head(url)
    if args.seed_demo:
        from cloud.seed_cli import print_logins, seed

        print_logins(asyncio.run(seed(url)))
    app = create_app(url)
    # A held push poll must not keep a stopping cloud alive: gateways reconnect to the next one.
    uvicorn.run(
        app, host=args.host or settings.host, port=args.port or settings.port, log_level="info",
        timeout_graceful_shutdown=5,
    )  # fmt: skip
    return 0


def exit_normally_on_sigterm() -> None:
    """Make SIGTERM end the process through ``sys.exit`` so exit hooks run.

    uvicorn shuts down gracefully on SIGTERM and then re-raises the signal; with the default
    handler the process would die by the signal and skip its ``atexit`` hooks, leaving the embedded
    PostgreSQL running after the cloud has gone.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, handler)
