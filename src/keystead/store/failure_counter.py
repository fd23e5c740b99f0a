"""Failure counts for the throttle, in Redis (shared by replicas) or in this process's memory.

Both through the ``limits`` package's moving window, so the two behave the same; the Redis one
uses redis-py (``implementation="redispy"``), the client the readiness check uses too.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

NAMESPACE = "keystead-throttle"


class LimitsFailureCounter:
    """``protocol.throttle.FailureCounter`` over a ``limits`` storage."""

    def __init__(self, redis_url: str = "") -> None:
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            storage = storage_from_string(uri, implementation="redispy",
                                          key_prefix=NAMESPACE)
        else:
            storage = storage_from_string("async+memory://")
        self._limiter = MovingWindowRateLimiter(storage)

    async def count(self, key: str, *, limit: int, window_seconds: int) -> float | None:
        item = RateLimitItemPerSecond(limit, window_seconds, namespace=NAMESPACE)
        counted = await self._limiter.hit(item, key)
        stats = await self._limiter.get_window_stats(item, key)
        if counted and stats.remaining > 0:
            return None
        return max(stats.reset_time - time.time(), 0.0)
