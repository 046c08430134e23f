"""The little of HTTP the page needs: a request as the handlers see it, a response, and errors.

Pure values and parsing, no sockets: :mod:`edge_agent.web.server` reads and writes the wire with
h11, :mod:`edge_agent.web.app` routes a :class:`Request` to a handler and gets a
:class:`Response` back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

FORM_TYPE = "application/x-www-form-urlencoded"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
JSON_TYPE = "application/json"
#: Most form fields a request may carry: the page's forms have two or three.
FORM_FIELDS_MAX = 16


class HttpError(Exception):
    """A request the page refuses, with the status and a sentence the visitor can act on."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Request:
    """One request: method, path, query, headers (names in lower case), body and client address."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client: str

    @property
    def cookies(self) -> dict[str, str]:
        """The ``Cookie`` header's name=value pairs (the first of a repeated name wins)."""
        return parse_cookies(self.headers.get("cookie", ""))

    def form(self) -> dict[str, str]:
        """The URL-encoded form in the body; empty for any other content type."""
        if self.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
            return {}
        pairs = parse_qsl(
            self.body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=FORM_FIELDS_MAX
        )
        return dict(pairs)


@dataclass(slots=True)
class Response:
    """A complete response; the server adds the length, the app the security headers."""

    status_code: int
    body: bytes = b""
    content_type: str = HTML_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)


def redirect(location: str, *, cookies: tuple[str, ...] = ()) -> Response:
    """A 303 "see other": after a form post, the browser loads ``location`` with a GET."""
    headers = [("location", location), *(("set-cookie", cookie) for cookie in cookies)]
    return Response(303, b"", TEXT_TYPE, headers)


def set_cookie(name: str, value: str, *, max_age_s: int, secure: bool) -> str:
    """A ``Set-Cookie`` value for the page's own cookies: whole site, script-proof, same-site only."""
    cookie = f"{name}={value}; Path=/; Max-Age={max_age_s}; HttpOnly; SameSite=Strict"
    return cookie + "; Secure" if secure else cookie


def parse_cookies(header: str) -> dict[str, str]:
    """``a=1; b=2`` → ``{"a": "1", "b": "2"}``; pieces without ``=`` are ignored."""
    cookies: dict[str, str] = {}
    for piece in header.split(";"):
        name, equals, value = piece.strip().partition("=")
        if equals and name and name not in cookies:
            cookies[name] = value.strip().strip('"')
    return cookies
