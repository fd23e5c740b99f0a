"""Where ``keystead users …`` runs: on the store as the operator, or through the API.

Both answer the API's ``User`` JSON. A user is named by id or e-mail.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.exit_codes import INPUT, stop
from keystead.cli.grants import role_in_division
from keystead.cli.remote import Api, api
from keystead.cli.run import run_with_runtime
from keystead.domain.errors import NotFoundError
from keystead.domain.paging import Page
from keystead.domain.principal import Caller
from keystead.domain.users import User
from keystead.store.users import SqlUserStore
from keystead.web.presenters import user_json
from keystead.web.runtime import Runtime

USERS = "/api/v2/users"


class UsersBackend(Protocol):
    def search(self, query: str | None) -> list[dict[str, Any]]: ...
    def find(self, user: str) -> dict[str, Any]:
        """The user with this id or e-mail; exits 1 when there is none."""
    def create(self, *, name: str, email: str, password: str) -> dict[str, Any]: ...
    def change(self, user: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply ``changes`` (``name``, ``email``, ``state``, ``password``)."""
    def reset_mfa(self, user: str) -> dict[str, Any]: ...
    def grant(self, user: str, *, role: str, division: str | None) -> dict[str, Any]:
        """Give the user the named role in the named division (Home when None)."""
    def create_admin(self, *, name: str, email: str, password: str,
                     roles: list[str]) -> dict[str, Any]:
        """A user holding the named roles in Home; nothing is made when a role is unknown."""


async def _local_user(conn: AsyncConnection, user: str) -> User:
    store = SqlUserStore(conn)
    found = (await store.by_email(user.strip().lower()) if "@" in user
             else await store.find(user))
    if found is None:
        raise NotFoundError(f"no user with {'e-mail' if '@' in user else 'id'} {user}")
    return found


class LocalUsers:
    def search(self, query: str | None) -> list[dict[str, Any]]:
        async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            found, _total = await runtime.users(conn).search(caller, query, Page(1, 10**6))
            return [user_json(u) for u in found]

        return list(run_with_runtime(work))

    def find(self, user: str) -> dict[str, Any]:
        async def work(_r: Runtime, conn: AsyncConnection, _c: Caller) -> Any:
            return user_json(await _local_user(conn, user))

        return dict(run_with_runtime(work))

    def create(self, *, name: str, email: str, password: str) -> dict[str, Any]:
        async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            return user_json(await runtime.users(conn).create(caller, name=name, email=email,
                                                              password=password))

        return dict(run_with_runtime(work))

    def change(self, user: str, changes: dict[str, Any]) -> dict[str, Any]:
        async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            current = await _local_user(conn, user)
            updated = await runtime.users(conn).update(
                caller, current.id, name=changes.get("name", current.name),
                email=changes.get("email", current.email),
                state=changes.get("state", str(current.state)),
                password=changes.get("password"))
            return user_json(updated)

        return dict(run_with_runtime(work))

    def reset_mfa(self, user: str) -> dict[str, Any]:
        async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            found = await _local_user(conn, user)
            return user_json(await runtime.users(conn).reset_mfa(caller, found.id))

        return dict(run_with_runtime(work))

    def grant(self, user: str, *, role: str, division: str | None) -> dict[str, Any]:
        async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            pair = await role_in_division(conn, role, division)
            found = await _local_user(conn, user)
            await runtime.users(conn).grant(caller, found.id, pair)
            return user_json(found)

        return dict(run_with_runtime(work))

    def create_admin(self, *, name: str, email: str, password: str,
                     roles: list[str]) -> dict[str, Any]:
        async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            pairs = [await role_in_division(conn, role, None) for role in roles]
            users = runtime.users(conn)
            user = await users.create(caller, name=name, email=email, password=password)
            for pair in pairs:
                await users.grant(caller, user.id, pair)
            return user_json(user)

        return dict(run_with_runtime(work))


class RemoteUsers:
    def __init__(self, remote: Api) -> None:
        self.api = remote

    def search(self, query: str | None) -> list[dict[str, Any]]:
        return self.api.every(USERS, {"q": query} if query else None)

    def find(self, user: str) -> dict[str, Any]:
        if "@" not in user:
            return dict(self.api.call("GET", f"{USERS}/{user}"))
        wanted = user.strip().lower()
        found = [u for u in self.search(wanted) if str(u.get("email", "")).lower() == wanted]
        if not found:
            stop(f"no user with e-mail {user}", INPUT)
        return found[0]

    def create(self, *, name: str, email: str, password: str) -> dict[str, Any]:
        body = {"name": name, "email": email, "password": password}
        return dict(self.api.call("POST", USERS, body=body))

    def change(self, user: str, changes: dict[str, Any]) -> dict[str, Any]:
        user_id = self.find(user)["id"]
        return dict(self.api.call("PATCH", f"{USERS}/{user_id}", body=changes))

    def reset_mfa(self, user: str) -> dict[str, Any]:
        user_id = self.find(user)["id"]
        return dict(self.api.call("POST", f"{USERS}/{user_id}/mfa/reset"))

    def _named(self, path: str, kind: str, name: str) -> str:
        found = [e for e in self.api.every(path, {"name": name}) if e.get("name") == name]
        if not found:
            stop(f"{kind}: no {kind} named {name!r}", INPUT)
        return str(found[0]["id"])

    def grant(self, user: str, *, role: str, division: str | None) -> dict[str, Any]:
        found = self.find(user)
        role_id = self._named("/api/v2/authorization/roles", "role", role)
        division_id = (self._named("/api/v2/authorization/divisions", "division", division)
                       if division else
                       self.api.call("GET", "/api/v2/authorization/divisions/home")["id"])
        self.api.call("POST", f"/api/v2/authorization/subjects/{found['id']}/divisions/"
                              f"{division_id}/roles/{role_id}")
        return found


    def create_admin(self, *, name: str, email: str, password: str,
                     roles: list[str]) -> dict[str, Any]:
        # The roles first: an unknown one stops before the user is made.
        role_ids = [self._named("/api/v2/authorization/roles", "role", r) for r in roles]
        home = self.api.call("GET", "/api/v2/authorization/divisions/home")["id"]
        user = self.create(name=name, email=email, password=password)
        for role_id in role_ids:
            self.api.call("POST", f"/api/v2/authorization/subjects/{user['id']}/divisions/"
                                  f"{home}/roles/{role_id}")
        return user


def users_backend() -> UsersBackend:
    remote = api()
    return LocalUsers() if remote is None else RemoteUsers(remote)
