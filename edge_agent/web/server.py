"""Serve the local page inside the daemon's own asyncio loop, and stop it on request.

HTTP/1.1 with keep-alive, parsed by h11 over asyncio streams. The daemon owns the process: its
signals, its logging and its exit. So the socket is bound here (a busy port becomes a
:class:`WebServerError`), and :meth:`WebServer.stop` may be called from any thread. Everything is
bounded: connections, header and body sizes, and the time a client may take to send a request or
keep an idle connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import h11

from edge_agent.errors import EdgeError
from edge_agent.web.app import WebApp
from edge_agent.web.http import TEXT_TYPE, Request, Response

logger = logging.getLogger(__name__)
# Requests still running at shutdown (a relay test, say) get this long before they are cancelled.
SHUTDOWN_GRACE_S = 5
START_TIMEOUT_S = 10.0
REQUEST_BODY_BYTES_MAX = 16 * 1024
HEADER_BYTES_MAX = 16 * 1024
CONNECTIONS_MAX = 32
#: How long a client may take to send a whole request, and may keep a connection idle between requests.
REQUEST_TIMEOUT_S = 15.0
IDLE_TIMEOUT_S = 15.0
READ_CHUNK_BYTES = 64 * 1024
_STOP_POLL_S = 0.05


class WebServerError(EdgeError):
    """The local page cannot listen where the configuration says."""


class _Refused(Exception):
    """A request the server answers itself, before the app: malformed or too large."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class WebServer:
    """Serve one :class:`WebApp`: ``await serve()`` until ``stop()`` is called."""

    def __init__(self, app: WebApp, *, host: str, port: int) -> None:
        """``port`` 0 picks a free port; :attr:`port` tells which once :meth:`started` returns."""
        self.app = app
        self.host = host
        self.port = port
        self._should_exit = False
        self._started = False
        self._bind_error: WebServerError | None = None
        #: Each open connection's task, and whether it is in the middle of a request.
        self._connections: dict[asyncio.Task[None], bool] = {}

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
        server = await asyncio.start_server(self._connection, sock=sock, limit=READ_CHUNK_BYTES)
        self._started = True
        logger.info("local page on http://%s:%d/", self.host, self.port)
        try:
            while not self._should_exit:  # polled: stop() may come from another thread
                await asyncio.sleep(_STOP_POLL_S)
        finally:
            server.close()
            await self._close_connections()
            sock.close()

    async def started(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Wait until the page accepts connections (for callers that need to know the port).

        Raises :class:`WebServerError` if :meth:`serve` could not bind, ``TimeoutError`` if it
        was not started within ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            while not self._started:
                if self._bind_error is not None:
                    raise self._bind_error
                await asyncio.sleep(0.02)

    def stop(self) -> None:
        """Ask the server to finish: it stops accepting, lets running requests end, then returns."""
        self._should_exit = True

    async def _close_connections(self) -> None:
        """Close idle connections now; give running requests :data:`SHUTDOWN_GRACE_S` to finish."""
        for task, busy in list(self._connections.items()):
            if not busy:
                task.cancel()
        running = list(self._connections)
        if running:
            _, late = await asyncio.wait(running, timeout=SHUTDOWN_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._connections) >= CONNECTIONS_MAX or self._should_exit:
            writer.close()
            return
        self._connections[task] = False
        peer = writer.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) else "unknown"
        try:
            await self._exchange(task, reader, writer, client)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or went quiet: nothing to answer
        except h11.ProtocolError as error:
            logger.info("closed a connection from %s: %s", client, error)
        except Exception:  # one broken connection must never take the page down
            logger.exception("the local page failed on a connection from %s", client)
        finally:
            del self._connections[task]
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _exchange(
        self,
        task: asyncio.Task[None],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: str,
    ) -> None:
        """Request after request on one connection, until either side closes it."""
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=HEADER_BYTES_MAX)
        while not self._should_exit:
            try:
                request = await _read_request(connection, reader, client)
            except _Refused as refused:
                await _send(connection, writer, self.app.refusal(refused.status_code, refused.detail))
                return
            if request is None:
                return
            self._connections[task] = True
            response = await self.app.handle(request)
            await _send(connection, writer, response)
            self._connections[task] = False
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                return
            connection.start_next_cycle()


async def _read_request(
    connection: h11.Connection, reader: asyncio.StreamReader, client: str
) -> Request | None:
    """The next whole request, or ``None`` when the client closed or idled out between requests.

    The whole request must arrive within :data:`REQUEST_TIMEOUT_S` of its first byte, so a client
    trickling a byte at a time cannot hold one of the few connections for long.
    """
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    head: h11.Request | None = None
    body = bytearray()
    while True:
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError as error:
            raise _Refused(error.error_status_hint, "The request was not valid HTTP.") from None
        if event is h11.NEED_DATA:
            wait_s = IDLE_TIMEOUT_S if deadline is None else max(0.0, deadline - loop.time())
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK_BYTES), wait_s)
            except TimeoutError:
                if deadline is None:
                    return None  # an idle keep-alive connection: close it quietly
                raise
            if deadline is None:
                deadline = loop.time() + REQUEST_TIMEOUT_S
            connection.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > REQUEST_BODY_BYTES_MAX:
                raise _Refused(413, f"The request is larger than {REQUEST_BODY_BYTES_MAX} bytes.")
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            return _request(head, bytes(body), client)
        elif isinstance(event, h11.ConnectionClosed | h11.PAUSED):
            return None


def _request(head: h11.Request, body: bytes, client: str) -> Request:
    target = head.target.decode("latin-1")
    path, _, query = target.partition("?")
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in head.headers}
    return Request(head.method.decode("ascii", "replace"), path, query, headers, body, client)


async def _send(connection: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
    """Write one response; a refused or malformed request's connection is closed after it."""
    if connection.our_state is not h11.SEND_RESPONSE:
        return  # h11 already knows this connection is beyond answering
    headers = [
        ("content-type", response.content_type or TEXT_TYPE),
        ("content-length", str(len(response.body))),
        *response.headers,
    ]
    data = connection.send(h11.Response(status_code=response.status_code, headers=headers))
    assert data is not None
    writer.write(data + (connection.send(h11.Data(data=response.body)) or b""))
    writer.write(connection.send(h11.EndOfMessage()) or b"")
    await writer.drain()
