"""The page's HTTP handlers: read-only views for everyone, installer actions behind a login.

Every handler takes the :class:`Visit` and returns a :class:`Response`. State-changing requests
are POST forms; the app has already checked their CSRF field before any handler here runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from edge_agent.status import status_json
from edge_agent.web.actions import READ_NOW, RELAY_TEST
from edge_agent.web.context import SESSION_COOKIE, InstallerAccess
from edge_agent.web.http import JSON_TYPE, TEXT_TYPE, HttpError, Response, redirect, set_cookie
from edge_agent.web.passwords import verify_password
from edge_agent.web.visit import Visit

Handler = Callable[[Visit], Awaitable[Response]]
logger = logging.getLogger(__name__)


def _page_context(visit: Visit) -> dict[str, Any]:
    web = visit.web
    status = web.control.status()
    return {
        "status": status,
        "now": status.generated_at,
        "refresh_s": web.refresh_s,
        "access": visit.access.value,
        "results": list(web.actions.results),
        "read_now": READ_NOW,
        "relay_test": RELAY_TEST,
    }


async def index(visit: Visit) -> Response:
    """The estate's page: every meter, alarms, journal and sync; installer actions when logged in."""
    return visit.render("index.html", _page_context(visit))


async def status_partial(visit: Visit) -> Response:
    """Only the status section, for the page's refresh script to swap in."""
    return visit.render("partial.html", _page_context(visit))


async def api_status(visit: Visit) -> Response:
    """The same status as the page, as JSON."""
    return Response(200, status_json(visit.web.control.status()), JSON_TYPE)


async def healthz(visit: Visit) -> Response:
    """Liveness: the web server and its event loop answer."""
    return Response(200, b"ok", TEXT_TYPE)


async def login_page(visit: Visit) -> Response:
    """The installer's login form (or how to enable it when no password is configured)."""
    return _login_template(visit, error=None, status_code=200)


def _login_template(
    visit: Visit, *, error: str | None, status_code: int, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    context = {"access": visit.access.value, "error": error}
    return visit.render("login.html", context, status_code=status_code, headers=headers)


async def login(visit: Visit) -> Response:
    """Check the password; on success start a session and go back to the page."""
    web = visit.web
    if web.sessions is None or web.password_hash is None:
        return _login_template(visit, error=None, status_code=403)
    client = visit.request.client
    async with web.login_lock:
        wait_s = web.limiter.retry_after_s(client)
        if wait_s is not None:
            return _too_many(visit, wait_s)
        # scrypt takes ~0.1 s on a Pi: off the event loop, so meters keep being polled.
        good = await asyncio.to_thread(verify_password, visit.form.get("password", ""), web.password_hash)
        if not good:
            logger.warning("wrong installer password from %s", client)
            web.limiter.record_failure(client)
            return _login_template(visit, error=_wrong_password(visit, client), status_code=401)
        web.limiter.forget(client)
    logger.info("installer logged in from %s", client)
    cookie = set_cookie(
        SESSION_COOKIE, web.sessions.issue(), max_age_s=web.sessions.max_age_s, secure=web.cookie_secure
    )
    return redirect("/#installer", cookies=(cookie,))


def _wrong_password(visit: Visit, client: str) -> str:
    limiter = visit.web.limiter
    wait_s = limiter.retry_after_s(client)
    if wait_s is not None:
        return f"Wrong password. Logins are now paused for {(wait_s + 59) // 60} minute(s)."
    return f"Wrong password. {limiter.attempts_left(client)} more attempt(s) before logins pause."


def _too_many(visit: Visit, wait_s: int) -> Response:
    minutes = (wait_s + 59) // 60
    return _login_template(
        visit,
        error=f"Too many wrong passwords. Try again in {minutes} minute(s).",
        status_code=429,
        headers=(("retry-after", str(wait_s)),),
    )


async def logout(visit: Visit) -> Response:
    """End the session on the gateway and in the browser."""
    web = visit.web
    if web.sessions is not None:
        web.sessions.end(visit.request.cookies.get(SESSION_COOKIE))
    return redirect("/", cookies=(set_cookie(SESSION_COOKIE, "", max_age_s=0, secure=web.cookie_secure),))


def _require_installer(visit: Visit) -> None:
    access = visit.access
    if access is InstallerAccess.DISABLED:
        raise HttpError(403, "Installer actions are disabled: no installer password is set.")
    if access is InstallerAccess.LOGGED_OUT:
        raise HttpError(403, "Log in as the installer first (your session may have expired).")


async def read_now(visit: Visit) -> Response:
    """Read one meter at once; the result appears in the installer section."""
    _require_installer(visit)
    await visit.web.actions.run(READ_NOW, visit.form.get("meter_id", ""))
    return redirect("/#installer")


async def relay_test(visit: Visit) -> Response:
    """Open then close one meter's relay; the result says what the meter confirmed."""
    _require_installer(visit)
    await visit.web.actions.run(RELAY_TEST, visit.form.get("meter_id", ""))
    return redirect("/#installer")


#: Path → method → handler.
ROUTES: dict[str, dict[str, Handler]] = {
    "/": {"GET": index},
    "/partials/status": {"GET": status_partial},
    "/api/status": {"GET": api_status},
    "/healthz": {"GET": healthz},
    "/login": {"GET": login_page, "POST": login},
    "/logout": {"POST": logout},
    "/installer/read-now": {"POST": read_now},
    "/installer/relay-test": {"POST": relay_test},
}
