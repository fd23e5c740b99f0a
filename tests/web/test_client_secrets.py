"""Client secrets over HTTP: shown once, rotated with a dual-use window, last use recorded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.support.clients import (
    CLIENTS,
    Registered,
    bootstrap,
    client_body,
    create_client,
    update_client,
)
from tests.support.clock import ManualClock
from tests.support.management import audit_events, role_id
from tests.support.tokens import bearer, token

SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 256 bits, base64url without padding
DAY = 86_400


@pytest.fixture
def http(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    """Every test here runs the app on a clock it moves (replaces the conftest fixture)."""
    with TestClient(create_app(settings, clock=clock, housekeeping_interval=False),
                    base_url="http://testserver") as client:
        yield client


@pytest.fixture
def app_client(http: TestClient, headers: dict[str, str]) -> Registered:
    return create_client(http, headers, client_body(role_id(http, headers, "Super Admin")))


def fresh_headers(http: TestClient, admin: Registered) -> dict[str, str]:
    """An admin token issued now (after the clock jumps, the fixture's may have expired)."""
    return bearer(token(http, admin))


def authenticates(http: TestClient, client_id: str, secret: str) -> bool:
    response = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                         auth=(client_id, secret))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def regenerate(http: TestClient, headers: dict[str, str], client_id: str,
               body: Any = None) -> Registered:
    response = http.post(f"{CLIENTS}/{client_id}/secret", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return Registered(client_id, response.json()["secret"])


def secrets_of(http: TestClient, headers: dict[str, str], client_id: str) -> list[dict[str, Any]]:
    response = http.get(f"{CLIENTS}/{client_id}", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["secrets"])


def instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# -- shown once --------------------------------------------------------------------------------


def test_secret_is_256_bit_urlsafe_and_shown_on_create(http: TestClient, headers: dict[str, str],
                                                       app_client: Registered) -> None:
    assert SECRET_SHAPE.match(app_client.secret)
    other = create_client(http, headers, client_body(role_id(http, headers, "Super Admin")))
    assert other.secret != app_client.secret
    assert authenticates(http, app_client.id, app_client.secret)


def test_secret_create_response_is_not_cached(http: TestClient, headers: dict[str, str]) -> None:
    response = http.post(CLIENTS, headers=headers,
                         json=client_body(role_id(http, headers, "Super Admin")))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


def test_secret_never_shown_after_create(http: TestClient, headers: dict[str, str],
                                         app_client: Registered) -> None:
    responses = [
        http.get(f"{CLIENTS}/{app_client.id}", headers=headers),
        http.get(CLIENTS, headers=headers),
        update_client(http, headers, app_client.id, description="edited"),
        http.post(f"{CLIENTS}/{app_client.id}/secret/expire-previous", headers=headers),
        http.post("/api/v2/audits/query/realtime", headers=headers, json={
            "interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z", "pageSize": 500}),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert app_client.secret not in response.text
    for client in [responses[0].json(), responses[2].json(), responses[3].json(),
                   *responses[1].json()["entities"]]:
        assert "secret" not in client


def test_secret_cannot_be_chosen_through_update(http: TestClient, headers: dict[str, str],
                                                app_client: Registered) -> None:
    chosen = "attacker-chosen-secret-" + "x" * 20
    response = update_client(http, headers, app_client.id, secret=chosen)
    assert response.status_code == 200, response.text
    assert "secret" not in response.json()
    assert not authenticates(http, app_client.id, chosen)
    assert authenticates(http, app_client.id, app_client.secret)


@pytest.mark.parametrize("mangle", [
    pytest.param(lambda s: s[:-1], id="truncated"),
    pytest.param(lambda s: s + "A", id="extended"),
    pytest.param(lambda s: s.swapcase(), id="case-changed"),
    pytest.param(lambda _: "", id="empty"),
])
def test_secret_near_miss_refused(http: TestClient, app_client: Registered,
                                  mangle: Any) -> None:
    assert not authenticates(http, app_client.id, mangle(app_client.secret))


def test_secret_of_another_client_refused(http: TestClient, admin: Registered,
                                          app_client: Registered) -> None:
    assert not authenticates(http, app_client.id, admin.secret)


# -- regeneration ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    pytest.param(None, id="null-as-the-sdk-sends"),
    pytest.param({}, id="empty-object"),
    pytest.param({"dualUseSeconds": None}, id="null-window"),
])
def test_secret_regenerate_default_window_is_one_day(http: TestClient,
                                                     headers: dict[str, str],
                                                     app_client: Registered, clock: ManualClock,
                                                     body: Any) -> None:
    new = regenerate(http, headers, app_client.id, body)
    assert SECRET_SHAPE.match(new.secret)
    assert new.secret != app_client.secret
    previous = [s for s in secrets_of(http, headers, app_client.id) if not s["current"]]
    assert [instant(s["dateExpires"]) for s in previous] == [clock.now + timedelta(seconds=DAY)]
    clock.advance(DAY - 1)
    assert authenticates(http, app_client.id, app_client.secret)
    clock.advance(1)
    assert not authenticates(http, app_client.id, app_client.secret)
    assert authenticates(http, app_client.id, new.secret)


def test_secret_regenerate_without_body(http: TestClient, headers: dict[str, str],
                                        app_client: Registered, clock: ManualClock) -> None:
    response = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers)
    assert response.status_code == 200, response.text
    previous = [s for s in response.json()["secrets"] if not s["current"]]
    assert [instant(s["dateExpires"]) for s in previous] == [clock.now + timedelta(seconds=DAY)]


def test_secret_regenerate_response(http: TestClient, headers: dict[str, str],
                                    app_client: Registered) -> None:
    response = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers, json=None)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["id"] == app_client.id
    assert SECRET_SHAPE.match(body["secret"])
    assert sorted(s["current"] for s in body["secrets"]) == [False, True]
    assert app_client.secret not in response.text


def test_secret_new_one_works_at_once(http: TestClient, headers: dict[str, str],
                                      app_client: Registered) -> None:
    new = regenerate(http, headers, app_client.id, {"dualUseSeconds": 600})
    assert authenticates(http, app_client.id, new.secret)
    assert authenticates(http, app_client.id, app_client.secret)


def test_secret_window_ends_when_it_says(http: TestClient, headers: dict[str, str],
                                         app_client: Registered, clock: ManualClock) -> None:
    new = regenerate(http, headers, app_client.id, {"dualUseSeconds": 600})
    clock.advance(599)
    assert authenticates(http, app_client.id, app_client.secret)
    clock.advance(2)
    assert not authenticates(http, app_client.id, app_client.secret)
    assert authenticates(http, app_client.id, new.secret)


def test_secret_window_zero_stops_old_secret_at_once(http: TestClient, headers: dict[str, str],
                                                     app_client: Registered) -> None:
    new = regenerate(http, headers, app_client.id, {"dualUseSeconds": 0})
    assert not authenticates(http, app_client.id, app_client.secret)
    assert authenticates(http, app_client.id, new.secret)


@pytest.mark.parametrize("seconds", [0, 1, DAY, 604_800])
def test_secret_window_accepted(http: TestClient, headers: dict[str, str],
                                app_client: Registered, clock: ManualClock,
                                seconds: int) -> None:
    response = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers,
                         json={"dualUseSeconds": seconds})
    assert response.status_code == 200, response.text
    previous = [s for s in response.json()["secrets"] if not s["current"]]
    assert [instant(s["dateExpires"]) for s in previous] == [
        clock.now + timedelta(seconds=seconds)]


@pytest.mark.parametrize(("body", "problem"), [
    pytest.param({"dualUseSeconds": -1}, ("dualUseSeconds", "out.of.range"), id="negative"),
    pytest.param({"dualUseSeconds": 604_801}, ("dualUseSeconds", "out.of.range"),
                 id="over-a-week"),
    pytest.param({"dualUseSeconds": "a day"}, ("dualUseSeconds", "int.parsing"), id="text"),
    pytest.param({"dualUseSeconds": 1.5}, ("dualUseSeconds", "int.from.float"),
                 id="fraction"),
    pytest.param({"dualUse": 60}, ("dualUse", "extra.forbidden"), id="unknown-field"),
    pytest.param([60], ("body", "invalid.json"), id="array"),
])
def test_secret_window_refused_changes_nothing(http: TestClient, headers: dict[str, str],
                                               app_client: Registered, body: Any,
                                               problem: tuple[str, str]) -> None:
    before = secrets_of(http, headers, app_client.id)
    response = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers, json=body)
    assert response.status_code == 400
    assert [(d["fieldName"], d["errorCode"]) for d in response.json()["details"]] == [problem]
    assert "secret" not in response.json()
    assert secrets_of(http, headers, app_client.id) == before
    assert authenticates(http, app_client.id, app_client.secret)


def test_secret_second_regeneration_ends_the_first_secret(http: TestClient,
                                                          headers: dict[str, str],
                                                          app_client: Registered) -> None:
    second = regenerate(http, headers, app_client.id, {"dualUseSeconds": 3_600})
    third = regenerate(http, headers, app_client.id, {"dualUseSeconds": 3_600})
    assert not authenticates(http, app_client.id, app_client.secret)
    assert authenticates(http, app_client.id, second.secret)
    assert authenticates(http, app_client.id, third.secret)
    assert len(secrets_of(http, headers, app_client.id)) == 2


def test_secret_expire_previous_ends_the_window(http: TestClient, headers: dict[str, str],
                                                app_client: Registered,
                                                clock: ManualClock) -> None:
    new = regenerate(http, headers, app_client.id, {"dualUseSeconds": DAY})
    response = http.post(f"{CLIENTS}/{app_client.id}/secret/expire-previous", headers=headers)
    assert response.status_code == 200, response.text
    assert "secret" not in response.json()
    previous = [s for s in response.json()["secrets"] if not s["current"]]
    assert [instant(s["dateExpires"]) for s in previous] == [clock.now]
    assert not authenticates(http, app_client.id, app_client.secret)
    assert authenticates(http, app_client.id, new.secret)


def test_secret_expire_previous_without_previous(http: TestClient, headers: dict[str, str],
                                                 app_client: Registered) -> None:
    response = http.post(f"{CLIENTS}/{app_client.id}/secret/expire-previous", headers=headers)
    assert response.status_code == 200, response.text
    assert authenticates(http, app_client.id, app_client.secret)


@pytest.mark.parametrize("path", ["/secret", "/secret/expire-previous"])
def test_secret_endpoints_unknown_client(http: TestClient, headers: dict[str, str],
                                         path: str) -> None:
    response = http.post(f"{CLIENTS}/00000000-0000-0000-0000-000000000000{path}",
                         headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "not.found")


@pytest.mark.parametrize("path", ["/secret", "/secret/expire-previous"])
def test_secret_endpoints_need_edit_permission(http: TestClient, headers: dict[str, str],
                                               app_client: Registered, path: str) -> None:
    created = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client Viewer", "permissions": ["oauth:client:view"]})
    assert created.status_code == 200, created.text
    viewer = bearer(token(http, bootstrap(http, name="viewer", roles=["Client Viewer"])))
    before = secrets_of(http, headers, app_client.id)
    response = http.post(f"{CLIENTS}/{app_client.id}{path}", headers=viewer)
    assert (response.status_code, response.json()["code"]) == (403, "missing.permissions")
    assert "secret" not in response.json()
    assert secrets_of(http, headers, app_client.id) == before


@pytest.mark.parametrize("path", ["/secret", "/secret/expire-previous"])
def test_secret_endpoints_need_manage_scope(http: TestClient, admin: Registered,
                                            app_client: Registered, path: str) -> None:
    readonly = bearer(token(http, admin, scope="oauth:readonly"))
    response = http.post(f"{CLIENTS}/{app_client.id}{path}", headers=readonly)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert authenticates(http, app_client.id, app_client.secret)


def test_secret_regeneration_is_audited_without_the_secret(http: TestClient,
                                                           headers: dict[str, str],
                                                           app_client: Registered) -> None:
    new = regenerate(http, headers, app_client.id, {"dualUseSeconds": 120})
    http.post(f"{CLIENTS}/{app_client.id}/secret/expire-previous", headers=headers)
    events = audit_events(http, headers, entity_id=app_client.id)
    assert [e["action"] for e in events] == ["secret.expire.previous", "secret.regenerate",
                                             "create"]
    assert events[1]["context"]["dualUseSeconds"] == "120"
    text = str(events)
    assert new.secret not in text
    assert app_client.secret not in text


# -- metadata and last use ---------------------------------------------------------------------


def test_secret_metadata_after_create(http: TestClient, headers: dict[str, str],
                                      app_client: Registered, clock: ManualClock) -> None:
    client = http.get(f"{CLIENTS}/{app_client.id}", headers=headers).json()
    [meta] = client["secrets"]
    assert set(meta) == {"id", "dateCreated", "dateExpires", "dateLastUsed", "current"}
    assert (instant(meta["dateCreated"]), meta["dateExpires"], meta["dateLastUsed"],
            meta["current"]) == (clock.now, None, None, True)
    assert "dateLastUsed" not in client


def test_secret_use_is_recorded(http: TestClient, admin: Registered, app_client: Registered,
                                clock: ManualClock) -> None:
    clock.advance(120)
    used_at = clock.now
    assert authenticates(http, app_client.id, app_client.secret)
    clock.advance(120)
    client = http.get(f"{CLIENTS}/{app_client.id}", headers=fresh_headers(http, admin)).json()
    assert instant(client["dateLastUsed"]) == used_at
    assert [instant(s["dateLastUsed"]) for s in client["secrets"]] == [used_at]


def test_secret_failed_use_is_not_recorded(http: TestClient, headers: dict[str, str],
                                           app_client: Registered) -> None:
    assert not authenticates(http, app_client.id, "wrong")
    client = http.get(f"{CLIENTS}/{app_client.id}", headers=headers).json()
    assert "dateLastUsed" not in client
    assert [s["dateLastUsed"] for s in client["secrets"]] == [None]


def test_secret_last_use_shows_when_the_app_switched(http: TestClient, admin: Registered,
                                                     headers: dict[str, str],
                                                     app_client: Registered,
                                                     clock: ManualClock) -> None:
    new = regenerate(http, headers, app_client.id, {"dualUseSeconds": DAY})
    clock.advance(300)
    old_used = clock.now
    assert authenticates(http, app_client.id, app_client.secret)
    meta = {s["current"]: s for s in secrets_of(http, fresh_headers(http, admin), app_client.id)}
    assert (instant(meta[False]["dateLastUsed"]), meta[True]["dateLastUsed"]) == (old_used, None)

    clock.advance(300)
    new_used = clock.now
    assert authenticates(http, app_client.id, new.secret)
    meta = {s["current"]: s for s in secrets_of(http, fresh_headers(http, admin), app_client.id)}
    assert (instant(meta[False]["dateLastUsed"]), instant(meta[True]["dateLastUsed"])) == (
        old_used, new_used)


@pytest.mark.parametrize("client_id", [
    pytest.param("\x00", id="nul"),
    pytest.param("{id}\x00", id="real-id-then-nul"),
    pytest.param("x" * 65, id="too-long"),
])
@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_secret_check_with_malformed_client_id(http: TestClient, app_client: Registered,
                                               client_id: str, method: str) -> None:
    client_id = client_id.format(id=app_client.id)
    form = {"grant_type": "client_credentials"}
    if method == "client_secret_basic":
        response = http.post("/oauth/token", data=form, auth=(client_id, app_client.secret))
    else:
        response = http.post("/oauth/token", data=form | {
            "client_id": client_id, "client_secret": app_client.secret})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_secret_regenerate_of_more_privileged_client_forbidden(http: TestClient,
                                                               headers: dict[str, str],
                                                               app_client: Registered) -> None:
    # The new secret would let the caller act with roles it does not hold (no escalation).
    oauth_admin = bearer(token(http, bootstrap(http, name="oauth admin", roles=["OAuth Admin"])))
    before = secrets_of(http, headers, app_client.id)
    response = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=oauth_admin, json=None)
    assert (response.status_code, response.json()["code"]) == (403, "missing.permissions")
    assert "secret" not in response.json()
    assert secrets_of(http, headers, app_client.id) == before
    assert authenticates(http, app_client.id, app_client.secret)


def test_secret_regenerate_of_client_with_held_roles_allowed(http: TestClient,
                                                             headers: dict[str, str]) -> None:
    oauth_admin = bearer(token(http, bootstrap(http, name="oauth admin", roles=["OAuth Admin"])))
    delegated = create_client(http, oauth_admin, client_body(role_id(http, headers,
                                                                     "OAuth Admin")))
    new = regenerate(http, oauth_admin, delegated.id, {"dualUseSeconds": 0})
    assert authenticates(http, delegated.id, new.secret)
    assert not authenticates(http, delegated.id, delegated.secret)
