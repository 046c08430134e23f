"""The cloud's ASGI application, assembled from its bounded contexts.

Every ``/api/v1`` handler gets two dependencies: ``db`` (one transaction per request, committed
before the response is sent) and ``principal`` (the authenticated caller, see ``cloud.auth``).
Errors from the services map to HTTP in one hook (``cloud.api.errors``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler
from sqlalchemy.exc import DBAPIError

from cloud.api.d0010 import D0010Controller
from cloud.api.errors import application_error_handler, database_error_handler
from cloud.api.estates import EstateController, UnitController
from cloud.api.gateway_admin import GatewayAdminController
from cloud.api.ledger import AdjustmentController, ClosedPeriodController, EstateTransactionController
from cloud.api.metering import GatewayController, MeterController, TariffController
from cloud.api.payments import PaymentController
from cloud.api.people import OccupationController, PersonController
from cloud.api.relays import RelayController
from cloud.api.wallets import WalletController
from cloud.auth.controllers import ApiKeyController, AuthController, UserController
from cloud.auth.dependencies import provide_db, provide_principal
from cloud.auth.ratelimit import TokenBuckets
from cloud.database.session import create_engine, create_read_pool
from cloud.errors import ApplicationError
from cloud.gateways.controllers import gateway_push_lifespan, gateway_router
from cloud.health.controllers import HealthController

API_VERSION = "1.0.0"
#: Connections per worker: enough for a worker's concurrent requests, bounded so N workers times
#: this stays under the server's max_connections (100 by default).
POOL_SIZE = 10
POOL_OVERFLOW = 5
#: Driver connections for the balance reads: each holds one for a single short statement, so a few
#: serve thousands of requests a second.
READ_POOL_SIZE = 4

API_ROUTERS: tuple[ControllerRouterHandler, ...] = (
    AuthController,
    UserController,
    ApiKeyController,
    EstateController,
    UnitController,
    PersonController,
    OccupationController,
    GatewayController,
    GatewayAdminController,
    MeterController,
    RelayController,
    TariffController,
    WalletController,
    PaymentController,
    AdjustmentController,
    EstateTransactionController,
    ClosedPeriodController,
    D0010Controller,
)

DESCRIPTION = """Wallets, ledger, estates, meters and gateways for tokenless prepaid metering.

Authenticate with a browser session (POST /api/v1/auth/login sets an HttpOnly cookie and returns a
CSRF token to send as X-CSRF-Token on every POST, PATCH and DELETE) or an API key
(Authorization: Bearer qk_...). Objects outside your estates, units or wallets answer 404.
Money is integer cents. Errors are JSON: {"status_code": ..., "detail": "what to do"}."""


def create_app(
    database_url: str, *, secure_cookies: bool = False, extra_routers: Sequence[ControllerRouterHandler] = ()
) -> Litestar:
    """Build the application against one PostgreSQL database (a libpq URL).

    ``secure_cookies`` marks the session cookie Secure: set it wherever the API is served over
    HTTPS (production); plain-HTTP loopback (tests, the demo) needs it off.
    """

    @asynccontextmanager
    async def database_engine(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(database_url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
        app.state.engine = engine
        app.state.read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        read_pool = create_read_pool(database_url, size=READ_POOL_SIZE)
        await read_pool.open()
        app.state.read_pool = read_pool
        try:
            yield
        finally:
            await read_pool.close()
            await engine.dispose()

    app = Litestar(
        route_handlers=[HealthController, *API_ROUTERS, gateway_router(), *extra_routers],
        lifespan=[database_engine, gateway_push_lifespan],  # the push hub needs the engine
        dependencies={"db": Provide(provide_db), "principal": Provide(provide_principal)},
        exception_handlers={ApplicationError: application_error_handler, DBAPIError: database_error_handler},
        openapi_config=OpenAPIConfig(
            title="Quantify cloud API",
            version=API_VERSION,
            description=DESCRIPTION,
            path="/schema",
            use_handler_docstrings=True,
            components=Components(
                security_schemes={
                    "session": SecurityScheme(
                        type="apiKey", name="quantify_session", security_scheme_in="cookie"
                    ),
                    "api_key": SecurityScheme(type="http", scheme="bearer"),
                }
            ),
            security=[{"session": []}, {"api_key": []}],
        ),
    )
    app.state.rate_buckets = TokenBuckets()
    app.state.secure_cookies = secure_cookies
    return app
