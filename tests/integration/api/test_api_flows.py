"""The REST API end to end in process: records, money in, statements, tariffs, audit."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.models import AuditRecord
from cloud.database.session import transaction
from cloud.seed import OPENING_CREDIT_CENTS, TENANT_PASSWORD, DemoEstate, tenant_email
from tests.integration.api.conftest import Caller, sign_in
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]


async def electricity_pocket(client: Client, caller: Caller, wallet_id: int) -> int:
    wallet = (await client.get(f"/api/v1/wallets/{wallet_id}", headers=caller.headers)).json()
    return int(next(p["id"] for p in wallet["pockets"] if p["name"] == "electricity"))


async def test_a_top_up_is_idempotent_and_the_tenant_sees_the_new_balance(
    client: Client, admin: Caller, demo: DemoEstate, engine: AsyncEngine
) -> None:
    pocket = await electricity_pocket(client, admin, demo.wallet_ids[0])
    url = f"/api/v1/pockets/{pocket}/top-ups"
    body = {"amount_cents": 15_000, "reason": "cash at the estate office, receipt 0042"}
    headers = admin.headers | {"Idempotency-Key": "receipt-0042"}

    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    different = await client.post(url, json=body | {"amount_cents": 1}, headers=headers)

    assert first.status_code == 201 and first.json()["created"] is True
    assert again.status_code == 200 and again.json()["seq"] == first.json()["seq"]
    assert different.status_code == 409 and "already used" in different.json()["detail"]
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    mine = (await client.get("/api/v1/me/wallets", headers=tenant.headers)).json()
    [wallet] = mine
    balance = next(p["balance_cents"] for p in wallet["pockets"] if p["name"] == "electricity")
    assert balance == OPENING_CREDIT_CENTS + 15_000
    async with transaction(engine) as session:
        audit = await session.scalar(
            select(AuditRecord)
            .where(AuditRecord.action == "payments.manual_top_up")
            .order_by(AuditRecord.id.desc())
        )
    assert audit is not None
    assert (audit.actor_user_id, audit.actor_role) == (admin.user_id, "managing_agent")
    assert audit.reason == body["reason"] and audit.source_address
    assert audit.after is not None and audit.after["balance_cents"] == OPENING_CREDIT_CENTS + 15_000


async def test_a_top_up_without_an_idempotency_key_or_reason_is_refused_with_the_field_named(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    pocket = await electricity_pocket(client, admin, demo.wallet_ids[0])
    no_key = await client.post(
        f"/api/v1/pockets/{pocket}/top-ups", json={"amount_cents": 100, "reason": "x"}, headers=admin.headers
    )
    no_reason = await client.post(
        f"/api/v1/pockets/{pocket}/top-ups",
        json={"amount_cents": 100},
        headers=admin.headers | {"Idempotency-Key": "k1"},
    )
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.text
    assert no_reason.status_code == 400 and "reason" in no_reason.text


async def test_transactions_page_by_cursor_and_filter_by_kind_and_date(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    pocket = await electricity_pocket(client, admin, demo.wallet_ids[1])
    for n in range(5):
        response = await client.post(
            f"/api/v1/pockets/{pocket}/top-ups",
            json={"amount_cents": 100 + n, "reason": "weekly cash"},
            headers=admin.headers | {"Idempotency-Key": f"cash-{n}"},
        )
        assert response.status_code == 201
    url = f"/api/v1/pockets/{pocket}/transactions"
    first = (await client.get(url, params={"limit": 4}, headers=admin.headers)).json()
    rest = (
        await client.get(
            url, params={"limit": 4, "after_seq": first["next_after_seq"]}, headers=admin.headers
        )
    ).json()
    amounts = [t["amount_cents"] for t in first["items"] + rest["items"]]
    assert amounts == [OPENING_CREDIT_CENTS, 100, 101, 102, 103, 104]
    assert rest["next_after_seq"] is None
    charges = await client.get(url, params={"kind": "charge"}, headers=admin.headers)
    assert charges.json()["items"] == []
    future = await client.get(url, params={"since": "2999-01-01T00:00:00+02:00"}, headers=admin.headers)
    assert future.json()["items"] == []
    too_many = await client.get(url, params={"limit": 10_000}, headers=admin.headers)
    assert too_many.status_code == 400


async def test_an_eft_is_expected_then_received_once(client: Client, admin: Caller, demo: DemoEstate) -> None:
    pocket = await electricity_pocket(client, admin, demo.wallet_ids[2])
    eft = await client.post(
        f"/api/v1/pockets/{pocket}/efts",
        json={"reference": "U3-NOV", "amount_cents": 50_000, "reason": "tenant emailed proof of payment"},
        headers=admin.headers,
    )
    assert eft.status_code == 201 and eft.json()["status"] == "expected"
    eft_id = eft.json()["id"]
    received = [
        await client.post(
            f"/api/v1/efts/{eft_id}/received", json={"reason": "on the bank statement"}, headers=admin.headers
        )
        for _ in range(2)
    ]
    assert [r.json()["status"] for r in received] == ["received", "received"]
    assert received[0].json()["posting_seq"] == received[1].json()["posting_seq"]
    listed = await client.get(f"/api/v1/estates/{demo.estate_id}/efts?status=received", headers=admin.headers)
    assert [e["id"] for e in listed.json()] == [eft_id]
    balance = (await client.get(f"/api/v1/pockets/{pocket}", headers=admin.headers)).json()["balance_cents"]
    assert balance == OPENING_CREDIT_CENTS + 50_000


async def test_an_agent_sets_up_a_unit_its_people_meter_and_wallet(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    h = admin.headers
    estate = demo.estate_id
    unit = await client.post(f"/api/v1/estates/{estate}/units", json={"label": "Unit 13"}, headers=h)
    assert unit.status_code == 201, unit.text
    unit_id = unit.json()["id"]
    dup = await client.post(f"/api/v1/estates/{estate}/units", json={"label": "Unit 13"}, headers=h)
    assert dup.status_code == 409 and "already has a unit labelled" in dup.json()["detail"]
    person = await client.post(
        "/api/v1/persons", json={"full_name": "Sipho Dlamini", "email": "sipho@example.org"}, headers=h
    )
    person_id = person.json()["id"]
    tenancy = await client.post(
        f"/api/v1/units/{unit_id}/tenancies",
        json={"person_id": person_id, "starts_on": "2026-11-01"},
        headers=h,
    )
    assert tenancy.status_code == 201, tenancy.text
    occupied = await client.patch(f"/api/v1/units/{unit_id}", json={"occupancy": "occupied"}, headers=h)
    assert occupied.json()["occupancy"] == "occupied"
    meter = await client.post(
        f"/api/v1/estates/{estate}/meters",
        json={
            "utility": "electricity",
            "serial": "E0013",
            "firmware_profile_id": "hiking-dds238-2",
            "role": "unit",
            "unit_id": unit_id,
            "gateway_id": demo.gateway_id,
        },
        headers=h,
    )
    assert meter.status_code == 201, meter.text
    wallet = await client.post(
        f"/api/v1/units/{unit_id}/wallets",
        json={"holder_person_id": person_id, "tenancy_id": tenancy.json()["id"]},
        headers=h,
    )
    assert [p["name"] for p in wallet.json()["pockets"]] == ["electricity", "hot_water", "water"]
    assert (await client.get(f"/api/v1/persons/{person_id}", headers=h)).json()[
        "full_name"
    ] == "Sipho Dlamini"
    ended = await client.post(
        f"/api/v1/tenancies/{tenancy.json()['id']}/end", json={"ends_on": "2026-12-01"}, headers=h
    )
    assert ended.json()["ends_on"] == "2026-12-01"
    closed = await client.post(f"/api/v1/wallets/{wallet.json()['id']}/close", headers=h)
    assert closed.json()["closed_at"] is not None


async def test_tariff_versions_are_uploaded_as_toml_and_listed(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    toml = (REPO_ROOT / "examples" / "tariffs" / "inclining_blocks.toml").read_text()
    later = toml.replace("effective_from = 2026-07-01", "effective_from = 2026-12-01")
    url = f"/api/v1/estates/{demo.estate_id}/tariffs"
    uploaded = await client.post(url, json={"toml": later}, headers=admin.headers)
    assert uploaded.status_code == 201, uploaded.text
    broken = await client.post(url, json={"toml": "[tariff]\nname = 1"}, headers=admin.headers)
    assert broken.status_code == 422 and broken.json()["detail"]
    versions = (await client.get(f"{url}/electricity", headers=admin.headers)).json()
    assert [v["effective_from"] for v in versions] == ["2026-07-01", "2026-12-01"]


async def test_gateways_are_registered_and_retired(client: Client, admin: Caller, demo: DemoEstate) -> None:
    created = await client.post(
        f"/api/v1/estates/{demo.estate_id}/gateways", json={"name": "gw-block-b"}, headers=admin.headers
    )
    assert created.json()["status"] == "pending"
    retired = await client.patch(
        f"/api/v1/gateways/{created.json()['id']}", json={"status": "retired"}, headers=admin.headers
    )
    assert retired.json()["status"] == "retired"
    names = [
        g["name"]
        for g in (
            await client.get(f"/api/v1/estates/{demo.estate_id}/gateways", headers=admin.headers)
        ).json()
    ]
    assert names == ["gw-block-b", "gw-demo-estate"]
