"""Relay commands through the API: who may switch, once per idempotency key, queued on the meter's
gateway's push channel, audited; refused for a meter with no relay or no active gateway."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.models import AuditRecord
from cloud.database.session import transaction
from cloud.seed import OWNER_EMAIL, OWNER_PASSWORD, TENANT_PASSWORD, DemoEstate, tenant_email
from shared.sync import RelayCommandPush, decode_push
from tests.integration.api.conftest import Caller, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]


async def unit_meters(client: Client, admin: Caller, demo: DemoEstate, unit: int) -> dict[str, int]:
    """The unit's meters by utility."""
    meters = (await client.get(f"/api/v1/estates/{demo.estate_id}/meters", headers=admin.headers)).json()
    return {m["utility"]: m["id"] for m in meters if m["unit_id"] == demo.unit_ids[unit]}


async def activate_gateway(client: Client, admin: Caller, demo: DemoEstate) -> None:
    active = await client.patch(
        f"/api/v1/gateways/{demo.gateway_id}", json={"status": "active"}, headers=admin.headers
    )
    assert active.status_code == 200, active.text


async def switch(
    client: Client, caller: Caller, meter: int, key: str, action: str = "open", reason: str = "swap"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/meters/{meter}/relay",
        json={"action": action, "reason": reason},
        headers=caller.headers | {"Idempotency-Key": key},
    )


async def test_a_command_is_queued_once_per_key_on_the_gateways_push_channel_and_audited(
    client: Client, admin: Caller, engine: AsyncEngine, demo: DemoEstate
) -> None:
    await activate_gateway(client, admin, demo)
    meter = (await unit_meters(client, admin, demo, 0))["electricity"]

    first = await switch(client, admin, meter, "k-1", reason="meter swap at unit 1")
    repeat = await switch(client, admin, meter, "k-1", reason="meter swap at unit 1")
    clash = await switch(client, admin, meter, "k-1", action="close", reason="meter swap at unit 1")

    assert (first.status_code, repeat.status_code, clash.status_code) == (201, 200, 409)
    command = first.json()
    assert repeat.json() == command
    assert command["action"] == "open" and command["outcome"] == "pending" and command["relay_closed"] is None
    assert command["gateway_id"] == demo.gateway_id and command["requested_by_user_id"] == admin.user_id
    async with transaction(engine) as session:
        messages = (
            await session.execute(
                text("SELECT message FROM gateway_push_messages WHERE gateway_id = :g"),
                {"g": demo.gateway_id},
            )
        ).all()
        audited = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "meter.relay_command"))
        ).all()
    pushed = [
        m for m in (decode_push(bytes(row.message)) for row in messages) if isinstance(m, RelayCommandPush)
    ]
    assert [(p.command_id, p.meter_id, p.action.value) for p in pushed] == [
        (command["command_id"], str(meter), "open")
    ]
    assert [(a.subject_id, a.reason, a.estate_id) for a in audited] == [
        (str(meter), "meter swap at unit 1", demo.estate_id)
    ]
    listed = await client.get(f"/api/v1/meters/{meter}/relay-commands", headers=admin.headers)
    one = await client.get(f"/api/v1/meters/{meter}/relay-commands/{command['id']}", headers=admin.headers)
    assert listed.json() == [command] and one.json() == command


async def test_installers_of_the_estate_may_switch_trustees_and_occupants_may_not(
    client: Client, root: Caller, admin: Caller, demo: DemoEstate
) -> None:
    await activate_gateway(client, admin, demo)
    meter = (await unit_meters(client, admin, demo, 0))["electricity"]
    for email, role in (("fitter@example.org", "installer"), ("trustee@example.org", "body_corporate")):
        body = {"email": email, "password": "long-enough-pass", "role": role, "estate_ids": [demo.estate_id]}
        assert (await client.post("/api/v1/users", json=body, headers=root.headers)).status_code == 201
    fitter = await sign_in(client, "fitter@example.org", "long-enough-pass")
    trustee = await sign_in(client, "trustee@example.org", "long-enough-pass")
    owner = await sign_in(client, OWNER_EMAIL, OWNER_PASSWORD)
    neighbour = await sign_in(client, tenant_email(2), TENANT_PASSWORD)

    assert (await switch(client, fitter, meter, "fitter")).status_code == 201
    assert (await switch(client, root, meter, "root")).status_code == 201
    for caller in (trustee, owner):
        refused = await switch(client, caller, meter, "no")
        assert refused.status_code == 403 and "relays:switch" in refused.json()["detail"]
    assert (await switch(client, neighbour, meter, "no")).status_code == 404


async def test_a_meter_without_a_relay_or_an_active_gateway_is_refused_with_a_reason(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    meters = await unit_meters(client, admin, demo, 0)
    pending = await switch(client, admin, meters["electricity"], "before-enrolment")
    await activate_gateway(client, admin, demo)
    water = await switch(client, admin, meters["water"], "water")
    blank = await switch(client, admin, meters["electricity"], "blank", reason="   ")

    assert pending.status_code == 409 and "active gateway" in pending.json()["detail"]
    assert water.status_code == 422 and "no relay" in water.json()["detail"]
    assert blank.status_code == 422 and "reason" in blank.json()["detail"]
