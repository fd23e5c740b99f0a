"""What a worker's token path has read, kept until a change says otherwise (both hot stores).

Three kinds: client records, token revocations (grouped by client, so a change to the client
drops its tokens' entries too) and grant-family states. ``epoch`` counts the drops, so a read
that was in flight while one happened is not kept: it may predate the change.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import TypeVar

from keystead.domain.tokens import ClientRecord, FamilyState

KEPT_READS_LIMIT = 10_000  # per kind; past it they are dropped (a flood of unknown ids, say)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def keep(kept: dict[K, V], key: K, value: V) -> None:
    if len(kept) >= KEPT_READS_LIMIT:
        kept.clear()
    kept[key] = value


class KeptReads:
    def __init__(self) -> None:
        self.clients: dict[str, ClientRecord | None] = {}
        # client id -> token digest -> revoked at (None: not revoked)
        self.revocations: dict[str, dict[str, datetime | None]] = {}
        self.families: dict[str, FamilyState | None] = {}
        self.epoch = 0

    def revocations_of(self, client_id: str) -> dict[str, datetime | None]:
        found = self.revocations.get(client_id)
        if found is None:
            found = {}
            keep(self.revocations, client_id, found)
        return found

    def forget_all(self) -> None:
        self.clients.clear()
        self.revocations.clear()
        self.families.clear()
        self.epoch += 1

    def forget_client(self, client_id: str) -> None:
        self.clients.pop(client_id, None)
        self.revocations.pop(client_id, None)
        self.epoch += 1

    def forget_family(self, family_id: str) -> None:
        self.families.pop(family_id, None)
        self.epoch += 1

    def forget_families(self) -> None:
        self.families.clear()
        self.epoch += 1

    def forget(self, change: str) -> None:
        """Drop what a change notification names (migration 0011 lists the payloads)."""
        kind, _, key = change.partition(":")
        if kind == "c":
            self.forget_client(key)
        elif kind == "f":
            self.forget_family(key)
        elif kind == "u":
            self.forget_families()
        else:
            self.forget_all()
