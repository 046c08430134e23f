"""The sync protocol's one error type."""

from __future__ import annotations


class SyncError(ValueError):
    """A protocol message or signed request that cannot be accepted.

    The message names the message type, the field and what was expected, so whoever reads the
    gateway's or the cloud's log knows which side sent what.
    """
