"""The demo's real processes for end-to-end tests, and the looks into them the tests take.

``python -m demo --fast`` starts the cloud (``quantify-cloud serve --seed-demo``), the worker, an
MQTT broker, the simulated Modbus and radio meters and the enrolled gateway agent as separate processes, exactly as a newcomer's
``make demo`` does; here it runs on the test's PostgreSQL database instead of an embedded one.
The tests then act as people do: through the API, the gateway's page, the meter's own registers,
and the two verify commands.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.journal import Entry, decode_entry
from tests.support.paths import REPO_ROOT
from tests.support.services import free_port

READY_LINE = "running; press Ctrl-C"
START_TIMEOUT_S = 240


@dataclass
class DemoRun:
    """A running ``python -m demo`` and where its parts answer."""

    process: subprocess.Popen[str]
    directory: Path
    cloud_url: str
    page_url: str
    modbus_port: int
    database_url: str
    lines: list[str] = field(default_factory=list)

    @property
    def store(self) -> Path:
        """The gateway agent's SQLite store."""
        return self.directory / "gateway" / "gateway.sqlite3"

    def status(self) -> dict[str, Any]:
        """The gateway page's JSON (what the page shows)."""
        answer = httpx.get(f"{self.page_url}/api/status", timeout=5)
        answer.raise_for_status()
        return dict(answer.json())

    def meter_status(self, meter_id: str) -> dict[str, Any]:
        """One meter as the gateway page shows it."""
        [meter] = [m for m in self.status()["meters"] if m["id"] == meter_id]
        return dict(meter)


@contextmanager
def demo_running(directory: Path, database_url: str, *, rate: float) -> Iterator[DemoRun]:
    """``python -m demo --fast RATE`` on free ports; Ctrl-C (SIGINT) at the end, which must stop it cleanly."""
    cloud_port, page_port, modbus_port = free_port(), free_port(), free_port()
    command = [
        sys.executable, "-m", "demo", "--fast", str(rate), "--dir", str(directory),
        "--cloud-port", str(cloud_port), "--page-port", str(page_port), "--modbus-port", str(modbus_port),
        "--mqtt-port", str(free_port()), "--coap-port", str(free_port()),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = DemoRun(
        process, directory, f"http://127.0.0.1:{cloud_port}", f"http://127.0.0.1:{page_port}", modbus_port,
        database_url,
    )  # fmt: skip
    ready = threading.Event()
    threading.Thread(target=_collect, args=(run, ready), daemon=True).start()
    try:
        if not ready.wait(START_TIMEOUT_S) or process.poll() is not None:
            raise AssertionError("the demo did not start:\n" + "".join(run.lines) + _logs(directory))
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            status = process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert status == 0, "".join(run.lines)
        assert "stopped every process it started" in run.lines[-1]


def _collect(run: DemoRun, ready: threading.Event) -> None:
    assert run.process.stdout is not None
    for line in run.process.stdout:
        run.lines.append(line)
        if READY_LINE in line:
            ready.set()
    ready.set()  # the demo ended: let the waiter look at why


def _logs(directory: Path) -> str:
    texts = []
    for log in sorted((directory / "logs").glob("*.log")):
        texts.append(f"\n--- {log.name} (last 3000 characters)\n{log.read_text(errors='replace')[-3000:]}")
    return "".join(texts)


class Api:
    """A signed-in API client (the session cookie, and the CSRF token on every change)."""

    def __init__(self, base_url: str, email: str, password: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=10)
        answer = self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        answer.raise_for_status()
        self.csrf = answer.json()["csrf_token"]

    def get(self, path: str, **params: object) -> Any:
        answer = self.client.get(path, params=params)
        answer.raise_for_status()
        return answer.json()

    def post(
        self, path: str, body: dict[str, object], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf, **(headers or {})})

    def close(self) -> None:
        self.client.close()


def read_store(store: Path, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
    """Rows from the running agent's store, read-only (one transaction, so one consistent view)."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
        return list(db.execute(sql, parameters).fetchall())


def gateway_entries(store: Path) -> list[Entry]:
    """The gateway's whole journal, decoded."""
    return [
        decode_entry(bytes(blob)) for (blob,) in read_store(store, "SELECT entry FROM journal ORDER BY seq")
    ]


def wait_for(condition: object, timeout_s: float, what: str, run: DemoRun) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` (and the demo's logs) otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if run.process.poll() is not None:
            raise AssertionError(f"the demo ended while waiting for {what}:\n" + "".join(run.lines))
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s}s" + _logs(run.directory))
