"""Data subjects' rights: a user's data read out (access) or removed everywhere (erasure).

Export and erasure are audited. An erasure's entry names the user only by the pseudonym that
replaced them, and carries what lets ``keystead audit verify`` check the rewritten entries
(domain/audit.py explains the design).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from keystead.domain.audit import (
    AuditEvent,
    Auditor,
    Entity,
    JSONValue,
    erasure_digest,
    erasure_mark,
)
from keystead.domain.errors import ConflictError, ForbiddenError
from keystead.domain.organization import Catalog
from keystead.domain.permissions import ALL_PERMISSIONS, Permission, grants
from keystead.domain.principal import Caller
from keystead.domain.users import ENTITY, User, UserManagement, UserState

ERASE_ACTION = "erase"
EXPORT_ACTION = "export"
PSEUDONYM_PREFIX = "erased-"


@dataclass(frozen=True, slots=True)
class Subject:
    """A user as the things that identify them."""

    id: str
    name: str
    email: str
    external_id: str | None = None
    # Names, e-mails and external ids the user had before (the audit log remembers them).
    aliases: tuple[str, ...] = ()

    def identifiers(self) -> tuple[str, ...]:
        found = (self.id, self.email, self.name, self.external_id or "", *self.aliases)
        return tuple(dict.fromkeys(t for t in found if t))


def subject_of(user: User) -> Subject:
    return Subject(user.id, user.name, user.email, user.external_id)


class SubjectRecords(Protocol):
    async def export(self, subject: Subject) -> dict[str, JSONValue]: ...
    async def erase(self, subject: Subject, *, pseudonym: str,
                    erasure_id: str) -> list[tuple[int, str, AuditEvent]]:
        """Remove or pseudonymise everything naming the subject; return the audit entries it
        marked (sequence, hash, event)."""
    async def active_role_holders(self) -> dict[str, list[str]]:
        """Every active user's id and the role ids they hold."""


@dataclass(frozen=True, slots=True)
class Erasure:
    pseudonym: str
    audit_entries: int


def is_admin(permissions: frozenset[str]) -> bool:
    """Whether these permissions cover the whole catalogue (an organisation's admin)."""
    return all(grants(permissions, p) for p in ALL_PERMISSIONS)


@dataclass(frozen=True, slots=True)
class SubjectRights:
    records: SubjectRecords
    users: UserManagement
    catalog: Catalog
    auditor: Auditor

    async def export(self, caller: Caller, user_id: str) -> dict[str, JSONValue]:
        """Everything held about a user, as JSON (anyone may export their own).

        Raises:
            ForbiddenError: another user's, without directory:user:view and
                directory:user:export.
            NotFoundError.
        """
        if user_id != caller.actor.id:
            caller.require(Permission.DIRECTORY_USER_EXPORT)
        user = await self.users.find(caller, user_id)
        document = await self.records.export(subject_of(user))
        counts: dict[str, JSONValue] = {
            key: len(value) for key, value in document.items() if isinstance(value, list)}
        await self.auditor.record(caller, EXPORT_ACTION, Entity(ENTITY, user.id, user.email),
                                  {"sections": counts})
        return {"exportedAt": self.auditor.clock().isoformat(), **document}

    async def erase(self, caller: Caller, user_id: str) -> Erasure:
        """Remove the user and pseudonymise every record naming them, the audit log's too.

        Raises:
            ForbiddenError: no directory:user:erase, erasing yourself, or a user holding
                permissions the caller lacks.
            ConflictError: the last active admin (no one could administer afterwards).
            NotFoundError.
        """
        caller.require(Permission.DIRECTORY_USER_ERASE)
        user = await self.users.find(caller, user_id, permission=Permission.DIRECTORY_USER_ERASE)
        if user.id == caller.actor.id:
            raise ForbiddenError("you cannot erase yourself; ask another admin")
        await self.users.check_covers(caller, user)
        if user.state == UserState.active and await self._is_last_admin(user.id):
            raise ConflictError("this is the last active admin; make another user an admin "
                                "(a role with *:*:*) before erasing this one")
        pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(8)  # random: links back to no one
        erasure_id = str(uuid.uuid4())
        marked = await self.records.erase(subject_of(user), pseudonym=pseudonym,
                                          erasure_id=erasure_id)
        await self.auditor.record(caller, ERASE_ACTION, Entity(ENTITY, pseudonym, pseudonym), {
            "erasure": erasure_id, "entries": len(marked),
            "digest": erasure_digest(erasure_mark(*entry) for entry in marked)})
        return Erasure(pseudonym, len(marked))

    async def _is_last_admin(self, user_id: str) -> bool:
        holders = await self.records.active_role_holders()
        admins: Sequence[str] = [
            uid for uid, role_ids in holders.items()
            if is_admin(await self.catalog.permissions_of(role_ids))]
        return user_id in admins and len(admins) == 1
