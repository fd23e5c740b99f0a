"""Inviting a person by e-mail: a one-time link to set their password, then enrol MFA.

An admin who may add users invites someone: Keystead adds the user without a password and
queues an e-mail holding a link with a random token, in the same transaction (so the e-mail
exists exactly when the user does). Only the token's keyed digest is stored; the e-mail is the
link's only channel: no audit entry, log line, notice or answer carries it, and the outbox
forgets the e-mail's body once it is sent (``SENSITIVE``). A link works once, until it expires,
is replaced ("send again") or revoked, and only for an active user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import Auditor, Result
from keystead.domain.clients import Actor, RoleDivision
from keystead.domain.clock import Clock
from keystead.domain.errors import ConflictError, InvalidInputError, NotFoundError
from keystead.domain.governance.notices import EMAIL
from keystead.domain.outbox import SENSITIVE, Outbox
from keystead.domain.passwords import Passwords, check_password
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.secrets import Digester
from keystead.domain.users import User, UserManagement, UserState, UserStore, entity

INVITE_PATH = "/admin/invite/"  # the link is the issuer's URL, this path and the token
MAX_TOKEN = 200  # far above a real token: anything longer is refused unread


def mail_key(user_id: str) -> str:
    """The outbox ordering key of a user's invitation e-mails."""
    return f"invitation:{user_id}"


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    user_id: str
    digest: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    def open_at(self, now: datetime) -> bool:
        """Not used, not revoked, not expired."""
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


class InvitationStore(Protocol):
    async def add(self, invitation: Invitation) -> None:
        """Keep ``invitation`` in place of the user's earlier ones (their links die with them):
        one row per user at most."""
    async def by_digest(self, digest: str) -> Invitation | None:
        """The invitation, locked for the transaction (two tabs accepting race on it)."""
    async def latest_for(self, user_id: str) -> Invitation | None:
        """The user's newest invitation, whatever its state."""
    async def use(self, invitation_id: str, *, now: datetime) -> bool:
        """Mark it used if it is neither used nor revoked; False when it was."""
    async def revoke_open(self, user_id: str, *, now: datetime) -> int:
        """Revoke the user's unused, unrevoked invitations; how many there were."""


@dataclass(frozen=True, slots=True)
class Pending:
    """What the user's page shows of their latest invitation (never its token)."""

    sent_at: datetime
    expires_at: datetime
    state: str  # open, expired or revoked
    may_send_again: bool


@dataclass(slots=True)
class Invitations:
    store: InvitationStore
    users: UserStore
    management: UserManagement
    outbox: Outbox
    auditor: Auditor
    digester: Digester
    passwords: Passwords
    clock: Clock
    base_url: str  # the issuer: the link is <base_url>/admin/invite/<token>
    ttl: timedelta
    email: bool  # False: no SMTP server configured, so no invitation can be sent

    async def invite(self, caller: Caller, *, name: str, email: str,
                     grants: list[RoleDivision]) -> User:
        """Add a user without a password, give them ``grants`` and e-mail them the link.

        Raises:
            ForbiddenError, InvalidInputError (also when no e-mail can be sent),
            ConflictError, NotFoundError (a role or division).
        """
        self._require_email()
        user = await self.management.create(caller, name=name, email=email, password=None)
        for grant in grants:
            await self.management.grant(caller, user.id, grant)
        await self._send(caller, user, again=False)
        return user

    async def send_again(self, caller: Caller, user_id: str) -> None:
        """A new link for a user who has not accepted yet; any earlier link stops working.

        Raises:
            ForbiddenError, NotFoundError, ConflictError (the user set a password already),
            InvalidInputError (no e-mail can be sent).
        """
        self._require_email()
        user = await self._invitee(caller, user_id)
        await self._send(caller, user, again=True)  # replaces the earlier invitation

    async def revoke(self, caller: Caller, user_id: str) -> None:
        """Raises: ForbiddenError, NotFoundError (also: no open invitation)."""
        user = await self.management.find(caller, user_id,
                                          permission=Permission.DIRECTORY_USER_EDIT)
        await self.management.check_covers(caller, user)
        if not await self.store.revoke_open(user.id, now=self.clock()):
            raise NotFoundError("this user has no open invitation")
        await self.outbox.withdraw(mail_key(user.id))  # not yet sent: it need not leave
        await self.auditor.record(caller, "user.invitation.revoked", entity(user), {})

    async def pending(self, caller: Caller, user_id: str) -> Pending | None:
        """The user's latest invitation unless it was accepted."""
        user = await self.management.find(caller, user_id)
        latest = await self.store.latest_for(user.id)
        if latest is None or latest.used_at is not None:
            return None
        state = ("revoked" if latest.revoked_at is not None
                 else "expired" if latest.expires_at <= self.clock() else "open")
        return Pending(latest.created_at, latest.expires_at, state,
                       may_send_again=self.email and caller.has_permission(
                           Permission.DIRECTORY_USER_EDIT))

    async def opened(self, token: str) -> User | None:
        """The person a link is for, while it is valid; None otherwise (no reason given)."""
        found = await self._valid(token)
        return found[1] if found else None

    async def accept(self, token: str, password: str, *, remote_ip: str) -> User | None:
        """Set the password the person chose and use up the link; None if it is not valid.

        Raises:
            InvalidInputError: the password breaks the rules (the link still works).
        """
        found = await self._valid(token)
        if found is None:
            return None
        invitation, user = found
        if problems := check_password(password, email=user.email):
            raise InvalidInputError(problems)
        now = self.clock()
        if not await self.store.use(invitation.id, now=now):
            return None
        await self.users.replace(replace(user, date_modified=now),
                                 password_hash=self.passwords.hash(password))
        person = Caller(Actor("user", user.id, user.email), frozenset(), frozenset(),
                        remote_ip=remote_ip)
        await self.auditor.record(person, "user.invitation.accepted", entity(user),
                                  {"invitedBy": invitation.invited_by}, result=Result.success)
        return user

    async def _valid(self, token: str) -> tuple[Invitation, User] | None:
        if not token or len(token) > MAX_TOKEN or not token.isascii():
            return None
        digest = self.digester.invitation(token)
        invitation = await self.store.by_digest(digest) if digest else None
        if invitation is None or not invitation.open_at(self.clock()):
            return None
        user = await self.users.find(invitation.user_id)
        if user is None or user.state != UserState.active:
            return None
        # Changed since the link was sent (e-mail, state, a password set): the link died with it.
        changed = user.date_modified is not None and user.date_modified > invitation.created_at
        if changed or await self.users.password_hash(user.id) is not None:
            return None
        return invitation, user

    async def _invitee(self, caller: Caller, user_id: str) -> User:
        user = await self.management.find(caller, user_id,
                                          permission=Permission.DIRECTORY_USER_EDIT)
        await self.management.check_covers(caller, user)
        if await self.users.password_hash(user.id) is not None:
            raise ConflictError("this user has set a password already: there is nothing to "
                                "invite them to")
        if user.state != UserState.active:
            raise ConflictError("this user is inactive: activate them before inviting them")
        return user

    async def _send(self, caller: Caller, user: User, *, again: bool) -> None:
        token, digest = self.digester.new_invitation()
        now = self.clock()
        invitation = Invitation(str(uuid.uuid4()), user.id, digest, caller.actor.id, now,
                                now + self.ttl)
        await self.store.add(invitation)
        # An earlier e-mail still waiting holds a link that just died: it need not leave.
        await self.outbox.withdraw(mail_key(user.id))
        link = f"{self.base_url.rstrip('/')}{INVITE_PATH}{token}"
        hours = int(self.ttl.total_seconds() // 3600)
        await self.outbox.enqueue(EMAIL, {
            "to": user.email, "subject": "You are invited to Keystead",
            "body": f"Hello {user.name},\n\n{caller.actor.name or 'An administrator'} invited "
                    "you to Keystead. Open this link to choose your password and set up "
                    f"two-step verification:\n\n{link}\n\nThe link works once and for "
                    f"{hours} hours. If you did not expect this e-mail, ignore it.\n\n"
                    "-- Keystead",
            SENSITIVE: True}, now=now, ordering_key=mail_key(user.id))
        await self.auditor.record(caller, "user.invited", entity(user), {
            "expiresAt": invitation.expires_at.isoformat(), "again": again})

    def _require_email(self) -> None:
        if not self.email:
            raise InvalidInputError.one(
                "method", "email.unavailable",
                "invitations are sent by e-mail, and no SMTP server is configured "
                "(KEYSTEAD_SMTP_HOST): set a password for the user instead")
