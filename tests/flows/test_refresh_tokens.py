"""Refresh tokens over HTTP (RFC 6749 §6, RFC 9700 §4.14): bound to their client, scope only
narrowing, kept by confidential clients, rotated for public clients with reuse detection, and
stopped when the user, the authorization or the grant family goes."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import httpx2
import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.oauth_flows import (
    after_grace,
    answer_of,
    authorize,
    code_client,
    exchange,
    pkce_pair,
    public_client,
    refresh,
    signed_in_person,
    user_tokens,
)
from tests.people import Person
from tests.support.clients import Registered, bootstrap, set_state
from tests.support.clock import ManualClock
from tests.support.tokens import bearer, introspect

ME = "/api/v2/users/me"
USERINFO = "/oauth/userinfo"


@pytest.fixture
def issued(http: TestClient, client: Registered, person: Person) -> dict[str, Any]:
    """The token response of a code + PKCE flow for ``person`` (openid users:readonly)."""
    del person
    return user_tokens(http, client)


def refused(response: httpx2.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    return str(response.json()["error"])


# -- a refresh (§6) --

def test_refresh_issues_a_new_access_token_that_works(http: TestClient, client: Registered,
                                                      issued: dict[str, Any],
                                                      person: Person) -> None:
    response = refresh(http, client, issued["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"] != issued["access_token"]
    assert body["scope"] == "openid users:readonly"
    me = http.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == person.id


def test_refresh_keeps_the_confidential_clients_refresh_token(http: TestClient,
                                                              client: Registered,
                                                              issued: dict[str, Any]) -> None:
    first = refresh(http, client, issued["refresh_token"])
    assert first.json()["refresh_token"] == issued["refresh_token"]
    second = refresh(http, client, issued["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] == issued["refresh_token"]


def test_refresh_leaves_the_earlier_access_token_working(http: TestClient, client: Registered,
                                                         issued: dict[str, Any]) -> None:
    assert refresh(http, client, issued["refresh_token"]).status_code == 200
    assert http.get(ME, headers=bearer(issued["access_token"])).status_code == 200


def test_refresh_may_narrow_the_scope(http: TestClient, client: Registered,
                                      issued: dict[str, Any]) -> None:
    response = refresh(http, client, issued["refresh_token"], scope="users:readonly")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "users:readonly"
    assert "id_token" not in body  # openid was left out
    assert http.get(USERINFO, headers=bearer(body["access_token"])).status_code == 403
    assert http.get(ME, headers=bearer(body["access_token"])).status_code == 200


def test_refresh_narrowing_once_does_not_shrink_the_refresh_token(
        http: TestClient, client: Registered, issued: dict[str, Any]) -> None:
    refresh(http, client, issued["refresh_token"], scope="users:readonly")
    again = refresh(http, client, issued["refresh_token"])
    assert again.json()["scope"] == "openid users:readonly"


@pytest.mark.parametrize("scope", [
    pytest.param("openid users:readonly email", id="6-oidc-scope-not-granted"),
    pytest.param("users:readonly oauth:readonly", id="6-scope-the-client-lacks"),
    pytest.param("users", id="6-broader-scope"),
])
def test_refresh_widening_the_scope_is_invalid_scope(http: TestClient, client: Registered,
                                                     issued: dict[str, Any], scope: str) -> None:
    response = refresh(http, client, issued["refresh_token"], scope=scope)
    assert refused(response) == "invalid_scope"
    assert refresh(http, client, issued["refresh_token"]).status_code == 200


def test_refresh_token_of_another_client_is_invalid_grant(http: TestClient,
                                                          client: Registered,
                                                          issued: dict[str, Any]) -> None:
    other = code_client(http)
    assert refused(refresh(http, other, issued["refresh_token"])) == "invalid_grant"
    assert refresh(http, client, issued["refresh_token"]).status_code == 200


def test_refresh_by_a_client_without_the_code_grant_is_unauthorized_client(
        http: TestClient, issued: dict[str, Any]) -> None:
    service = bootstrap(http, name="service", roles=["OAuth Admin"])
    assert refused(refresh(http, service, issued["refresh_token"])) == "unauthorized_client"


def test_refresh_with_a_wrong_client_secret_is_invalid_client(http: TestClient,
                                                              client: Registered,
                                                              issued: dict[str, Any]) -> None:
    response = refresh(http, Registered(client.id, "not-the-secret"), issued["refresh_token"])
    assert refused(response, 401) == "invalid_client"
    assert "www-authenticate" in response.headers


@pytest.mark.parametrize(("form", "error"), [
    pytest.param({"refresh_token": ""}, "invalid_request", id="6-empty-refresh_token"),
    pytest.param({"refresh_token": "not-a-refresh-token"}, "invalid_grant",
                 id="6-unknown-refresh_token"),
])
def test_refresh_bad_request_is_refused(http: TestClient, client: Registered,
                                        form: dict[str, str], error: str) -> None:
    assert refused(refresh(http, client, form["refresh_token"])) == error


def test_refresh_without_refresh_token_is_invalid_request(http: TestClient,
                                                          client: Registered) -> None:
    response = http.post("/oauth/token", data={"grant_type": "refresh_token"},
                         auth=client.basic_auth)
    assert refused(response) == "invalid_request"


def test_refresh_access_token_is_not_a_refresh_token(http: TestClient, client: Registered,
                                                     issued: dict[str, Any]) -> None:
    assert refused(refresh(http, client, issued["access_token"])) == "invalid_grant"


# -- what stops a refresh token --

def test_refresh_stops_when_the_user_is_made_inactive(http: TestClient, client: Registered,
                                                      issued: dict[str, Any], person: Person,
                                                      headers: dict[str, str]) -> None:
    patched = http.patch(f"/api/v2/users/{person.id}", headers=headers,
                         json={"state": "inactive"})
    assert patched.status_code == 200, patched.text
    assert refused(refresh(http, client, issued["refresh_token"])) == "invalid_grant"


def test_refresh_stops_when_the_user_revokes_the_authorization(http: TestClient,
                                                               client: Registered,
                                                               issued: dict[str, Any]) -> None:
    revoked = http.delete(f"/api/v2/oauth/authorizations/{client.id}",
                          headers=bearer(issued["access_token"]))
    assert revoked.status_code == 204, revoked.text
    assert refused(refresh(http, client, issued["refresh_token"])) == "invalid_grant"
    assert introspect(http, client, issued["access_token"]).json() == {"active": False}


def test_refresh_stops_when_the_client_is_disabled(http: TestClient, client: Registered,
                                                   issued: dict[str, Any],
                                                   headers: dict[str, str]) -> None:
    set_state(http, headers, client.id, "disabled")
    assert refused(refresh(http, client, issued["refresh_token"]), 401) == "invalid_client"
    # Re-enabling the client does not revive what disabling it revoked.
    set_state(http, headers, client.id, "active")
    assert refused(refresh(http, client, issued["refresh_token"]), 400) == "invalid_grant"


def test_refresh_code_replay_also_revokes_tokens_got_by_refresh(
        http: TestClient, client: Registered, settings: Settings) -> None:
    signed_in_person(http)
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, pkce=pkce))["code"]
    first = exchange(http, client, code, pkce=pkce).json()
    refreshed = refresh(http, client, first["refresh_token"]).json()
    with after_grace(settings) as later:
        assert exchange(later, client, code, pkce=pkce).status_code == 400  # the replay
    assert introspect(http, client, refreshed["access_token"]).json() == {"active": False}
    assert http.get(ME, headers=bearer(refreshed["access_token"])).status_code == 401


def test_refresh_token_expires(clocked: TestClient, clock: ManualClock,
                               settings: Settings) -> None:
    client = code_client(clocked)
    signed_in_person(clocked)
    body = user_tokens(clocked, client)
    clock.advance(settings.refresh_token_ttl_seconds - 60)
    assert refresh(clocked, client, body["refresh_token"]).status_code == 200
    clock.advance(61)
    assert refused(refresh(clocked, client, body["refresh_token"])) == "invalid_grant"


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
def test_refresh_token_revoked_at_the_revocation_endpoint_stops_working(
        http: TestClient, client: Registered, issued: dict[str, Any], hint: str | None) -> None:
    form = {"token": issued["refresh_token"]} | ({"token_type_hint": hint} if hint else {})
    # RFC 7009 §2: MUST support refresh tokens; a wrong hint only changes where to look first.
    assert http.post("/oauth/revoke", data=form, auth=client.basic_auth).status_code == 200
    assert refused(refresh(http, client, issued["refresh_token"])) == "invalid_grant"


def test_refresh_token_revoked_also_stops_its_access_tokens(http: TestClient,
                                                           client: Registered,
                                                           issued: dict[str, Any]) -> None:
    form = {"token": issued["refresh_token"], "token_type_hint": "refresh_token"}
    assert http.post("/oauth/revoke", data=form, auth=client.basic_auth).status_code == 200
    # RFC 7009 §2.1: SHOULD also invalidate the access tokens of the same grant.
    assert introspect(http, client, issued["access_token"]).json() == {"active": False}


def test_refresh_token_cannot_be_revoked_by_another_client(http: TestClient,
                                                           client: Registered,
                                                           issued: dict[str, Any]) -> None:
    other = code_client(http)
    response = http.post("/oauth/revoke", data={"token": issued["refresh_token"]},
                         auth=other.basic_auth)
    assert response.status_code == 200  # RFC 7009 §2.2: the same answer, revealing nothing
    assert refresh(http, client, issued["refresh_token"]).status_code == 200


# -- public clients rotate (RFC 9700 §4.14.2) --

def public_tokens(http: TestClient, client_id: str) -> dict[str, Any]:
    pkce = pkce_pair()
    code = answer_of(authorize(http, client_id, pkce=pkce))["code"]
    response = exchange(http, client_id, code, pkce=pkce)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.usefixtures("person")
def test_refresh_public_client_gets_a_new_refresh_token_each_time(
        http: TestClient, headers: dict[str, str]) -> None:
    app = public_client(http, headers)
    first = public_tokens(http, app)
    rotated = refresh(http, app, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    assert refresh(http, app, rotated.json()["refresh_token"]).status_code == 200


@pytest.mark.usefixtures("person")
def test_refresh_public_client_reuse_revokes_the_whole_family(
        http: TestClient, headers: dict[str, str], settings: Settings) -> None:
    app = public_client(http, headers)
    first = public_tokens(http, app)
    newest = refresh(http, app, first["refresh_token"]).json()
    with after_grace(settings) as later:
        assert refused(refresh(later, app, first["refresh_token"])) == "invalid_grant"  # reuse
    assert refused(refresh(http, app, newest["refresh_token"])) == "invalid_grant"
    for access in (first["access_token"], newest["access_token"]):
        assert http.get(ME, headers=bearer(access)).status_code == 401


@pytest.mark.usefixtures("person")
def test_refresh_public_client_race_gives_exactly_one_token(
        http: TestClient, headers: dict[str, str], live_server: str) -> None:
    app = public_client(http, headers)
    first = public_tokens(http, app)
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
            "client_id": app}
    barrier = threading.Barrier(2)
    results: list[httpx.Response] = []

    def redeem() -> None:
        with httpx.Client(base_url=live_server, timeout=30) as session:
            barrier.wait()
            results.append(session.post("/oauth/token", data=form))

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in results) == [200, 400], [r.text for r in results]


@pytest.mark.usefixtures("person")
def test_refresh_public_client_token_of_a_confidential_client_is_refused(
        http: TestClient, headers: dict[str, str], issued: dict[str, Any]) -> None:
    app = public_client(http, headers)
    assert refused(refresh(http, app, issued["refresh_token"])) == "invalid_grant"
