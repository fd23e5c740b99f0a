"""Failed client authentications: counted in memory, written to the audit log in aggregate.

An unauthenticated caller must not be able to grow the append-only audit log at line rate
(2,000 wrong secrets used to cost 2,000 rows). Failures are keyed by (client id, source address,
reason). The first failure of a key in an interval is written at once, so an admin debugging a
401, or watching the dashboard, sees it without waiting, and a crash can lose a count but never
the fact that a key failed. Every further failure of that key in the interval only adds to a
count in memory, written as one entry with ``count`` when the interval ends (or the server
stops). So N failures of one key cost at most two rows per interval, whatever N is.

The number of keys kept per interval is bounded (``max_keys``): past it, failures of new keys
are counted under one overflow entry, written once per interval, so a caller rotating client ids
or source addresses cannot turn the bound per key into a row per request either.

``recent_failures`` answers, from memory alone, how often a client id failed from an address:
what a throttle asks before it lets a request try a secret.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import AuditEvent, JSONValue, Result

DEFAULT_INTERVAL = timedelta(seconds=60)
DEFAULT_MAX_KEYS = 1_000
MAX_CLIENT_ID = 64
CLIENT_ID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHOWN_PREFIX = 6
OVERFLOW_ID = "*"
OVERFLOW_REASON = "failures of more distinct clients and sources than are tallied per interval"


def shown_client_id(client_id: str) -> str:
    """The client id as the audit log may show it.

    Every client id is a UUID; anything else sent as one is most likely a secret pasted into the
    wrong field, so only a prefix is kept to correlate, never the whole value. NUL (which no id
    holds and PostgreSQL text cannot store) is dropped.
    """
    shown = client_id[:MAX_CLIENT_ID].replace("\x00", "")
    if CLIENT_ID_SHAPE.fullmatch(shown):
        return shown
    return shown[:SHOWN_PREFIX] + "..."


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """One refused client authentication; ``client_id`` is already as shown."""

    client_id: str
    client_name: str
    remote_ip: str
    reason: str
    endpoint: str
    method: str
    at: datetime
    divisions: tuple[str, ...] = ()  # of the client's role grants, when the client exists


class RecentFailures(Protocol):
    """The question a throttle asks before letting a request try a secret; memory only."""

    def recent_failures(self, client_id: str, remote_ip: str) -> int:
        """Failures of ``client_id`` (as sent) from ``remote_ip`` in the current and the
        previous interval, whatever their reason."""


@dataclass(slots=True)
class _Span:
    """The failures of one key after its first in this interval."""

    first: AuthFailure  # its endpoint and method stand for the span
    last_at: datetime
    count: int


Key = tuple[str, str, str]  # (shown client id, source address, reason)


class FailureTally:
    """Counts failed client authentications; hands out the audit events to write.

    Not thread-safe: used from one event loop (each worker process has its own tally).
    """

    def __init__(self, *, started_at: datetime, interval: timedelta = DEFAULT_INTERVAL,
                 max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.interval = interval
        self.max_keys = max_keys
        self._window_start = started_at
        self._written: set[Key] = set()  # keys whose first failure went out at once
        self._spans: dict[Key, _Span] = {}
        self._recent: Counter[tuple[str, str]] = Counter()
        self._previous: Counter[tuple[str, str]] = Counter()
        self._pending: list[AuditEvent] = []  # taken but not stored yet (store unreachable)

    def note(self, failure: AuthFailure) -> AuditEvent | None:
        """Count ``failure``; return the event to write now if it is its key's first in this
        interval, else None (it is written in aggregate by ``take``)."""
        pair = (failure.client_id, failure.remote_ip)
        if pair in self._recent or len(self._recent) < self.max_keys:
            self._recent[pair] += 1
        key = (failure.client_id, failure.remote_ip, failure.reason)
        if key not in self._written:
            if len(self._written) < self.max_keys:
                self._written.add(key)
                return _event(failure, count=1, first_at=failure.at)
            key = (OVERFLOW_ID, OVERFLOW_ID, OVERFLOW_REASON)
            failure = AuthFailure(OVERFLOW_ID, "", OVERFLOW_ID, OVERFLOW_REASON,
                                  failure.endpoint, failure.method, failure.at)
        span = self._spans.get(key)
        if span is None:
            self._spans[key] = _Span(failure, failure.at, 1)
        else:
            span.count += 1
            span.last_at = failure.at
        return None

    def recent_failures(self, client_id: str, remote_ip: str) -> int:
        pair = (shown_client_id(client_id), remote_ip)
        return self._recent[pair] + self._previous[pair]

    def take(self, now: datetime, *, final: bool = False) -> list[AuditEvent]:
        """The events to write now: any given back, and, once the interval has ended (or when
        the server stops), one per key that failed again after its first, with its count."""
        events, self._pending = self._pending, []
        if final or now - self._window_start >= self.interval:
            events.extend(_event(span.first, count=span.count, first_at=span.first.at,
                                 last_at=span.last_at) for span in self._spans.values())
            self._written.clear()
            self._spans.clear()
            self._previous, self._recent = self._recent, Counter()
            self._window_start = now
        return events

    def give_back(self, events: Iterable[AuditEvent]) -> int:
        """Keep events that could not be stored for the next ``take``; return how many were
        dropped because too many are waiting already (bounded memory during an outage)."""
        room = max(self.max_keys * 2 - len(self._pending), 0)
        kept = list(events)
        self._pending.extend(kept[:room])
        return max(len(kept) - room, 0)


def _event(failure: AuthFailure, *, count: int, first_at: datetime,
           last_at: datetime | None = None) -> AuditEvent:
    details: dict[str, JSONValue] = {"reason": failure.reason, "endpoint": failure.endpoint,
                                  "method": failure.method, "count": count}
    if last_at is not None:
        details["firstAt"] = first_at.isoformat()
        details["lastAt"] = last_at.isoformat()
    return AuditEvent(
        timestamp=last_at or first_at, actor_kind="client", actor_id=failure.client_id,
        actor_name=failure.client_name, action="authenticate", entity_type="OAuthClient",
        entity_id=failure.client_id, entity_name=failure.client_name, result=Result.failure,
        remote_ip=failure.remote_ip, details=details, actor_divisions=failure.divisions)
