"""The demo estate: what the demo promises exists, its logins work, and seeding twice changes nothing."""

from __future__ import annotations

import argparse

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud import seed_cli
from cloud.seed import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OPENING_CREDIT_CENTS,
    TENANT_PASSWORD,
    DemoEstate,
    seed_demo,
    tenant_email,
)
from tests.integration.api.conftest import sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
TABLES = (
    "estates",
    "units",
    "persons",
    "tenancies",
    "ownerships",
    "wallets",
    "pockets",
    "meters",
    "gateways",
    "tariff_versions",
    "ledger_postings",
    "audit_records",
    "auth_users",
)


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {t: (await connection.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in TABLES}


async def test_seeding_again_changes_nothing(engine: AsyncEngine, demo: DemoEstate) -> None:
    before = await row_counts(engine)
    again = await seed_demo(engine)
    assert await row_counts(engine) == before
    assert again == demo
    assert before["units"] == 12 and before["wallets"] == 10 and before["tariff_versions"] == 3
    # A DDS238-2 and a water meter per unit, unit 1's hot water, a bulk meter per utility.
    assert before["meters"] == 27


async def test_the_printed_logins_work_and_the_tenant_sees_their_credit(
    client: AsyncTestClient[Litestar],
    demo: DemoEstate,
) -> None:
    admin = await sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    tenant = await sign_in(client, tenant_email(1), TENANT_PASSWORD)
    units = (await client.get(f"/api/v1/estates/{demo.estate_id}/units", headers=admin.headers)).json()
    [wallet] = (await client.get("/api/v1/me/wallets", headers=tenant.headers)).json()
    assert len(units) == 12
    assert {p["name"]: p["balance_cents"] for p in wallet["pockets"]} == {
        "electricity": OPENING_CREDIT_CENTS,
        "water": OPENING_CREDIT_CENTS,
        "hot_water": OPENING_CREDIT_CENTS,
    }
    meters = (await client.get(f"/api/v1/estates/{demo.estate_id}/meters", headers=tenant.headers)).json()
    assert {m["firmware_profile_id"] for m in meters} == {
        "hiking-dds238-2",
        "axioma-qalcosonic-w1",
        "adeunis-pulse-nbiot",
    }


def test_the_seed_command_migrates_seeds_and_prints_the_logins(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    parser = argparse.ArgumentParser()
    seed_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["seed-demo"])
    assert args.handler(args) == 0
    assert args.handler(args) == 0
    printed = capsys.readouterr().out
    assert printed.count(f"{ADMIN_EMAIL}  password: {ADMIN_PASSWORD}") == 2
    assert "12 units, 10 wallets" in printed
