"""Cross-site request forgery protection for the page's forms: a signed double-submit token.

Every visitor gets a random token in the ``csrftoken`` cookie (HttpOnly, SameSite=Strict). Each
form carries ``<token>.<HMAC of the token>`` in its hidden ``_csrf_token`` field, and a POST is
accepted only when that field is signed by this gateway and names the token in the visitor's own
cookie. Another site can neither read the cookie nor make the signature, so it cannot build a
form the gateway accepts, even from a browser where the installer is logged in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

CSRF_COOKIE = "csrftoken"
CSRF_FIELD = "_csrf_token"
TOKEN_BYTES = 16
#: A week: a page left open on a phone still posts; the token means nothing without the cookie.
COOKIE_MAX_AGE_S = 7 * 24 * 3600
REFUSED = "This form is out of date or did not come from this page. Reload the page and try again."
_HEX = frozenset(string.hexdigits.lower())


class CsrfGuard:
    """Issue tokens and check forms against them, with a key of its own."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"csrf", hashlib.sha256).digest()

    @staticmethod
    def visitor_token(cookie: str | None) -> tuple[str, bool]:
        """The visitor's token from its cookie, or a new one; and whether it is new (to be set)."""
        if cookie is not None and len(cookie) == 2 * TOKEN_BYTES and set(cookie) <= _HEX:
            return cookie, False
        return secrets.token_hex(TOKEN_BYTES), True

    def form_value(self, token: str) -> str:
        """What a form's hidden field carries for this visitor."""
        return f"{token}.{self._sign(token)}"

    def accepts(self, cookie: str | None, field: str | None) -> bool:
        """True if ``field`` was issued by this gateway for the token in the visitor's cookie."""
        if not cookie or not field:
            return False
        token, _, signature = field.partition(".")
        same_token = hmac.compare_digest(token.encode(), cookie.encode())
        return same_token and hmac.compare_digest(signature.encode(), self._sign(token).encode())

    def _sign(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()
