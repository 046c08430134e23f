"""A virtual serial cable: two linked pseudo-terminals made by ``socat``.

The simulator opens one end as its RS485 port and the gateway's RTU client the other, so RTU
frames (with CRC) cross a real tty. Stopping the pair makes both devices vanish, as an unplugged
USB adapter does; starting it again with the same paths brings them back.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

READY_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0
_POLL_S = 0.01


class PtyError(RuntimeError):
    """socat is missing, or the pty pair did not appear in time."""


class PtyPair:
    """Two linked ptys at ``meters_path`` (the simulator's end) and ``gateway_path``."""

    def __init__(self, directory: Path, socat: str | None = None) -> None:
        self.meters_path = directory / "meters"
        self.gateway_path = directory / "gateway"
        found = socat or shutil.which("socat")
        if found is None:
            raise PtyError("socat is not installed; it makes the virtual serial line")
        self._socat = found
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether socat is running."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start socat and wait (bounded) until both pty links exist."""
        if self.running:
            return
        ends = [f"pty,raw,echo=0,link={path}" for path in (self.meters_path, self.gateway_path)]
        self._process = subprocess.Popen(
            [self._socat, *ends], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not (self.meters_path.exists() and self.gateway_path.exists()):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise PtyError(f"socat did not create {self.meters_path} and {self.gateway_path}")
            time.sleep(_POLL_S)

    def stop(self) -> None:
        """Stop socat (the ptys and their links disappear); kill it if it does not exit in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> PtyPair:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
