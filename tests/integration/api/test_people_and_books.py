"""People listed and corrected, and an estate's books as one list of transactions."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.models import AuditRecord
from cloud.database.session import transaction
from cloud.seed import OPENING_CREDIT_CENTS, TENANT_PASSWORD, DemoEstate, tenant_email
from tests.integration.api.conftest import Caller, sign_in
from tests.integration.api.test_api_flows import electricity_pocket

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]


async def every_page(client: Client, caller: Caller, url: str, cursor: str, limit: int) -> list[list[Any]]:
    """Follow a listing's cursor to the end; the pages' items, in order."""
    pages, after = [], 0
    while after is not None:
        joiner = "&" if "?" in url else "?"
        response = await client.get(f"{url}{joiner}{cursor}={after}&limit={limit}", headers=caller.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        after = body[f"next_{cursor}"]
    return pages


async def test_people_page_by_id_within_the_callers_estates_and_an_update_is_audited(
    client: Client, admin: Caller, demo: DemoEstate, engine: AsyncEngine
) -> None:
    pages = await every_page(client, admin, f"/api/v1/persons?estate_id={demo.estate_id}", "after_id", 2)
    people = [p for page in pages for p in page]
    ids = [p["id"] for p in people]
    [tenancy] = (
        await client.get(f"/api/v1/units/{demo.unit_ids[0]}/tenancies", headers=admin.headers)
    ).json()
    person = f"/api/v1/persons/{tenancy['person_id']}"
    before = (await client.get(person, headers=admin.headers)).json()
    owner_email = next(p["email"] for p in people if p["id"] != tenancy["person_id"] and p["email"])

    changed = await client.patch(
        person,
        json={"email": "Thandi.New@Example.org", "phone": ""},
        headers=admin.headers | {"X-Audit-Reason": "tenant moved email provider"},
    )
    taken = await client.patch(person, json={"email": owner_email}, headers=admin.headers)
    empty = await client.patch(person, json={}, headers=admin.headers)
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    by_tenant = await client.patch(person, json={"full_name": "Me"}, headers=tenant.headers)
    mine = (await client.get("/api/v1/persons", headers=tenant.headers)).json()

    assert ids == sorted(ids) and len(ids) == len(set(ids)) and tenancy["person_id"] in ids
    assert all(len(page) <= 2 for page in pages) and len(pages) >= 2
    assert changed.status_code == 200
    assert (changed.json()["email"], changed.json()["phone"]) == ("thandi.new@example.org", None)
    assert changed.json()["full_name"] == before["full_name"]
    assert taken.status_code == 409 and "already belongs to person" in taken.json()["detail"]
    assert empty.status_code == 422 and "at least one of full_name, email, phone" in empty.json()["detail"]
    assert by_tenant.status_code == 403
    assert [p["id"] for p in mine["items"]] == [tenancy["person_id"]] and mine["next_after_id"] is None
    async with transaction(engine) as session:
        [audit] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "person.update"))
        ).all()
    assert (audit.actor_user_id, audit.reason) == (admin.user_id, "tenant moved email provider")
    assert audit.before == {"email": before["email"], "phone": before["phone"]}
    assert audit.after == {"email": "thandi.new@example.org", "phone": None}


async def test_an_estates_transactions_page_by_seq_and_filter_by_pocket_utility_kind_and_day(
    client: Client, admin: Caller, root: Caller, demo: DemoEstate
) -> None:
    pockets = [await electricity_pocket(client, admin, w) for w in demo.wallet_ids[:2]]
    for number, pocket in enumerate(pockets):
        response = await client.post(
            f"/api/v1/pockets/{pocket}/top-ups",
            json={"amount_cents": 1_000 + number, "reason": "cash"},
            headers=admin.headers | {"Idempotency-Key": f"books-{number}"},
        )
        assert response.status_code == 201, response.text
    trustee = await body_corporate(client, root, demo)
    books = f"/api/v1/estates/{demo.estate_id}/transactions"

    everything = [t for page in await every_page(client, trustee, books, "after_seq", 3) for t in page]
    one_pocket = (await client.get(f"{books}?pocket_id={pockets[1]}", headers=admin.headers)).json()["items"]
    top_ups = (await client.get(f"{books}?kind=top_up", headers=admin.headers)).json()["items"]
    water = (await client.get(f"{books}?utility=water", headers=admin.headers)).json()["items"]
    long_ago = (await client.get(f"{books}?to=2000-01-31", headers=admin.headers)).json()["items"]
    backwards = await client.get(f"{books}?from=2026-02-01&to=2026-01-01", headers=admin.headers)
    elsewhere = await client.get(f"{books}?pocket_id=909090", headers=admin.headers)

    seqs = [t["seq"] for t in everything]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert {t["debit"]["pocket_id"] for t in top_ups} | {t["credit"]["pocket_id"] for t in top_ups} >= set(
        pockets
    )
    assert {t["seq"] for t in top_ups} <= set(seqs) and all(t["kind"] == "top_up" for t in top_ups)
    assert [t["amount_cents"] for t in one_pocket if t["kind"] == "top_up"] == [OPENING_CREDIT_CENTS, 1_001]
    assert all(pockets[1] in (t["debit"]["pocket_id"], t["credit"]["pocket_id"]) for t in one_pocket)
    assert all(p not in (t["debit"]["pocket_id"], t["credit"]["pocket_id"]) for t in water for p in pockets)
    assert long_ago == []
    assert backwards.status_code == 422 and "before from" in backwards.json()["detail"]
    assert elsewhere.status_code == 422 and "has no pocket 909090" in elsewhere.json()["detail"]
    # The opening credit of every wallet is among the estate's postings.
    assert sum(1 for t in everything if t["amount_cents"] == OPENING_CREDIT_CENTS) >= len(demo.wallet_ids)


async def body_corporate(client: Client, root: Caller, demo: DemoEstate) -> Caller:
    trustee = {
        "email": "trustee@demo.quantify.example",
        "password": "trustee-password-1",
        "role": "body_corporate",
    }
    created = await client.post(
        "/api/v1/users", json=trustee | {"estate_ids": [demo.estate_id]}, headers=root.headers
    )
    assert created.status_code == 201, created.text
    return await sign_in(client, trustee["email"], trustee["password"])
