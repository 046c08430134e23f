"""Serve the local page inside the daemon's own asyncio loop, and stop it on request.

The daemon owns the process: its signals, its logging and its exit. So the socket is bound here
(a busy port becomes a :class:`WebServerError` instead of uvicorn's ``sys.exit``), and uvicorn's
signal capture is switched off (``SIGTERM`` stays the daemon's to handle; it calls :meth:`stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from litestar import Litestar

from edge_agent.errors import EdgeError

logger = logging.getLogger(__name__)
# Requests still running at shutdown (a relay test, say) get this long before they are cancelled.
SHUTDOWN_GRACE_S = 5
START_TIMEOUT_S = 10.0


class WebServerError(EdgeError):
    """The local page cannot listen where the configuration says."""


class _DaemonOwnedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Leave signal handling to the daemon."""
        yield


class WebServer:
    """One uvicorn server for the page: ``await serve()`` until ``stop()`` is called."""

    def __init__(self, app: Litestar, *, host: str, port: int) -> None:
        """``port`` 0 picks a free port; :attr:`port` tells which once :meth:`started` returns."""
        self.host = host
        self.port = port
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            server_header=False,
        )
        self._server = _DaemonOwnedServer(config)
        self._bind_error: WebServerError | None = None

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self.port), family=family)
        except OSError as error:
            self._bind_error = WebServerError(
                f"[web] host={self.host!r} port={self.port}: cannot listen there ({error.strerror}); "
                "is another program using that port?"
            )
            raise self._bind_error from None
        self.port = sock.getsockname()[1]
        return sock

    async def serve(self) -> None:
        """Serve until :meth:`stop`; raises :class:`WebServerError` if the port cannot be bound."""
        sock = self._bind()
        logger.info("local page on http://%s:%d/", self.host, self.port)
        try:
            await self._server.serve(sockets=[sock])
        finally:
            sock.close()

    async def started(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Wait until the page accepts connections (for callers that need to know the port).

        Raises :class:`WebServerError` if :meth:`serve` could not bind, ``TimeoutError`` if it
        was not started within ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            while not self._server.started:
                if self._bind_error is not None:
                    raise self._bind_error
                await asyncio.sleep(0.02)

    def stop(self) -> None:
        """Ask the server to finish: it stops accepting, lets running requests end, then returns."""
        self._server.should_exit = True
