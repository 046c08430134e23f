"""D0010 over the API: a data officer uploads flows and reads the line-by-line reports."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from cloud.seed import TENANT_PASSWORD, DemoEstate, tenant_email
from tests.integration.api.conftest import Caller, sign_in
from tests.support.paths import FIXTURES

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]
OCTETS = {"Content-Type": "application/octet-stream"}


async def upload(client: Client, caller: Caller, name: str, body: bytes, query: str = "") -> Any:
    return await client.post(
        f"/api/v1/d0010/imports?file_name={name}{query}", content=body, headers=caller.headers | OCTETS
    )


async def test_an_uploaded_flow_is_stored_once_and_listed_with_its_report(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    flow = (FIXTURES / "d0010" / "all_groups.uff").read_bytes()

    first = await upload(client, admin, "all_groups.uff", flow)
    again = await upload(client, admin, "again.uff", flow)

    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["status"], report["file"]) == ("imported", "all_groups.uff")
    assert report["storage"]["readings_stored"] == report["readings"] > 0
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    # The estate's agent sees the flow once its MPAN is linked to the estate's bulk supply.
    assert (await client.get("/api/v1/d0010/imports", headers=admin.headers)).json() == []
    link = {"mpan_core": "1600001234564"}
    linked = await client.post(
        f"/api/v1/estates/{demo.estate_id}/d0010/mpans", json=link, headers=admin.headers
    )
    assert linked.status_code == 201, linked.text
    [listed] = (await client.get("/api/v1/d0010/imports", headers=admin.headers)).json()
    detail = (await client.get(f"/api/v1/d0010/imports/{listed['id']}", headers=admin.headers)).json()
    assert detail["summary"]["status"] == "imported"
    assert detail["report"]["header"]["file_id"] == report["header"]["file_id"]


async def test_a_partly_bad_flow_reports_each_bad_line_and_stores_the_rest(
    client: Client, admin: Caller
) -> None:
    response = await upload(client, admin, "partial.uff", (FIXTURES / "d0010" / "partial.uff").read_bytes())

    assert response.status_code == 201
    report = response.json()
    assert report["status"] == "partial"
    assert report["errors"] and all({"line", "field", "message", "raw"} <= set(e) for e in report["errors"])


async def test_a_broken_file_is_rejected_and_a_dry_run_stores_nothing(
    client: Client, admin: Caller, root: Caller
) -> None:
    broken = await upload(client, admin, "broken.uff", b"026|1600001234564|V|\n")
    dry = await upload(
        client, admin, "dry.uff", (FIXTURES / "d0010" / "all_groups.uff").read_bytes(), "&dry_run=true"
    )

    assert broken.status_code == 422 and broken.json()["status"] == "rejected"
    assert dry.status_code == 200 and dry.json()["storage"]["dry_run"] is True
    assert (await client.get("/api/v1/d0010/imports", headers=root.headers)).json() == [], (
        "a super admin sees all"
    )


async def test_tenants_never_see_supply_flows(client: Client, admin: Caller, demo: DemoEstate) -> None:
    await upload(client, admin, "all_groups.uff", (FIXTURES / "d0010" / "all_groups.uff").read_bytes())
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)

    assert (await client.get("/api/v1/d0010/imports", headers=tenant.headers)).status_code == 404
    assert (await upload(client, tenant, "x.uff", b"")).status_code == 404
