"""Every change the API offers leaves exactly one audit record: who, from where, why, and the state
before (for an update) and after.

The routes come from the app's own table: a new POST, PATCH, PUT or DELETE under ``/api/v1`` fails
this test by name until the walk below knows how to make it succeed, or :data:`EXEMPT` says why it
changes nothing an auditor follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.models import AuditRecord
from cloud.database.session import transaction
from cloud.seed import DemoEstate
from tests.integration.api.conftest import Caller
from tests.support.paths import FIXTURES, REPO_ROOT

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
Client = AsyncTestClient[Litestar]
Ids = dict[str, Any]
UNSAFE = frozenset({"POST", "PATCH", "PUT", "DELETE"})

#: Changes that write no audit record, and why that is right.
EXEMPT = {
    ("POST", "/api/v1/auth/login"): "signing in opens a session; it changes no money or configuration",
    ("POST", "/api/v1/auth/logout"): "signing out ends the caller's own session and nothing else",
}
AUDIT_USER = {"email": "audit.walk@example.org", "password": "audit-walk-password-1"}
#: A later version of the seeded water tariff (the same text again would change nothing).
NEXT_YEARS_WATER = (
    (REPO_ROOT / "examples" / "tariffs" / "water_blocks.toml")
    .read_text()
    .replace("effective_from = 2026-07-01", "effective_from = 2027-07-01")
)
LAST_MONTH_ENDS = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Change:
    """How the walk makes one route succeed, and whose record it must leave.

    ``body`` may read ids saved by earlier changes; ``save`` takes ids from the answer for later
    ones. ``actor`` is whose record it is: ``admin`` (the estate's managing agent), ``root``
    (a super admin), ``audit user`` (the user whose password was reset) or ``anonymous``.
    ``updates``: the record holds the state before (an update), not ``None`` (a creation).
    """

    method: str
    path: str
    body: dict[str, Any] | Callable[[Ids], dict[str, Any]] | None = None
    caller: str = "admin"
    actor: str | None = None
    updates: bool = False
    save: Callable[[Any], Ids] = lambda _: {}
    content: bytes | None = None
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)


KEY = {"Idempotency-Key": "audit-walk"}
CHANGES = (
    Change("POST", "/api/v1/estates", {"name": "Audit Walk", "time_zone": "UTC", "wallet_mode": "shared",
                                       "utilities": ["water"]}, caller="root"),
    Change("PATCH", "/api/v1/estates/{estate_id:int}", {"loss_threshold_percent": "7"}, updates=True),
    Change("POST", "/api/v1/estates/{estate_id:int}/units", {"label": "Audit 1"}, save=lambda r: {"unit_id": r["id"]}),
    Change("PATCH", "/api/v1/units/{unit_id:int}", {"occupancy": "occupied"}, updates=True),
    Change("POST", "/api/v1/persons", {"full_name": "Audit Person", "email": "audit.person@example.org"},
           save=lambda r: {"person_id": r["id"]}),
    Change("POST", "/api/v1/units/{unit_id:int}/ownerships", lambda ids: {"person_id": ids["person_id"],
                                                                         "starts_on": "2026-01-01"}),
    Change("POST", "/api/v1/units/{unit_id:int}/tenancies", lambda ids: {"person_id": ids["person_id"],
                                                                        "starts_on": "2026-01-01"},
           save=lambda r: {"tenancy_id": r["id"]}),
    Change("PATCH", "/api/v1/persons/{person_id:int}", {"phone": "+27 21 555 0101"}, updates=True),
    Change("POST", "/api/v1/units/{unit_id:int}/wallets", lambda ids: {"holder_person_id": ids["person_id"],
                                                                      "tenancy_id": ids["tenancy_id"]},
           save=lambda r: {"wallet_id": r["id"], "pocket_id": r["pockets"][0]["id"]}),
    Change("POST", "/api/v1/pockets/{pocket_id:int}/top-ups", {"amount_cents": 5_000, "reason": "cash"},
           updates=True, headers=KEY),
    Change("POST", "/api/v1/pockets/{pocket_id:int}/adjustments", {"amount_cents": -100, "reason": "misread"},
           updates=True, headers=KEY),
    Change("POST", "/api/v1/pockets/{pocket_id:int}/efts", {"reference": "AUDIT-1", "amount_cents": 2_500,
                                                            "reason": "proof of payment"},
           save=lambda r: {"eft_id": r["id"]}),
    Change("POST", "/api/v1/efts/{eft_id:int}/received", {"reason": "on the bank statement"}, updates=True),
    Change("POST", "/api/v1/wallets/{wallet_id:int}/close", updates=True),
    Change("POST", "/api/v1/tenancies/{tenancy_id:int}/end", {"ends_on": "2026-12-01"}, updates=True),
    Change("POST", "/api/v1/estates/{estate_id:int}/gateways", {"name": "audit-walk"}),
    Change("PATCH", "/api/v1/gateways/{gateway_id:int}", {"status": "active"}, updates=True),
    Change("POST", "/api/v1/gateways/{gateway_id:int}/enrolment-code", {"ttl_min": 60}),
    Change("POST", "/api/v1/estates/{estate_id:int}/meters", {"utility": "water", "serial": "AUDIT-W1",
                                                             "firmware_profile_id": "kamstrup-multical-21",
                                                             "role": "bulk"}),
    Change("POST", "/api/v1/meters/{meter_id:int}/relay", {"action": "open", "reason": "walk"}, headers=KEY),
    Change("POST", "/api/v1/meters/{meter_id:int}/replacement", {"new_serial": "AUDIT-NEW-1", "reason": "swap",
                                                                 "old_meter_final_reading": "18234.27",
                                                                 "new_meter_first_reading": "0.12"},
           updates=True),
    Change("POST", "/api/v1/estates/{estate_id:int}/tariffs",
           {"toml": NEXT_YEARS_WATER}),
    Change("POST", "/api/v1/d0010/imports", query="?file_name=all_groups.uff",
           content=(FIXTURES / "d0010" / "all_groups.uff").read_bytes(),
           headers={"Content-Type": "application/octet-stream"}),
    Change("POST", "/api/v1/estates/{estate_id:int}/d0010/mpans", {"mpan_core": "1600001234564"}),
    Change("POST", "/api/v1/users", lambda ids: AUDIT_USER | {"role": "managing_agent",
                                                              "estate_ids": [ids["estate_id"]]},
           caller="root", save=lambda r: {"user_id": r["id"]}),
    Change("POST", "/api/v1/users/{user_id:int}/password-reset", caller="root",
           save=lambda r: {"token": r["token"]}),
    Change("POST", "/api/v1/auth/password-reset", lambda ids: {"token": ids["token"],
                                                               "password": "audit-walk-password-2"},
           caller="anonymous", actor="audit user"),
    Change("POST", "/api/v1/auth/password-reset/request", {"email": AUDIT_USER["email"]}, caller="anonymous"),
    Change("POST", "/api/v1/api-keys", lambda ids: {"name": "audit", "estate_ids": [ids["estate_id"]]},
           save=lambda r: {"key_id": r["api_key"]["id"]}),
    Change("DELETE", "/api/v1/api-keys/{key_id:int}", updates=True),
    Change("POST", "/api/v1/ledger/closed-periods", {"starts_at": (LAST_MONTH_ENDS - timedelta(days=28)).isoformat(),
                                                     "ends_at": LAST_MONTH_ENDS.isoformat(), "reason": "signed off"},
           caller="root"),
)  # fmt: skip


def unsafe_routes(app: Litestar) -> set[tuple[str, str]]:
    """Every changing method of every /api/v1 route, from the app's route table."""
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/v1")
        for method in route.route_handler_map
        if method in UNSAFE
    }


async def newest_audit_id(engine: AsyncEngine) -> int:
    async with transaction(engine) as session:
        return int(await session.scalar(select(func.coalesce(func.max(AuditRecord.id), 0))) or 0)


async def records_after(engine: AsyncEngine, audit_id: int) -> list[AuditRecord]:
    async with transaction(engine) as session:
        query = select(AuditRecord).where(AuditRecord.id > audit_id).order_by(AuditRecord.id)
        return list((await session.scalars(query)).all())


async def test_every_change_writes_exactly_one_audit_record_with_who_where_and_what(
    client: Client, admin: Caller, root: Caller, demo: DemoEstate, engine: AsyncEngine
) -> None:
    walked = {(c.method, c.path) for c in CHANGES}
    routes = unsafe_routes(client.app)
    assert routes - walked - EXEMPT.keys() == set(), "add these routes to CHANGES (or EXEMPT, with why)"
    assert walked - routes == set(), "these routes are gone: remove them from CHANGES"
    callers = {"admin": admin, "root": root, "anonymous": Caller("anonymous")}
    ids = await starting_ids(client, admin, demo)

    problems: dict[str, Any] = {}
    for change in CHANGES:
        label = f"{change.method} {change.path}"
        before = await newest_audit_id(engine)
        response = await send(client, callers[change.caller], change, ids)
        if not 200 <= response.status_code < 300:
            problems[label] = f"answered {response.status_code}: {response.text[:300]}"
            continue
        ids |= change.save(response.json() if response.content else None)
        records = await records_after(engine, before)
        expected_user = {"admin": admin.user_id, "root": root.user_id, "audit user": ids.get("user_id")}
        wrong = audit_problems(records, expected_user.get(change.actor or change.caller), change.updates)
        if wrong:
            problems[label] = wrong

    assert problems == {}


async def starting_ids(client: Client, admin: Caller, demo: DemoEstate) -> Ids:
    """The demo estate's objects the walk changes that it does not create itself."""
    meters = (await client.get(f"/api/v1/estates/{demo.estate_id}/meters", headers=admin.headers)).json()
    unit_meter = next(
        m["id"] for m in meters if m["unit_id"] == demo.unit_ids[0] and m["utility"] == "electricity"
    )
    return {"estate_id": demo.estate_id, "gateway_id": demo.gateway_id, "meter_id": unit_meter}


async def send(client: Client, caller: Caller, change: Change, ids: Ids) -> Any:
    path = re.sub(r"\{(\w+):\w+\}", lambda m: str(ids[m.group(1)]), change.path) + change.query
    headers = caller.headers | change.headers
    if change.content is not None:
        return await client.request(change.method, path, content=change.content, headers=headers)
    body = change.body(ids) if callable(change.body) else change.body
    if body is None:
        return await client.request(change.method, path, headers=headers)
    return await client.request(change.method, path, json=body, headers=headers)


def audit_problems(records: list[AuditRecord], user_id: int | None, updates: bool) -> str | None:
    """What is wrong with the records one change wrote, or None."""
    if len(records) != 1:
        return f"wrote {len(records)} audit records: {[r.action for r in records]}"
    [found] = records
    if found.actor_user_id != user_id:
        return f"{found.action}: actor {found.actor_user_id}, expected {user_id}"
    if not (found.source_address and found.reason and found.actor_role):
        return f"{found.action}: source {found.source_address!r}, reason {found.reason!r}, role {found.actor_role!r}"
    if not found.after:
        return f"{found.action}: no state after"
    if updates != bool(found.before):
        return f"{found.action}: before is {found.before!r} for {'an update' if updates else 'a creation'}"
    return None
