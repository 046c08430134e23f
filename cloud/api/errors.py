"""The one hook mapping the cloud's :class:`ApplicationError` hierarchy to HTTP answers.

Every error answers JSON ``{"status_code": …, "detail": "<what to do>"}``, the shape Litestar uses
for its own 4xx answers (malformed bodies, bad query parameters), so a client parses one shape.
"""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.datastructures import State
from sqlalchemy.exc import DBAPIError

from cloud.auth.errors import NotAuthenticated, PermissionDenied, RateLimited
from cloud.errors import ApplicationError, Conflict, LedgerIntegrityError, NotFound, ValidationFailed

log = logging.getLogger(__name__)

#: Most specific first: PeriodClosed is a Conflict and answers 409 through it.
STATUS_BY_ERROR: tuple[tuple[type[ApplicationError], int], ...] = (
    (NotAuthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (ValidationFailed, 422),
    (RateLimited, 429),
    (LedgerIntegrityError, 500),
)


def status_of(error: ApplicationError) -> int:
    """The HTTP status for an application error (500 for a class the table does not name)."""
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return 500


def application_error_handler(
    request: Request[object, object, State], error: ApplicationError
) -> Response[dict[str, object]]:
    """Answer an :class:`ApplicationError` with its status and its message as ``detail``."""
    status = status_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after_s)
    if isinstance(error, NotAuthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="quantify"'
    detail = str(error)
    if status >= 500:
        # The message may name ledger internals; log it whole, tell the client only what to do.
        log.error("%s %s: %s", request.method, request.url.path, error)
        detail = "the ledger refused the change to protect its integrity; the operator has been alerted"
    return Response({"status_code": status, "detail": detail}, status_code=status, headers=headers)


def database_error_handler(
    request: Request[object, object, State], error: DBAPIError
) -> Response[dict[str, object]]:
    """The safety net under the services' own checks: a value the database refuses is the client's
    (SQLSTATE class 22 → 422, 23 → 409); anything else is ours (500, logged)."""
    sqlstate = str(getattr(error.orig, "sqlstate", "") or "")
    message = str(getattr(getattr(error.orig, "diag", None), "message_primary", "") or "")
    if sqlstate.startswith("22"):
        status, detail = 422, f"a value is out of range or malformed for the database: {message}"
    elif sqlstate.startswith("23"):
        status, detail = 409, f"the change conflicts with stored data: {message}"
    else:
        log.exception("%s %s: database error", request.method, request.url.path, exc_info=error)
        status, detail = 500, "the database could not complete the request; try again shortly"
    return Response({"status_code": status, "detail": detail}, status_code=status)
