"""Codes and refresh tokens used twice, raced, outlived and narrowed (issue 9, item 3).

- A second use revokes the grant family only when it comes from the artifact's own client with
  valid parameters (OAuth 2.1 §7.5.2), after the racing grace; it is then audited.
- Two requests racing one artifact, on two nodes over one database: exactly one wins, and the
  winner keeps its tokens.
- A family ends at its absolute deadline, however steadily it refreshes.
- A scope taken from the client is gone at the next refresh (and from a JWT's claims).
- A code not redeemed before its console session ends is dead.
- A live refresh token introspects as active to its own client (RFC 7662).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.keyring import KeyRing
from keystead.domain.secrets import Digester
from tests.oauth_flows import (
    REDIRECT_URI,
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
from tests.people import Console, Person, sign_in
from tests.support.apps import serve
from tests.support.clients import Registered, bootstrap, code_body
from tests.support.clock import ManualClock
from tests.support.management import audit_events
from tests.support.tokens import bearer, introspect, token

CLIENTS = "/api/v2/oauth/clients"
ME = "/api/v2/users/me"


@pytest.fixture
def replica(settings: Settings) -> Iterator[TestClient]:
    """A second node: its own app, engine and hot-path store, on the same database."""
    with serve(settings) as node:
        yield node


def refused(response: httpx2.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    return str(response.json()["error"])


def is_active(http: TestClient, caller: Registered, value: str) -> bool:
    return bool(introspect(http, caller, value).json()["active"])


def code_and_tokens(http: TestClient, client: Registered) -> tuple[str, Any, dict[str, Any]]:
    """A code, its PKCE pair, and the tokens its first redemption got."""
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, pkce=pkce))["code"]
    first = exchange(http, client, code, pkce=pkce)
    assert first.status_code == 200, first.text
    return code, pkce, first.json()


# -- a used code presented again --

@pytest.mark.usefixtures("person")
def test_a_used_code_replayed_by_another_client_revokes_nothing(
        http: TestClient, client: Registered, settings: Settings) -> None:
    code, pkce, first = code_and_tokens(http, client)
    thief = code_client(http)
    with after_grace(settings) as later:
        assert refused(exchange(later, thief, code, pkce=pkce)) == "invalid_grant"
    # OAuth 2.1 §7.5.2: only the code's own client replays it; the user's grant lives on.
    assert is_active(http, client, first["access_token"])
    assert refresh(http, client, first["refresh_token"]).status_code == 200


@pytest.mark.usefixtures("person")
@pytest.mark.parametrize("tamper", [
    pytest.param({"code_verifier": "w" * 43}, id="7636-4.6-wrong-verifier"),
    pytest.param({"redirect_uri": REDIRECT_URI + "/x"}, id="6749-4.1.3-other-redirect-uri"),
])
def test_a_used_code_replayed_with_wrong_parameters_revokes_nothing(
        http: TestClient, client: Registered, settings: Settings,
        tamper: dict[str, str]) -> None:
    code, pkce, first = code_and_tokens(http, client)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": pkce.verifier} | tamper
    with after_grace(settings) as later:
        response = later.post("/oauth/token", data=form, auth=client.basic_auth)
        assert refused(response) == "invalid_grant"
    assert is_active(http, client, first["access_token"])
    assert not audit_events(http, _admin_headers(http), action="authorization_code.reuse")


@pytest.mark.usefixtures("person")
def test_a_used_code_presented_again_within_the_grace_revokes_nothing(
        http: TestClient, client: Registered) -> None:
    code, pkce, first = code_and_tokens(http, client)
    assert refused(exchange(http, client, code, pkce=pkce)) == "invalid_grant"
    assert is_active(http, client, first["access_token"])


def test_a_used_code_replayed_by_its_client_after_the_grace_revokes_and_is_audited(
        http: TestClient, client: Registered, settings: Settings, person: Person,
        headers: dict[str, str]) -> None:
    code, pkce, first = code_and_tokens(http, client)
    with after_grace(settings) as later:
        assert refused(exchange(later, client, code, pkce=pkce)) == "invalid_grant"
    assert not is_active(http, client, first["access_token"])
    assert refused(refresh(http, client, first["refresh_token"])) == "invalid_grant"
    [event] = audit_events(http, headers, action="authorization_code.reuse")
    assert (event["entity"]["id"], event["status"]) == (client.id, "FAILURE")
    _assert_names_the_family_never_the_artifact(event, code, user_id=person.id,
                                                settings=settings)


# -- a rotated refresh token presented again --

@pytest.mark.usefixtures("person")
def test_a_rotated_refresh_token_presented_again_within_the_grace_revokes_nothing(
        http: TestClient, headers: dict[str, str]) -> None:
    app = public_client(http, headers)
    first = _public_tokens(http, app)
    newest = refresh(http, app, first["refresh_token"])
    assert newest.status_code == 200
    assert refused(refresh(http, app, first["refresh_token"])) == "invalid_grant"
    # The winner's response stands: its refresh token and access token still work.
    assert http.get(ME, headers=bearer(newest.json()["access_token"])).status_code == 200
    assert refresh(http, app, newest.json()["refresh_token"]).status_code == 200
    assert not audit_events(http, headers, action="refresh_token.reuse")


def test_a_rotated_refresh_token_replayed_after_the_grace_is_audited(
        http: TestClient, headers: dict[str, str], settings: Settings, person: Person) -> None:
    app = public_client(http, headers)
    first = _public_tokens(http, app)
    newest = refresh(http, app, first["refresh_token"]).json()
    with after_grace(settings) as later:
        assert refused(refresh(later, app, first["refresh_token"])) == "invalid_grant"
    assert refused(refresh(http, app, newest["refresh_token"])) == "invalid_grant"
    [event] = audit_events(http, headers, action="refresh_token.reuse")
    assert (event["entity"]["id"], event["status"]) == (app, "FAILURE")
    _assert_names_the_family_never_the_artifact(event, first["refresh_token"],
                                                user_id=person.id, settings=settings)


def test_reuse_grace_zero_makes_every_second_use_a_replay(settings: Settings,
                                                          headers: dict[str, str]) -> None:
    strict = settings.model_copy(update={"grant_reuse_grace_seconds": 0})
    with serve(strict) as node:
        signed_in_person(node)
        app = public_client(node, headers)
        first = _public_tokens(node, app)
        newest = refresh(node, app, first["refresh_token"]).json()
        assert refused(refresh(node, app, first["refresh_token"])) == "invalid_grant"
        assert refused(refresh(node, app, newest["refresh_token"])) == "invalid_grant"


# -- racing duplicates on two nodes (PostgreSQL and SQLite) --

def _race(*sends: Callable[[], httpx2.Response]) -> list[httpx2.Response]:
    barrier = threading.Barrier(len(sends))
    results: list[httpx2.Response] = []

    def run(send: Callable[[], httpx2.Response]) -> None:
        barrier.wait()
        results.append(send())

    threads = [threading.Thread(target=run, args=(send,)) for send in sends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == len(sends)
    return results


def _one_winner(results: list[httpx2.Response]) -> dict[str, Any]:
    assert sorted(r.status_code for r in results) == [200, 400], [r.text for r in results]
    [loser] = [r for r in results if r.status_code == 400]
    assert loser.json()["error"] == "invalid_grant"
    [winner] = [r for r in results if r.status_code == 200]
    body: dict[str, Any] = winner.json()
    return body


@pytest.mark.usefixtures("person")
def test_two_nodes_racing_one_code_leave_the_winner_its_tokens(
        http: TestClient, replica: TestClient, client: Registered,
        headers: dict[str, str]) -> None:
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, pkce=pkce))["code"]
    won = _one_winner(_race(lambda: exchange(http, client, code, pkce=pkce),
                            lambda: exchange(replica, client, code, pkce=pkce)))
    assert is_active(http, client, won["access_token"])
    assert refresh(replica, client, won["refresh_token"]).status_code == 200
    assert not audit_events(http, headers, action="authorization_code.reuse")


@pytest.mark.usefixtures("person")
def test_two_nodes_racing_one_refresh_token_leave_the_winner_its_tokens(
        http: TestClient, replica: TestClient, headers: dict[str, str]) -> None:
    app = public_client(http, headers)
    first = _public_tokens(http, app)
    won = _one_winner(_race(lambda: refresh(http, app, first["refresh_token"]),
                            lambda: refresh(replica, app, first["refresh_token"])))
    assert http.get(ME, headers=bearer(won["access_token"])).status_code == 200
    assert refresh(replica, app, won["refresh_token"]).status_code == 200
    assert not audit_events(http, headers, action="refresh_token.reuse")


# -- the family's absolute deadline --

def test_a_steadily_refreshing_public_client_stops_at_the_family_deadline(
        settings: Settings, clock: ManualClock, headers: dict[str, str]) -> None:
    with serve(settings, clock=clock) as node:
        signed_in_person(node)
        app = public_client(node, headers)
        current = _public_tokens(node, app)["refresh_token"]
        deadline = timedelta(seconds=settings.grant_family_max_lifetime_seconds)
        elapsed = timedelta(0)
        step = timedelta(days=20)  # well inside the 30-day refresh token lifetime
        while elapsed + step < deadline:
            clock.advance(step.total_seconds())
            elapsed += step
            response = refresh(node, app, current)
            assert response.status_code == 200, response.text
            current = response.json()["refresh_token"]
        # Ten minutes before the deadline: the access token may not outlive it either.
        clock.advance((deadline - elapsed).total_seconds() - 600)
        last = refresh(node, app, current)
        assert last.status_code == 200, last.text
        assert last.json()["expires_in"] == 600
        clock.advance(601)  # the rotated token is well within its 30 days: the family is not
        assert refused(refresh(node, app, last.json()["refresh_token"])) == "invalid_grant"


# -- a scope taken from the client --

@pytest.mark.usefixtures("person")
def test_a_refresh_drops_a_scope_the_client_no_longer_has(
        http: TestClient, headers: dict[str, str]) -> None:
    client = code_client(http, scopes=("users:readonly", "oauth:readonly"), tokenFormat="jwt")
    issued = user_tokens(http, client, scope="openid users:readonly oauth:readonly")
    assert "oauth:readonly" in issued["scope"].split()
    assert http.put(f"{CLIENTS}/{client.id}", headers=headers, json=code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"],
        tokenFormat="jwt")).status_code == 200
    again = refresh(http, client, issued["refresh_token"])
    assert again.status_code == 200, again.text
    assert set(again.json()["scope"].split()) == {"openid", "users:readonly"}
    assert set(_jwt_claims(again.json()["access_token"])["scope"].split()) == {
        "openid", "users:readonly"}
    # Asking for it by name does not bring it back.
    assert refused(refresh(http, client, issued["refresh_token"],
                           scope="oauth:readonly")) == "invalid_scope"


# -- codes die with their console session --

def test_a_code_is_dead_once_its_session_signs_out(http: TestClient,
                                                   client: Registered) -> None:
    person = signed_in_person(http)
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, pkce=pkce))["code"]
    assert Console(http, person).post("/logout").url.path == "/login"
    assert refused(exchange(http, client, code, pkce=pkce)) == "invalid_grant"


def test_a_code_is_dead_once_its_session_times_out(settings: Settings, clock: ManualClock,
                                                   client: Registered) -> None:
    brief = settings.model_copy(update={"session_idle_seconds": 30})
    with serve(brief, clock=clock) as node:
        signed_in_person(node)
        pkce = pkce_pair()
        code = answer_of(authorize(node, client.id, pkce=pkce))["code"]
        clock.advance(31)  # idle past the limit, still well within the code's 60 seconds
        assert refused(exchange(node, client, code, pkce=pkce)) == "invalid_grant"


def test_a_code_of_a_live_session_is_redeemed_after_other_sign_ins(
        http: TestClient, settings: Settings, client: Registered) -> None:
    person = signed_in_person(http)
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, pkce=pkce))["code"]
    with serve(settings) as elsewhere:  # the same user signs in and out on another browser
        sign_in(elsewhere, person)
        assert Console(elsewhere, person).post("/logout").url.path == "/login"
    assert exchange(http, client, code, pkce=pkce).status_code == 200


# -- introspecting a refresh token (RFC 7662) --

def test_a_live_refresh_token_introspects_as_active_to_its_client(
        http: TestClient, client: Registered) -> None:
    person = signed_in_person(http)
    issued = user_tokens(http, client)
    answer = introspect(http, client, issued["refresh_token"]).json()
    assert answer["active"] is True
    assert (answer["client_id"], answer["sub"]) == (client.id, person.id)
    assert set(answer["scope"].split()) == {"openid", "users:readonly"}
    assert answer["exp"] > answer["iat"]


@pytest.mark.usefixtures("person")
def test_a_refresh_token_introspects_as_inactive_to_another_client(
        http: TestClient, client: Registered) -> None:
    issued = user_tokens(http, client)
    other = code_client(http)
    assert introspect(http, other, issued["refresh_token"]).json() == {"active": False}


@pytest.mark.usefixtures("person")
def test_a_revoked_refresh_token_introspects_as_inactive(http: TestClient,
                                                         client: Registered) -> None:
    issued = user_tokens(http, client)
    assert http.post("/oauth/revoke", data={"token": issued["refresh_token"]},
                     auth=client.basic_auth).status_code == 200
    assert introspect(http, client, issued["refresh_token"]).json() == {"active": False}


# -- helpers --

def _public_tokens(http: TestClient, app: str) -> dict[str, Any]:
    pkce = pkce_pair()
    code = answer_of(authorize(http, app, pkce=pkce))["code"]
    response = exchange(http, app, code, pkce=pkce)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _admin_headers(http: TestClient) -> dict[str, str]:
    return bearer(token(http, bootstrap(http, name="auditor", roles=["Super Admin"])))


def _jwt_claims(value: str) -> dict[str, Any]:
    payload = value.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload)
                                                                                  % 4)))
    return claims


def _assert_names_the_family_never_the_artifact(event: dict[str, Any], value: str, *,
                                                user_id: str, settings: Settings) -> None:
    context = event["context"]
    assert context["familyId"]
    assert context["userId"] == user_id
    digest = Digester(KeyRing.parse("", single=settings.secret_key.get_secret_value())).grant(
        value)
    assert digest is not None
    text = json.dumps(event)
    assert value not in text
    assert digest not in text
