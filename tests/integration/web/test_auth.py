"""Password hashes, sessions, the login limiter and the server helper, without a browser."""

from __future__ import annotations

import asyncio
import socket

import pytest

from edge_agent.errors import ConfigError
from edge_agent.web import (
    LoginLimiter,
    WebServer,
    WebServerError,
    create_web_app,
    hash_password,
    verify_password,
)
from edge_agent.web.auth import InstallerSessions
from tests.integration.web.conftest import PASSWORD_HASH, SECRET
from tests.integration.web.fakes import FakeGateway

pytestmark = pytest.mark.anyio


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_password_hash_is_salted_scrypt_in_the_documented_form() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")

    assert first.startswith("scrypt$16384$8$1$") and len(first.split("$")) == 6
    assert first != second  # a random salt each time
    assert "correct horse" not in first
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct hors", first)
    assert not verify_password("", first)


def test_too_short_a_password_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="at least 8 characters"):
        hash_password("1234567")


@pytest.mark.parametrize(
    ("stored", "says"),
    [
        ("hunter2", "as printed by `quantify-provision hash-password`"),
        ("scrypt$16384$8$1$zz$00", "hexadecimal"),
        ("scrypt$1000$8$1$" + "00" * 16 + "$" + "00" * 32, "power of two"),
        ("scrypt$1073741824$8$1$" + "00" * 16 + "$" + "00" * 32, "n must be a whole number from 1 to"),
    ],
)
def test_a_malformed_stored_hash_is_a_config_error_naming_the_key(stored: str, says: str) -> None:
    with pytest.raises(ConfigError, match=r"\[web\] installer_password_hash") as raised:
        verify_password("whatever", stored)
    assert says in str(raised.value)
    with pytest.raises(ConfigError):
        create_web_app(FakeGateway(), installer_password_hash=stored, session_secret=SECRET)


def test_a_session_ends_at_expiry_at_logout_and_when_the_password_changes() -> None:
    clock = Clock()
    sessions = InstallerSessions(SECRET, PASSWORD_HASH, max_age_s=600, clock=clock)
    cookie = sessions.issue()
    assert sessions.is_valid(cookie)

    session_id, expires, signature = cookie.split(".")
    assert not sessions.is_valid(f"{session_id}.{int(expires) + 3600}.{signature}")  # stretched expiry
    assert not sessions.is_valid("forged.1.00")
    assert not InstallerSessions(SECRET, hash_password("another password"), max_age_s=600).is_valid(cookie)

    clock.now += 601
    assert not sessions.is_valid(cookie)

    other = sessions.issue()
    sessions.end(other)
    assert not sessions.is_valid(other)


def test_the_limiter_pauses_a_client_for_its_window_then_lets_it_try_again() -> None:
    clock = Clock()
    limiter = LoginLimiter(failures_per_client_max=3, failures_total_max=5, window_s=300, clock=clock)
    for _ in range(3):
        assert limiter.retry_after_s("10.0.0.7") is None
        limiter.record_failure("10.0.0.7")
        clock.now += 10
    assert limiter.retry_after_s("10.0.0.7") == 300 - 30
    assert limiter.retry_after_s("10.0.0.8") is None  # another client is not punished

    limiter.record_failure("10.0.0.8")
    limiter.record_failure("10.0.0.9")  # five failures in all: everyone waits
    assert limiter.retry_after_s("10.0.0.10") is not None

    clock.now += 300
    assert limiter.retry_after_s("10.0.0.7") is None
    assert limiter.attempts_left("10.0.0.7") == 3


async def test_the_server_helper_serves_in_the_callers_loop_and_stops_on_request() -> None:
    server = WebServer(
        create_web_app(FakeGateway(), installer_password_hash=None, session_secret=SECRET),
        host="127.0.0.1",
        port=0,
    )
    task = asyncio.create_task(server.serve())
    await server.started()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok")

    server.stop()
    await asyncio.wait_for(task, 10)


async def test_a_busy_port_is_reported_not_exited() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = WebServer(
            create_web_app(FakeGateway(), installer_password_hash=None, session_secret=SECRET),
            host="127.0.0.1",
            port=port,
        )
        serving = asyncio.create_task(server.serve())
        with pytest.raises(WebServerError, match=f"port={port}: cannot listen there"):
            await server.started()
        with pytest.raises(WebServerError):
            await serving


async def _exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def test_unknown_pages_and_oversized_forms_get_a_readable_error_page() -> None:
    server = WebServer(
        create_web_app(FakeGateway(), installer_password_hash=PASSWORD_HASH, session_secret=SECRET),
        host="127.0.0.1",
        port=0,
    )
    task = asyncio.create_task(server.serve())
    await server.started()

    missing = await _exchange(server.port, b"GET /nowhere HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    assert missing.startswith(b"HTTP/1.1 404")
    assert b"Back to the gateway page" in missing and b"x-frame-options: DENY" in missing

    body = b"password=" + b"x" * 20_000
    head = b"POST /login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    too_large = await _exchange(server.port, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert too_large.startswith(b"HTTP/1.1 413")
    assert b"larger than 16384 bytes" in too_large

    server.stop()
    await asyncio.wait_for(task, 10)


async def test_keep_alive_serves_several_requests_and_stop_closes_an_idle_connection() -> None:
    server = WebServer(
        create_web_app(FakeGateway(), installer_password_hash=None, session_secret=SECRET),
        host="127.0.0.1",
        port=0,
    )
    task = asyncio.create_task(server.serve())
    await server.started()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    for _ in range(2):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        assert await reader.readexactly(2) == b"ok"

    server.stop()  # the browser's idle keep-alive connection must not hold the server open
    await asyncio.wait_for(task, 3)
    assert await asyncio.wait_for(reader.read(), 3) == b""
    writer.close()
