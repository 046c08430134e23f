"""Replacing a meter through the API: the serial changes, the swap is recorded and audited, and the
gateway's next config version carries the new serial with the installer's readings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.models import AuditRecord
from cloud.database.session import transaction
from cloud.gateways.config import current_config, gateway_context
from cloud.seed import TENANT_PASSWORD, DemoEstate, tenant_email
from shared.sync import ConfigVersionNotice, decode_push
from shared.sync.gateway_api import GatewayConfigDocument
from tests.integration.api.conftest import Caller, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]
INSTALLER = {"email": "fitter@demo.example", "password": "fitter-password-1", "role": "installer"}


async def electricity_meter(client: Client, admin: Caller, demo: DemoEstate, unit: int) -> dict[str, Any]:
    meters = (await client.get(f"/api/v1/estates/{demo.estate_id}/meters", headers=admin.headers)).json()
    return next(m for m in meters if m["unit_id"] == demo.unit_ids[unit] and m["utility"] == "electricity")


async def installer(client: Client, admin: Caller, demo: DemoEstate) -> Caller:
    created = await client.post(
        "/api/v1/users", json=INSTALLER | {"estate_ids": [demo.estate_id]}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    return await sign_in(client, INSTALLER["email"], INSTALLER["password"])


async def replace(client: Client, caller: Caller, meter_id: int, **body: Any) -> httpx.Response:
    return await client.post(
        f"/api/v1/meters/{meter_id}/replacement",
        json={"new_serial": "SWAP-NEW-1", "reason": "display faulty"} | body,
        headers=caller.headers,
    )


async def gateway_document(engine: AsyncEngine, gateway_id: int) -> GatewayConfigDocument:
    """The document the gateway pulls now (recording its version, as a gateway request does)."""
    async with transaction(engine) as session:
        return await current_config(session, await gateway_context(session, gateway_id))


async def test_an_installer_replaces_a_meter_and_the_gateways_next_config_carries_it(
    client: Client, admin: Caller, engine: AsyncEngine, demo: DemoEstate
) -> None:
    fitter = await installer(client, admin, demo)
    meter = await electricity_meter(client, admin, demo, 0)
    before = await gateway_document(engine, demo.gateway_id)

    answer = await replace(
        client, fitter, meter["id"], new_serial=" SWAP-NEW-1 ", old_meter_final_reading="18234.27",
        new_meter_first_reading="0.12", replaced_at="2026-01-15T09:30:00+02:00",
    )  # fmt: skip

    assert answer.status_code == 201, answer.text
    recorded = answer.json()
    assert {k: recorded[k] for k in ("meter_id", "old_serial", "new_serial", "recorded_by_user_id")} == {
        "meter_id": meter["id"],
        "old_serial": meter["serial"],
        "new_serial": "SWAP-NEW-1",
        "recorded_by_user_id": fitter.user_id,
    }
    assert Decimal(recorded["old_meter_final_reading"]) == Decimal("18234.27")
    assert Decimal(recorded["new_meter_first_reading"]) == Decimal("0.12")
    assert recorded["replaced_at"].startswith("2026-01-15T07:30:00")
    assert recorded["reason"] == "display faulty"
    assert recorded["config_version"] == before.version + 1
    shown = (await client.get(f"/api/v1/meters/{meter['id']}", headers=admin.headers)).json()
    assert shown["serial"] == "SWAP-NEW-1"
    listed = (await client.get(f"/api/v1/meters/{meter['id']}/replacements", headers=fitter.headers)).json()
    assert listed == [recorded | {"config_version": None}]

    after = await gateway_document(engine, demo.gateway_id)
    assert after.version == before.version + 1, "no other version recorded after the replacement's"
    [carried] = [m for m in after.meters if m.id == str(meter["id"])]
    assert (carried.serial, carried.old_meter_final_reading, carried.new_meter_first_reading) == (
        "SWAP-NEW-1",
        Decimal("18234.27"),
        Decimal("0.12"),
    )
    assert carried.replaced_serial == meter["serial"], "the readings name the meter they close"
    others = [m for m in after.meters if m.id != str(meter["id"])]
    assert others and all((m.replaced_serial, m.old_meter_final_reading) == (None, None) for m in others)
    async with transaction(engine) as session:
        rows = await session.execute(
            text("SELECT message FROM gateway_push_messages WHERE gateway_id = :g"), {"g": demo.gateway_id}
        )
        notices = [
            m.config_version
            for m in (decode_push(bytes(row.message)) for row in rows)
            if isinstance(m, ConfigVersionNotice)
        ]
        [audited] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "meter.replace"))
        ).all()
    assert notices[-1] == after.version, "the gateway is told of the new version on its push channel"
    assert (audited.actor_user_id, audited.actor_role, audited.reason) == (
        fitter.user_id,
        "installer",
        "display faulty",
    )
    assert (audited.subject_type, audited.subject_id, audited.estate_id) == (
        "meter",
        str(meter["id"]),
        demo.estate_id,
    )
    assert audited.before == {"serial": meter["serial"]}
    assert audited.after is not None and audited.after["serial"] == "SWAP-NEW-1"
    assert audited.after["old_meter_final_reading"] == "18234.27"
    assert audited.after["config_version"] == after.version


async def test_a_second_replacement_without_readings_sends_none_and_the_history_keeps_both(
    client: Client, admin: Caller, engine: AsyncEngine, demo: DemoEstate
) -> None:
    meter = await electricity_meter(client, admin, demo, 0)
    first = await replace(client, admin, meter["id"], new_serial="SWAP-A", old_meter_final_reading="5")
    second = await replace(client, admin, meter["id"], new_serial="SWAP-B")

    assert (first.status_code, second.status_code) == (201, 201), second.text
    document = await gateway_document(engine, demo.gateway_id)
    [carried] = [m for m in document.meters if m.id == str(meter["id"])]
    assert (carried.serial, carried.old_meter_final_reading, carried.new_meter_first_reading) == (
        "SWAP-B",
        None,
        None,
    ), "the first swap's readings are not the second's"
    assert carried.replaced_serial == "SWAP-A"
    listed = (await client.get(f"/api/v1/meters/{meter['id']}/replacements", headers=admin.headers)).json()
    assert [(r["old_serial"], r["new_serial"]) for r in listed] == [
        (meter["serial"], "SWAP-A"),
        ("SWAP-A", "SWAP-B"),
    ]
    assert second.json()["config_version"] == first.json()["config_version"] + 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"new_serial": "   "}, "new_serial"),
        ({"new_serial": "X" * 65}, "new_serial"),
        ({"old_meter_final_reading": "-0.5"}, "old_meter_final_reading"),
        ({"new_meter_first_reading": "-1"}, "new_meter_first_reading"),
        ({"new_meter_first_reading": "NaN"}, "new_meter_first_reading"),
        ({"reason": " "}, "reason"),
        ({"replaced_at": "2026-11-22T09:30:00"}, "replaced_at"),
        ({"replaced_at": "2999-01-01T00:00:00Z"}, "replaced_at"),
    ],
)
async def test_a_malformed_replacement_is_refused_with_422_naming_the_field_and_changes_nothing(
    client: Client, admin: Caller, engine: AsyncEngine, demo: DemoEstate, body: dict[str, Any], field: str
) -> None:
    meter = await electricity_meter(client, admin, demo, 0)
    before = await gateway_document(engine, demo.gateway_id)

    refused = await replace(client, admin, meter["id"], **body)

    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith(field)
    assert (await client.get(f"/api/v1/meters/{meter['id']}", headers=admin.headers)).json() == meter
    assert (await gateway_document(engine, demo.gateway_id)).version == before.version
    assert (
        await client.get(f"/api/v1/meters/{meter['id']}/replacements", headers=admin.headers)
    ).json() == []


async def test_the_meters_own_serial_is_422_and_another_meters_is_409(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    meter = await electricity_meter(client, admin, demo, 0)
    neighbours = await electricity_meter(client, admin, demo, 1)
    assert neighbours["firmware_profile_id"] == meter["firmware_profile_id"]

    unchanged = await replace(client, admin, meter["id"], new_serial=meter["serial"])
    taken = await replace(client, admin, meter["id"], new_serial=neighbours["serial"])

    assert unchanged.status_code == 422 and "already has serial" in unchanged.json()["detail"]
    assert taken.status_code == 409 and f"meter {neighbours['id']}" in taken.json()["detail"]
    assert (await client.get(f"/api/v1/meters/{meter['id']}", headers=admin.headers)).json() == meter


async def test_who_may_replace_a_meter(client: Client, admin: Caller, demo: DemoEstate) -> None:
    meter = await electricity_meter(client, admin, demo, 0)
    own_tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    neighbour = await sign_in(client, tenant_email(2), TENANT_PASSWORD)

    seen_not_changed = await replace(client, own_tenant, meter["id"])
    unseen = await replace(client, neighbour, meter["id"])
    missing = await replace(client, admin, 2**40)
    listed_by_neighbour = await client.get(
        f"/api/v1/meters/{meter['id']}/replacements", headers=neighbour.headers
    )

    assert seen_not_changed.status_code == 403 and "meters:replace" in seen_not_changed.json()["detail"]
    assert (unseen.status_code, missing.status_code, listed_by_neighbour.status_code) == (404, 404, 404)
    assert (await client.get(f"/api/v1/meters/{meter['id']}", headers=admin.headers)).json() == meter
