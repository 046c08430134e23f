"""The balance reads answered in one statement per request (``cloud.api.balances``): every role sees
exactly the wallets its scope allows, through ``GET /wallets/{id}`` and ``GET /me/wallets``, and an
ended session is refused on both."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.seed import OWNER_EMAIL, OWNER_PASSWORD, TENANT_PASSWORD, DemoEstate, tenant_email
from tests.integration.api.conftest import Caller, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]
MISSING_WALLET = 999_999


async def readable(client: Client, caller: Caller, wallet_ids: list[int]) -> set[int]:
    """The wallets among ``wallet_ids`` (and one that does not exist) the caller may read; any answer
    but 200 or 404 fails."""
    seen = set()
    for wallet_id in [*wallet_ids, MISSING_WALLET]:
        response = await client.get(f"/api/v1/wallets/{wallet_id}", headers=caller.headers)
        assert response.status_code in (200, 404), response.text
        if response.status_code == 200:
            assert response.json()["id"] == wallet_id and response.json()["pockets"]
            seen.add(wallet_id)
    return seen


async def own(client: Client, caller: Caller) -> set[int]:
    response = await client.get("/api/v1/me/wallets", headers=caller.headers)
    assert response.status_code == 200, response.text
    return {wallet["id"] for wallet in response.json()}


async def test_each_role_reads_exactly_the_wallets_its_scope_allows(
    client: Client, root: Caller, admin: Caller, demo: DemoEstate
) -> None:
    wallets = list(demo.wallet_ids)
    units = {
        w: (await client.get(f"/api/v1/wallets/{w}", headers=admin.headers)).json()["unit_id"]
        for w in wallets
    }
    owned = {w for w, unit in units.items() if unit in demo.unit_ids[:3]}
    body = {"email": "fitter@example.org", "password": "long-enough-pass", "role": "installer"}
    created = await client.post(
        "/api/v1/users", json=body | {"estate_ids": [demo.estate_id]}, headers=root.headers
    )
    assert created.status_code == 201, created.text
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    owner = await sign_in(client, OWNER_EMAIL, OWNER_PASSWORD)
    fitter = await sign_in(client, "fitter@example.org", "long-enough-pass")

    assert await readable(client, tenant, wallets) == await own(client, tenant) == {wallets[0]}
    assert await readable(client, owner, wallets) == await own(client, owner) == owned
    assert owned and len(owned) < len(wallets)
    for staff in (admin, root):
        assert (await readable(client, staff, wallets), await own(client, staff)) == (set(wallets), set())
    assert (await readable(client, fitter, wallets), await own(client, fitter)) == (set(), set())


async def test_an_ended_session_reads_no_balance(
    client: Client, engine: AsyncEngine, demo: DemoEstate
) -> None:
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    async with transaction(engine) as session:
        await session.execute(text("UPDATE auth_sessions SET expires_at = now() - interval '1 second'"))

    wallet = await client.get(f"/api/v1/wallets/{demo.wallet_ids[0]}", headers=tenant.headers)
    mine = await client.get("/api/v1/me/wallets", headers=tenant.headers)
    assert wallet.status_code == mine.status_code == 401
    assert "sign in again" in wallet.json()["detail"]
