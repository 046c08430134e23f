"""The journal's one error type."""

from __future__ import annotations


class JournalError(ValueError):
    """A journal entry that cannot be built, encoded or decoded.

    The message names the field (as a path such as ``body.measurements.volume_l``) and says what
    was expected, so the person reading a gateway log can find the code that produced the value.
    """
