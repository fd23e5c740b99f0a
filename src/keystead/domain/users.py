"""Users: people who hold roles in divisions, and the use cases that manage them.

Every use case runs inside the caller's transaction and is audited with it. The no-escalation
rule of clients holds here too: a grant is given or taken only by someone who holds it, and a
user's sign-in details are changed only by someone whose permissions cover the user's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue, property_changes
from keystead.domain.clients import RoleDivision
from keystead.domain.clock import Clock
from keystead.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    Problem,
    require_found,
)
from keystead.domain.organization import Catalog
from keystead.domain.paging import Page
from keystead.domain.passwords import Passwords, check_password
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

MAX_NAME = 128
MAX_EXTERNAL_ID = 255
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
ENTITY = "User"


class UserState(StrEnum):
    active = "active"
    inactive = "inactive"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    email: str
    state: str
    date_created: datetime
    date_modified: datetime | None = None
    date_last_login: datetime | None = None
    mfa_enrolled: bool = False
    # An id the organisation knows the user by elsewhere. SAML assertions never match it: a
    # provider names a user only through an identity link (domain/identity_links.py).
    external_id: str | None = None


def check_user(name: str, email: str, state: str = UserState.active) -> list[Problem]:
    problems = []
    if not 1 <= len(name.strip()) <= MAX_NAME:
        problems.append(Problem("name", "length", f"name is required, 1 to {MAX_NAME} characters"))
    elif any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        # One line; PostgreSQL text cannot hold NUL at all.
        problems.append(Problem("name", "invalid.character",
                                "name must be one line without control characters"))
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        problems.append(Problem("email", "invalid.email", "email must look like name@example.com"))
    if state not in set(UserState):
        problems.append(Problem("state", "invalid.value",
                                f"state must be one of {', '.join(UserState)}"))
    return problems


def check_external_id(external_id: str | None) -> list[Problem]:
    if external_id is None or external_id == "":
        return []
    if len(external_id) > MAX_EXTERNAL_ID or not external_id.isprintable() or (
            external_id != external_id.strip()):
        return [Problem("externalId", "invalid.value",
                        f"externalId must be 1 to {MAX_EXTERNAL_ID} printable characters "
                        "without surrounding spaces")]
    return []


def needs_mfa(permissions: frozenset[str]) -> bool:
    """Anyone holding any permission (every one administers something) must use MFA."""
    return bool(permissions)


class UserStore(Protocol):
    async def add(self, user: User, *, password_hash: str | None) -> None: ...
    async def find(self, user_id: str) -> User | None: ...
    async def by_email(self, email: str) -> User | None: ...
    async def by_external_id(self, external_id: str) -> User | None: ...
    async def password_hash(self, user_id: str) -> str | None: ...
    async def search(self, query: str | None, page: Page) -> tuple[Sequence[User], int]: ...
    async def replace(self, user: User, *, password_hash: str | None = None) -> None:
        """Store ``user``'s profile; a given ``password_hash`` replaces the password too."""

    async def delete(self, user_id: str) -> None: ...
    async def reset_mfa(self, user_id: str) -> None:
        """Forget the user's TOTP secret and recovery codes: they enrol again at next sign-in."""


class GrantStore(Protocol):
    async def grants(self, user_id: str) -> list[RoleDivision]: ...
    async def grant(self, user_id: str, *, role_id: str, division_id: str) -> None: ...
    async def revoke(self, user_id: str, *, role_id: str, division_id: str) -> bool:
        """Remove the grant; False when the user did not hold it."""


@dataclass(slots=True)
class UserManagement:
    users: UserStore
    grants: GrantStore
    catalog: Catalog
    auditor: Auditor
    passwords: Passwords
    clock: Clock

    async def create(self, caller: Caller, *, name: str, email: str,
                     password: str | None, external_id: str | None = None) -> User:
        """Add a user (without a password they cannot sign in until an admin sets one).

        Raises:
            ForbiddenError, InvalidInputError, ConflictError: the e-mail is taken.
        """
        caller.require(Permission.DIRECTORY_USER_ADD)
        email = email.strip().lower()
        problems = check_user(name, email)
        if password is not None:
            problems += check_password(password, email=email)
        problems += check_external_id(external_id)
        if problems:
            raise InvalidInputError(problems)
        if await self.users.by_email(email) is not None:
            raise ConflictError(f"a user with e-mail {email} already exists")
        await self._check_external_id_free(external_id, user_id=None)
        now = self.clock()
        user = User(str(uuid.uuid4()), name.strip(), email, UserState.active, now, now,
                    external_id=external_id or None)
        await self.users.add(user, password_hash=self.passwords.hash(password)
                             if password is not None else None)
        await self.auditor.record(caller, "create", entity(user), {
            "name": user.name, "email": email, "password": password is not None})
        return user

    async def update(self, caller: Caller, user_id: str, *, name: str, email: str, state: str,
                     password: str | None = None, external_id: str | None = None,
                     current_password: str | None = None) -> User:
        """Change a user's profile, state or password; ``external_id`` None keeps it, "" clears.

        Raises:
            ForbiddenError: the user holds permissions the caller lacks (taking over their
                account would be an escalation).
            InvalidInputError, NotFoundError, ConflictError.
        """
        existing = await self.find(caller, user_id, permission=Permission.DIRECTORY_USER_EDIT)
        email = email.strip().lower()
        problems = check_user(name, email, state)
        if password is not None:
            problems += check_password(password, email=email)
        problems += check_external_id(external_id)
        if problems:
            raise InvalidInputError(problems)
        if email != existing.email and await self.users.by_email(email) is not None:
            raise ConflictError(f"a user with e-mail {email} already exists")
        if existing.id == caller.actor.id and (password is not None or email != existing.email):
            # Your own sign-in details: a stolen session alone must not be able to take them.
            stored = await self.users.password_hash(existing.id)
            if current_password is None or not self.passwords.verify(stored, current_password):
                raise InvalidInputError.one(
                    "currentPassword", "password.wrong",
                    "to change your own password or e-mail, enter your current password")
        await self._check_external_id_free(external_id, user_id=existing.id)
        await self.check_covers(caller, existing)
        updated = replace(existing, name=name.strip(), email=email, state=state,
                          date_modified=self.clock(),
                          external_id=existing.external_id if external_id is None
                          else external_id or None)
        await self.users.replace(updated, password_hash=self.passwords.hash(password)
                                 if password is not None else None)
        changes = property_changes(profile(existing), profile(updated))
        if password is not None:
            changes["password"] = "changed"  # noqa: S105 - a marker, never the value
        if changes:
            await self.auditor.record(caller, "update", entity(updated),
                                      {"propertyChanges": changes})
        return updated

    async def delete(self, caller: Caller, user_id: str) -> None:
        """Raises: ForbiddenError (also for deleting yourself), NotFoundError."""
        user = await self.find(caller, user_id, permission=Permission.DIRECTORY_USER_DELETE)
        if user.id == caller.actor.id:
            raise ForbiddenError("you cannot delete yourself; ask another admin")
        await self.check_covers(caller, user)
        await self.users.delete(user_id)
        await self.auditor.record(caller, "delete", entity(user), {})

    async def reset_mfa(self, caller: Caller, user_id: str) -> User:
        """Make a user enrol two-step verification again at their next sign-in (a lost phone).

        Raises:
            ForbiddenError: resetting your own (ask another admin: a stolen session must not
                let its thief enrol their own device), or the user holds permissions the
                caller lacks.
            NotFoundError.
        """
        user = await self.find(caller, user_id, permission=Permission.DIRECTORY_USER_EDIT)
        if user.id == caller.actor.id:
            raise ForbiddenError("you cannot reset your own two-step verification; "
                                 "ask another admin")
        await self.check_covers(caller, user)
        await self.users.reset_mfa(user.id)
        await self.auditor.record(caller, "mfa.reset", entity(user),
                                  {"mfaEnrolled": user.mfa_enrolled})
        return replace(user, mfa_enrolled=False)

    async def search(self, caller: Caller, query: str | None,
                     page: Page) -> tuple[Sequence[User], int]:
        """Users whose name or e-mail contains ``query``, a page of them and the total."""
        caller.require(Permission.DIRECTORY_USER_VIEW)
        return await self.users.search(query, page)

    async def grants_of(self, caller: Caller, user_id: str) -> list[RoleDivision]:
        """The roles a user holds, by division (anyone may see their own).

        Raises:
            ForbiddenError, NotFoundError.
        """
        if user_id != caller.actor.id:
            caller.require(Permission.AUTHORIZATION_GRANT_VIEW)
        user = await self.find(caller, user_id)
        return await self.grants.grants(user.id)

    async def find(self, caller: Caller, user_id: str, *,
                   permission: Permission = Permission.DIRECTORY_USER_VIEW) -> User:
        if user_id != caller.actor.id:
            caller.require(permission)
        return require_found(await self.users.find(user_id), f"no user with id {user_id}")

    async def grant(self, caller: Caller, user_id: str, grant: RoleDivision) -> None:
        """Give a user a role in a division: only a role the caller holds there.

        Raises:
            ForbiddenError, NotFoundError (user, role or division), ConflictError (held).
        """
        caller.require(Permission.AUTHORIZATION_GRANT_ADD)
        user = await self.find(caller, user_id)
        names = await self._check_grant(caller, grant)
        if grant in await self.grants.grants(user_id):
            raise ConflictError("the user already holds this role in this division")
        await self.grants.grant(user_id, role_id=grant.role_id, division_id=grant.division_id)
        await self.auditor.record(caller, "grant.add", entity(user), {
            "roleId": grant.role_id, "roleName": names[grant.role_id],
            "divisionId": grant.division_id})

    async def revoke(self, caller: Caller, user_id: str, grant: RoleDivision) -> None:
        """Take a role away; the caller must hold it too (no one demotes a stronger admin).

        Raises:
            ForbiddenError, NotFoundError.
        """
        caller.require(Permission.AUTHORIZATION_GRANT_DELETE)
        user = await self.find(caller, user_id)
        names = await self._check_grant(caller, grant)
        if not await self.grants.revoke(user_id, role_id=grant.role_id,
                                        division_id=grant.division_id):
            raise NotFoundError("the user does not hold this role in this division")
        await self.auditor.record(caller, "grant.delete", entity(user), {
            "roleId": grant.role_id, "roleName": names[grant.role_id],
            "divisionId": grant.division_id})

    async def _check_grant(self, caller: Caller, grant: RoleDivision) -> dict[str, str]:
        names = await self.catalog.existing_roles([grant.role_id])
        if grant.role_id not in names:
            raise NotFoundError(f"no role with id {grant.role_id}")
        if grant.division_id not in await self.catalog.existing_divisions([grant.division_id]):
            raise NotFoundError(f"no division with id {grant.division_id}")
        if caller.missing_roles([grant]):
            raise ForbiddenError(f"you can grant only roles you hold; you do not hold "
                                 f"{names[grant.role_id]!r} in division {grant.division_id}")
        return names

    async def _check_external_id_free(self, external_id: str | None, *,
                                      user_id: str | None) -> None:
        if not external_id:
            return
        holder = await self.users.by_external_id(external_id)
        if holder is not None and holder.id != user_id:
            raise ConflictError(f"another user already has externalId {external_id!r}")

    async def check_covers(self, caller: Caller, user: User) -> None:
        """Raises: ForbiddenError when the user holds permissions the caller lacks."""
        held = await self.grants.grants(user.id)
        powers = await self.catalog.permissions_of([g.role_id for g in held])
        if user.id != caller.actor.id and (beyond := caller.lacks(powers)):
            raise ForbiddenError("this user holds permissions you do not hold: "
                                 + ", ".join(beyond))



def entity(user: User) -> Entity:
    """A user as audit entries name it: by e-mail."""
    return Entity(ENTITY, user.id, user.email)


def profile(user: User) -> dict[str, JSONValue]:
    """The user's properties an update audits, by their API names."""
    return {"name": user.name, "email": user.email, "state": user.state,
            "externalId": user.external_id}
