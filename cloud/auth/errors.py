"""Access errors, part of the cloud's one :class:`ApplicationError` hierarchy.

The API's exception hook maps them: :class:`NotAuthenticated` → 401, :class:`PermissionDenied` →
403 (only ever for an object the caller can already see), :class:`RateLimited` → 429.
"""

from __future__ import annotations

from cloud.errors import ApplicationError


class NotAuthenticated(ApplicationError):
    """No valid session cookie or API key; the message says how to sign in."""


class PermissionDenied(ApplicationError):
    """The caller sees the object but their role may not make this change."""


class RateLimited(ApplicationError):
    """Too many requests for one API key or login; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
