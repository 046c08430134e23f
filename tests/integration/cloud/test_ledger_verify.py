"""``quantify-cloud ledger verify --json``: a clean ledger passes; a tampered row is named."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import psycopg
import pytest

from cloud.database.session import create_engine, transaction
from cloud.estates.scope import Scope
from cloud.ledger import cli
from cloud.payments.services import manual_top_up
from tests.integration.cloud.conftest import ADMIN, make_estate

pytestmark = pytest.mark.postgres


def verify(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("DATABASE_URL", url)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ledger", "verify", "--json"])
    status = args.handler(args)
    return status, json.loads(capsys.readouterr().out)


async def five_top_ups(url: str) -> int:
    """Seed five top-ups of the water pocket; return the pocket's account id."""
    engine = create_engine(url)
    estate = await make_estate(engine)
    for n in range(5):
        async with transaction(engine) as session:
            await manual_top_up(
                session,
                Scope.everything(),
                ADMIN,
                estate.pocket("water"),
                amount_cents=1_000 * (n + 1),
                idempotency_key=f"k{n}",
            )
    await engine.dispose()
    return estate.pocket_account("water")


def test_verify_passes_a_clean_ledger_and_names_a_tampered_posting(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    water_account = asyncio.run(five_top_ups(migrated_url))

    status, report = verify(monkeypatch, capsys, migrated_url)
    assert status == 0 and report["ok"] and report["postings_checked"] == 5 and report["problems"] == []

    # A superuser disables the guard and quietly changes an amount.
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_append_only")
        conn.execute("UPDATE ledger_postings SET amount_cents = 9 WHERE seq = 3")
        conn.execute("ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_append_only")

    status, report = verify(monkeypatch, capsys, migrated_url)
    assert status == 1 and not report["ok"]
    chain = [p for p in report["problems"] if p["check"] == "chain"]
    assert [p["seq"] for p in chain] == [3] and "top_up:k2" in chain[0]["message"]
    balances = {p["account_id"] for p in report["problems"] if p["check"] == "balance"}
    assert water_account in balances
