"""``quantify-cloud worker``: run the cloud's background jobs until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from types import FrameType

from cloud.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_THREADS = 2
DEFAULT_VERIFY_EVERY_S = 3600


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``worker`` to ``quantify-cloud``."""
    worker = subparsers.add_parser(
        "worker",
        help="run background jobs (Redis/RabbitMQ from QUANTIFY_BROKER_URL, else in-process)",
        description=(
            "Consume the cloud's job queue. With QUANTIFY_BROKER_URL unset the jobs use dramatiq's "
            "in-process broker, so only jobs this process schedules itself (the ledger verification) run."
        ),
    )
    worker.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="worker threads (default 2)")
    worker.add_argument(
        "--verify-every",
        type=int,
        default=DEFAULT_VERIFY_EVERY_S,
        metavar="SECONDS",
        help="enqueue a ledger verification at start and then every SECONDS (0: never; default 3600)",
    )
    worker.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    """Start a dramatiq worker in this process and keep scheduling verifications until SIGTERM/SIGINT."""
    from dramatiq import Worker

    from cloud.database.server import database_url
    from cloud.workers.broker import make_broker
    from cloud.workers.jobs import declare_jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(os.environ)
    broker = make_broker(settings.broker_url)
    jobs = declare_jobs(broker, database_url(settings))
    stop = _stop_on_signals()
    worker = Worker(broker, worker_threads=max(1, args.threads))
    worker.start()
    log.info("worker started with %d threads", max(1, args.threads))
    try:
        while not stop.is_set():
            if args.verify_every > 0:
                jobs.verify_ledger.send()
            stop.wait(args.verify_every if args.verify_every > 0 else None)
    finally:
        worker.stop()
        broker.close()
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping the worker", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
