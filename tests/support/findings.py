"""Findings from a test: evaluate now, read them by kind, change a client as the operator."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.testclient import TestClient

from keystead.domain.principal import operator
from keystead.web.runtime import Runtime
from tests.support.apps import run

FINDINGS = "/api/v2/governance/findings"
DAY = 86_400


def evaluate(http: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """Flush this worker's usage counts and evidence (as the flush loop would), then evaluate
    every client."""

    async def flush(runtime: Runtime) -> None:
        await runtime.hot.flush()
        await runtime.flush_evidence()

    run(http, flush)
    response = http.post(f"{FINDINGS}/evaluate", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def findings_of(http: TestClient, headers: dict[str, str], client_id: str,
                **filters: str) -> dict[str, dict[str, Any]]:
    """The client's findings by ``kind`` (``kind/subject`` when there is a subject)."""
    response = http.get(FINDINGS, headers=headers,
                        params={"clientId": client_id, "pageSize": "100", **filters})
    assert response.status_code == 200, response.text
    return {f["kind"] + (f"/{f['subject']}" if f["subject"] else ""): f
            for f in response.json()["entities"]}


def change_client(http: TestClient, client_id: str, **changes: Any) -> None:
    """Change settings the API of this branch does not take yet (owner, environment)."""

    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            manage = runtime.management(conn)
            client = await manage.find(operator(), client_id)
            await manage.update(operator(), client_id, replace(client.settings, **changes))

    run(http, work)


def make_role(http: TestClient, headers: dict[str, str], name: str,
              permissions: list[str]) -> str:
    response = http.post("/api/v2/authorization/roles", headers=headers,
                         json={"name": name, "permissions": permissions})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])
