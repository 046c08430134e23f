"""The async engine and the transactions every cloud service runs in, and the hot reads' pool.

Services never commit: they take an :class:`AsyncSession` already inside a transaction, so the
caller (an API request, a CLI command, a job) decides where a unit of work begins and ends.
Posting money locks the ledger's chain head until commit, so keep a transaction that posts short.

Pooled connections are not pinged before use: a ping is a full round trip on every checkout, as
dear as the query a balance read makes. A connection the server dropped (a restart, a failover)
fails the one request that draws it, is discarded, and the next request connects afresh;
``POOL_RECYCLE_S`` retires connections before idle-connection timeouts of proxies and firewalls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from cloud.database.server import sqlalchemy_url

#: Bounded waits: a statement or a lock wait longer than this is a fault, not a slow day.
STATEMENT_TIMEOUT_MS = 30_000
LOCK_TIMEOUT_MS = 10_000
POOL_RECYCLE_S = 1_800
#: How long a request waits for a free connection of the read pool before it fails.
READ_POOL_TIMEOUT_S = 10.0
_OPTIONS = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}"


def create_engine(libpq_url: str, *, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
    """An async engine (psycopg 3) for the cloud's database, with bounded statement and lock waits."""
    return create_async_engine(
        sqlalchemy_url(libpq_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=POOL_RECYCLE_S,
        connect_args={"options": _OPTIONS},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no lazy reloads in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends normally, rolls back on any exception."""
    async with session_factory(engine)() as session, session.begin():
        yield session


def create_read_pool(libpq_url: str, *, size: int) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """Autocommit driver connections for the hottest single-statement reads (the balance screen).

    They skip the ORM and the engine: one prepared statement per request, no transaction around
    it. Open it with ``await pool.open()``; close it with ``await pool.close()``.
    """
    return AsyncConnectionPool(
        libpq_url,
        min_size=1,  # grows to ``size`` while requests queue for a connection
        max_size=size,
        max_lifetime=POOL_RECYCLE_S,
        timeout=READ_POOL_TIMEOUT_S,
        kwargs={"autocommit": True, "options": _OPTIONS},
        open=False,
        name="quantify-read",
    )
