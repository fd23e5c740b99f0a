"""Evidence of use: what each client did, per UTC day, bounded in size.

Recorded off the token hot path (counted in memory by each worker, added to the store with the
usage counts) and read back over a lookback window by the findings engine, access reviews and the
console. This module holds the shape and the read port; recording lives beside the usage counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

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
