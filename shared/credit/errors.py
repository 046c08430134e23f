"""The one error hierarchy of the credit-control package."""

from __future__ import annotations


class CreditError(ValueError):
    """Credit-control input that cannot be used as given (the message says what to change)."""


class CreditPolicyError(CreditError):
    """A credit policy document that is not valid; the message starts with the key path."""
