"""The async engine and the transactions every cloud service runs in.

Services never commit: they take an :class:`AsyncSession` already inside a transaction, so the
caller (an API request, a CLI command, a job) decides where a unit of work begins and ends.
Posting money locks the ledger's chain head until commit, so keep a transaction that posts short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from cloud.database.server import sqlalchemy_url

#: Bounded waits: a statement or a lock wait longer than this is a fault, not a slow day.
STATEMENT_TIMEOUT_MS = 30_000
LOCK_TIMEOUT_MS = 10_000


def create_engine(libpq_url: str, *, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
    """An async engine (psycopg 3) for the cloud's database, with bounded statement and lock waits."""
    options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}"
    return create_async_engine(
        sqlalchemy_url(libpq_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args={"options": options},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no lazy reloads in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends normally, rolls back on any exception."""
    async with session_factory(engine)() as session, session.begin():
        yield session
