"""Audit events and their hash chain: each entry's hash covers the previous entry's hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
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
