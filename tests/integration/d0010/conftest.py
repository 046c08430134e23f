"""A migrated database and an engine for the D0010 storage tests, and row counts to compare."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.actor import Actor
from cloud.database.cli import upgrade_to_head
from cloud.database.session import create_engine

IMPORTER = Actor(
    user_id=3, role="platform_admin", source_address="198.51.100.4", reason="monthly D0010 batch"
)
TABLES = ("d0010_files", "d0010_mpans", "d0010_meters", "d0010_readings", "audit_records")


@pytest.fixture
def migrated_url(postgres_url: str) -> str:
    """A fresh database with every migration head applied."""
    upgrade_to_head(postgres_url)
    return postgres_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url, pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


def row_counts(url: str) -> dict[str, int]:
    """Rows per D0010 table (and the audit trail), to show what an import did or did not write."""
    with psycopg.connect(url) as connection:
        return {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in TABLES
        }
