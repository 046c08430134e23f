"""Capped exponential backoff with jitter, for every retry the sync client makes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of ``first_s``, doubling up to ``max_s``, each jittered ±20 %; :meth:`reset` on success.

    Jitter keeps a whole estate's gateways from hammering the cloud in step after an outage.
    """

    first_s: float = 0.5
    max_s: float = 60.0
    _next_s: float = field(default=0.0, init=False)
    _random: random.Random = field(default_factory=random.Random, init=False, repr=False)

    def next_delay_s(self) -> float:
        """The delay before the next attempt (grows with each failure, never above ``max_s``)."""
        self._next_s = self.first_s if self._next_s == 0 else min(self._next_s * 2, self.max_s)
        return min(self.max_s, self._next_s * self._random.uniform(0.8, 1.2))

    def reset(self) -> None:
        """The call succeeded: the next failure starts from ``first_s`` again."""
        self._next_s = 0.0

    @property
    def failing(self) -> bool:
        """Whether the last call failed (and :meth:`reset` has not been called since)."""
        return self._next_s != 0
