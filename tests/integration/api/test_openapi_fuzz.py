"""schemathesis against the served OpenAPI document: no 5xx, no response that breaks its schema.

Runs as a platform super admin over the seeded demo estate, against one uvicorn process, with a
bounded number of generated examples per operation (the suite has a time budget).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.integration.api.conftest import SUPER_EMAIL, SUPER_PASSWORD, _database_url
from tests.integration.api.served import served

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def api_base_url(
    postgres_admin_url: str, seeded_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    name = f"quantify_api_fuzz_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{seeded_template}"')
    log: Path = tmp_path_factory.mktemp("fuzz") / "uvicorn.log"
    try:
        with served(_database_url(postgres_admin_url, name), log) as server:
            yield server.base_url
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def root_headers(api_base_url: str) -> dict[str, str]:
    response = httpx.post(
        f"{api_base_url}/api/v1/auth/login", json={"email": SUPER_EMAIL, "password": SUPER_PASSWORD}
    )
    response.raise_for_status()
    token = response.cookies["quantify_session"]
    return {"Cookie": f"quantify_session={token}", "X-CSRF-Token": response.json()["csrf_token"]}


def load_schema(base_url: str) -> schemathesis.schemas.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    # Authenticate every request as the super admin; generated cookies and bearer tokens would
    # only exercise the 401 answer (tested on its own in test_access).
    schema.config.generation.with_security_parameters = False
    # Signing out would end the session every other generated request authenticates with.
    return schema.exclude(path="/api/v1/auth/logout")


def fuzz(operation: Any, base_url: str, headers: dict[str, str]) -> None:
    """Generated requests for one operation (schemathesis' own pytest plugin cannot load a schema
    from a fixture under this pytest, so each operation runs through Hypothesis directly)."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url, headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    run()


def test_no_server_errors_and_responses_match_the_schema(
    api_base_url: str, root_headers: dict[str, str]
) -> None:
    failures = {}
    operations = [result.ok() for result in load_schema(api_base_url).get_all_operations()]  # type: ignore[union-attr]
    for operation in operations:
        try:
            fuzz(operation, api_base_url, root_headers)
        except Exception as error:  # every operation runs; the assertion lists all that failed
            failures[operation.label] = str(error)[:2000]
    assert len(operations) > 30
    assert failures == {}
