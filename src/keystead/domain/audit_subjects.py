"""Which of the clients, users and other entities an audit entry names are gone since, so the
console can say "(deleted)" instead of linking to a page that no longer exists; and the current
names of the ids its details and actor divisions hold, so people read names, not UUIDs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from keystead.domain.audit import AuditEvent, JSONValue, Result
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

# The entity type an actor of each kind is recorded under when it is the entity.
ACTOR_ENTITY = {"user": "User", "client": "OAuthClient"}

Subject = tuple[str, str]  # (entity type, id)
# The ids Keystead makes (UUIDs); a role in a division is recorded as "role-id@division-id".
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class SubjectDirectory(Protocol):
    async def gone(self, subjects: set[Subject]) -> set[Subject]:
        """Of ``subjects``, those of a type it knows that no longer exist (other types are
        never reported)."""
        ...

    async def names(self, ids: set[str]) -> Mapping[str, str]:
        """The current names of the roles, divisions, users and clients among ``ids``."""
        ...


def ids_in(value: JSONValue) -> set[str]:
    """Every id in a recorded value, however deep (keys are field names, never ids)."""
    if isinstance(value, str):
        return set(ID.findall(value))
    if isinstance(value, list):
        return {i for v in value for i in ids_in(v)}
    if isinstance(value, dict):
        return {i for v in value.values() for i in ids_in(v)}
    return set()


def named_subjects(events: Iterable[AuditEvent]) -> set[Subject]:
    """The actors and entities of successful events: a failed attempt may name an id that
    never existed (a mistyped client id), which is not a deleted one."""
    found: set[Subject] = set()
    for e in events:
        if e.result is not Result.success:
            continue
        if e.entity_id:
            found.add((e.entity_type, e.entity_id))
        if e.actor_id and e.actor_kind in ACTOR_ENTITY:
            found.add((ACTOR_ENTITY[e.actor_kind], e.actor_id))
    return found


@dataclass(slots=True)
class AuditSubjects:
    directory: SubjectDirectory

    async def gone(self, caller: Caller, events: Iterable[AuditEvent]) -> frozenset[Subject]:
        """The subjects of ``events`` deleted since; nothing for a caller who may not read the
        audit log (they are not shown the events either)."""
        if not caller.has_permission(Permission.AUDITS_AUDIT_VIEW):
            return frozenset()
        subjects = named_subjects(events)
        return frozenset(await self.directory.gone(subjects)) if subjects else frozenset()

    async def names(self, caller: Caller, events: Iterable[AuditEvent]) -> Mapping[str, str]:
        """The names of the ids in ``events``' details and actor divisions (roles, divisions,
        users, clients that still exist); nothing for a caller who may not read the log."""
        if not caller.has_permission(Permission.AUDITS_AUDIT_VIEW):
            return {}
        ids: set[str] = set()
        for e in events:
            ids |= ids_in(dict(e.details)) | set(e.actor_divisions)
        return await self.directory.names(ids) if ids else {}
