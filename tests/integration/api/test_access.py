"""Signing in, CSRF, API keys (scoped, shown once, revocable, rate-limited) and role permissions."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.auth.models import ApiKey, User
from cloud.database.session import transaction
from cloud.seed import ADMIN_EMAIL, ADMIN_PASSWORD, TENANT_PASSWORD, DemoEstate, tenant_email
from tests.integration.api.conftest import Caller, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]


async def test_login_sets_an_httponly_strict_cookie_and_a_wrong_password_says_so(client: Client) -> None:
    ok = await client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    client.cookies.clear()
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "not-the-password"}
    )
    nobody = await client.post(
        "/api/v1/auth/login", json={"email": "x@y.example", "password": "not-the-password"}
    )

    cookie = ok.headers["set-cookie"].lower()
    assert ok.status_code == 200 and ok.json()["role"] == "managing_agent"
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert wrong.status_code == nobody.status_code == 401
    assert (
        wrong.json()["detail"]
        == nobody.json()["detail"]
        == "email or password not recognised; check both and try again"
    )


async def test_passwords_are_stored_as_salted_scrypt_hashes(engine: AsyncEngine, demo: DemoEstate) -> None:
    async with transaction(engine) as session:
        hashes = (await session.scalars(select(User.password_hash).where(User.role == "tenant"))).all()
    assert all(h.startswith("scrypt$") and TENANT_PASSWORD not in h for h in hashes)
    assert len(set(hashes)) == len(hashes)  # same password, different salts


async def test_unsafe_methods_need_the_csrf_token_and_logout_ends_the_session(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    url = f"/api/v1/estates/{demo.estate_id}/units"
    cookie_only = {"Cookie": admin.headers["Cookie"]}
    forged = await client.post(url, json={"label": "Forged"}, headers=cookie_only)
    wrong = await client.post(url, json={"label": "Forged"}, headers=cookie_only | {"X-CSRF-Token": "guess"})
    reads = await client.get(url, headers=cookie_only)
    assert forged.status_code == wrong.status_code == 401 and "X-CSRF-Token" in forged.json()["detail"]
    assert reads.status_code == 200

    assert (await client.post("/api/v1/auth/logout", headers=admin.headers)).status_code == 204
    after = await client.get(url, headers=cookie_only)
    assert after.status_code == 401 and "session has ended" in after.json()["detail"]


async def test_no_credentials_answer_401_with_how_to_sign_in(client: Client, demo: DemoEstate) -> None:
    response = await client.get(f"/api/v1/wallets/{demo.wallet_ids[0]}")
    assert response.status_code == 401 and "/api/v1/auth/login" in response.json()["detail"]


async def create_key(client: Client, caller: Caller, estate_id: int, **extra: object) -> dict[str, object]:
    body = {"name": "bank feed", "estate_ids": [estate_id], "permissions": ["money:write"]} | extra
    response = await client.post("/api/v1/api-keys", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_an_api_key_is_shown_once_stored_hashed_scoped_and_revocable(
    client: Client, admin: Caller, root: Caller, demo: DemoEstate, engine: AsyncEngine
) -> None:
    created = await create_key(client, admin, demo.estate_id)
    key = str(created["key"])
    bearer = {"Authorization": f"Bearer {key}"}
    listed = (await client.get("/api/v1/api-keys", headers=admin.headers)).json()
    assert "key" not in listed[0] and key.startswith(listed[0]["prefix"])
    async with transaction(engine) as session:
        stored = (await session.scalars(select(ApiKey))).one()
    assert key.encode() not in stored.key_hash and len(stored.key_hash) == 32

    wallet = await client.get(f"/api/v1/wallets/{demo.wallet_ids[0]}", headers=bearer)
    assert wallet.status_code == 200
    other = await client.post(
        "/api/v1/estates",
        json={
            "name": "Elsewhere",
            "time_zone": "Africa/Johannesburg",
            "wallet_mode": "shared",
            "utilities": ["water"],
        },
        headers=root.headers,
    )
    assert (await client.get(f"/api/v1/estates/{other.json()['id']}", headers=bearer)).status_code == 404
    no_permission = await client.post(
        f"/api/v1/estates/{demo.estate_id}/units", json={"label": "K1"}, headers=bearer
    )
    assert no_permission.status_code == 403 and "units:write" in no_permission.json()["detail"]

    revoked = await client.delete(f"/api/v1/api-keys/{created['api_key']['id']}", headers=admin.headers)  # type: ignore[index]
    assert revoked.json()["revoked_at"] is not None
    after = await client.get(f"/api/v1/wallets/{demo.wallet_ids[0]}", headers=bearer)
    assert after.status_code == 401 and "revoked" in after.json()["detail"]


async def test_an_api_key_over_its_rate_answers_429_with_retry_after(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    created = await create_key(client, admin, demo.estate_id, rate_per_minute=3)
    bearer = {"Authorization": f"Bearer {created['key']}"}
    statuses = [(await client.get("/api/v1/auth/me", headers=bearer)).status_code for _ in range(4)]
    limited = await client.get("/api/v1/auth/me", headers=bearer)
    assert statuses[:3] == [200, 200, 200] and limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1 and "3 requests a minute" in limited.json()["detail"]


async def test_a_key_cannot_grant_more_than_its_creator_holds(client: Client, demo: DemoEstate) -> None:
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    refused = await client.post(
        "/api/v1/api-keys", json={"name": "mine", "estate_ids": [demo.estate_id]}, headers=tenant.headers
    )
    assert refused.status_code == 403


async def test_a_tenant_reads_their_balance_but_cannot_top_up_even_their_own_pocket(
    client: Client, demo: DemoEstate
) -> None:
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    me = (await client.get("/api/v1/auth/me", headers=tenant.headers)).json()
    assert me["role"] == "tenant" and me["wallet_ids"] == [demo.wallet_ids[0]]
    wallet = (await client.get(f"/api/v1/wallets/{demo.wallet_ids[0]}", headers=tenant.headers)).json()
    pocket = wallet["pockets"][0]["id"]
    refused = await client.post(
        f"/api/v1/pockets/{pocket}/top-ups",
        json={"amount_cents": 100, "reason": "free money"},
        headers=tenant.headers | {"Idempotency-Key": "t1"},
    )
    assert refused.status_code == 403 and "money:write" in refused.json()["detail"]


async def test_an_agent_creates_a_tenant_login_but_not_a_super_admin(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    person = await client.post("/api/v1/persons", json={"full_name": "Lerato M"}, headers=admin.headers)
    units = (await client.get(f"/api/v1/estates/{demo.estate_id}/units", headers=admin.headers)).json()
    unit = next(u for u in units if u["label"] == "Unit 12")  # vacant in the demo
    started = await client.post(
        f"/api/v1/units/{unit['id']}/tenancies",
        json={"person_id": person.json()["id"], "starts_on": "2026-01-01"},
        headers=admin.headers,
    )
    assert started.status_code == 201, started.text
    tenant = await client.post(
        "/api/v1/users",
        json={
            "email": "lerato@example.org",
            "password": "long-enough-pass",
            "role": "tenant",
            "person_id": person.json()["id"],
        },
        headers=admin.headers,
    )
    boss = await client.post(
        "/api/v1/users",
        json={"email": "boss@example.org", "password": "long-enough-pass", "role": "super_admin"},
        headers=admin.headers,
    )
    assert tenant.status_code == 201 and "password" not in tenant.text
    assert boss.status_code == 422 and "super_admin" in boss.json()["detail"]
    signed_in = await sign_in(client, "lerato@example.org", "long-enough-pass")
    units = (await client.get(f"/api/v1/estates/{demo.estate_id}/units", headers=signed_in.headers)).json()
    assert [u["id"] for u in units] == [unit["id"]]


async def test_an_installer_works_on_meters_and_gateways_and_never_sees_money_or_people(
    client: Client, root: Caller, demo: DemoEstate
) -> None:
    installer = {"email": "fitter@example.org", "password": "long-enough-pass", "role": "installer"}
    created = await client.post(
        "/api/v1/users", json=installer | {"estate_ids": [demo.estate_id]}, headers=root.headers
    )
    assert created.status_code == 201, created.text
    fitter = await sign_in(client, installer["email"], installer["password"])
    estate = demo.estate_id
    meter = await client.post(
        f"/api/v1/estates/{estate}/meters",
        json={
            "utility": "water",
            "serial": "BULK-W",
            "firmware_profile_id": "kamstrup-multical-21",
            "role": "bulk",
        },
        headers=fitter.headers,
    )
    gateways = await client.get(f"/api/v1/estates/{estate}/gateways", headers=fitter.headers)
    wallet = await client.get(f"/api/v1/wallets/{demo.wallet_ids[0]}", headers=fitter.headers)
    efts = await client.get(f"/api/v1/estates/{estate}/efts", headers=fitter.headers)
    tenancies = await client.get(f"/api/v1/units/{demo.unit_ids[0]}/tenancies", headers=fitter.headers)
    unit = await client.post(
        f"/api/v1/estates/{estate}/units", json={"label": "Shed"}, headers=fitter.headers
    )
    assert meter.status_code == 201 and gateways.status_code == 200
    assert wallet.status_code == efts.status_code == tenancies.status_code == 404
    assert unit.status_code == 403


async def test_an_agent_cannot_create_a_login_for_someone_who_also_lives_in_another_estate(
    client: Client, admin: Caller, root: Caller, demo: DemoEstate
) -> None:
    tenancies = (
        await client.get(f"/api/v1/units/{demo.unit_ids[0]}/tenancies", headers=admin.headers)
    ).json()
    person_id = tenancies[0]["person_id"]
    other = await client.post(
        "/api/v1/estates",
        json={
            "name": "Elsewhere",
            "time_zone": "Africa/Johannesburg",
            "wallet_mode": "shared",
            "utilities": ["water"],
        },
        headers=root.headers,
    )
    unit = await client.post(
        f"/api/v1/estates/{other.json()['id']}/units", json={"label": "E1"}, headers=root.headers
    )
    await client.post(
        f"/api/v1/units/{unit.json()['id']}/ownerships",
        json={"person_id": person_id, "starts_on": "2026-01-01"},
        headers=root.headers,
    )
    refused = await client.post(
        "/api/v1/users",
        json={
            "email": "second@example.org",
            "password": "long-enough-pass",
            "role": "owner",
            "person_id": person_id,
        },
        headers=admin.headers,
    )
    assert refused.status_code == 422 and "outside your estates" in refused.json()["detail"]
