"""Evidence of use: what each client did, per UTC day, bounded in size.

Recorded off the token hot path (counted in memory by each worker, added to the store with the
usage counts) and read back over a lookback window by the findings engine, access reviews and the
console. This module holds the shape and the read port; recording lives beside the usage counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Protocol

from keystead.domain.governance.policy import MAX_LOOKBACK_DAYS

MAX_NETWORKS_PER_DAY = 32  # distinct /24 (IPv4) or /64 (IPv6) source prefixes kept per client-day


@dataclass(frozen=True, slots=True)
class Evidence:
    """One client's use over a window: sums and unions of its daily records."""

    tokens_by_grant: Mapping[str, int] = field(default_factory=dict)
    failures_by_reason: Mapping[str, int] = field(default_factory=dict)
    scopes_granted: frozenset[str] = frozenset()
    permissions_exercised: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()
    first_day: date | None = None  # the first and last day anything was recorded in the window
    last_day: date | None = None

    @property
    def tokens(self) -> int:
        return sum(self.tokens_by_grant.values())


class EvidenceQuery(Protocol):
    """Read the recorded evidence of many clients over ``[since, today]`` (UTC days)."""

    async def over(self, client_ids: list[str], since: date) -> Mapping[str, Evidence]:
        """Every client id asked for is in the result (an empty ``Evidence`` if nothing)."""
        ...


class DailyEvidence(Protocol):
    """The same records day by day, for baselines (alerts)."""

    async def by_day(self, client_ids: list[str], since: date
                     ) -> Mapping[str, Mapping[date, Evidence]]:
        """Each client's evidence per day from ``since``; days without any are absent."""
        ...


def evidence_kept_from(now: datetime) -> date:
    """The first day of evidence kept: the longest lookback a policy can ask for."""
    return (now - timedelta(days=MAX_LOOKBACK_DAYS)).date()


class EvidenceRecorder(Protocol):
    """What the token endpoint, client authentication and the management API tell about each
    client (``EvidenceTally``, or ``NO_EVIDENCE`` when recording is off)."""

    def token(self, client_id: str, grant_type: str, scope: str, remote_ip: str) -> None: ...

    def failure(self, client_id: str, reason: str, remote_ip: str) -> None: ...

    def permissions(self, client_id: str, permissions: Iterable[str]) -> None: ...


class _NoEvidence:
    """Recording off: every call is a no-op (the arguments are the protocol's)."""

    def token(self, client_id: str, grant_type: str, scope: str,  # noqa: ARG002
              remote_ip: str) -> None:  # noqa: ARG002
        return None

    def failure(self, client_id: str, reason: str, remote_ip: str) -> None:  # noqa: ARG002
        return None

    def permissions(self, client_id: str,  # noqa: ARG002
                    permissions: Iterable[str]) -> None:  # noqa: ARG002
        return None


NO_EVIDENCE: EvidenceRecorder = _NoEvidence()


class Kind(StrEnum):
    """What an evidence row counts; ``item`` names the grant, reason, scope, permission or
    network."""

    grant = "grant"
    failure = "failure"
    scope = "scope"
    permission = "permission"
    network = "network"


@dataclass(frozen=True, slots=True)
class EvidenceCount:
    client_id: str
    day: date
    kind: Kind
    item: str
    count: int


class EvidenceLog(Protocol):
    """Where recorded evidence is added up (``store/evidence.py``)."""

    async def add(self, counts: Sequence[EvidenceCount]) -> None:
        """Add ``counts`` to the stored days: only for clients that exist, at most
        ``MAX_NETWORKS_PER_DAY`` networks per client-day."""
        ...


def network_of(remote_ip: str) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) a source address is in; ``None`` for no address."""
    try:
        address = ip_address(remote_ip)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ip_network(f"{address}/{prefix}", strict=False))


# One event as the tally keeps it: (client id, kind, item, scope string, raw source address).
_Event = tuple[str, str, str, str, str]


class EvidenceTally:
    """Evidence counted in memory by one worker between flushes, at the cost of one counter
    increment per token: its grant, scopes and address stay one key until ``take`` (off the
    request path) splits the scopes and makes the address a network.

    Bounded: past ``max_keys`` distinct events between flushes, further ones are only counted
    in ``dropped`` (a flush every second keeps far below it in practice).
    """

    def __init__(self, clock: Callable[[], datetime], *, max_keys: int = 50_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self.dropped = 0
        self._days: dict[date, Counter[_Event]] = {}
        self._kept = 0  # distinct events over all days

    def _count(self, event: _Event, n: int = 1) -> None:
        day = self.clock().date()
        counts = self._days.get(day)
        if counts is None:
            counts = self._days[day] = Counter()
        if event in counts:
            counts[event] += n
        elif self._kept < self.max_keys:
            counts[event] = n
            self._kept += 1
        else:
            self.dropped += n

    def token(self, client_id: str, grant_type: str, scope: str, remote_ip: str) -> None:
        """A token issued to ``client_id`` by ``grant_type`` with ``scope`` (space-separated)."""
        self._count((client_id, Kind.grant, grant_type, scope, remote_ip))

    def failure(self, client_id: str, reason: str, remote_ip: str) -> None:
        """A refused request of an existing client: its authentication, or its grant."""
        self._count((client_id, Kind.failure, reason, "", remote_ip))

    def permissions(self, client_id: str, permissions: Iterable[str]) -> None:
        """Permissions a client's token exercised on Keystead's own API."""
        for permission in permissions:
            self._count((client_id, Kind.permission, permission, "", ""))

    def take(self) -> list[EvidenceCount]:
        """Everything counted since the last take, as rows (scopes split, networks made)."""
        days, self._days, self._kept = self._days, {}, 0
        rows: Counter[tuple[str, date, Kind, str]] = Counter()
        for day, counts in days.items():
            for (client_id, kind, item, scope, remote_ip), n in counts.items():
                rows[client_id, day, Kind(kind), item] += n
                for granted in scope.split():
                    rows[client_id, day, Kind.scope, granted] += n
                if remote_ip and (network := network_of(remote_ip)) is not None:
                    rows[client_id, day, Kind.network, network] += n
        return [EvidenceCount(c, d, k, i, n) for (c, d, k, i), n in rows.items()]

    def give_back(self, rows: Iterable[EvidenceCount]) -> None:
        """Keep rows a flush could not write for the next one, on their own day."""
        for row in rows:
            counts = self._days.setdefault(row.day, Counter())
            event = (row.client_id, row.kind.value, row.item, "", "")
            if event not in counts:
                self._kept += 1
            counts[event] += row.count

    def held(self) -> int:
        return self._kept


def evidence_over(sums: Iterable[tuple[Kind, str, int, date, date]]) -> Evidence:
    """One client's ``Evidence`` from its rows summed per kind and item over a window: (kind,
    item, count, first day, last day)."""
    grants: dict[str, int] = {}
    failures: dict[str, int] = {}
    sets: dict[Kind, set[str]] = {Kind.scope: set(), Kind.permission: set(),
                                  Kind.network: set()}
    first: date | None = None
    last: date | None = None
    for kind, item, count, first_day, last_day in sums:
        first = first_day if first is None else min(first, first_day)
        last = last_day if last is None else max(last, last_day)
        if kind == Kind.grant:
            grants[item] = count
        elif kind == Kind.failure:
            failures[item] = count
        else:
            sets[kind].add(item)
    return Evidence(tokens_by_grant=grants, failures_by_reason=failures,
                    scopes_granted=frozenset(sets[Kind.scope]),
                    permissions_exercised=frozenset(sets[Kind.permission]),
                    networks=frozenset(sets[Kind.network]), first_day=first, last_day=last)
