"""Real processes for end-to-end tests: started, waited on, and always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.paths import REPO_ROOT
from tests.support.services import free_port, port_answers


@contextmanager
def running(
    command: Sequence[str], log: Path, *, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (output to ``log``) for the block; SIGTERM then SIGKILL it afterwards."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(command),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def simulator(meters: Sequence[str], log: Path, *, speedup: float = 60.0) -> Iterator[int]:
    """``python -m demo.simulator`` on a free loopback TCP port with ``UNIT:MODEL:WATTS`` meters."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "demo.simulator",
        "--tcp",
        f"127.0.0.1:{port}",
        "--speedup",
        str(speedup),
    ]
    for meter in meters:
        command += ["--meter", meter]
    with running(command, log) as process:
        wait_until(lambda: port_answers("127.0.0.1", port, 0.2), 20, f"simulator (see {log})", process)
        yield port


def wait_until(
    condition: object, timeout_s: float, what: str, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` (early if ``process`` died)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what} exited with status {process.returncode}")
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not ready after {timeout_s}s")
