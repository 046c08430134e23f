"""The cloud's ASGI application, assembled from its bounded contexts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from cloud.database.session import create_engine
from cloud.health.controllers import HealthController

API_VERSION = "0.1.0"


def create_app(database_url: str) -> Litestar:
    """Build the application against one PostgreSQL database (a libpq URL)."""

    @asynccontextmanager
    async def database_engine(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(database_url)
        app.state.engine = engine
        try:
            yield
        finally:
            await engine.dispose()

    return Litestar(
        route_handlers=[HealthController],
        lifespan=[database_engine],
        openapi_config=OpenAPIConfig(
            title="Quantify cloud API",
            version=API_VERSION,
            description="Wallets, ledger, estates, meters and gateways for tokenless prepaid metering.",
            path="/schema",
        ),
    )
