"""Failure counts for the throttle, in Redis (shared by replicas) or in this process's memory.

Both through the ``limits`` package's moving window, so the two behave the same; the Redis one
uses redis-py (``implementation="redispy"``), the client the readiness check uses too.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

NAMESPACE = "keystead-throttle"
log = logging.getLogger("keystead.throttle")


class LimitsFailureCounter:
    """``protocol.throttle.FailureCounter`` over a ``limits`` storage."""

    def __init__(self, redis_url: str = "") -> None:
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            # wrap_exceptions: every Redis failure arrives as limits' StorageError.
            storage = storage_from_string(uri, implementation="redispy", key_prefix=NAMESPACE,
                                          wrap_exceptions=True, socket_timeout=0.5)
        else:
            storage = storage_from_string("async+memory://")
        self._limiter = MovingWindowRateLimiter(storage)

    async def count(self, key: str, *, limit: int, window_seconds: int) -> float | None:
        item = RateLimitItemPerSecond(limit, window_seconds, namespace=NAMESPACE)
        try:
            counted = await self._limiter.hit(item, key)
            stats = await self._limiter.get_window_stats(item, key)
        except StorageError as exc:
            # Redis away: the failure is still refused and audited; only the throttle pauses
            # (failing closed would lock every client out of the token endpoint).
            log.warning("throttle counter unavailable (%s): failure not counted",
                        type(exc).__name__)
            return None
        if counted and stats.remaining > 0:
            return None
        return max(stats.reset_time - time.time(), 0.0)
