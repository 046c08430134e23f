"""One request as a handler sees it: the request, its form, the app's state and a page renderer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from edge_agent.web.context import SESSION_COOKIE, InstallerAccess, WebContext
from edge_agent.web.http import HTML_TYPE, Request, Response


@dataclass(frozen=True, slots=True)
class Visit:
    """What a handler needs; one per request."""

    request: Request
    form: dict[str, str]
    web: WebContext
    templates: Environment
    #: The hidden field this visitor's forms carry (see :mod:`edge_agent.web.csrf`).
    csrf_field: str

    @property
    def access(self) -> InstallerAccess:
        """Whether this visitor may use the installer actions."""
        return self.web.access(self.request.cookies.get(SESSION_COOKIE))

    def render(
        self,
        template: str,
        context: dict[str, Any],
        *,
        status_code: int = 200,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Response:
        """A page from ``templates/``; its forms get this visitor's CSRF field via ``csrf_token()``."""
        html = self.templates.get_template(template).render(context, csrf_token=lambda: self.csrf_field)
        return Response(status_code, html.encode(), HTML_TYPE, list(headers))
