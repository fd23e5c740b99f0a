"""Clients under review and campaigns: clients with an owner, tags and an environment made as
the operator makes them (ClientManagement), campaigns started through the API."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from keystead.domain.clients import (
    Client,
    ClientSettings,
    ClientState,
    Environment,
    GrantType,
    RoleDivision,
)
from keystead.domain.principal import operator
from keystead.domain.users import UserState
from keystead.store.catalog import SqlCatalog
from keystead.store.clients import SqlClientStore
from keystead.store.roles import SqlRoleStore
from keystead.store.users import SqlUserStore
from keystead.web.app import attend_reviews
from keystead.web.runtime import Runtime
from tests.support.apps import run

REVIEWS = "/api/v2/governance/reviews"
SCOPES = ("oauth:readonly", "audits:readonly", "governance:readonly")
ROLES = ("OAuth Admin", "Super Admin")


def governed_client(http: TestClient, name: str, *, owner_id: str | None = None,
                    tags: tuple[str, ...] = (), environment: Environment | None = None,
                    scopes: tuple[str, ...] = SCOPES, roles: tuple[str, ...] = ROLES) -> str:
    """A client-credentials client with an owner, tags and an environment; its id."""

    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            home = await SqlCatalog(conn).home_division_id()
            role_divisions = []
            for role_name in roles:
                role = await SqlRoleStore(conn).by_name(role_name)
                assert role is not None, role_name
                role_divisions.append(RoleDivision(role.id, home))
            settings = ClientSettings(
                name=name, grant_types=(GrantType.client_credentials,), scopes=scopes,
                role_divisions=tuple(role_divisions), owner_id=owner_id, tags=tags,
                environment=environment)
            issued = await runtime.management(conn).create(operator(), settings)
            return issued.client.id

    return run(http, work)


def client_of(http: TestClient, client_id: str) -> Client | None:
    async def work(runtime: Runtime) -> Client | None:
        async with runtime.transaction() as conn:
            return await SqlClientStore(conn).find(client_id)

    return run(http, work)


def state_of(http: TestClient, client_id: str) -> ClientState:
    client = client_of(http, client_id)
    assert client is not None
    return client.settings.state


def deactivate_user(http: TestClient, user_id: str) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            store = SqlUserStore(conn)
            user = await store.find(user_id)
            assert user is not None
            await store.replace(replace(user, state=UserState.inactive))

    run(http, work)


def attend(http: TestClient) -> None:
    """What the access-reviews loop does each round, on the app's clock."""

    async def work(runtime: Runtime) -> None:
        await attend_reviews(runtime)

    run(http, work)


def due_in(now: datetime, days: float) -> str:
    return (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def start(http: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = http.post(REVIEWS, headers=headers, json=fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def items_by_client(http: TestClient, headers: dict[str, str], campaign_id: str
                    ) -> dict[str, dict[str, Any]]:
    response = http.get(f"{REVIEWS}/{campaign_id}", headers=headers)
    assert response.status_code == 200, response.text
    return {item["client"]["id"]: item for item in response.json()["items"]}
