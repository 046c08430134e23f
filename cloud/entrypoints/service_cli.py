"""``quantify-cloud serve``: run the API."""

from __future__ import annotations

import argparse
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
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Resolve the database, build the app and serve it until interrupted."""
    import uvicorn

    from cloud.app import create_app
    from cloud.database.server import database_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    exit_normally_on_sigterm()
    settings = Settings.from_env(os.environ)
    app = create_app(database_url(settings))
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_level="info")
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
