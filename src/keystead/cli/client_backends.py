"""Where ``keystead clients …`` runs: on the store as the operator, or through the API.

Both speak the API's JSON (``OAuthClient``), so each command is written once over
``clients_backend()`` and prints the same thing in either mode.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli.exit_codes import INPUT, stop
from keystead.cli.grants import role_in_division
from keystead.cli.remote import Api, api
from keystead.cli.run import run_in_transaction, run_with_runtime
from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import ClientFilter, ClientState
from keystead.domain.errors import InvalidInputError
from keystead.domain.paging import Page
from keystead.domain.principal import Caller
from keystead.store.clients import SqlClientStore
from keystead.store.users import SqlUserStore
from keystead.web.api.governance.deletion_requests import deletion_request_json
from keystead.web.presenters import client_json
from keystead.web.runtime import Runtime
from keystead.web.schemas import READ_ONLY_CLIENT_FIELDS, ClientRequest, parse_body

CLIENTS = "/api/v2/oauth/clients"


class ClientsBackend(Protocol):
    def search(self, *, state: str | None, name: str | None) -> list[dict[str, Any]]: ...
    def show(self, client_id: str) -> dict[str, Any]: ...
    def create(self, body: dict[str, Any], *, roles: list[str],
               owner: str | None) -> dict[str, Any]:
        """``body`` is an OAuthClient request without roleIds and owner: ``roles`` are role names
        held in Home, ``owner`` a user id or e-mail."""
    def change(self, client_id: str, changes: dict[str, Any], *,
               owner: str | None = None) -> dict[str, Any]:
        """Apply ``changes`` (OAuthClient fields) to the client as it is; ``owner`` as above
        ("none" clears it)."""
    def rotate(self, client_id: str, dual_use_seconds: int | None) -> dict[str, Any]: ...
    def delete(self, client_id: str) -> dict[str, Any] | None:
        """None when deleted; the pending deletion request when another admin must approve."""


def _edited(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in current.items() if k not in READ_ONLY_CLIENT_FIELDS}
    return body | changes


class LocalClients:
    """On the store, as the operator (no permission checks; audited as ``cli``)."""

    @staticmethod
    async def _owner_id(conn: AsyncConnection, owner: str) -> str | None:
        if owner == "none":
            return None
        if "@" not in owner:
            return owner  # the use case checks it is an active user
        user = await SqlUserStore(conn).by_email(owner.strip().lower())
        if user is None:
            raise InvalidInputError.one("owner.id", "unknown.user",
                                        f"no user with e-mail {owner!r}")
        return user.id

    def search(self, *, state: str | None, name: str | None) -> list[dict[str, Any]]:
        async def work(manage: ClientManagement, conn: AsyncConnection, _c: Caller) -> Any:
            flt = ClientFilter(name=name, state=ClientState(state) if state else None)
            found, _total = await SqlClientStore(conn).search(flt, Page(1, 10**6))
            owners = await manage.owners_of(found)
            return [client_json(c, owners=owners) for c in found]

        return list(run_in_transaction(work))

    def show(self, client_id: str) -> dict[str, Any]:
        async def work(manage: ClientManagement, _conn: AsyncConnection, caller: Caller) -> Any:
            client = await manage.find(caller, client_id)
            return client_json(client, owners=await manage.owners_of([client]))

        return dict(run_in_transaction(work))

    def create(self, body: dict[str, Any], *, roles: list[str],
               owner: str | None) -> dict[str, Any]:
        async def work(manage: ClientManagement, conn: AsyncConnection, caller: Caller) -> Any:
            full = dict(body)
            pairs = [await role_in_division(conn, role, None) for role in roles]
            full["roleDivisions"] = [{"roleId": p.role_id, "divisionId": p.division_id}
                                     for p in pairs]
            owner_id = await self._owner_id(conn, owner) if owner else None
            if owner_id:
                full["owner"] = {"id": owner_id}
            request = parse_body(ClientRequest, json.dumps(full).encode())
            issued = await manage.create(caller, request.to_settings())
            return client_json(issued.client, secret=issued.secret,
                               owners=await manage.owners_of([issued.client]))

        return dict(run_in_transaction(work))

    def change(self, client_id: str, changes: dict[str, Any], *,
               owner: str | None = None) -> dict[str, Any]:
        async def work(manage: ClientManagement, conn: AsyncConnection, caller: Caller) -> Any:
            current = await manage.find(caller, client_id)
            edited = _edited(client_json(current), changes)
            if owner is not None:
                owner_id = await self._owner_id(conn, owner)
                edited["owner"] = {"id": owner_id} if owner_id else None
            request = parse_body(ClientRequest, json.dumps(edited).encode())
            client = await manage.update(caller, client_id, request.to_settings())
            return client_json(client, owners=await manage.owners_of([client]))

        return dict(run_in_transaction(work))

    def rotate(self, client_id: str, dual_use_seconds: int | None) -> dict[str, Any]:
        async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            window = (runtime.settings.default_dual_use_seconds if dual_use_seconds is None
                      else dual_use_seconds)
            manage = runtime.management(conn)
            issued = await manage.regenerate_secret(caller, client_id, dual_use_seconds=window)
            return client_json(issued.client, secret=issued.secret,
                               owners=await manage.owners_of([issued.client]))

        return dict(run_with_runtime(work))

    def delete(self, client_id: str) -> dict[str, Any] | None:
        async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
            pending = await runtime.client_deletion(conn).delete(caller, client_id)
            return None if pending is None else deletion_request_json(pending)

        found = run_with_runtime(work)
        return None if found is None else dict(found)


class RemoteClients:
    """Through the management API, with the permissions of the signed-in client."""

    def __init__(self, remote: Api) -> None:
        self.api = remote

    def _role_id(self, name: str) -> str:
        found = [r for r in self.api.every("/api/v2/authorization/roles", {"name": name})
                 if r.get("name") == name]
        if not found:
            raise_input("role", f"no role named {name!r}")
        return str(found[0]["id"])

    def _owner(self, owner: str) -> dict[str, str] | None:
        if owner == "none":
            return None
        if "@" not in owner:
            return {"id": owner}
        wanted = owner.strip().lower()
        found = [u for u in self.api.every("/api/v2/users", {"q": wanted})
                 if str(u.get("email", "")).lower() == wanted]
        if not found:
            raise_input("owner.id", f"no user with e-mail {owner!r}")
        return {"id": str(found[0]["id"])}

    def search(self, *, state: str | None, name: str | None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("state", state), ("name", name)) if v}
        return self.api.every(CLIENTS, params)

    def show(self, client_id: str) -> dict[str, Any]:
        return dict(self.api.call("GET", f"{CLIENTS}/{client_id}"))

    def create(self, body: dict[str, Any], *, roles: list[str],
               owner: str | None) -> dict[str, Any]:
        full = dict(body) | {"roleIds": [self._role_id(role) for role in roles]}
        if owner and (ref := self._owner(owner)) is not None:
            full["owner"] = ref
        return dict(self.api.call("POST", CLIENTS, body=full))

    def change(self, client_id: str, changes: dict[str, Any], *,
               owner: str | None = None) -> dict[str, Any]:
        edited = _edited(self.show(client_id), changes)
        if owner is not None:
            edited["owner"] = self._owner(owner)
        return dict(self.api.call("PUT", f"{CLIENTS}/{client_id}", body=edited))

    def rotate(self, client_id: str, dual_use_seconds: int | None) -> dict[str, Any]:
        body = {} if dual_use_seconds is None else {"dualUseSeconds": dual_use_seconds}
        return dict(self.api.call("POST", f"{CLIENTS}/{client_id}/secret", body=body))

    def delete(self, client_id: str) -> dict[str, Any] | None:
        answer = self.api.call("DELETE", f"{CLIENTS}/{client_id}")
        return None if answer is None else dict(answer)


def raise_input(field: str, message: str) -> NoReturn:
    """Exit 1 naming the field, as a refused API request does."""
    stop(f"{field}: {message}", INPUT)


def clients_backend() -> ClientsBackend:
    remote = api()
    return LocalClients() if remote is None else RemoteClients(remote)
