"""Reconnect backoff: doubling from a first wait up to a cap, reset after a good connection."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Backoff:
    """How long to wait before the next reconnect attempt (seconds)."""

    first_s: float = 0.5
    max_s: float = 30.0
    _next_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s:
            raise ValueError("backoff needs 0 < first_s <= max_s")
        self._next_s = self.first_s

    def next_delay_s(self) -> float:
        """The wait before this attempt; the one after it doubles, up to ``max_s``."""
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.max_s)
        return delay

    def reset(self) -> None:
        """A connection worked: the next failure starts from ``first_s`` again."""
        self._next_s = self.first_s
