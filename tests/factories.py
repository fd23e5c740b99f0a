"""Build clients the way the product does, and return the plaintext secret once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.testclient import TestClient

from keystead.domain.principal import operator
from keystead.store.catalog import SqlCatalog
from keystead.web.runtime import Runtime
from keystead.web.schemas import ClientRequest

T = TypeVar("T")


@dataclass(frozen=True)
class Registered:
    id: str
    secret: str

    @property
    def basic_auth(self) -> tuple[str, str]:
        return (self.id, self.secret)


def run(http: TestClient, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run a coroutine on the app's event loop, with its runtime."""
    runtime: Runtime = http.app.state.runtime  # type: ignore[attr-defined]
    assert http.portal is not None
    return http.portal.call(work, runtime)


def bootstrap(http: TestClient, *, name: str, roles: list[str],
              scopes: list[str] | None = None, **fields: Any) -> Registered:
    """Create a client-credentials client as the operator (like `keystead bootstrap-client`)."""

    async def work(runtime: Runtime) -> Registered:
        async with runtime.transaction() as conn:
            catalog = SqlCatalog(conn)
            role_ids = []
            for role_name in roles:
                role = await catalog.role_by_name(role_name)
                assert role is not None, role_name
                role_ids.append(role.id)
            wanted = scopes if scopes is not None else [s.id for s in await catalog.scopes()
                                                        if s.builtin]
            request = ClientRequest(name=name, authorizedGrantType="CLIENT-CREDENTIALS",
                                    roleIds=role_ids, scope=wanted, **fields)
            issued = await runtime.management(conn).create(operator(), request.to_settings())
            return Registered(issued.client.id, issued.secret)

    return run(http, work)


def token(http: TestClient, client: Registered, *, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = http.post("/oauth/token", data=form, auth=client.basic_auth)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def home_division_id(http: TestClient, headers: dict[str, str]) -> str:
    response = http.get("/api/v2/authorization/divisions/home", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def role_id(http: TestClient, headers: dict[str, str], name: str) -> str:
    response = http.get("/api/v2/authorization/roles", params={"name": name}, headers=headers)
    assert response.status_code == 200, response.text
    matches = [r["id"] for r in response.json()["entities"] if r["name"] == name]
    assert matches, name
    return str(matches[0])
