"""Each client's registered token endpoint authentication method (RFC 7591 §2), enforced at the
token, introspection and revocation endpoints; and brute force against a client secret, which
costs O(1) audit rows per interval, not one per attempt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.clients import TokenEndpointAuthMethod
from keystead.protocol.client_auth import PUBLIC_METHOD, SECRET_METHODS
from keystead.web.runtime import Runtime
from tests.oauth_flows import public_client
from tests.support.apps import flush_failures, run, serve
from tests.support.clients import Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.management import audit_events
from tests.support.tokens import bearer, token

CC = {"grant_type": "client_credentials"}
ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]


def _send(http: TestClient, endpoint: str, client: Registered, method: str,
          form: dict[str, str]) -> Any:
    if method == "client_secret_basic":
        return http.post(endpoint, data=form, auth=client.basic_auth)
    return http.post(endpoint, data=form | {"client_id": client.id,
                                            "client_secret": client.secret})


def _form(endpoint: str, access_token: str) -> dict[str, str]:
    return CC if endpoint == "/oauth/token" else {"token": access_token}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("registered", "used"), [
    pytest.param("client_secret_basic", "client_secret_post", id="basic-client-posts"),
    pytest.param("client_secret_post", "client_secret_basic", id="post-client-uses-basic"),
])
def test_client_auth_refuses_a_method_the_client_did_not_register(
        http: TestClient, admin: Registered, endpoint: str, registered: str, used: str) -> None:
    client = bootstrap(http, name=registered, roles=["OAuth Admin"],
                       tokenEndpointAuthMethod=registered)
    form = _form(endpoint, token(http, admin))
    response = _send(http, endpoint, client, used, form)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    # The registered method, with the very same secret, works.
    assert _send(http, endpoint, client, registered, form).status_code == 200


def test_client_auth_method_mismatch_is_audited_with_the_method_used(
        http: TestClient, admin: Registered, headers: dict[str, str]) -> None:
    response = _send(http, "/oauth/token", admin, "client_secret_post", CC)
    assert response.status_code == 401
    [event] = audit_events(http, headers, entity_id=admin.id, action="authenticate")
    assert event["status"] == "FAILURE"
    assert event["context"]["method"] == "client_secret_post"
    assert "client_secret_basic" in event["context"]["reason"]  # what it registered
    assert admin.secret not in str(event)


def test_client_auth_public_client_cannot_present_a_secret_or_introspect(
        http: TestClient, admin: Registered, headers: dict[str, str]) -> None:
    app = Registered(public_client(http, headers), "")
    for used in SECRET_METHODS:
        response = _send(http, "/oauth/introspect", app, used, {"token": token(http, admin)})
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    # Naming itself (method none) is how it revokes.
    named = http.post("/oauth/revoke", data={"token": "whatever", "client_id": app.id})
    assert named.status_code == 200


def test_client_auth_confidential_client_cannot_merely_name_itself(
        http: TestClient, admin: Registered) -> None:
    for endpoint in ("/oauth/token", "/oauth/revoke"):
        response = http.post(endpoint, data=_form(endpoint, "x") | {"client_id": admin.id})
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_client_auth_methods_advertised_are_the_ones_a_client_can_register(
        http: TestClient) -> None:
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    registrable = {str(m) for m in TokenEndpointAuthMethod}
    assert set(metadata["token_endpoint_auth_methods_supported"]) == registrable
    assert set(metadata["revocation_endpoint_auth_methods_supported"]) == registrable
    assert set(metadata["introspection_endpoint_auth_methods_supported"]) == registrable - {
        PUBLIC_METHOD}


# -- brute force: O(1) audit rows per client, source and reason per interval -------------------

def _failure_rows(http: TestClient, headers: dict[str, str], client_id: str) -> list[Any]:
    return [e for e in audit_events(http, headers, entity_id=client_id, action="authenticate")
            if e["status"] == "FAILURE"]


def _recent(http: TestClient, client_id: str) -> int:
    async def work(runtime: Runtime) -> int:
        return runtime.auth_failures.recent_failures(client_id, "testclient")

    return run(http, work)


ATTEMPTS = 500


@pytest.fixture
def unthrottled(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    """An app whose throttle never engages: these tests count what failures cost the audit log
    (tests/flows/test_client_auth_throttle.py tries the throttle itself)."""
    with serve(_unthrottled(settings), clock=clock) as http:
        yield http


def _unthrottled(settings: Settings) -> Settings:
    return settings.model_copy(update={"throttle_client_failures": 10_000,
                                       "throttle_source_failures": 100_000})


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_auth_brute_force_costs_constant_audit_rows(
        unthrottled: TestClient, clock: ManualClock, method: str) -> None:
    http = unthrottled
    admin = bootstrap(http, name="admin", roles=["Super Admin"])
    headers = bearer(token(http, admin))
    victim = bootstrap(http, name="victim", roles=["OAuth Admin"],
                       tokenEndpointAuthMethod=method)
    statuses = {_send(http, "/oauth/token", Registered(victim.id, f"guess-{n}"), method,
                      CC).status_code for n in range(ATTEMPTS)}
    assert statuses == {401}
    # A throttle could ask, without the database, how often this client failed from here.
    assert _recent(http, victim.id) == ATTEMPTS
    # Only the first failure is written at once; the background flush adds one row per key
    # when the interval ends.
    assert len(_failure_rows(http, headers, victim.id)) == 1
    flush_failures(http, final=False)
    assert len(_failure_rows(http, headers, victim.id)) == 1  # the interval is not over
    clock.advance(60)
    flush_failures(http, final=False)
    rows = _failure_rows(http, headers, victim.id)
    assert len(rows) == 2
    assert sum(int(e["context"]["count"]) for e in rows) == ATTEMPTS
    assert all(e["context"]["method"] == method for e in rows)
    for row in rows:
        assert not any(f"guess-{n}" in str(row) for n in range(ATTEMPTS))
    # The client's own usage report counts every failure, not the rows.
    usage = http.get(f"/api/v2/oauth/clients/{victim.id}/usage/query/results/summary-1",
                     headers=headers)
    assert usage.json()["results"][0]["status401"] == ATTEMPTS
    # The legitimate client still gets its token.
    assert _send(http, "/oauth/token", victim, method, CC).status_code == 200


def test_client_auth_failures_are_written_when_the_server_stops(settings: Settings) -> None:
    clock = ManualClock()
    settings = _unthrottled(settings)
    with serve(settings, clock=clock) as http:
        admin = bootstrap(http, name="admin", roles=["Super Admin"])
        for n in range(50):
            assert http.post("/oauth/token", data=CC,
                             auth=(admin.id, f"guess-{n}")).status_code == 401
    with serve(settings, clock=clock) as http:  # the interval never ended: shutdown wrote it
        rows = _failure_rows(http, bearer(token(http, admin)), admin.id)
    assert sum(int(e["context"]["count"]) for e in rows) == 50
    assert len(rows) == 2

