"""Users, their role grants and their sign-in credentials (SQLAlchemy Core; never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.clients import RoleDivision
from keystead.domain.paging import Page
from keystead.domain.signin import Credentials
from keystead.domain.users import User
from keystead.store.rows import first_row, page_of
from keystead.store.sql_store import SqlStore
from keystead.store.tables import (
    ORG_ID,
    grant_families,
    recovery_codes,
    sessions,
    user_grants,
    users,
)


def _user(row: Any) -> User:
    return User(row.id, row.name, row.email, row.state, row.date_created, row.date_modified,
                row.date_last_login, row.mfa_secret is not None, row.external_id)


class SqlUserStore(SqlStore):
    """The UserStore and GrantStore ports."""

    async def add(self, user: User, *, password_hash: str | None = None) -> None:
        await self.conn.execute(insert(users).values(
            id=user.id, organization_id=ORG_ID, name=user.name, email=user.email,
            state=user.state, password_hash=password_hash, date_created=user.date_created,
            date_modified=user.date_modified or user.date_created, external_id=user.external_id))

    async def find(self, user_id: str) -> User | None:
        return await first_row(self.conn, users, _user, users.c.id == user_id)

    async def by_email(self, email: str) -> User | None:
        return await first_row(self.conn, users, _user,
                               users.c.organization_id == ORG_ID, users.c.email == email)

    async def password_hash(self, user_id: str) -> str | None:
        value = (await self.conn.execute(select(users.c.password_hash).where(
            users.c.id == user_id))).scalar_one_or_none()
        return str(value) if value is not None else None

    async def by_external_id(self, external_id: str) -> User | None:
        return await first_row(self.conn, users, _user, users.c.organization_id == ORG_ID,
                               users.c.external_id == external_id)

    async def search(self, query: str | None, page: Page) -> tuple[Sequence[User], int]:
        conditions = [users.c.organization_id == ORG_ID]
        if query:
            needle = query.lower()
            conditions.append(or_(func.lower(users.c.name).contains(needle, autoescape=True),
                                  users.c.email.contains(needle, autoescape=True)))
        rows, total = await page_of(
            self.conn, users, select(users).order_by(users.c.name, users.c.id), conditions, page)
        return [_user(r) for r in rows], total

    async def replace(self, user: User, *, password_hash: str | None = None) -> None:
        values: dict[str, Any] = {"name": user.name, "email": user.email, "state": user.state,
                                  "date_modified": user.date_modified,
                                  "external_id": user.external_id}
        if password_hash is not None:
            values |= {"password_hash": password_hash, "failed_logins": 0, "locked_until": None}
        await self.conn.execute(update(users).where(users.c.id == user.id).values(**values))
        if password_hash is not None or user.state != "active":
            # A new password or a deactivation signs the user out everywhere, at once: console
            # sessions, and every app's tokens (reactivating the user must not revive them).
            await _end_sessions(self.conn, user.id)
            await self.conn.execute(update(grant_families).where(
                grant_families.c.user_id == user.id, grant_families.c.revoked_at.is_(None),
            ).values(revoked_at=user.date_modified or user.date_created))

    async def delete(self, user_id: str) -> None:
        await self.conn.execute(delete(users).where(users.c.id == user_id))

    async def reset_mfa(self, user_id: str) -> None:
        await _reset_mfa(self.conn, user_id)

    async def grants(self, user_id: str) -> list[RoleDivision]:
        rows = await self.conn.execute(select(user_grants).where(user_grants.c.user_id == user_id)
                                       .order_by(user_grants.c.role_id, user_grants.c.division_id))
        return [RoleDivision(r.role_id, r.division_id) for r in rows]

    async def grant(self, user_id: str, *, role_id: str, division_id: str) -> None:
        await self.conn.execute(insert(user_grants).values(
            user_id=user_id, role_id=role_id, division_id=division_id))

    async def revoke(self, user_id: str, *, role_id: str, division_id: str) -> bool:
        result = await self.conn.execute(delete(user_grants).where(
            user_grants.c.user_id == user_id, user_grants.c.role_id == role_id,
            user_grants.c.division_id == division_id))
        return bool(result.rowcount)


class SqlCredentialStore(SqlStore):
    """The CredentialStore port: what sign-in reads and writes."""

    async def credentials(self, *, email: str | None = None,
                          user_id: str | None = None) -> Credentials | None:
        where = users.c.id == user_id if user_id is not None else users.c.email == email
        # Locked for the transaction: parallel attempts count one by one (PostgreSQL; SQLite's
        # BEGIN IMMEDIATE already serialises them), so the lockout cannot be raced.
        row = (await self.conn.execute(select(users).where(
            users.c.organization_id == ORG_ID, where).with_for_update())).first()
        if row is None:
            return None
        return Credentials(_user(row), row.password_hash, row.mfa_secret, row.mfa_last_step,
                           row.failed_logins, row.locked_until)

    async def record_failure(self, user_id: str, *, failed_logins: int,
                             locked_until: datetime | None) -> None:
        await self.conn.execute(update(users).where(users.c.id == user_id).values(
            failed_logins=failed_logins, locked_until=locked_until))

    async def record_sign_in(self, user_id: str, *, now: datetime,
                             password_hash: str | None) -> None:
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None,
                                  "date_last_login": now}
        if password_hash is not None:
            values["password_hash"] = password_hash
        await self.conn.execute(update(users).where(users.c.id == user_id).values(**values))

    async def rehash_password(self, user_id: str, *, password_hash: str) -> None:
        await self.conn.execute(update(users).where(users.c.id == user_id).values(
            password_hash=password_hash))

    async def enrol_mfa(self, user_id: str, *, secret_sealed: str, step: int,
                        recovery_digests: list[str]) -> bool:
        # Only a user without a factor enrols: a second, stale enrolment never replaces one.
        enrolled = await self.conn.execute(update(users).where(
            users.c.id == user_id, users.c.mfa_secret.is_(None)).values(
            mfa_secret=secret_sealed, mfa_last_step=step))
        if not enrolled.rowcount:
            return False
        await self.conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        if recovery_digests:
            await self.conn.execute(insert(recovery_codes), [
                {"user_id": user_id, "digest": d, "used_at": None} for d in recovery_digests])
        return True

    async def accept_step(self, user_id: str, step: int) -> bool:
        # The database decides a race between two submissions of one code.
        result = await self.conn.execute(update(users).where(
            users.c.id == user_id,
            or_(users.c.mfa_last_step.is_(None), users.c.mfa_last_step < step),
        ).values(mfa_last_step=step))
        return bool(result.rowcount)

    async def use_recovery_code(self, user_id: str, digest: str, *, now: datetime) -> bool:
        result = await self.conn.execute(update(recovery_codes).where(
            recovery_codes.c.user_id == user_id, recovery_codes.c.digest == digest,
            recovery_codes.c.used_at.is_(None)).values(used_at=now))
        return bool(result.rowcount)

    async def reset_mfa(self, user_id: str) -> None:
        """An admin's reset: the user enrols again at their next sign-in."""
        await _reset_mfa(self.conn, user_id)


async def _reset_mfa(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(update(users).where(users.c.id == user_id).values(
        mfa_secret=None, mfa_last_step=None))
    await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
    await _end_sessions(conn, user_id)


async def _end_sessions(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
