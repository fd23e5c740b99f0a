"""Audit events and their hash chain: each entry's hash covers the previous entry's hash.

Two entry formats live in one chain (the row's ``format`` column says which):

* Format 1 (entries written before migration 0019): the hash covers every field, the people
  named in it included (``chain_hash``). These verify exactly as they always did.
* Format 2 (every entry since): the fields split in two. The *personal part* (actor id and
  name, target id and name, source address, details) is digested with a random per-entry
  salt (``personal_digest``); the hash covers the rest of the entry and that digest, never
  the personal part itself (``chain_hash_v2``). Verification checks both: the personal part
  against its digest, the digest and the rest against the hash.

Erasing a data subject (``domain/subject_rights.py``) replaces their id, name and e-mail in
the personal parts by a pseudonym, clears the source address of the entries they acted in,
drops the salt (so the kept digest cannot confirm a guess of what was there) and marks each
entry with the erasure's id. The hashes and links do not change, so the chain still
verifies; a marked entry's personal part is simply no longer checked against its digest.
The erasure's own entry lists how many entries it marked and a digest over their sequence
numbers, hashes and non-personal parts (``erasure_digest``): marking another entry later, to
hide an edit of its personal part, or editing an erased format-1 entry's non-personal part
breaks that. Of a format-1 entry erased, the hash still covers the original personal data
(a guess at it could be confirmed by recomputing); entries from 0019 on have no such residue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeAlias

from keystead.domain.clock import Clock

if TYPE_CHECKING:  # principal -> clients -> scopes, whose use cases record through this module
    from keystead.domain.principal import Caller

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None
GENESIS_HASH = "0" * 64


class Result(StrEnum):
    success = "success"
    failure = "failure"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What happened: when, who, what, to what, and how it ended. Never a secret."""

    timestamp: datetime
    actor_kind: str
    actor_id: str
    actor_name: str
    action: str
    entity_type: str
    entity_id: str
    entity_name: str = ""
    result: Result = Result.success
    remote_ip: str = ""
    details: dict[str, JSONValue] = field(default_factory=dict)
    # The divisions the actor's roles are scoped to, sorted (empty for the CLI operator, an
    # unknown client or a user signing in, whose grants are not read for that).
    actor_divisions: tuple[str, ...] = ()
    # The request that caused it (ININ-Correlation-Id); empty outside a request (CLI, loops).
    request_id: str = ""


def chain_hash(previous: str, sequence: int, event: AuditEvent) -> str:
    """SHA-256 over the previous hash and a canonical form of the event.

    The request id and the actor's divisions (added in migration 0009) are covered when they
    are set and left out when empty: an entry written before they existed hashes as it always
    did, and setting, changing or clearing either on a newer entry changes its hash.
    """
    covered: dict[str, object] = {
        "seq": sequence,
        "ts": event.timestamp.isoformat(timespec="microseconds"),
        "actor": [event.actor_kind, event.actor_id, event.actor_name],
        "action": event.action,
        "entity": [event.entity_type, event.entity_id, event.entity_name],
        "result": str(event.result),
        "ip": event.remote_ip,
        "details": event.details,
    }
    if event.actor_divisions:
        covered["actorDivisions"] = list(event.actor_divisions)
    if event.request_id:
        covered["requestId"] = event.request_id
    canonical = json.dumps(
        covered,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


ENTRY_FORMAT = 2  # what every new entry is written in (see the module docstring)


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def personal_part(event: AuditEvent) -> dict[str, JSONValue]:
    """The fields of an entry that may name a person (erasure rewrites these only)."""
    return {"actor": [event.actor_id, event.actor_name],
            "entity": [event.entity_id, event.entity_name],
            "ip": event.remote_ip, "details": event.details}


def non_personal_part(event: AuditEvent) -> dict[str, JSONValue]:
    """The fields of an entry that never name a person: format 2 hashes these directly."""
    covered: dict[str, JSONValue] = {
        "ts": event.timestamp.isoformat(timespec="microseconds"),
        "actorKind": event.actor_kind, "action": event.action,
        "entityType": event.entity_type, "result": str(event.result),
        "actorDivisions": list(event.actor_divisions), "requestId": event.request_id}
    return covered


def personal_digest(event: AuditEvent, salt: str) -> str:
    """SHA-256 over the salt and the personal part (the salt makes a guess unconfirmable once
    erasure drops it)."""
    return hashlib.sha256(f"{salt}\n{_canonical(personal_part(event))}".encode()).hexdigest()


def chain_hash_v2(previous: str, sequence: int, event: AuditEvent, digest: str) -> str:
    """Format 2: SHA-256 over the previous hash, the non-personal part and the personal
    part's digest."""
    covered = {"v": 2, "seq": sequence, **non_personal_part(event), "personal": digest}
    return hashlib.sha256(f"{previous}\n{_canonical(covered)}".encode()).hexdigest()


def erasure_mark(seq: int, hash_: str, event: AuditEvent) -> int:
    """One marked entry's share of its erasure's digest (see ``erasure_digest``)."""
    line = f"{seq}:{hash_}:{_canonical(non_personal_part(event))}"
    return int(hashlib.sha256(line.encode()).hexdigest(), 16)


def erasure_digest(marks: Iterable[int]) -> str:
    """What an erasure's entry vouches for: the XOR of ``erasure_mark`` over every entry it
    marked. XOR so that entries later archived can be folded out into the checkpoint and
    the rest still checked (``store/audit_archive.py``)."""
    folded = 0
    for mark in marks:
        folded ^= mark
    return f"{folded:064x}"


class AuditLog(Protocol):
    async def append(self, event: AuditEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class Entity:
    """What an audit entry is about: its type (``OAuthClient``, ``User`` …), id and name."""

    type: str
    id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Auditor:
    """Appends the audit entry of a caller's change, stamped by the clock, in its transaction."""

    log: AuditLog
    clock: Clock

    async def record(self, caller: Caller, action: str, entity: Entity,
                     details: dict[str, JSONValue], *, result: Result = Result.success,
                     with_divisions: bool = True) -> None:
        """Record that ``caller`` did ``action`` to ``entity``.

        ``with_divisions=False`` leaves the caller's divisions out, as identity-link entries
        always have (their hash covers the field only when it is set).
        """
        await self.log.append(AuditEvent(
            timestamp=self.clock(), actor_kind=caller.actor.kind, actor_id=caller.actor.id,
            actor_name=caller.actor.name, action=action, entity_type=entity.type,
            entity_id=entity.id, entity_name=entity.name, result=result,
            remote_ip=caller.remote_ip,
            actor_divisions=caller.divisions if with_divisions else (), details=details))


def property_changes(before: Mapping[str, JSONValue],
                     after: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """The audit's ``propertyChanges``: old and new value of each property of ``after`` that
    differs in ``before``, in ``after``'s order."""
    return {key: {"old": before[key], "new": value}
            for key, value in after.items() if before[key] != value}
