"""Shared by the governance notice and deletion-request tests: the policy switch, client owners,
the outbox sender and a look at the tables."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

from keystead.domain.clients import Actor
from keystead.domain.governance.policy import Policy
from keystead.store.clients import SqlClientStore
from keystead.store.policy import SqlPolicyStore
from keystead.web.app import send_outbox
from keystead.web.runtime import Runtime
from tests.support.apps import run

CLIENTS = "/api/v2/oauth/clients"
REQUESTS = "/api/v2/governance/deletion-requests"
NOTICES = "/api/v2/governance/notices"


def set_policy(http: TestClient, **changes: Any) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await SqlPolicyStore(conn).save(replace(Policy(), **changes),
                                            actor=Actor("cli", "test"), now=runtime.clock())

    run(http, work)


def set_owner(http: TestClient, client_id: str, user_id: str) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            store = SqlClientStore(conn)
            client = await store.find(client_id)
            assert client is not None
            await store.replace(replace(client, settings=replace(client.settings,
                                                                 owner_id=user_id)))

    run(http, work)


def send(http: TestClient) -> None:
    """One round of the outbox loop."""
    run(http, send_outbox)


def rows(http: TestClient, sql: str) -> list[Any]:
    async def work(runtime: Runtime) -> list[Any]:
        async with runtime.transaction() as conn:
            return list((await conn.execute(text(sql))).mappings().all())

    return run(http, work)
