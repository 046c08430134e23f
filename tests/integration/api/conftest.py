"""Fixtures for the REST API: a migrated database with the demo estate, an in-process client, logins."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import anyio
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.app import create_app
from cloud.database.cli import upgrade_to_head
from cloud.database.session import create_engine
from cloud.seed import ADMIN_EMAIL, ADMIN_PASSWORD, DemoEstate, seed_demo

SUPER_EMAIL = "root@platform.example"
SUPER_PASSWORD = "platform-root-password"


@dataclass
class Caller:
    """A signed-in user's headers: the session cookie and, for unsafe methods, the CSRF token."""

    email: str
    headers: dict[str, str] = field(default_factory=dict)
    user_id: int = 0


@pytest.fixture(scope="session")
def seeded_template(postgres_admin_url: str) -> Iterator[str]:
    """A database migrated and seeded once per run (demo estate plus a super admin); each test
    copies it, which takes a fraction of the time migrating and seeding (14 scrypt hashes) take."""
    name = f"quantify_api_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _database_url(postgres_admin_url, name)
    upgrade_to_head(url)
    demo = anyio.run(_seed, url)
    assert demo.wallet_ids, "the demo estate has tenants with wallets"
    yield name
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _seed(url: str) -> DemoEstate:
    engine = create_engine(url)
    try:
        result = await seed_demo(engine)
        await add_user(engine, SUPER_EMAIL, SUPER_PASSWORD, "super_admin")
    finally:
        await engine.dispose()
    return result


@pytest.fixture
def migrated_url(postgres_admin_url: str, seeded_template: str) -> Iterator[str]:
    """A fresh copy of the seeded template for one test, dropped afterwards."""
    name = f"quantify_api_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{seeded_template}"')
    yield _database_url(postgres_admin_url, name)
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database_url(admin_url: str, name: str) -> str:
    return make_conninfo("", **(conninfo_to_dict(admin_url) | {"dbname": name}))


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def demo(engine: AsyncEngine) -> DemoEstate:
    """The seeded demo estate (seeding again finds everything and returns its ids)."""
    return await seed_demo(engine)


async def add_user(
    engine: AsyncEngine,
    email: str,
    password: str,
    role: str,
    *,
    person_id: int | None = None,
    estate_id: int | None = None,
) -> None:
    """Insert a user directly (what an operator's bootstrap does before anyone can sign in)."""
    from cloud.auth.models import Role
    from cloud.database.session import transaction
    from cloud.seed import ensure_user

    async with transaction(engine) as session:
        await ensure_user(session, email, password, Role(role), person_id=person_id, estate_id=estate_id)


@pytest.fixture
async def client(migrated_url: str, demo: DemoEstate) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(migrated_url)) as test_client:
        yield test_client


async def sign_in(client: AsyncTestClient[Litestar], email: str, password: str) -> Caller:
    """Log in and return the caller's headers; the client's own cookie jar is left empty so one
    client can act as several users."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token = response.cookies["quantify_session"]
    client.cookies.clear()
    body = response.json()
    return Caller(
        email,
        {"Cookie": f"quantify_session={token}", "X-CSRF-Token": body["csrf_token"]},
        body["user_id"],
    )


@pytest.fixture
async def admin(client: AsyncTestClient[Litestar]) -> Caller:
    """The demo estate's managing agent."""
    return await sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
async def root(client: AsyncTestClient[Litestar]) -> Caller:
    """A platform super admin."""
    return await sign_in(client, SUPER_EMAIL, SUPER_PASSWORD)
