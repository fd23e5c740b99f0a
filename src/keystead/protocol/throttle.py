"""Throttling failed client authentication, without a database write or a round trip per request.

Failures are counted per (client id, source address) and per source address in a shared counter
(Redis through the ``limits`` package when ``KEYSTEAD_REDIS_URL`` is set, process memory
otherwise). Only a *failure* consults the counter; when a count passes its limit, this worker
blocks the key in memory until the counter's window lets it through again. Every request asks
that in-memory table first: a dictionary look-up, so a legitimate client's request costs nothing
more and is never refused because of failures made for another client or from another address.

Across replicas a key blocked on one is blocked on another at that replica's next failure for
it (its count is shared), so an attacker gains at most one guess per replica per window.
A blocked key is refused even with the right secret: otherwise a guess that hits would get
through and reveal itself.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

BLOCKED_LIMIT = 100_000  # keys blocked at once per worker; past it, expired ones are dropped


class FailureCounter(Protocol):
    async def count(self, key: str, *, limit: int, window_seconds: int) -> float | None:
        """Count one failure under ``key``; when the window then holds ``limit`` failures, return
        the seconds until it lets one through again, else None."""


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    client_failures: int = 10  # per (client id, source address) in the window
    source_failures: int = 50  # per source address in the window, whatever client it names
    window_seconds: int = 300


@dataclass(slots=True)
class Throttle:
    counter: FailureCounter
    policy: ThrottlePolicy
    clock: Callable[[], datetime]
    _blocked: dict[str, datetime] = field(default_factory=dict, init=False, repr=False)

    def retry_after(self, client_id: str | None, source: str) -> int | None:
        """Seconds until ``client_id`` may authenticate from ``source`` again; None: it may now."""
        if not self._blocked:
            return None
        now = self.clock()
        longest = 0
        for key in self._keys(client_id, source):
            until = self._blocked.get(key)
            if until is None:
                continue
            if until <= now:
                del self._blocked[key]
                continue
            longest = max(longest, math.ceil((until - now).total_seconds()))
        return longest or None

    async def failed(self, client_id: str | None, source: str) -> None:
        """Count a failed authentication; block the keys it takes over their limit."""
        policy = self.policy
        for key in self._keys(client_id, source):
            limit = policy.source_failures if key.startswith("s:") else policy.client_failures
            wait = await self.counter.count(key, limit=limit, window_seconds=policy.window_seconds)
            if wait is not None:
                self._block(key, self.clock() + timedelta(seconds=max(wait, 1.0)))

    def _block(self, key: str, until: datetime) -> None:
        if len(self._blocked) >= BLOCKED_LIMIT:
            now = self.clock()
            self._blocked = {k: u for k, u in self._blocked.items() if u > now}
        if len(self._blocked) < BLOCKED_LIMIT:
            self._blocked[key] = until

    @staticmethod
    def _keys(client_id: str | None, source: str) -> list[str]:
        # Client ids come from the caller: a digest keeps keys short whatever they send.
        keys = [f"s:{source}"]
        if client_id:
            digest = hashlib.sha256(f"{client_id}\x1f{source}".encode()).hexdigest()[:32]
            keys.append(f"c:{digest}")
        return keys
