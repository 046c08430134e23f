"""The psycopg connection under a session, for the ledger's hottest statements.

SQLAlchemy spends ~150 µs of CPU per statement on a small query (compiling, result metadata,
greenlet hops); psycopg alone spends a third of that. Statements sent here run on the session's
own connection, so inside its transaction, and psycopg prepares them after a few uses. Their
errors are raised as SQLAlchemy's (:func:`fetch`), as if the statements had gone through it, so
callers and the API's error hook see one kind of database error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import RowFactory, tuple_row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

#: Most entries one :func:`connection_cache` holds before it starts afresh.
CONNECTION_CACHE_MAX = 50_000


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection of the session's current transaction (begun if it was not yet)."""
    raw = await (await session.connection()).get_raw_connection()
    driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver


async def fetch(
    session: AsyncSession,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    row_factory: RowFactory[Any] = tuple_row,
) -> list[Any]:
    """Run ``query`` on the session's psycopg connection and return all its rows.

    A database error is raised as SQLAlchemy's :class:`DBAPIError` subclass for it (with the
    psycopg error as ``orig``), exactly as if the statement had gone through SQLAlchemy.
    """
    driver = await driver_connection(session)
    try:
        return await _rows(driver, query, params, row_factory)
    except psycopg.Error as error:
        raise DBAPIError.instance(query, params, error, psycopg.Error) from error


async def fetch_meanwhile(
    session: AsyncSession, query: str, params: Mapping[str, Any] | None, meanwhile: Callable[[], None]
) -> list[Any]:
    """:func:`fetch`, calling ``meanwhile()`` while the server runs the statement.

    The statement is sent first; ``meanwhile`` (the caller's own CPU work, which must not use the
    session) then runs while PostgreSQL executes it, and the rows are read once both are done. On
    two cores this hides the shorter of the two. ``meanwhile`` is called exactly once, even when the
    statement fails; if both fail, the statement's error is raised.
    """
    driver = await driver_connection(session)
    task = asyncio.ensure_future(_rows(driver, query, params, tuple_row))
    await asyncio.sleep(0)  # the task sends the statement and waits for its result
    try:
        meanwhile()
    finally:
        await asyncio.wait([task])
        error = task.exception()
        if isinstance(error, psycopg.Error):
            raise DBAPIError.instance(query, params, error, psycopg.Error) from error
    return task.result()


async def _rows(
    driver: psycopg.AsyncConnection[Any],
    query: str,
    params: Mapping[str, Any] | None,
    row_factory: RowFactory[Any],
) -> list[Any]:
    async with driver.cursor(row_factory=row_factory) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall() if cursor.description is not None else []


async def nothing_sent_yet(session: AsyncSession) -> bool:
    """Whether the session's transaction has not sent a single statement to the server yet."""
    return (await driver_connection(session)).info.transaction_status == TransactionStatus.IDLE


async def connection_cache(session: AsyncSession, name: str) -> dict[Any, Any]:
    """A dict named ``name`` kept on the session's pooled connection, for facts that never change.

    A pooled connection always talks to one database, so what it learnt stays true for it; keep
    only facts read as committed by others (see ``pg_current_xact_id_if_assigned``), never rows
    this transaction wrote, which a rollback could take back. Bounded by :func:`remember`.
    """
    info = (await session.connection()).info
    cache: dict[Any, Any] = info.setdefault(name, {})
    return cache


def remember(cache: dict[Any, Any], key: object, value: object) -> None:
    """Put ``key`` in a :func:`connection_cache`, starting it afresh when it is full."""
    if len(cache) >= CONNECTION_CACHE_MAX:
        cache.clear()
    cache[key] = value
