"""The driver helpers: a statement overlapped with the caller's CPU work (fetch_meanwhile)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.ledger.driver import fetch_meanwhile

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def test_the_statement_runs_while_meanwhile_does(engine: AsyncEngine) -> None:
    calls: list[int] = []
    async with transaction(engine) as session:
        rows = await fetch_meanwhile(
            session, "SELECT %(n)s::int + 1, pg_sleep(0.05)", {"n": 41}, lambda: calls.append(1)
        )
    assert [row[0] for row in rows] == [42]
    assert calls == [1]


async def test_a_failing_statement_still_calls_meanwhile_and_raises_as_sqlalchemy(
    engine: AsyncEngine,
) -> None:
    calls: list[int] = []
    with pytest.raises(DataError):
        async with transaction(engine) as session:
            await fetch_meanwhile(session, "SELECT 1 / %(zero)s", {"zero": 0}, lambda: calls.append(1))
    assert calls == [1]


async def test_an_error_in_meanwhile_is_raised_once_the_statement_is_done(engine: AsyncEngine) -> None:
    def fail() -> None:
        raise RuntimeError("meanwhile failed")

    with pytest.raises(RuntimeError, match="meanwhile failed"):
        async with transaction(engine) as session:
            await fetch_meanwhile(session, "SELECT pg_sleep(0.02)", None, fail)
    async with transaction(engine) as session:
        # The connection went back to the pool in a usable state.
        assert [tuple(row) for row in await fetch_meanwhile(session, "SELECT 7", None, lambda: None)] == [
            (7,)
        ]
