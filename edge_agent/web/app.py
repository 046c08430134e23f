"""The gateway's local page as an app: routing, CSRF, static files, error pages, security headers.

Deliberately small: the page is a handful of routes on a gateway with a 64 MB budget, so it is
served by :mod:`edge_agent.web.server` (h11 over asyncio streams) and rendered with Jinja, without
a web framework (Litestar and uvicorn cost the agent over 20 MiB resident).
"""

from __future__ import annotations

import logging
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from edge_agent.web.actions import InstallerActions, InstallerBusy
from edge_agent.web.auth import SESSION_SECRET_BYTES_MIN, InstallerSessions, LoginLimiter
from edge_agent.web.context import WebContext
from edge_agent.web.control import GatewayControl
from edge_agent.web.csrf import COOKIE_MAX_AGE_S, CSRF_COOKIE, CSRF_FIELD, REFUSED, CsrfGuard
from edge_agent.web.http import HttpError, Request, Response, set_cookie
from edge_agent.web.passwords import parse_password_hash
from edge_agent.web.routes import ROUTES
from edge_agent.web.views import register_filters
from edge_agent.web.visit import Visit

HERE = Path(__file__).parent
STATIC_PREFIX = "/static/"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
logger = logging.getLogger(__name__)

# The page loads nothing from anywhere but the gateway (it is often offline, and a page that can
# switch relays should not run anyone else's code), and it may not be framed.
_SECURITY_HEADERS = (
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)


class WebApp:
    """Turns a :class:`Request` into a :class:`Response`; never raises."""

    def __init__(self, context: WebContext, csrf: CsrfGuard) -> None:
        self.context = context
        self.csrf = csrf
        self.templates = _templates()
        self.static = _static_files(HERE / "static")

    async def handle(self, request: Request) -> Response:
        """Answer one request, errors included, with the security headers."""
        cookie = request.cookies.get(CSRF_COOKIE)
        token, new_token = self.csrf.visitor_token(cookie)
        visit = Visit(request, {}, self.context, self.templates, self.csrf.form_value(token))
        try:
            response = await self._dispatch(visit, cookie)
        except Exception as error:
            response = self.error_page(visit, error)
        if new_token:
            cookie_value = set_cookie(
                CSRF_COOKIE, token, max_age_s=COOKIE_MAX_AGE_S, secure=self.context.cookie_secure
            )
            response.headers.append(("set-cookie", cookie_value))
        self._secure(request.path, response)
        return response

    def refusal(self, status_code: int, detail: str) -> Response:
        """An error page for a request the server refused before it reached the app (too large)."""
        request = Request("GET", "/", "", {}, b"", "")
        visit = Visit(request, {}, self.context, self.templates, "")
        response = self.error_page(visit, HttpError(status_code, detail))
        self._secure(request.path, response)
        return response

    async def _dispatch(self, visit: Visit, csrf_cookie: str | None) -> Response:
        request = visit.request
        if request.path.startswith(STATIC_PREFIX) and request.method == "GET":
            return self._static(request.path)
        methods = ROUTES.get(request.path)
        if methods is None:
            raise HttpError(404, "There is no page at this address on the gateway.")
        handler = methods.get(request.method)
        if handler is None:
            raise HttpError(405, f"{request.method} is not allowed here (only {', '.join(methods)}).")
        if request.method == "POST":
            form = request.form()
            if not self.csrf.accepts(csrf_cookie, form.get(CSRF_FIELD)):
                raise HttpError(403, REFUSED)
            visit = Visit(request, form, visit.web, visit.templates, visit.csrf_field)
        return await handler(visit)

    def _static(self, path: str) -> Response:
        found = self.static.get(path.removeprefix(STATIC_PREFIX))
        if found is None:
            raise HttpError(404, "There is no such file on the gateway.")
        body, content_type = found
        return Response(200, body, content_type, [("cache-control", "max-age=3600")])

    def error_page(self, visit: Visit, error: Exception) -> Response:
        """Errors as a readable page with a way back, not as text a browser user cannot act on."""
        if isinstance(error, InstallerBusy):
            status_code, detail = 409, str(error).capitalize() + "."
        elif isinstance(error, HttpError):
            status_code, detail = error.status_code, error.detail
        else:
            logger.error("the local page failed on %s", visit.request.path, exc_info=error)
            status_code, detail = 500, "The gateway could not build this page. It has been logged."
        context = {"status_code": status_code, "detail": detail}
        return visit.render("error.html", context, status_code=status_code)

    @staticmethod
    def _secure(path: str, response: Response) -> None:
        response.headers.extend(_SECURITY_HEADERS)
        if not path.startswith(STATIC_PREFIX):
            # Balances and relay states go stale in seconds: never show a cached copy.
            response.headers.append(("cache-control", "no-store"))


def _templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
    )
    register_filters(environment)
    return environment


def _static_files(folder: Path) -> dict[str, tuple[bytes, str]]:
    """The page's few static files, read once: name → (bytes, content type)."""
    return {
        path.name: (path.read_bytes(), _STATIC_TYPES.get(path.suffix, "application/octet-stream"))
        for path in folder.iterdir()
        if path.is_file()
    }


def create_web_app(
    control: GatewayControl,
    *,
    installer_password_hash: str | None,
    session_secret: bytes,
    refresh_s: int = 5,
    session_max_age_s: int = 3600,
    action_wait_s: float = 60.0,
    cookie_secure: bool = False,
    limiter: LoginLimiter | None = None,
) -> WebApp:
    """Build the local page for one gateway.

    ``installer_password_hash`` is ``[web] installer_password_hash`` (``None`` disables the
    installer actions; a malformed hash raises ``ConfigError`` now rather than at first login).
    ``session_secret`` signs sessions and CSRF tokens: at least 16 random bytes, e.g.
    ``secrets.token_bytes(32)`` at daemon start. The rest have working defaults: ``refresh_s``
    (how often the page updates itself), ``session_max_age_s`` (an installer login's lifetime),
    ``action_wait_s`` (how long a request waits for an installer action before saying it is still
    running; the action itself is never cut short), ``cookie_secure`` (HTTPS-only cookies: leave it
    off while the page is served over plain HTTP on the estate's LAN) and ``limiter`` (failed-login
    limits: 5 per client and 20 in all per 5 minutes).
    """
    if len(session_secret) < SESSION_SECRET_BYTES_MIN:
        raise ValueError(f"session_secret must be at least {SESSION_SECRET_BYTES_MIN} random bytes")
    if installer_password_hash is not None:
        parse_password_hash(installer_password_hash)
    sessions = (
        InstallerSessions(session_secret, installer_password_hash, max_age_s=session_max_age_s)
        if installer_password_hash is not None
        else None
    )
    context = WebContext(
        control=control,
        password_hash=installer_password_hash,
        sessions=sessions,
        limiter=limiter or LoginLimiter(),
        actions=InstallerActions(control, wait_s=action_wait_s),
        refresh_s=refresh_s,
        cookie_secure=cookie_secure,
    )
    return WebApp(context, CsrfGuard(session_secret))
