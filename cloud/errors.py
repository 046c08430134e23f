"""The one error hierarchy of the cloud's bounded contexts.

Services raise these; the API maps each class to an HTTP status in a single exception hook
(suggested: NotFound → 404, Conflict and PeriodClosed → 409, ValidationFailed → 422,
LedgerIntegrityError → 500). Every message says what was wrong and what the caller can do.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of every error a cloud service raises on purpose."""


class NotFound(ApplicationError):
    """The object does not exist, or lies outside the caller's scope (the two look the same)."""


class Conflict(ApplicationError):
    """The request contradicts the stored state (a reused idempotency key, a duplicate name)."""


class ValidationFailed(ApplicationError):
    """The input is malformed or breaks a business rule; the message names the field."""


class PeriodClosed(Conflict):
    """A posting dated inside a closed accounting period; post a correction in an open period."""


class LedgerIntegrityError(ApplicationError):
    """The database refused a change that would break the ledger's append-only guarantee."""
