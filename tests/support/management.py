"""Reading the management API as an admin's tool does: roles, divisions, audit events."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

ALL_TIME = "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z"


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


def audit_events(http: TestClient, headers: dict[str, str], *,
                 entity_id: str | None = None, action: str | None = None) -> list[dict[str, Any]]:
    filters = [{"property": name, "value": value} for name, value in
               (("entityId", entity_id), ("action", action)) if value is not None]
    response = http.post("/api/v2/audits/query/realtime", headers=headers, json={
        "interval": ALL_TIME, "filters": filters, "pageSize": 500})
    assert response.status_code == 200, response.text
    return list(response.json()["entities"])
