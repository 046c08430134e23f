"""The local page served by its own small HTTP server on a free loopback port, and Debian's Chromium to look at it.

Chromium comes from the system (``scripts/ensure-chromium``), not from Playwright's download:
the test machines have no internet. Under ``CI=true`` a missing Chromium fails, naming it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from edge_agent.web import LoginLimiter, WebServer, create_web_app, hash_password
from tests.integration.web.fakes import FakeGateway
from tests.support import services

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)
SECRET = b"0123456789abcdef0123456789abcdef"


@dataclass
class RunningPage:
    """A page being served: where, and the gateway behind it."""

    base_url: str
    gateway: FakeGateway
    server: WebServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the web server did not stop"


@contextmanager
def _serve(gateway: FakeGateway, **app_options: Any) -> Iterator[RunningPage]:
    app = create_web_app(gateway, session_secret=SECRET, **app_options)
    server = WebServer(app, host=services.LOCALHOST, port=0)
    # The page runs in its own thread and loop, as in the daemon; Playwright's sync API owns this one.
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), name="web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while server.port == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    services.wait_for_port(services.LOCALHOST, server.port, 10, "the local page")
    running = RunningPage(f"http://{services.LOCALHOST}:{server.port}", gateway, server, thread)
    try:
        yield running
    finally:
        if thread.is_alive():
            running.stop()


ServePage = Callable[..., RunningPage]


@pytest.fixture
def serve_page() -> Iterator[ServePage]:
    """Start the page over a fresh FakeGateway; options go to ``create_web_app``. Stopped after the test."""
    with ExitStack() as stack:

        def start(**options: Any) -> RunningPage:
            options.setdefault("installer_password_hash", PASSWORD_HASH)
            options.setdefault("limiter", LoginLimiter(failures_per_client_max=3))
            return stack.enter_context(_serve(FakeGateway(), **options))

        yield start


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) per test, desktop-sized."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()
