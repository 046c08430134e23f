"""Object-level scoping, walked over the app's own route table so a new endpoint cannot be missed.

Every ``/api/v1`` route with an object in its path is called for the objects of the demo estate's
Unit 1 as (a) the managing agent of another estate and (b) the tenant of Unit 2: all must answer
404, exactly as for an object that does not exist. Unit 1's tenant and owner see their own.
A route whose path parameter or request body this test does not know fails the test by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from cloud.seed import OWNER_EMAIL, OWNER_PASSWORD, TENANT_PASSWORD, DemoEstate, tenant_email
from tests.integration.api.conftest import Caller, sign_in
from tests.support.paths import FIXTURES

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]

#: Routes that authenticate no user: nothing to scope.
UNSCOPED = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/password-reset/request"),
    ("POST", "/api/v1/auth/password-reset"),
}
#: Path parameters that name a kind of thing, not an object.
NOT_OBJECTS = {"utility"}
#: A valid body per request schema, so a refusal cannot come from body validation.
BODIES: dict[str, dict[str, Any]] = {
    "EstateCreate": {
        "name": "N",
        "time_zone": "Africa/Johannesburg",
        "wallet_mode": "shared",
        "utilities": ["water"],
    },
    "EstateConfigure": {"loss_threshold_percent": "6"},
    "UnitCreate": {"label": "Intruder"},
    "UnitUpdate": {"occupancy": "vacant"},
    "PersonCreate": {"full_name": "Intruder"},
    "SpanCreate": {"person_id": 1, "starts_on": "2030-01-01"},
    "TenancyEnd": {"ends_on": "2030-01-01"},
    "GatewayCreate": {"name": "intruder"},
    "GatewayUpdate": {"status": "retired"},
    "MeterCreate": {
        "utility": "water",
        "serial": "X1",
        "firmware_profile_id": "kamstrup-multical-21",
        "role": "bulk",
    },
    "TariffUpload": {"toml": "[tariff]"},
    "WalletOpen": {},
    "TopUp": {"amount_cents": 100, "reason": "intrusion"},
    "EftExpect": {"reference": "X", "amount_cents": 100, "reason": "intrusion"},
    "EftReceived": {"reason": "intrusion"},
    "UserCreate": {"email": "i@x.example", "password": "long-enough-pass", "role": "tenant", "person_id": 1},
    "ApiKeyCreate": {"name": "x", "estate_ids": [1]},
    "Login": {"email": "i@x.example", "password": "x"},
    "MpanLink": {"mpan_core": "1600001234564"},
    "ResetRequest": {"email": "i@x.example"},
    "PasswordResetUse": {"token": "qr_x", "password": "long-enough-pass"},
    "RelayCommandCreate": {"action": "open", "reason": "intrusion"},
    "MeterReplacementCreate": {
        "new_serial": "INTRUDER-1",
        "reason": "intrusion",
        "old_meter_final_reading": "1",
    },
    "AdjustmentCreate": {"amount_cents": -100, "reason": "intrusion"},
    "EnrolmentCodeCreate": {},
    "PersonUpdate": {"full_name": "Intruder"},
    "PeriodClose": {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-02-01T00:00:00Z", "reason": "x"},
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    params: tuple[str, ...]
    body: str | None


def endpoints(app: Litestar) -> list[Endpoint]:
    """Every method of every /api/v1 route, from the app's route table."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/v1"):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method in {"OPTIONS", "HEAD"} or (method, route.path) in UNSCOPED:
                continue
            data = handler.parsed_fn_signature.parameters.get("data")
            body = data.annotation.__name__ if data is not None else None
            found.append(Endpoint(method, route.path, tuple(route.path_parameters), body))
    return found


def object_endpoints(app: Litestar) -> list[Endpoint]:
    """Endpoints addressing an object below the estate (a unit, wallet, meter, …)."""
    return [e for e in endpoints(app) if set(e.params) - NOT_OBJECTS - {"estate_id"}]


def url(endpoint: Endpoint, ids: dict[str, Any]) -> str:
    missing = set(endpoint.params) - ids.keys()
    assert not missing, f"{endpoint.method} {endpoint.path}: add {missing} to this test's object ids"
    return re.sub(r"\{(\w+):\w+\}", lambda m: str(ids[m.group(1)]), endpoint.path)


async def call(client: Client, caller: Caller, endpoint: Endpoint, ids: dict[str, Any]) -> int:
    headers = caller.headers | {"Idempotency-Key": "scoping-walk"}
    if endpoint.body is None:
        response = await client.request(endpoint.method, url(endpoint, ids), headers=headers)
    else:
        assert endpoint.body in BODIES, (
            f"{endpoint.method} {endpoint.path}: add a {endpoint.body} body to BODIES"
        )
        response = await client.request(
            endpoint.method, url(endpoint, ids), json=BODIES[endpoint.body], headers=headers
        )
    return response.status_code


async def unit_one_objects(client: Client, admin: Caller, demo: DemoEstate) -> dict[str, Any]:
    """Ids of the demo estate's Unit 1 and everything hanging off it."""
    h = admin.headers
    unit = demo.unit_ids[0]
    wallet = (await client.get(f"/api/v1/wallets/{demo.wallet_ids[0]}", headers=h)).json()
    pocket = wallet["pockets"][0]["id"]
    [tenancy] = (await client.get(f"/api/v1/units/{unit}/tenancies", headers=h)).json()
    meters = (await client.get(f"/api/v1/estates/{demo.estate_id}/meters", headers=h)).json()
    meter = next(m["id"] for m in meters if m["unit_id"] == unit and m["utility"] == "electricity")
    active = await client.patch(f"/api/v1/gateways/{demo.gateway_id}", json={"status": "active"}, headers=h)
    assert active.status_code == 200, active.text
    command = await client.post(
        f"/api/v1/meters/{meter}/relay",
        json={"action": "close", "reason": "walk"},
        headers=h | {"Idempotency-Key": "unit-one"},
    )
    assert command.status_code in (200, 201), command.text
    eft = await client.post(
        f"/api/v1/pockets/{pocket}/efts",
        json={"reference": "U1", "amount_cents": 500, "reason": "test"},
        headers=h,
    )
    key = await client.post("/api/v1/api-keys", json={"name": "k", "estate_ids": [demo.estate_id]}, headers=h)
    flow = await client.post(
        "/api/v1/d0010/imports?file_name=all_groups.uff",
        content=(FIXTURES / "d0010" / "all_groups.uff").read_bytes(),
        headers=h | {"Content-Type": "application/octet-stream"},
    )
    assert flow.status_code in (200, 201), flow.text  # 200: imported by an earlier test's setup
    linked = await client.post(
        f"/api/v1/estates/{demo.estate_id}/d0010/mpans", json=BODIES["MpanLink"], headers=h
    )
    assert linked.status_code == 201, linked.text
    [flow_import] = (await client.get("/api/v1/d0010/imports", headers=h)).json()
    users = (await client.get("/api/v1/users", headers=h)).json()["items"]
    return {
        "user_id": next(u["id"] for u in users if u["email"] == tenant_email(1)),
        "estate_id": demo.estate_id,
        "unit_id": unit,
        "person_id": tenancy["person_id"],
        "tenancy_id": tenancy["id"],
        "meter_id": meter,
        "command_id": command.json()["id"],
        "gateway_id": demo.gateway_id,
        "wallet_id": demo.wallet_ids[0],
        "pocket_id": pocket,
        "eft_id": eft.json()["id"],
        "key_id": key.json()["api_key"]["id"],
        "import_id": flow_import["id"],
        "utility": "electricity",
    }


async def other_estates_agent(client: Client, root: Caller) -> Caller:
    other = await client.post(
        "/api/v1/estates", json=BODIES["EstateCreate"] | {"name": "Elsewhere"}, headers=root.headers
    )
    agent = {"email": "agent@elsewhere.example", "password": "elsewhere-password", "role": "managing_agent"}
    created = await client.post(
        "/api/v1/users", json=agent | {"estate_ids": [other.json()["id"]]}, headers=root.headers
    )
    assert created.status_code == 201, created.text
    return await sign_in(client, agent["email"], agent["password"])


async def test_every_object_endpoint_answers_404_outside_the_callers_estate_and_unit(
    client: Client, admin: Caller, root: Caller, demo: DemoEstate
) -> None:
    app: Litestar = client.app
    ids = await unit_one_objects(client, admin, demo)
    outsider = await other_estates_agent(client, root)
    neighbour = await sign_in(client, tenant_email(2), TENANT_PASSWORD)

    seen = {}
    for endpoint in endpoints(app):
        if "estate_id" in endpoint.params or set(endpoint.params) - NOT_OBJECTS:
            seen[f"agent of another estate: {endpoint.method} {endpoint.path}"] = await call(
                client, outsider, endpoint, ids
            )
    for endpoint in object_endpoints(app):
        seen[f"tenant of Unit 2: {endpoint.method} {endpoint.path}"] = await call(
            client, neighbour, endpoint, ids
        )

    assert len(seen) > 40
    assert {what: status for what, status in seen.items() if status != 404} == {}


async def test_the_neighbours_estate_wide_lists_hold_only_their_own_unit(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    neighbour = await sign_in(client, tenant_email(2), TENANT_PASSWORD)
    estate = demo.estate_id
    units = (await client.get(f"/api/v1/estates/{estate}/units", headers=neighbour.headers)).json()
    meters = (await client.get(f"/api/v1/estates/{estate}/meters", headers=neighbour.headers)).json()
    gateways = await client.get(f"/api/v1/estates/{estate}/gateways", headers=neighbour.headers)
    people = (await client.get(f"/api/v1/persons?estate_id={estate}", headers=neighbour.headers)).json()
    [tenancy] = (
        await client.get(f"/api/v1/units/{demo.unit_ids[1]}/tenancies", headers=admin.headers)
    ).json()
    books = [
        await client.get(f"/api/v1/estates/{estate}/{listing}", headers=neighbour.headers)
        for listing in ("transactions", "alarms", "discrepancies")
    ]
    assert [u["id"] for u in units] == [demo.unit_ids[1]]
    assert {m["unit_id"] for m in meters} == {demo.unit_ids[1]}
    assert [p["id"] for p in people["items"]] == [tenancy["person_id"]]
    assert gateways.status_code == 404
    assert [b.status_code for b in books] == [404, 404, 404]


#: What Unit 1's tenant and owner may not read although it is theirs to know about: gateways (and
#: their codes, alarms and findings) and supply-side flows.
TENANT_HIDDEN = {
    "/api/v1/gateways/{gateway_id:int}",
    "/api/v1/gateways/{gateway_id:int}/enrolment-code",
    "/api/v1/gateways/{gateway_id:int}/alarms",
    "/api/v1/gateways/{gateway_id:int}/discrepancies",
    "/api/v1/d0010/imports/{import_id:int}",
}
OWNER_HIDDEN = TENANT_HIDDEN | {"/api/v1/persons/{person_id:int}"}  # the tenant's personal record


async def test_the_tenant_and_owner_of_unit_one_read_their_own_objects(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    ids = await unit_one_objects(client, admin, demo)
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    owner = await sign_in(client, OWNER_EMAIL, OWNER_PASSWORD)
    reads = [e for e in object_endpoints(client.app) if e.method == "GET"]
    for who, caller, hidden in (("tenant", tenant, TENANT_HIDDEN), ("owner", owner, OWNER_HIDDEN)):
        statuses = {e.path: await call(client, caller, e, ids) for e in reads}
        expected = {path: 404 if path in hidden else 200 for path in statuses}
        assert statuses == expected, who
    # Changing what they can see is refused as forbidden (403); what they cannot see stays 404.
    writes = [e for e in object_endpoints(client.app) if e.method != "GET"]
    refused = {f"{e.method} {e.path}": await call(client, tenant, e, ids) for e in writes}
    hidden = {
        f"{e.method} {e.path}"
        for e in writes
        if e.path in TENANT_HIDDEN or {"key_id", "user_id"} & set(e.params)
    }
    assert refused == {what: 404 if what in hidden else 403 for what in refused}


async def test_every_endpoint_needs_credentials_and_every_change_needs_the_csrf_token(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    ids = await unit_one_objects(client, admin, demo)
    anonymous = Caller("nobody")
    cookie_only = Caller(admin.email, {"Cookie": admin.headers["Cookie"]})
    every = endpoints(client.app)
    unsafe = [e for e in every if e.method not in {"GET", "HEAD"}]
    statuses = {f"anonymous: {e.method} {e.path}": await call(client, anonymous, e, ids) for e in every}
    statuses |= {
        f"no CSRF token: {e.method} {e.path}": await call(client, cookie_only, e, ids) for e in unsafe
    }
    assert len(unsafe) > 15
    assert {what: status for what, status in statuses.items() if status != 401} == {}
