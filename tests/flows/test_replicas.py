"""Two replicas on one database: what one changes, the other sees at the very next request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.support.clients import Registered, bootstrap
from tests.support.tokens import bearer, token


@pytest.fixture
def replica(settings: Settings) -> Iterator[TestClient]:
    """A second, independent app (own engine, own hot-path connection) on the same database."""
    with TestClient(create_app(settings, housekeeping_interval=False),
                    base_url="http://testserver") as client:
        yield client


def _introspect(http: TestClient, caller: Registered, value: str) -> bool:
    response = http.post("/oauth/introspect", data={"token": value}, auth=caller.basic_auth)
    assert response.status_code == 200
    return bool(response.json()["active"])


def test_replicas_see_revocation_at_once(http: TestClient, replica: TestClient,
                                         admin: Registered) -> None:
    service = bootstrap(http, name="svc", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    value = token(http, service)
    assert _introspect(replica, admin, value)
    assert http.post("/oauth/revoke", data={"token": value},
                     auth=service.basic_auth).status_code == 200
    assert not _introspect(replica, admin, value)
    assert replica.get("/api/v2/tokens/me", headers=bearer(value)).status_code == 401


def test_replicas_see_disable_and_delete_at_once(http: TestClient, replica: TestClient,
                                                 admin: Registered) -> None:
    headers = bearer(token(http, admin))
    service = bootstrap(http, name="svc", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    value = token(replica, service)
    assert _introspect(replica, admin, value)  # the replica has read the client and the token
    client = http.get(f"/api/v2/oauth/clients/{service.id}", headers=headers).json()
    disabled = {key: client[key] for key in ("name", "authorizedGrantType", "roleDivisions",
                                             "scope")} | {"state": "disabled"}
    assert http.put(f"/api/v2/oauth/clients/{service.id}", json=disabled,
                    headers=headers).status_code == 200
    assert not _introspect(replica, admin, value)
    refused = replica.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=service.basic_auth)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert http.delete(f"/api/v2/oauth/clients/{service.id}", headers=headers).status_code == 204
    gone = replica.get("/api/v2/tokens/me", headers=bearer(value))
    assert gone.status_code == 401
    assert "deleted" in gone.headers["www-authenticate"]


def test_replicas_see_rotation_at_once(http: TestClient, replica: TestClient,
                                       admin: Registered) -> None:
    headers = bearer(token(http, admin))
    service = bootstrap(http, name="svc", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    for _ in range(2):  # the second read is kept (the first one's last-used write drops it)
        token(replica, service)
    rotated = http.post(f"/api/v2/oauth/clients/{service.id}/secret",
                        json={"dualUseSeconds": 0}, headers=headers)
    assert rotated.status_code == 200
    new = Registered(service.id, rotated.json()["secret"])
    old = replica.post("/oauth/token", data={"grant_type": "client_credentials"},
                       auth=service.basic_auth)
    assert old.status_code == 401
    assert replica.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=new.basic_auth).status_code == 200
