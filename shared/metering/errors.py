"""The one error type of the metering package."""

from __future__ import annotations


class MeteringError(ValueError):
    """A register spec, reading or event that cannot be used as given (the message says why)."""
