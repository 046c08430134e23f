"""The API served by a real uvicorn process on loopback (for schemathesis and the benchmark)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from litestar import Litestar

from cloud.app import create_app
from tests.support.processes import running, wait_until
from tests.support.services import free_port, port_answers

DATABASE_ENV = "QUANTIFY_API_TEST_DATABASE_URL"


def app_from_env() -> Litestar:
    """uvicorn's ``--factory`` target: the app over the database the parent process named."""
    return create_app(os.environ[DATABASE_ENV])


@dataclass(frozen=True)
class Server:
    """A running API process: where it answers, and its process id (for CPU accounting)."""

    base_url: str
    pid: int

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the process has used so far, from ``/proc``."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(database_url: str, log: Path) -> Iterator[Server]:
    """One uvicorn worker serving the app on a free loopback port."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tests.integration.api.served:app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with running(command, log, env={DATABASE_ENV: database_url}) as process:
        wait_until(lambda: port_answers("127.0.0.1", port, 0.2), 30, f"uvicorn (see {log})", process)
        yield Server(f"http://127.0.0.1:{port}", process.pid)
