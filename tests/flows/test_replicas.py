"""Two replicas on one database: what one changes, the other sees.

On SQLite at the very next request (``PRAGMA data_version``). On PostgreSQL as soon as the change
feed hands the change over (store/change_feed.py): these tests give it a deadline for
correctness; ``bench/propagation.py`` measures how soon under load (the documented bound).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.factories import Registered, bearer, bootstrap, token


@pytest.fixture
def replica(settings: Settings) -> Iterator[TestClient]:
    """A second, independent app (own engine, own hot-path connection) on the same database."""
    with TestClient(create_app(settings, housekeeping_interval=False),
                    base_url="http://testserver") as client:
        yield client


DEADLINE_SECONDS = 5.0


@pytest.fixture
def seen(store: str) -> Callable[[Callable[[], bool]], None]:
    """Asserts that the replica sees a change: at once on SQLite, by the deadline on
    PostgreSQL."""
    def check(sees: Callable[[], bool]) -> None:
        deadline = time.monotonic() + (DEADLINE_SECONDS if store == "postgres" else 0)
        while not sees():
            assert time.monotonic() < deadline, "the replica does not see the change"
            time.sleep(0.005)
    return check


def _introspect(http: TestClient, caller: Registered, value: str) -> bool:
    response = http.post("/oauth/introspect", data={"token": value}, auth=caller.basic_auth)
    assert response.status_code == 200
    return bool(response.json()["active"])


def test_replicas_see_revocation(http: TestClient, replica: TestClient, admin: Registered,
                                 seen: Callable[[Callable[[], bool]], None]) -> None:
    service = bootstrap(http, name="svc", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    value = token(http, service)
    assert _introspect(replica, admin, value)
    assert http.post("/oauth/revoke", data={"token": value},
                     auth=service.basic_auth).status_code == 200
    seen(lambda: not _introspect(replica, admin, value))
    assert replica.get("/api/v2/tokens/me", headers=bearer(value)).status_code == 401


def test_replicas_see_disable_and_delete(http: TestClient, replica: TestClient,
                                         admin: Registered,
                                         seen: Callable[[Callable[[], bool]], None]) -> None:
    headers = bearer(token(http, admin))
    service = bootstrap(http, name="svc", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    value = token(replica, service)
    assert _introspect(replica, admin, value)  # the replica has read the client and the token
    client = http.get(f"/api/v2/oauth/clients/{service.id}", headers=headers).json()
    disabled = {key: client[key] for key in ("name", "authorizedGrantType", "roleDivisions",
                                             "scope")} | {"state": "disabled"}
    assert http.put(f"/api/v2/oauth/clients/{service.id}", json=disabled,
                    headers=headers).status_code == 200
    seen(lambda: not _introspect(replica, admin, value))
    refused = replica.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=service.basic_auth)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert http.delete(f"/api/v2/oauth/clients/{service.id}", headers=headers).status_code == 204
    seen(lambda: "deleted" in replica.get("/api/v2/tokens/me", headers=bearer(value)).headers.get(
        "www-authenticate", ""))


def test_replicas_see_rotation(http: TestClient, replica: TestClient, admin: Registered,
                               seen: Callable[[Callable[[], bool]], None]) -> None:
    headers = bearer(token(http, admin))
    service = bootstrap(http, name="svc", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    for _ in range(2):  # the second read is kept (the first one's last-used write drops it)
        token(replica, service)
    rotated = http.post(f"/api/v2/oauth/clients/{service.id}/secret",
                        json={"dualUseSeconds": 0}, headers=headers)
    assert rotated.status_code == 200
    new = Registered(service.id, rotated.json()["secret"])
    seen(lambda: replica.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=service.basic_auth).status_code == 401)
    assert replica.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=new.basic_auth).status_code == 200
