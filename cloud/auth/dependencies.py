"""Per-request plumbing: the database transaction, and the caller turned into a :class:`Principal`.

Browser sessions send the ``quantify_session`` cookie (HttpOnly, SameSite=Strict) and, on every
unsafe method, the ``X-CSRF-Token`` header with the token login returned (the synchroniser-token
pattern: the token lives server-side with the session, so a forged cross-site form, which cannot
read it, is refused). Integrations send ``Authorization: Bearer <API key>``; no cookie is
involved, so no CSRF check applies, and every key is rate-limited by its token bucket.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.credentials import key_holder
from cloud.auth.errors import NotAuthenticated, RateLimited
from cloud.auth.permissions import Permission
from cloud.auth.principal import Principal, api_key_principal, session_principal
from cloud.auth.ratelimit import TokenBuckets, retry_after_header
from cloud.database.session import transaction

#: How handlers ask for the request's transaction and caller (provided app-wide in ``cloud.app``).
DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]

SESSION_COOKIE = "quantify_session"
CSRF_HEADER = "X-CSRF-Token"
REASON_HEADER = "X-Audit-Reason"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: A key keeps working if a permission it holds is later retired: that permission is just ignored.
PERMISSION_VALUES = frozenset(p.value for p in Permission)


async def provide_db(request: Request[object, object, State]) -> AsyncIterator[AsyncSession]:
    """One transaction per unsafe request: committed before the response is sent, rolled back on
    error. Safe methods only read, so they run each statement on its own (autocommit), which spares
    the hottest endpoints, balances, the BEGIN and COMMIT round trips."""
    state = request.app.state
    engine = state.engine if request.method not in SAFE_METHODS else state.read_engine
    async with transaction(engine) as session:
        yield session


async def provide_principal(request: Request[object, object, State], db: DbSession) -> Principal:
    """Authenticate the request by API key or session cookie; refuse it with 401/429 otherwise."""
    source = request.client.host if request.client else None
    authorization = request.headers.get("authorization")
    if authorization:
        return await _key_principal(request, db, authorization, source or "unknown")
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotAuthenticated(
            "sign in first (POST /api/v1/auth/login) or send 'Authorization: Bearer <API key>'"
        )
    principal = await session_principal(db, token, today=datetime.now(UTC).date(), source_address=source)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = principal.csrf_token or ""
        if not (sent and hmac.compare_digest(sent.encode(), expected.encode())):
            raise NotAuthenticated(
                f"missing or wrong {CSRF_HEADER} header: send the csrf_token your login returned"
            )
    return principal


async def _key_principal(
    request: Request[object, object, State], db: AsyncSession, authorization: str, source: str
) -> Principal:
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise NotAuthenticated("send API keys as 'Authorization: Bearer <key>'")
    holder = await key_holder(db, key.strip())
    buckets: TokenBuckets = request.app.state.rate_buckets
    # A key may burst up to one minute's allowance, then is held to its steady rate.
    wait_s = buckets.take(("api_key", holder.key_id), holder.rate_per_minute / 60, holder.rate_per_minute)
    if wait_s:
        raise RateLimited(
            f"API key {holder.key_id} is limited to {holder.rate_per_minute} requests a minute; slow down",
            retry_after_header(wait_s),
        )
    return api_key_principal(
        key_id=holder.key_id,
        created_by=holder.created_by_user_id,
        estate_ids=holder.estate_ids,
        permissions=frozenset(Permission(p) for p in holder.permissions if p in PERMISSION_VALUES),
        source=source,
    )


def audit_reason(request: Request[object, object, State]) -> str:
    """The reason a change gives the audit trail: the ``X-Audit-Reason`` header, else the request line."""
    given = request.headers.get(REASON_HEADER, "").strip()
    return given[:500] if given else f"API {request.method} {request.url.path}"
