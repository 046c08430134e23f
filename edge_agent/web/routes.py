"""The page's HTTP handlers: read-only views for everyone, installer actions behind a login.

Every handler receives the app's :class:`WebContext` as the dependency ``web``. State-changing
requests are POST forms; Litestar's CSRF middleware has already checked their token before any
handler here runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body
from litestar.response import Redirect, Template

from edge_agent.status import status_json
from edge_agent.web.actions import READ_NOW, RELAY_TEST
from edge_agent.web.context import SESSION_COOKIE, InstallerAccess, WebContext
from edge_agent.web.passwords import verify_password

AnyRequest = Request[Any, Any, Any]
logger = logging.getLogger(__name__)
Web = NamedDependency[WebContext]
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


@dataclass
class LoginForm:
    """The login form (its CSRF field is read by the middleware)."""

    password: str = ""


@dataclass
class MeterForm:
    """An installer action form: which meter."""

    meter_id: str = ""


def _page_context(request: AnyRequest, web: WebContext) -> dict[str, Any]:
    status = web.control.status()
    return {
        "status": status,
        "now": status.generated_at,
        "refresh_s": web.refresh_s,
        "access": web.access(request.cookies.get(SESSION_COOKIE)).value,
        "results": list(web.actions.results),
        "read_now": READ_NOW,
        "relay_test": RELAY_TEST,
    }


@get("/", sync_to_thread=False)
def index(request: AnyRequest, web: Web) -> Template:
    """The estate's page: every meter, alarms, journal and sync; installer actions when logged in."""
    return Template(template_name="index.html", context=_page_context(request, web))


@get("/partials/status", sync_to_thread=False)
def status_partial(request: AnyRequest, web: Web) -> Template:
    """Only the status section, for the page's refresh script to swap in."""
    return Template(template_name="partial.html", context=_page_context(request, web))


@get("/api/status", sync_to_thread=False, media_type=MediaType.JSON)
def api_status(web: Web) -> Response[bytes]:
    """The same status as the page, as JSON."""
    return Response(content=status_json(web.control.status()), media_type=MediaType.JSON)


@get("/healthz", sync_to_thread=False, media_type=MediaType.TEXT)
def healthz() -> str:
    """Liveness: the web server and its event loop answer."""
    return "ok"


@get("/login", sync_to_thread=False)
def login_page(request: AnyRequest, web: Web) -> Template:
    """The installer's login form (or how to enable it when no password is configured)."""
    return _login_template(web, request, error=None, status_code=200)


def _login_template(
    web: WebContext,
    request: AnyRequest,
    *,
    error: str | None,
    status_code: int,
    headers: dict[str, str] | None = None,
) -> Template:
    return Template(
        template_name="login.html",
        context={"access": web.access(request.cookies.get(SESSION_COOKIE)).value, "error": error},
        status_code=status_code,
        headers=headers,
    )


@post("/login", status_code=303)
async def login(request: AnyRequest, web: Web, data: Annotated[LoginForm, FORM]) -> Redirect | Template:
    """Check the password; on success start a session and go back to the page."""
    if web.sessions is None or web.password_hash is None:
        return _login_template(web, request, error=None, status_code=403)
    client = request.client.host if request.client else "unknown"
    async with web.login_lock:
        wait_s = web.limiter.retry_after_s(client)
        if wait_s is not None:
            return _too_many(web, request, wait_s)
        # scrypt takes ~0.1 s on a Pi: off the event loop, so meters keep being polled.
        good = await anyio.to_thread.run_sync(verify_password, data.password, web.password_hash)
        if not good:
            logger.warning("wrong installer password from %s", client)
            web.limiter.record_failure(client)
            return _login_template(web, request, error=_wrong_password(web, client), status_code=401)
        web.limiter.forget(client)
    logger.info("installer logged in from %s", client)
    cookie = Cookie(
        key=SESSION_COOKIE,
        value=web.sessions.issue(),
        max_age=web.sessions.max_age_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=web.cookie_secure,
    )
    return Redirect(path="/#installer", cookies=[cookie], status_code=303)


def _wrong_password(web: WebContext, client: str) -> str:
    wait_s = web.limiter.retry_after_s(client)
    if wait_s is not None:
        return f"Wrong password. Logins are now paused for {(wait_s + 59) // 60} minute(s)."
    return f"Wrong password. {web.limiter.attempts_left(client)} more attempt(s) before logins pause."


def _too_many(web: WebContext, request: AnyRequest, wait_s: int) -> Template:
    minutes = (wait_s + 59) // 60
    return _login_template(
        web,
        request,
        error=f"Too many wrong passwords. Try again in {minutes} minute(s).",
        status_code=429,
        headers={"Retry-After": str(wait_s)},
    )


@post("/logout", status_code=303)
async def logout(request: AnyRequest, web: Web) -> Redirect:
    """End the session on the gateway and in the browser."""
    if web.sessions is not None:
        web.sessions.end(request.cookies.get(SESSION_COOKIE))
    gone = Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="strict")
    return Redirect(path="/", cookies=[gone], status_code=303)


def _require_installer(request: AnyRequest, web: WebContext) -> None:
    access = web.access(request.cookies.get(SESSION_COOKIE))
    if access is InstallerAccess.DISABLED:
        raise PermissionDeniedException("Installer actions are disabled: no installer password is set.")
    if access is InstallerAccess.LOGGED_OUT:
        raise PermissionDeniedException("Log in as the installer first (your session may have expired).")


@post("/installer/read-now", status_code=303)
async def read_now(request: AnyRequest, web: Web, data: Annotated[MeterForm, FORM]) -> Redirect:
    """Read one meter at once; the result appears in the installer section."""
    _require_installer(request, web)
    await web.actions.run(READ_NOW, data.meter_id)
    return Redirect(path="/#installer", status_code=303)


@post("/installer/relay-test", status_code=303)
async def relay_test(request: AnyRequest, web: Web, data: Annotated[MeterForm, FORM]) -> Redirect:
    """Open then close one meter's relay; the result says what the meter confirmed."""
    _require_installer(request, web)
    await web.actions.run(RELAY_TEST, data.meter_id)
    return Redirect(path="/#installer", status_code=303)


ROUTES = [index, status_partial, api_status, healthz, login_page, login, logout, read_now, relay_test]
