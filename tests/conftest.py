"""Fixtures for real services, and the end-of-run summary of which ones were used.

See ``tests/support/services.py`` for the policy: the machine's servers first; embedded stand-ins
outside CI; a missing service under ``CI=true`` fails the test that needs it, naming the service.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.support import services
from tests.support.browser import chromium_browser

# Shared machines are noisy: no per-example deadline. CI runs a fixed, reproducible search.
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile(
    "ci", deadline=None, max_examples=100, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if services.IN_CI else "dev"))


def _need(resolve: object, service: str) -> object:
    """Resolve a service; fail under CI, skip elsewhere, always naming it."""
    try:
        return resolve()  # type: ignore[operator]
    except services.ServiceMissing as error:
        if services.IN_CI:
            pytest.fail(f"{service} unavailable under CI=true: {error}", pytrace=False)
        pytest.skip(f"{service} unavailable: {error}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (Debian's, driven by Playwright's sync API).

    Module scope, not session: while Playwright's sync API is active it keeps an event loop running
    on the main thread, and every asyncio test after it would fail; it must stop with its module.
    """
    yield from chromium_browser()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests (``pytest.mark.anyio``) run on asyncio, as the agent and the cloud do."""
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A PostgreSQL URL with rights to create and drop databases."""
    return str(_need(services.postgres_admin_url, "PostgreSQL"))


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"quantify_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(postgres_admin_url)
    params["dbname"] = name
    yield make_conninfo(**params)
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    return str(_need(services.redis_url, "Redis"))


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    return str(_need(services.rabbitmq_url, "RabbitMQ"))


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Broker]:
    """An MQTT broker: the machine's Mosquitto, or one started for this run."""
    work_dir: Path = tmp_path_factory.mktemp("mqtt")
    broker = _need(lambda: services.mqtt_broker(work_dir), "MQTT broker")
    assert isinstance(broker, services.Broker)
    yield broker
    broker.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which real services the run used, and which were missing."""
    if not services.REPORT.lines:
        return
    terminalreporter.section("services")
    for service, how in services.REPORT.lines.items():
        terminalreporter.write_line(f"{service}: {how}")
