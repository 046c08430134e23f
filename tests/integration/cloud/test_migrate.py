"""``quantify-cloud migrate`` builds the schema, and running it again changes nothing."""

from __future__ import annotations

import argparse

import psycopg
import pytest

from cloud.database import cli

pytestmark = pytest.mark.postgres


def migration_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(cli.alembic_config("postgresql://unused")).get_heads())


def run_migrate(monkeypatch: pytest.MonkeyPatch, url: str) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["migrate"])
    return int(args.handler(args))


def test_migrate_creates_the_schema_and_is_idempotent(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    assert run_migrate(monkeypatch, postgres_url) == 0
    with psycopg.connect(postgres_url) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        head = conn.execute("SELECT seq, hash FROM ledger_chain_head").fetchall()
    assert {
        "estates",
        "units",
        "wallets",
        "pockets",
        "ledger_postings",
        "ledger_accounts",
        "audit_records",
    } <= tables
    assert head == [(0, bytes(32))]

    assert run_migrate(monkeypatch, postgres_url) == 0
    with psycopg.connect(postgres_url) as conn:
        applied = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
        assert applied == migration_heads(), "every head applied once, nothing twice"
        assert conn.execute("SELECT count(*) FROM ledger_chain_head").fetchone() == (1,)
