"""Build clients the way the product does, and return the plaintext secret once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2  # what starlette's TestClient returns when it is installed
from starlette.testclient import TestClient

from keystead.domain.principal import operator
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.web.runtime import Runtime, utc_now
from keystead.web.schemas import ClientRequest
from tests.support.apps import run

CLIENTS = "/api/v2/oauth/clients"


@dataclass(frozen=True)
class Registered:
    id: str
    secret: str

    @property
    def basic_auth(self) -> tuple[str, str]:
        return (self.id, self.secret)


def bootstrap(http: TestClient, *, name: str, roles: list[str],
              scopes: list[str] | None = None, **fields: Any) -> Registered:
    """Create a client-credentials client as the operator (like `keystead bootstrap-client`)."""

    async def work(runtime: Runtime) -> Registered:
        async with runtime.transaction() as conn:
            role_store = SqlRoleStore(conn)
            role_ids = []
            for role_name in roles:
                role = await role_store.by_name(role_name)
                assert role is not None, role_name
                role_ids.append(role.id)
            wanted = scopes if scopes is not None else [
                s.id for s in await SqlScopeStore(conn).list() if s.builtin]
            request = ClientRequest(name=name, authorizedGrantType="CLIENT-CREDENTIALS",
                                    roleIds=role_ids, scope=wanted, **fields)
            issued = await runtime.management(conn).create(operator(), request.to_settings())
            assert issued.secret is not None  # a confidential client
            return Registered(issued.client.id, issued.secret)

    return run(http, work)


def service(http: TestClient, fmt: str = "opaque", **fields: Any) -> Registered:
    """A client-credentials client holding OAuth Admin, issuing tokens in format ``fmt``."""
    fields.setdefault("scopes", ["oauth:readonly", "audits:readonly"])
    return bootstrap(http, name="svc", roles=["OAuth Admin"], tokenFormat=fmt, **fields)


def client_body(role: str, **fields: Any) -> dict[str, Any]:
    """A client-credentials request that passes every rule; ``fields`` replace or add."""
    return {"name": "billing service", "description": "nightly invoices",
            "authorizedGrantType": "CLIENT-CREDENTIALS", "scope": ["oauth:readonly"],
            "roleIds": [role]} | fields


def code_body(**fields: Any) -> dict[str, Any]:
    """An authorization-code request that passes every rule; ``fields`` replace or add."""
    return {"name": "web app", "authorizedGrantType": "CODE", "scope": ["oauth:readonly"],
            "registeredRedirectUri": ["https://app.example.com/cb"]} | fields


def create_client(http: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Registered:
    response = http.post(CLIENTS, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return Registered(response.json()["id"], response.json()["secret"])


def update_client(http: TestClient, headers: dict[str, str], client_id: str,
                  **changes: Any) -> httpx2.Response:
    """GET the client, change some fields, PUT it back (what an admin's tool does)."""
    current = http.get(f"{CLIENTS}/{client_id}", headers=headers)
    assert current.status_code == 200, current.text
    return http.put(f"{CLIENTS}/{client_id}", json=current.json() | changes, headers=headers)


def set_state(http: TestClient, headers: dict[str, str], client_id: str, state: str) -> None:
    """PUT the client back as fetched, with another ``state`` (as the console's switch does)."""
    changes: dict[str, Any] = {"state": state}
    if state == "inactive":
        changes["dateToDelete"] = (utc_now() + timedelta(days=30)).isoformat()
    response = update_client(http, headers, client_id, **changes)
    assert response.status_code == 200, response.text


def delete_client(http: TestClient, headers: dict[str, str], client_id: str) -> None:
    response = http.delete(f"{CLIENTS}/{client_id}", headers=headers)
    assert response.status_code == 204, response.text
