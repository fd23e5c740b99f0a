"""Signing a person in: password, then TOTP or a recovery code; lockout with back-off.

Each step returns what happened instead of raising, so the caller commits the failure count and
the audit entry even when sign-in is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue, Result
from keystead.domain.clients import Actor
from keystead.domain.clock import Clock
from keystead.domain.mfa import accepted_step, normalise_recovery_code
from keystead.domain.passwords import Passwords
from keystead.domain.principal import Caller
from keystead.domain.secrets import Digester, SecretBox
from keystead.domain.users import ENTITY, User, UserState

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
FREE_FAILURES = 5
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Credentials:
    user: User
    password_hash: str | None
    mfa_secret_sealed: str | None
    mfa_last_step: int | None
    failed_logins: int
    locked_until: datetime | None


class CredentialStore(Protocol):
    async def credentials(self, *, email: str | None = None,
                          user_id: str | None = None) -> Credentials | None: ...
    async def record_failure(self, user_id: str, *, failed_logins: int,
                             locked_until: datetime | None) -> None: ...
    async def record_sign_in(self, user_id: str, *, now: datetime,
                             password_hash: str | None) -> None:
        """Reset the failure count, stamp the last login; a given hash replaces the old one."""

    async def rehash_password(self, user_id: str, *, password_hash: str) -> None:
        """Replace the stored hash of the same password (new argon2 parameters); nothing else."""

    async def enrol_mfa(self, user_id: str, *, secret_sealed: str, step: int,
                        recovery_digests: list[str]) -> bool:
        """Keep the factor unless the user has one already (then False, nothing changed)."""
    async def accept_step(self, user_id: str, step: int) -> bool:
        """Record a used TOTP step; False when this step or a later one was used already."""

    async def use_recovery_code(self, user_id: str, digest: str, *, now: datetime) -> bool: ...


def lock_for(failures: int) -> timedelta | None:
    """After five failures in a row, 30 s, doubling with each further failure, 15 min at most."""
    if failures < FREE_FAILURES:
        return None
    doubled: timedelta = FIRST_LOCK * 2 ** min(failures - FREE_FAILURES, 16)
    return min(doubled, LONGEST_LOCK)


@dataclass(slots=True)
class SignIn:
    store: CredentialStore
    auditor: Auditor
    passwords: Passwords
    box: SecretBox
    digester: Digester
    clock: Clock

    async def with_password(self, email: str, password: str, *, remote_ip: str) -> User | None:
        """The user whose e-mail and password these are, or None (unknown, wrong, locked)."""
        email = email.strip().lower()
        found = await self.store.credentials(email=email)
        now = self.clock()
        if found is not None and found.locked_until is not None and found.locked_until > now:
            self.passwords.verify(None, password)  # same cost as a real check
            await self._record(found.user.id, email, "user.login", Result.failure, remote_ip,
                               {"reason": "locked", "lockedUntil": found.locked_until.isoformat()})
            return None
        matches = self.passwords.verify(found.password_hash if found else None, password)
        if found is None:
            # What was typed goes to the audit only if it looks like an address: a password
            # typed into the wrong field must not.
            shown = email[:320] if _EMAIL.match(email) else "(not an e-mail address)"
            await self._record("", shown, "user.login", Result.failure, remote_ip,
                               {"reason": "unknown e-mail"})
            return None
        if not matches or found.user.state != UserState.active:
            reason = "wrong password" if not matches else f"user is {found.user.state}"
            await self._fail(found, reason, remote_ip)
            return None
        if found.password_hash is not None and self.passwords.needs_rehash(found.password_hash):
            # The only moment the password is known: move the hash to the configured argon2
            # parameters, in this sign-in's transaction (the row is locked since credentials()).
            await self.store.rehash_password(found.user.id,
                                             password_hash=self.passwords.hash(password))
        return found.user

    async def with_second_factor(self, user_id: str, code: str, *, remote_ip: str) -> str | None:
        """``otp`` or ``recovery`` when ``code`` is a fresh TOTP code or an unused recovery code."""
        found = await self.store.credentials(user_id=user_id)
        if found is None or found.mfa_secret_sealed is None:
            return None
        now = self.clock()
        if found.locked_until is not None and found.locked_until > now:
            await self._record(user_id, found.user.email, "user.login", Result.failure, remote_ip,
                               {"reason": "locked", "lockedUntil": found.locked_until.isoformat()})
            return None
        secret = self.box.open(found.mfa_secret_sealed)
        step = (accepted_step(secret, code, at=now, last_step=found.mfa_last_step)
                if secret else None)
        if step is not None and await self.store.accept_step(user_id, step):
            return "otp"
        recovery = normalise_recovery_code(code)
        if recovery and await self._use_recovery_code(user_id, recovery, now=now):
            await self._record(user_id, found.user.email, "user.mfa.recovery-code.use",
                               Result.success, remote_ip, {})
            return "recovery"
        await self._fail(found, "wrong second factor", remote_ip)
        return None

    async def _use_recovery_code(self, user_id: str, code: str, *, now: datetime) -> bool:
        # A typed code names no key: try its digest under each ring key (a rare path).
        for digest in self.digester.recovery_candidates(code):
            if await self.store.use_recovery_code(user_id, digest, now=now):
                return True
        return False

    async def enrol(self, user_id: str, *, secret: str, code: str, recovery_codes: list[str],
                    remote_ip: str) -> bool:
        """Keep ``secret`` as the user's TOTP secret if ``code`` proves their app holds it."""
        found = await self.store.credentials(user_id=user_id)
        if found is None:
            return False
        if found.mfa_secret_sealed is not None:
            # A stale enrolment page (kept open by someone with the password) must never
            # replace the factor the user has since enrolled.
            await self._record(user_id, found.user.email, "user.mfa.enrol", Result.failure,
                               remote_ip, {"reason": "already enrolled"})
            return False
        step = accepted_step(secret, code, at=self.clock(), last_step=None)
        if step is None:
            await self._record(user_id, found.user.email, "user.mfa.enrol", Result.failure,
                               remote_ip, {"reason": "wrong code"})
            return False
        if not await self.store.enrol_mfa(
                user_id, secret_sealed=self.box.seal(secret), step=step,
                recovery_digests=[self.digester.recovery(c) for c in recovery_codes]):
            return False
        await self._record(user_id, found.user.email, "user.mfa.enrol", Result.success,
                           remote_ip, {"recoveryCodes": len(recovery_codes)})
        return True

    async def complete(self, user: User, *, amr: list[str], remote_ip: str) -> None:
        """The user is in: reset the failure count and record the sign-in."""
        await self.store.record_sign_in(user.id, now=self.clock(), password_hash=None)
        await self._record(user.id, user.email, "user.login", Result.success, remote_ip,
                           {"amr": list(amr)})

    async def _fail(self, found: Credentials, reason: str, remote_ip: str) -> None:
        failures = found.failed_logins + 1
        lock = lock_for(failures)
        locked_until = self.clock() + lock if lock else None
        await self.store.record_failure(found.user.id, failed_logins=failures,
                                        locked_until=locked_until)
        details: dict[str, JSONValue] = {"reason": reason, "failedAttempts": failures}
        if locked_until is not None:
            details["lockedUntil"] = locked_until.isoformat()
        await self._record(found.user.id, found.user.email, "user.login", Result.failure,
                           remote_ip, details)

    async def _record(self, user_id: str, email: str, action: str, result: Result,
                      remote_ip: str, details: dict[str, JSONValue]) -> None:
        # The person acts on their own account; their grants are not read for it.
        person = Caller(Actor("user", user_id, email), frozenset(), frozenset(),
                        remote_ip=remote_ip)
        await self.auditor.record(person, action, Entity(ENTITY, user_id, email), details,
                                  result=result)
