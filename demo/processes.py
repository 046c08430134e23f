"""Start the demo's processes, wait until each is ready, and stop every one on the way out.

The demo runs the real deployables as separate processes (the same ones production runs), so a
newcomer sees exactly what an estate runs. Whatever happens — Ctrl-C, an error, a process dying —
every process started here is stopped before the demo exits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STOP_TIMEOUT_S = 15


class DemoError(RuntimeError):
    """A demo process failed to start or died; the message says which and where its log is."""


@dataclass
class Supervisor:
    """Owns the demo's child processes."""

    log_dir: Path
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, command: Sequence[str], env: dict[str, str] | None = None) -> Path:
        """Start ``command`` with its output in ``<log_dir>/<name>.log``; return the log's path."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # Ctrl-C reaches the demo only; it stops children in order
            )
        self.children.append((name, process))
        return log_path

    def wait_until(self, name: str, ready: Callable[[], bool], timeout_s: float) -> None:
        """Poll ``ready`` until true; fail early, naming the log, if the process dies first."""
        process = dict(self.children)[name]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(
                    f"{name} exited with status {process.returncode}; see {self.log_dir / name}.log"
                )
            if ready():
                return
            time.sleep(0.2)
        raise DemoError(f"{name} was not ready after {timeout_s:.0f}s; see {self.log_dir / name}.log")

    def check_alive(self) -> None:
        """Raise if any child has exited."""
        for name, process in self.children:
            if process.poll() is not None:
                raise DemoError(
                    f"{name} exited with status {process.returncode}; see {self.log_dir / name}.log"
                )

    def stop_all(self) -> None:
        """Stop children in reverse start order: SIGTERM, then SIGKILL after a grace period."""
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    print(f"demo: {name} did not stop in {STOP_TIMEOUT_S}s; killing it", file=sys.stderr)
                    process.kill()
                    process.wait()
        self.children.clear()


def port_open(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    """A readiness probe: something accepts TCP connections on host:port."""

    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return probe


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness probe: ``url`` answers 200."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback URL we built)
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return probe


def log_says(log: Path, text: str) -> Callable[[], bool]:
    """A readiness probe: the process has written ``text`` to its log."""

    def probe() -> bool:
        try:
            return text in log.read_text(errors="replace")
        except OSError:
            return False

    return probe
