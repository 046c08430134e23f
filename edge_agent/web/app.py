"""The gateway's local web page as a Litestar app: wiring, error pages and security headers."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from edge_agent.web.actions import InstallerActions, InstallerBusy
from edge_agent.web.auth import SESSION_SECRET_BYTES_MIN, InstallerSessions, LoginLimiter
from edge_agent.web.context import WebContext
from edge_agent.web.control import GatewayControl
from edge_agent.web.passwords import parse_password_hash
from edge_agent.web.routes import ROUTES
from edge_agent.web.views import register_filters

HERE = Path(__file__).parent
REQUEST_BODY_BYTES_MAX = 16 * 1024
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


def _security_headers(app: ASGIApp) -> ASGIApp:
    """Add the security headers, and ``no-store`` to everything but static files."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in _SECURITY_HEADERS:
                    headers[name] = value
                if not scope["path"].startswith("/static/"):
                    # Balances and relay states go stale in seconds: never show a cached copy.
                    headers["cache-control"] = "no-store"
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors as a readable page with a way back, not as JSON a browser user cannot act on."""
    if isinstance(exc, InstallerBusy):
        status_code, detail = 409, str(exc).capitalize() + "."
    elif isinstance(exc, HTTPException):
        status_code, detail = exc.status_code, exc.detail
    else:
        logger.error("the local page failed on %s", request.url.path, exc_info=exc)
        status_code, detail = 500, "The gateway could not build this page. It has been logged."
    if detail == "CSRF token verification failed":
        detail = "This form is out of date or did not come from this page. Reload the page and try again."
    return Template(
        template_name="error.html",
        context={"status_code": status_code, "detail": detail},
        status_code=status_code,
    )


def _templates() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
    )
    register_filters(environment)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


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
) -> Litestar:
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
    # A key of its own for CSRF, so a token can never double as a session signature.
    csrf_secret = hmac.new(session_secret, b"csrf", hashlib.sha256).hexdigest()
    return Litestar(
        route_handlers=[*ROUTES, create_static_files_router(path="/static", directories=[HERE / "static"])],
        dependencies={"web": Provide(lambda: context, use_cache=True, sync_to_thread=False)},
        template_config=_templates(),
        csrf_config=CSRFConfig(
            secret=csrf_secret, cookie_httponly=True, cookie_samesite="strict", cookie_secure=cookie_secure
        ),
        middleware=[_security_headers],
        exception_handlers={Exception: _error_page},
        request_max_body_size=REQUEST_BODY_BYTES_MAX,
        openapi_config=None,
    )
