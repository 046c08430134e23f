"""Listing users within one's reach, and password resets: issued by an admin or self-requested,
shown once, stored hashed, expiring, single use, ending the user's sessions, audited."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.models import AuditRecord
from cloud.auth.credentials import token_hash
from cloud.auth.models import PasswordReset
from cloud.database.session import transaction
from cloud.seed import ADMIN_EMAIL, OWNER_EMAIL, TENANT_PASSWORD, DemoEstate, tenant_email
from tests.integration.api.conftest import SUPER_EMAIL, Caller, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]
NEW_PASSWORD = "a-fresh-passphrase"
#: How far the database's clock may be from the test's.
SLACK = timedelta(seconds=5)


async def all_users(client: Client, caller: Caller, limit: int) -> list[dict[str, object]]:
    """Every page of GET /users, followed by its cursor."""
    items: list[dict[str, object]] = []
    after: int | None = 0
    while after is not None:
        page = await client.get(f"/api/v1/users?after_id={after}&limit={limit}", headers=caller.headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        after = page.json()["next_after_id"]
    return items


async def create_user(client: Client, root: Caller, **user: object) -> int:
    created = await client.post(
        "/api/v1/users", json={"password": "long-enough-pass"} | user, headers=root.headers
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def other_estate(client: Client, root: Caller) -> int:
    body = {
        "name": "Elsewhere",
        "time_zone": "Africa/Johannesburg",
        "wallet_mode": "shared",
        "utilities": ["water"],
    }
    created = await client.post("/api/v1/estates", json=body, headers=root.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def test_a_platform_admin_pages_through_every_user_and_an_agent_sees_only_its_estates(
    client: Client, root: Caller, admin: Caller, demo: DemoEstate
) -> None:
    elsewhere = await other_estate(client, root)
    await create_user(
        client, root, email="agent@elsewhere.example", role="managing_agent", estate_ids=[elsewhere]
    )

    everyone = await all_users(client, root, limit=2)
    ids = [user["id"] for user in everyone]
    emails = {user["email"] for user in everyone}
    assert ids == sorted(set(ids)), "pages follow each other without repeats"
    assert {SUPER_EMAIL, ADMIN_EMAIL, OWNER_EMAIL, tenant_email(1), "agent@elsewhere.example"} <= emails
    assert all("password" not in str(user) for user in everyone)

    mine = {user["email"]: user for user in await all_users(client, admin, limit=50)}
    assert {ADMIN_EMAIL, OWNER_EMAIL, tenant_email(1), tenant_email(2)} <= mine.keys()
    assert SUPER_EMAIL not in mine and "agent@elsewhere.example" not in mine
    assert mine[ADMIN_EMAIL]["estate_ids"] == [demo.estate_id]


async def test_tenants_and_installers_do_not_see_users_and_trustees_may_not_reset(
    client: Client, root: Caller, admin: Caller, demo: DemoEstate
) -> None:
    await create_user(client, root, email="fitter@example.org", role="installer", estate_ids=[demo.estate_id])
    await create_user(
        client, root, email="trustee@example.org", role="body_corporate", estate_ids=[demo.estate_id]
    )
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    fitter = await sign_in(client, "fitter@example.org", "long-enough-pass")
    trustee = await sign_in(client, "trustee@example.org", "long-enough-pass")

    for outsider in (tenant, fitter):
        assert (await client.get("/api/v1/users", headers=outsider.headers)).status_code == 404
        issued = await client.post(f"/api/v1/users/{admin.user_id}/password-reset", headers=outsider.headers)
        assert issued.status_code == 404
    listed = await client.get("/api/v1/users", headers=trustee.headers)
    assert tenant_email(1) in {user["email"] for user in listed.json()["items"]}
    refused = await client.post(f"/api/v1/users/{tenant.user_id}/password-reset", headers=trustee.headers)
    assert refused.status_code == 403 and "users:manage" in refused.json()["detail"]


async def test_an_issued_token_resets_the_password_once_and_ends_every_session(
    client: Client, admin: Caller, engine: AsyncEngine, demo: DemoEstate
) -> None:
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    issued = await client.post(f"/api/v1/users/{tenant.user_id}/password-reset", headers=admin.headers)
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]

    short = await client.post("/api/v1/auth/password-reset", json={"token": token, "password": "short"})
    assert short.status_code == 422 and "password" in short.json()["detail"]
    used = await client.post("/api/v1/auth/password-reset", json={"token": token, "password": NEW_PASSWORD})
    again = await client.post("/api/v1/auth/password-reset", json={"token": token, "password": NEW_PASSWORD})

    assert used.status_code == 204, used.text
    assert again.status_code == 422 and "token" in again.json()["detail"]
    assert (await client.get("/api/v1/auth/me", headers=tenant.headers)).status_code == 401
    old = await client.post(
        "/api/v1/auth/login", json={"email": tenant_email(1), "password": TENANT_PASSWORD}
    )
    assert old.status_code == 401
    assert (await sign_in(client, tenant_email(1), NEW_PASSWORD)).user_id == tenant.user_id
    async with transaction(engine) as session:
        stored = (await session.scalars(select(PasswordReset.token_hash))).all()
        actions = (
            await session.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.subject_id == str(tenant.user_id))
                .order_by(AuditRecord.id)
            )
        ).all()
    assert stored == [token_hash(token)], "only the token's hash is kept"
    assert list(actions)[-2:] == ["user.password_reset_issue", "user.password_reset"]


async def test_an_agent_resets_only_users_wholly_within_its_estates(
    client: Client, root: Caller, admin: Caller, demo: DemoEstate
) -> None:
    elsewhere = await other_estate(client, root)
    both = await create_user(
        client,
        root,
        email="colleague@example.org",
        role="body_corporate",
        estate_ids=[demo.estate_id, elsewhere],
    )
    peer = await create_user(
        client, root, email="peer@example.org", role="managing_agent", estate_ids=[demo.estate_id]
    )
    root_id = root.user_id

    for user_id in (both, peer):
        refused = await client.post(f"/api/v1/users/{user_id}/password-reset", headers=admin.headers)
        assert refused.status_code == 403 and "beyond your estates" in refused.json()["detail"]
    unseen = await client.post(f"/api/v1/users/{root_id}/password-reset", headers=admin.headers)
    assert unseen.status_code == 404
    by_root = await client.post(f"/api/v1/users/{peer}/password-reset", headers=root.headers)
    assert by_root.status_code == 201


async def test_a_self_service_request_writes_the_token_to_the_outbox_and_answers_alike_for_strangers(
    client: Client, engine: AsyncEngine, demo: DemoEstate, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="quantify.outbox"):
        known = await client.post("/api/v1/auth/password-reset/request", json={"email": OWNER_EMAIL.upper()})
        stranger = await client.post(
            "/api/v1/auth/password-reset/request", json={"email": "who@nowhere.example"}
        )
    assert known.status_code == stranger.status_code == 202
    assert known.json() == stranger.json()
    [letter] = [r.getMessage() for r in caplog.records if r.name == "quantify.outbox"]
    assert letter.startswith(f"to {OWNER_EMAIL}: password reset token qr_")
    token = letter.split("token ")[1].split(" ")[0]

    async with transaction(engine) as session:
        await session.execute(
            text("UPDATE auth_password_resets SET expires_at = now() - interval '1 second'")
        )
    expired = await client.post(
        "/api/v1/auth/password-reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert expired.status_code == 422 and "expired" in expired.json()["detail"]


async def test_an_issued_token_lasts_24_hours_and_a_requested_one_1_hour(
    client: Client, admin: Caller, engine: AsyncEngine, demo: DemoEstate
) -> None:
    tenant = await sign_in(client, tenant_email(3), TENANT_PASSWORD)
    before = datetime.now(UTC)
    issued = await client.post(f"/api/v1/users/{tenant.user_id}/password-reset", headers=admin.headers)
    requested = await client.post("/api/v1/auth/password-reset/request", json={"email": OWNER_EMAIL})
    after = datetime.now(UTC)

    assert issued.status_code == 201 and requested.status_code == 202
    assert issued.json()["token"].startswith("qr_")
    expires_at = datetime.fromisoformat(issued.json()["expires_at"])
    assert before + timedelta(hours=24) - SLACK <= expires_at <= after + timedelta(hours=24) + SLACK
    async with transaction(engine) as session:
        owner_expiry = await session.scalar(
            text(
                "SELECT r.expires_at FROM auth_password_resets r JOIN auth_users u ON u.id = r.user_id"
                " WHERE u.email = :email"
            ),
            {"email": OWNER_EMAIL},
        )
    assert owner_expiry is not None
    assert before + timedelta(hours=1) - SLACK <= owner_expiry <= after + timedelta(hours=1) + SLACK


async def test_issuing_again_withdraws_the_earlier_token(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    tenant = await sign_in(client, tenant_email(2), TENANT_PASSWORD)
    url = f"/api/v1/users/{tenant.user_id}/password-reset"
    first = (await client.post(url, headers=admin.headers)).json()["token"]
    second = (await client.post(url, headers=admin.headers)).json()["token"]

    stale = await client.post("/api/v1/auth/password-reset", json={"token": first, "password": NEW_PASSWORD})
    fresh = await client.post("/api/v1/auth/password-reset", json={"token": second, "password": NEW_PASSWORD})
    assert (stale.status_code, fresh.status_code) == (422, 204)


async def test_an_api_key_sees_users_only_with_users_manage(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    keys = {}
    for name, permissions in (("reader", []), ("manager", ["users:manage"])):
        body = {"name": name, "estate_ids": [demo.estate_id], "permissions": permissions}
        created = await client.post("/api/v1/api-keys", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        keys[name] = {"Authorization": f"Bearer {created.json()['key']}"}

    hidden = await client.get("/api/v1/users", headers=keys["reader"])
    listed = await client.get("/api/v1/users", headers=keys["manager"])
    no_reset_by_key = await client.post(
        f"/api/v1/users/{admin.user_id}/password-reset", headers=keys["manager"]
    )
    assert hidden.status_code == 404
    assert tenant_email(1) in {user["email"] for user in listed.json()["items"]}
    assert no_reset_by_key.status_code == 403 and "not by an API key" in no_reset_by_key.json()["detail"]
