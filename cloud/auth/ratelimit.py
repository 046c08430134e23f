"""Token buckets: a steady rate with a bounded burst, per API key (and per login address).

Buckets live in the worker's memory, bounded in number (least recently used dropped first), so a
flood of distinct keys cannot exhaust it. Each API worker enforces the limit on its own: with N
workers a key gets up to N times its rate, which is what a per-worker limiter can promise; a
shared limit across replicas would need Redis (documented in docs/api.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

#: Most buckets kept at once; an evicted bucket starts full again, which only ever forgives.
BUCKETS_MAX = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_s: float


class TokenBuckets:
    """One bucket per key: ``rate_per_s`` tokens added each second up to ``burst``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, buckets_max: int = BUCKETS_MAX) -> None:
        self._clock = clock
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()
        self._buckets_max = buckets_max

    def take(self, key: Hashable, rate_per_s: float, burst: int) -> float:
        """Spend one token; 0.0 when allowed, else the seconds until a token will be there."""
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(tokens=float(burst), updated_s=now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated_s) * rate_per_s)
        bucket.updated_s = now
        self._buckets[key] = bucket
        if len(self._buckets) > self._buckets_max:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate_per_s


def retry_after_header(wait_s: float) -> int:
    """Whole seconds for ``Retry-After`` (never 0, which would invite an immediate retry)."""
    return max(1, math.ceil(wait_s))
