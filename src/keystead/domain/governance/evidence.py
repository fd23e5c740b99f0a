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


class EvidenceTally:
    """Evidence counted in memory by one worker between flushes, at the cost of a few counter
    increments per token: scopes stay one string and addresses stay raw until ``take`` (off
    the request path) splits them and makes them networks.

    Bounded: past ``max_keys`` distinct keys between flushes, further ones are only counted in
    ``dropped`` (a flush every second keeps far below it in practice).
    """

    def __init__(self, clock: Callable[[], datetime], *, max_keys: int = 50_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self.dropped = 0
        self._counts: Counter[tuple[str, date, str, str]] = Counter()

    def _count(self, client_id: str, day: date, kind: str, item: str, n: int = 1) -> None:
        key = (client_id, day, kind, item)
        if key in self._counts or len(self._counts) < self.max_keys:
            self._counts[key] += n
        else:
            self.dropped += n

    def token(self, client_id: str, grant_type: str, scope: str, remote_ip: str) -> None:
        """A token issued to ``client_id`` by ``grant_type`` with ``scope`` (space-separated)."""
        day = self.clock().date()
        self._count(client_id, day, Kind.grant, grant_type)
        self._count(client_id, day, _SCOPES, scope)
        self._count(client_id, day, _SOURCE, remote_ip)

    def failure(self, client_id: str, reason: str, remote_ip: str) -> None:
        """A refused request of an existing client: its authentication, or its grant."""
        day = self.clock().date()
        self._count(client_id, day, Kind.failure, reason)
        self._count(client_id, day, _SOURCE, remote_ip)

    def permissions(self, client_id: str, permissions: Iterable[str]) -> None:
        """Permissions a client's token exercised on Keystead's own API."""
        day = self.clock().date()
        for permission in permissions:
            self._count(client_id, day, Kind.permission, permission)

    def take(self) -> list[EvidenceCount]:
        """Everything counted since the last take, as rows (scopes split, networks made)."""
        counts, self._counts = self._counts, Counter()
        rows: Counter[tuple[str, date, Kind, str]] = Counter()
        for (client_id, day, kind, item), n in counts.items():
            if kind == _SCOPES:
                for scope in item.split():
                    rows[client_id, day, Kind.scope, scope] += n
            elif kind == _SOURCE:
                if (network := network_of(item)) is not None:
                    rows[client_id, day, Kind.network, network] += n
            else:
                rows[client_id, day, Kind(kind), item] += n
        return [EvidenceCount(c, d, k, i, n) for (c, d, k, i), n in rows.items()]

    def give_back(self, rows: Iterable[EvidenceCount]) -> None:
        """Keep rows a flush could not write for the next one (already split: kept as is)."""
        for row in rows:
            self._count(row.client_id, row.day, row.kind, row.item, row.count)

    def held(self) -> int:
        return len(self._counts)


_SCOPES = "scopes"  # a token's whole scope string, split by ``take``
_SOURCE = "source"  # a raw remote address, made a network by ``take``


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
