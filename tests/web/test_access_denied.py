"""Refusals on the management API: checked before the input is read, and audited."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from keystead.domain.principal import operator
from keystead.web.runtime import Runtime
from keystead.web.schemas import ClientRequest
from tests.support.apps import run
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.management import audit_events
from tests.support.tokens import bearer, token

ROLES = "/api/v2/authorization/roles"


@pytest.mark.parametrize("auth", [{}, {"Authorization": "Bearer not-a-token"}],
                         ids=["rfc6750-3.1-no-token", "rfc6750-3.1-unknown-token"])
def test_bad_body_without_valid_token_is_401_not_400(http: TestClient,
                                                     auth: dict[str, str]) -> None:
    response = http.post(CLIENTS, content=b"{not json", headers=auth)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_bad_body_without_permission_is_403_not_400(http: TestClient) -> None:
    viewer = bootstrap(http, name="auditor", roles=["OAuth Admin"],
                       scopes=["authorization"])
    response = http.post(ROLES, json={"name": ""}, headers=bearer(token(http, viewer)))
    assert (response.status_code, response.json()["code"]) == (403, "missing.permissions")


def test_refusals_are_audited_with_actor_and_reason(http: TestClient,
                                                   headers: dict[str, str]) -> None:
    narrow = bootstrap(http, name="reader", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    narrow_token = token(http, narrow)
    assert http.post(CLIENTS, json={}, headers=bearer(narrow_token)).status_code == 403
    assert http.get(CLIENTS, headers=bearer("forged")).status_code == 401
    denied = audit_events(http, headers, action="access.denied")
    by_actor = {(e["context"]["actorKind"], e["context"]["actorId"]): e for e in denied}
    scoped = by_actor[("client", narrow.id)]
    assert scoped["status"] == "FAILURE"
    assert scoped["entity"]["name"] == f"POST {CLIENTS}"
    assert "oauth" in scoped["context"]["reason"]
    assert ("anonymous", "") in by_actor
    assert all(narrow_token not in str(e) and "forged" not in str(e) for e in denied)


def test_role_cannot_grant_permissions_its_author_lacks(http: TestClient) -> None:
    # OAuth Admin may not manage roles at all; give a client role-management rights only.
    headers = bearer(token(http, bootstrap(http, name="root", roles=["Super Admin"])))
    limited = http.post(ROLES, json={"name": "Role Manager", "permissions": [
        "authorization:role:add", "authorization:role:edit", "authorization:role:view"]},
        headers=headers)
    assert limited.status_code == 200
    manager = _holder_of(http, limited.json()["id"])
    manager_headers = bearer(token(http, manager))
    escalate = http.post(ROLES, json={"name": "Everything", "permissions": ["*:*:*"]},
                         headers=manager_headers)
    assert (escalate.status_code, escalate.json()["code"]) == (403, "missing.permissions")
    widen = http.put(f"{ROLES}/{limited.json()['id']}", json={
        "name": "Role Manager", "permissions": ["authorization:role:*", "oauth:client:add"]},
        headers=manager_headers)
    assert widen.status_code == 403
    same = http.post(ROLES, json={"name": "Role Viewer",
                                  "permissions": ["authorization:role:view"]},
                     headers=manager_headers)
    assert same.status_code == 200
    names = {r["name"] for r in http.get(ROLES, headers=headers).json()["entities"]}
    assert "Everything" not in names


def _holder_of(http: TestClient, role: str) -> Registered:
    """A client holding ``role`` (assigned by a caller who holds it: the operator, as the CLI)."""
    async def work(runtime: Runtime) -> Registered:
        async with runtime.transaction() as conn:
            request = ClientRequest(name="role manager", authorizedGrantType="CLIENT-CREDENTIALS",
                                    roleIds=[role], scope=["authorization"])
            issued = await runtime.management(conn).create(operator(), request.to_settings())
            assert issued.secret is not None  # a confidential client
            return Registered(issued.client.id, issued.secret)

    return run(http, work)
