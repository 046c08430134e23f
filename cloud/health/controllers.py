"""``GET /health``: what an operator's probe and the demo wait on."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class Health(msgspec.Struct, frozen=True):
    """The service answers and its database answers."""

    status: str
    database: str


class HealthController(Controller):
    path = "/health"
    tags = ("operations",)

    @get(summary="Service and database health")
    async def health(self, state: State) -> Health:
        """Answers 200 with the PostgreSQL version once the database accepts queries."""
        engine: AsyncEngine = state.engine
        async with engine.connect() as connection:
            version = (await connection.execute(text("SHOW server_version"))).scalar_one()
        return Health(status="ok", database=f"PostgreSQL {version}")
