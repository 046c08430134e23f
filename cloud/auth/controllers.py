"""``/api/v1/auth``, ``/api/v1/users`` and ``/api/v1/api-keys``: signing in, users, integration keys."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from litestar.params import JSONBody, PathParameter, QueryParameter

from cloud.api.schemas import ID_MAX
from cloud.auth import credentials, resets, services, users
from cloud.auth.dependencies import SESSION_COOKIE, Caller, DbSession, audit_reason
from cloud.auth.errors import RateLimited
from cloud.auth.models import ApiKey, User
from cloud.auth.ratelimit import TokenBuckets, retry_after_header
from cloud.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    Login,
    Me,
    PasswordResetUse,
    ResetIssued,
    ResetRequest,
    ResetRequested,
    SessionOut,
    UserCreate,
    UserListed,
    UserOut,
    UserPage,
)

#: Sign-in (and, separately, password reset) attempts per client address: a burst of 10, then one
#: every 6 seconds.
LOGIN_BURST = 10
LOGIN_RATE_PER_S = 1 / 6


class AuthController(Controller):
    """Browser sign-in: a session cookie plus a CSRF token for unsafe methods."""

    path = "/api/v1/auth"
    tags = ("access",)

    @post("/login", summary="Sign in with email and password", status_code=200)
    async def login(
        self, request: Request[object, object, State], db: DbSession, data: JSONBody[Login]
    ) -> Response[SessionOut]:
        """Opens a session: sets the HttpOnly ``quantify_session`` cookie and returns the CSRF token."""
        source = _take_attempt(request, "login")
        opened = await credentials.sign_in(db, data.email, data.password, source)
        body = SessionOut(opened.user_id, opened.role.value, opened.csrf_token, opened.expires_at)
        cookie = Cookie(
            key=SESSION_COOKIE,
            value=opened.token,
            httponly=True,
            samesite="strict",
            secure=request.app.state.secure_cookies,
            path="/",
            max_age=int(credentials.SESSION_LIFETIME.total_seconds()),
        )
        return Response(body, cookies=[cookie])

    @post("/password-reset/request", summary="Ask for a password reset", status_code=202)
    async def request_password_reset(
        self, request: Request[object, object, State], db: DbSession, data: JSONBody[ResetRequest]
    ) -> ResetRequested:
        """Sends a one-time reset token to the account's outbox (there is no mail server: the
        operator or a mail relay delivers it). Answers the same whether or not the address is known."""
        source = _take_attempt(request, "password-reset")
        await resets.request_reset(db, data.email, source_address=source)
        return ResetRequested(
            "if that address has an active account, a reset token is on its way; it works once, within "
            f"{int(resets.REQUESTED_LIFETIME.total_seconds() // 60)} minutes"
        )

    @post("/password-reset", summary="Set a new password with a reset token", status_code=204)
    async def reset_password(
        self, request: Request[object, object, State], db: DbSession, data: JSONBody[PasswordResetUse]
    ) -> None:
        """Spends the token, sets the password and signs the user out everywhere (sign in again)."""
        source = _take_attempt(request, "password-reset")
        await resets.reset_password(db, data.token, data.password, source_address=source)

    @post("/logout", summary="Sign out", status_code=204)
    async def logout(
        self, request: Request[object, object, State], db: DbSession, principal: Caller
    ) -> Response[None]:
        """Ends this browser's session (needs the CSRF header like every unsafe method)."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await credentials.sign_out(db, token)
        return Response(
            None, status_code=204, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")]
        )

    @get("/me", summary="Who am I")
    async def me(self, principal: Caller) -> Me:
        """The caller's role, the estates, units and wallets it is bound to, and its permissions."""
        scope = principal.scope

        def listed(ids: frozenset[int] | None) -> list[int] | None:
            return None if ids is None else sorted(ids)

        return Me(
            user_id=principal.user_id,
            role=principal.role,
            estate_ids=listed(scope.estate_ids),
            unit_ids=listed(principal.unit_ids),
            wallet_ids=listed(scope.wallet_ids),
            kinds=sorted(principal.kinds),
            permissions=sorted(principal.permissions),
            api_key_id=principal.api_key_id,
        )


class UserController(Controller):
    """Users and their role bindings."""

    path = "/api/v1/users"
    tags = ("access",)

    @post(summary="Create a user")
    async def create_user(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        data: JSONBody[UserCreate],
    ) -> UserOut:
        """Super admins create any user; managing agents create body corporate, owner, tenant and
        installer users of their own estates and people."""
        user = await services.create_user(
            db,
            principal,
            email=data.email,
            password=data.password,
            role=data.role,
            person_id=data.person_id,
            estate_ids=data.estate_ids,
            reason=audit_reason(request),
        )
        return _user_out(user)

    @get(summary="List users")
    async def list_users(
        self,
        db: DbSession,
        principal: Caller,
        after_id: Annotated[int, QueryParameter(ge=0, le=ID_MAX, description="cursor: the last id seen")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=users.PAGE_MAX)] = 50,
    ) -> UserPage:
        """Users you administer, by id: everyone for a platform admin; for a managing agent or body
        corporate, the users bound to your estates and the owners and tenants of their units."""
        found = await users.list_users(db, principal, after_id=after_id, limit=limit)
        items = [_user_listed(user) for user in found]
        return UserPage(items=items, next_after_id=found[-1].id if len(found) == limit else None)

    @post("/{user_id:int}/password-reset", summary="Issue a password reset token")
    async def issue_password_reset(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        user_id: Annotated[int, PathParameter(ge=1, le=ID_MAX)],
    ) -> ResetIssued:
        """A one-time token for a user you administer, shown only in this answer: hand it to them.
        It expires in 24 hours; using it ends all their sessions. Issuing again withdraws the last."""
        issued = await resets.issue_reset(db, principal, user_id, reason=audit_reason(request))
        return ResetIssued(issued.user_id, issued.token, issued.expires_at)


class ApiKeyController(Controller):
    """Integration keys: created for some estates and permissions, shown once, revocable."""

    path = "/api/v1/api-keys"
    tags = ("access",)

    @post(summary="Create an API key")
    async def create_key(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        data: JSONBody[ApiKeyCreate],
    ) -> ApiKeyCreated:
        """Returns the key once; only its SHA-256 is stored. Send it as ``Authorization: Bearer``."""
        created = await services.create_api_key(
            db,
            principal,
            name=data.name,
            estate_ids=data.estate_ids,
            permissions=data.permissions,
            rate_per_minute=data.rate_per_minute,
            reason=audit_reason(request),
        )
        return ApiKeyCreated(key=created.key, api_key=_key_out(created.row))

    @get(summary="List API keys")
    async def list_keys(self, db: DbSession, principal: Caller) -> list[ApiKeyOut]:
        """Keys whose estates all lie within yours, newest first (never the keys themselves)."""
        return [_key_out(key) for key in await services.list_api_keys(db, principal)]

    @delete("/{key_id:int}", summary="Revoke an API key", status_code=200)
    async def revoke_key(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        key_id: Annotated[int, PathParameter(ge=1, le=ID_MAX)],
    ) -> ApiKeyOut:
        """Revokes the key at once; requests with it then answer 401."""
        return _key_out(await services.revoke_api_key(db, principal, key_id, reason=audit_reason(request)))


def _take_attempt(request: Request[object, object, State], what: str) -> str | None:
    """Spend one of the client address's attempts at ``what`` (sign-in, password reset), or refuse
    with 429; returns the address."""
    source = request.client.host if request.client else None
    buckets: TokenBuckets = request.app.state.rate_buckets
    wait_s = buckets.take((what, source), LOGIN_RATE_PER_S, LOGIN_BURST)
    if wait_s:
        raise RateLimited(
            f"too many {what} attempts from this address; wait and try again", retry_after_header(wait_s)
        )
    return source


def _user_listed(user: users.UserRecord) -> UserListed:
    return UserListed(
        user.id,
        user.email,
        user.role.value,
        user.person_id,
        list(user.estate_ids),
        user.created_at,
        user.disabled_at,
    )


def _user_out(user: User) -> UserOut:
    return UserOut(user.id, user.email, user.role, user.person_id, user.created_at)


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        key.id,
        key.name,
        key.prefix,
        list(key.estate_ids),
        list(key.permissions),
        key.rate_per_minute,
        key.created_at,
        key.revoked_at,
    )
