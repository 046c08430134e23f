"""Adjustments through the API and the command line, and the gateway entry points an admin uses:
a code from the API enrols a gateway whose next exchange carries the adjustment, and the alarms and
re-rating findings it reports are listed per gateway and per estate."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.models import AuditRecord
from cloud.database.session import transaction
from cloud.gateways.enrolment import code_digest
from cloud.seed import OPENING_CREDIT_CENTS, TENANT_PASSWORD, DemoEstate, tenant_email
from cloud.wallets import cli
from shared.journal import AlarmKind, Charge, Pocket
from shared.quantities import Utility
from shared.sync import AckStatus, decode_ack
from shared.sync.gateway_api import ENROL_PATH, JOURNAL_PATH, EnrolResponse
from tests.integration.api.conftest import Caller, sign_in
from tests.integration.api.test_access import create_key
from tests.integration.api.test_api_flows import electricity_pocket
from tests.integration.sync_cloud.gateway import T0, SimulatedGateway, new_key, public_key_b64

pytestmark = [pytest.mark.postgres]
Client = AsyncTestClient[Litestar]


async def suspense_balance(engine: AsyncEngine) -> int:
    async with transaction(engine) as session:
        found = await session.scalar(
            text("SELECT balance_cents FROM ledger_accounts WHERE code = 'suspense:ZAR'")
        )
    return int(found or 0)


@pytest.mark.anyio
async def test_an_adjustment_posts_double_entry_once_and_shows_in_the_pockets_transactions(
    client: Client, admin: Caller, demo: DemoEstate, engine: AsyncEngine
) -> None:
    pocket = await electricity_pocket(client, admin, demo.wallet_ids[0])
    url = f"/api/v1/pockets/{pocket}/adjustments"
    body = {"amount_cents": -2_500, "reason": "double-counted standing charge, ticket 881"}
    headers = admin.headers | {"Idempotency-Key": "ticket-881"}
    suspense_before = await suspense_balance(engine)

    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    different = await client.post(url, json=body | {"amount_cents": 2_500}, headers=headers)
    zero = await client.post(
        url, json=body | {"amount_cents": 0}, headers=admin.headers | {"Idempotency-Key": "z"}
    )
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    by_tenant = await client.post(url, json=body, headers=tenant.headers | {"Idempotency-Key": "mine"})
    statement = (
        await client.get(f"/api/v1/pockets/{pocket}/transactions?kind=adjustment", headers=tenant.headers)
    ).json()
    balance = (await client.get(f"/api/v1/pockets/{pocket}", headers=admin.headers)).json()["balance_cents"]

    assert first.status_code == 201 and first.json()["amount_cents"] == -2_500 and first.json()["created"]
    assert (
        again.status_code == 200
        and again.json()["seq"] == first.json()["seq"]
        and not again.json()["created"]
    )
    assert different.status_code == 409 and "already used" in different.json()["detail"]
    assert zero.status_code == 422 and "amount_cents" in zero.json()["detail"]
    assert by_tenant.status_code == 403 and "money:adjust" in by_tenant.json()["detail"]
    assert [(t["seq"], t["amount_cents"], t["memo"]) for t in statement["items"]] == [
        (first.json()["seq"], -2_500, body["reason"])
    ]
    # Double entry: what left the pocket is now in suspense, and nothing else moved.
    assert balance == OPENING_CREDIT_CENTS - 2_500
    assert await suspense_balance(engine) == suspense_before + 2_500
    async with transaction(engine) as session:
        audits = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "wallet.adjust"))
        ).all()
    [audit] = audits
    assert (audit.actor_user_id, audit.reason, audit.estate_id) == (
        admin.user_id,
        body["reason"],
        demo.estate_id,
    )
    assert audit.source_address and audit.before is not None and audit.after is not None
    assert (audit.before["balance_cents"], audit.after["balance_cents"]) == (OPENING_CREDIT_CENTS, balance)


@pytest.mark.anyio
async def test_an_adjustment_is_at_most_a_million_rand_dated_with_a_zone_in_the_past_and_needs_money_adjust(
    client: Client, admin: Caller, demo: DemoEstate
) -> None:
    pocket = await electricity_pocket(client, admin, demo.wallet_ids[0])
    url = f"/api/v1/pockets/{pocket}/adjustments"
    body = {"amount_cents": 100, "reason": "bulk meter reconciliation"}

    def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
        return headers | {"Idempotency-Key": key}

    largest = await client.post(
        url, json=body | {"amount_cents": 100_000_000}, headers=keyed(admin.headers, "max")
    )
    too_much = await client.post(
        url, json=body | {"amount_cents": -100_000_001}, headers=keyed(admin.headers, "over")
    )
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    future = await client.post(
        url, json=body | {"effective_at": tomorrow}, headers=keyed(admin.headers, "future")
    )
    zoneless = await client.post(
        url, json=body | {"effective_at": "2026-01-05T10:00:00"}, headers=keyed(admin.headers, "zoneless")
    )
    top_ups_only = await create_key(client, admin, demo.estate_id)
    adjusting = await create_key(client, admin, demo.estate_id, permissions=["money:adjust"])
    by_top_up_key = await client.post(
        url, json=body, headers=keyed({"Authorization": f"Bearer {top_ups_only['key']}"}, "key-1")
    )
    by_adjusting_key = await client.post(
        url, json=body, headers=keyed({"Authorization": f"Bearer {adjusting['key']}"}, "key-2")
    )

    assert largest.status_code == 201, largest.text
    # Beyond the schema's range: a malformed body, Litestar's own 400, naming the field.
    assert too_much.status_code == 400 and "amount_cents" in too_much.text, too_much.text
    assert future.status_code == 422 and "effective_at" in future.json()["detail"]
    assert zoneless.status_code == 422 and "effective_at" in zoneless.json()["detail"]
    assert by_top_up_key.status_code == 403 and "money:adjust" in by_top_up_key.json()["detail"]
    assert by_adjusting_key.status_code == 201, by_adjusting_key.text


@pytest.mark.anyio
async def test_a_code_from_the_api_enrols_the_gateway_whose_next_exchange_carries_the_adjustment(
    client: Client, admin: Caller, demo: DemoEstate, engine: AsyncEngine
) -> None:
    h = admin.headers
    pocket = await electricity_pocket(client, admin, demo.wallet_ids[0])
    meters = (await client.get(f"/api/v1/estates/{demo.estate_id}/meters", headers=h)).json()
    meter = next(
        m["id"] for m in meters if m["unit_id"] == demo.unit_ids[0] and m["utility"] == "electricity"
    )

    issued = await client.post(
        f"/api/v1/gateways/{demo.gateway_id}/enrolment-code", json={"ttl_min": 30}, headers=h
    )
    key = new_key()
    enrolment = {"code": issued.json()["code"], "public_key": public_key_b64(key), "agent_version": "test"}
    enrolled = await client.post(ENROL_PATH, json=enrolment)
    reused = await client.post(ENROL_PATH, json=enrolment | {"public_key": public_key_b64(new_key())})
    adjusted = await client.post(
        f"/api/v1/pockets/{pocket}/adjustments",
        json={"amount_cents": 4_200, "reason": "refund of a faulty meter's charges"},
        headers=h | {"Idempotency-Key": "refund-1"},
    )
    gateway = SimulatedGateway(msgspec.json.decode(enrolled.content, type=EnrolResponse).gateway_id, key)
    gateway.alarm(str(meter), AlarmKind.TAMPER, "terminal cover opened")
    gateway.append(unrateable_charge(meter, demo.wallet_ids[0]))
    body = gateway.batch(1, 2)
    answer = await client.post(
        JOURNAL_PATH, content=body, headers=gateway.headers("POST", JOURNAL_PATH, body)
    )

    assert issued.status_code == 201 and enrolled.status_code == 200, (issued.text, enrolled.text)
    async with transaction(engine) as session:
        stored = (await session.scalars(text("SELECT code_sha256 FROM gateway_enrolment_codes"))).all()
    assert [bytes(s) for s in stored] == [code_digest(issued.json()["code"])]  # kept only as its hash
    assert reused.status_code == 401  # single use
    assert adjusted.status_code == 201
    ack = decode_ack(answer.content)
    assert ack.status is AckStatus.ACCEPTED
    [balance] = [
        b for b in ack.balances if b.wallet_id == str(demo.wallet_ids[0]) and b.pocket is Pocket.ELECTRICITY
    ]
    assert balance.posted_through_seq == 2
    assert balance.balance_cents == OPENING_CREDIT_CENTS + 4_200 - UNRATEABLE_CENTS

    for listing in (f"gateways/{demo.gateway_id}", f"estates/{demo.estate_id}"):
        alarms = (await client.get(f"/api/v1/{listing}/alarms?origin=gateway", headers=h)).json()
        findings = (await client.get(f"/api/v1/{listing}/discrepancies", headers=h)).json()
        assert [(a["seq"], a["kind"], a["detail"]) for a in alarms] == [
            (1, "tamper", "terminal cover opened")
        ]
        assert [(f["seq"], f["charged_cents"], f["rerated_cents"]) for f in findings] == [
            (2, UNRATEABLE_CENTS, None)
        ]


UNRATEABLE_CENTS = 5


def unrateable_charge(meter_id: int, wallet_id: int) -> Charge:
    """A charge in a band the estate's tariff does not have: posted, and flagged by re-rating."""
    return Charge(
        meter_id=str(meter_id),
        wallet_id=str(wallet_id),
        utility=Utility.ELECTRICITY,
        pocket=Pocket.ELECTRICITY,
        reading_seq=None,
        interval_start=T0,
        interval_end=T0 + timedelta(hours=1),
        quantity=Decimal(1000),
        band="no-such-band",
        tariff_version="no-such-version",
        amount_cents=UNRATEABLE_CENTS,
        month="2026-11",
        month_to_date_quantity_before=Decimal(0),
        carry_before=Decimal(0),
    )


@pytest.mark.anyio
async def test_installers_issue_codes_and_read_alarms_but_not_money_findings(
    client: Client, admin: Caller, root: Caller, demo: DemoEstate
) -> None:
    fitter = {"email": "fitter@demo.quantify.example", "password": "fitter-password-1", "role": "installer"}
    created = await client.post(
        "/api/v1/users", json=fitter | {"estate_ids": [demo.estate_id]}, headers=root.headers
    )
    assert created.status_code == 201, created.text
    installer = await sign_in(client, fitter["email"], fitter["password"])
    gateway = f"/api/v1/gateways/{demo.gateway_id}"

    code = await client.post(f"{gateway}/enrolment-code", json={}, headers=installer.headers)
    alarms = await client.get(f"{gateway}/alarms", headers=installer.headers)
    findings = await client.get(f"{gateway}/discrepancies", headers=installer.headers)
    too_long = await client.post(
        f"{gateway}/enrolment-code", json={"ttl_min": 20_000}, headers=installer.headers
    )

    assert code.status_code == 201 and len(code.json()["code"]) >= 20
    assert alarms.status_code == 200 and alarms.json() == []
    assert findings.status_code == 404
    assert too_long.status_code == 400 and "ttl_min" in too_long.text


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="quantify-cloud")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_the_command_line_adjusts_a_pocket_once_per_key(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    pocket = _a_pocket(migrated_url)
    argv = ["wallet", "adjust", "--pocket", str(pocket), "--amount-cents", "1500"]
    argv += ["--reason", "goodwill credit", "--idempotency-key", "goodwill-1"]

    first = parse([*argv, "--json"])
    assert first.handler(first) == 0
    printed = json.loads(capsys.readouterr().out)
    again = parse(argv)
    assert again.handler(again) == 0
    repeat = capsys.readouterr().out
    unknown = parse(
        ["wallet", "adjust", "--pocket", "909090", "--amount-cents", "1", "--reason", "x", *argv[-2:]]
    )

    assert unknown.handler(unknown) == 1 and "pocket 909090 not found" in capsys.readouterr().err
    assert (printed["pocket_id"], printed["amount_cents"], printed["created"]) == (pocket, 1500, True)
    assert printed["balance_cents"] == OPENING_CREDIT_CENTS + 1500
    assert repeat.strip() == (
        f"adjustment already posted: pocket {pocket} +1500 cents (seq {printed['seq']}), "
        f"balance {OPENING_CREDIT_CENTS + 1500} cents"
    )


def _a_pocket(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT p.id FROM pockets p JOIN wallets w ON w.id = p.wallet_id "
            "WHERE p.name = 'electricity' ORDER BY w.id LIMIT 1"
        ).fetchone()
    assert row is not None
    return int(row[0])
