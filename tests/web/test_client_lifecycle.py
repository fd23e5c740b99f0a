"""Client states over HTTP: active → disabled/inactive → deleted, and what each does to tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.domain.clients import ClientSettings, GrantType
from keystead.domain.principal import operator
from keystead.web.app import housekeeping
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.clients import (
    CLIENTS,
    Registered,
    bootstrap,
    client_body,
    code_body,
    create_client,
    update_client,
)
from tests.support.clock import ManualClock
from tests.support.management import audit_events, role_id
from tests.support.tokens import bearer, token

TOKENS_ME = "/api/v2/tokens/me"


@pytest.fixture
def app_client(http: TestClient, headers: dict[str, str], super_admin: str) -> Registered:
    """A service the admin manages; it holds Super Admin so its token can call the API."""
    return create_client(http, headers, client_body(super_admin, scope=["oauth"]))


def token_response(http: TestClient, client: Registered) -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     auth=client.basic_auth)


def assert_token_refused(http: TestClient, access_token: str) -> None:
    response = http.get(TOKENS_ME, headers=bearer(access_token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def assert_no_new_token(http: TestClient, client: Registered) -> None:
    response = token_response(http, client)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- disabled ----------------------------------------------------------------------------------


def test_client_disable_stops_existing_tokens_at_once(http: TestClient, headers: dict[str, str],
                                                      app_client: Registered) -> None:
    access = token(http, app_client)
    assert http.get(TOKENS_ME, headers=bearer(access)).status_code == 200
    assert http.get(CLIENTS, headers=bearer(access)).status_code == 200
    response = update_client(http, headers, app_client.id, state="disabled")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "disabled"
    assert_token_refused(http, access)
    assert http.get(CLIENTS, headers=bearer(access)).status_code == 401


@pytest.mark.parametrize("fields", [
    pytest.param({"state": "disabled"}, id="disabled"),
    pytest.param({"state": "inactive", "dateToDelete": "2099-01-01T00:00:00Z"}, id="inactive"),
])
def test_client_not_active_gets_no_new_tokens(http: TestClient, headers: dict[str, str],
                                              app_client: Registered,
                                              fields: dict[str, Any]) -> None:
    assert update_client(http, headers, app_client.id, **fields).status_code == 200
    assert_no_new_token(http, app_client)


def test_client_active_gets_tokens(http: TestClient, app_client: Registered) -> None:
    response = token_response(http, app_client)
    assert response.status_code == 200, response.text


def test_client_reenable_issues_tokens_but_old_ones_stay_dead(
        http: TestClient, headers: dict[str, str], app_client: Registered,
        clock: ManualClock) -> None:
    before = token(http, app_client)
    assert update_client(http, headers, app_client.id, state="disabled").status_code == 200
    response = update_client(http, headers, app_client.id, state="active")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "active"
    clock.advance(1)  # issued after the re-enabling, not in the same instant as the cut-off
    after = token(http, app_client)
    assert http.get(TOKENS_ME, headers=bearer(after)).status_code == 200
    assert_token_refused(http, before)


def test_client_disable_leaves_other_clients_tokens(http: TestClient, headers: dict[str, str],
                                                    app_client: Registered,
                                                    super_admin: str) -> None:
    other = create_client(http, headers, client_body(super_admin, name="other"))
    other_token = token(http, other)
    assert update_client(http, headers, app_client.id, state="disabled").status_code == 200
    assert http.get(TOKENS_ME, headers=bearer(other_token)).status_code == 200
    assert token_response(http, other).status_code == 200


def test_client_disable_is_audited_as_state_change(http: TestClient, headers: dict[str, str],
                                                   app_client: Registered) -> None:
    assert update_client(http, headers, app_client.id, state="disabled").status_code == 200
    events = {e["action"]: e for e in audit_events(http, headers, entity_id=app_client.id)}
    assert {"create", "update", "state.change"} <= set(events)
    assert events["state.change"]["propertyChanges"] == [
        {"property": "state", "oldValues": ["active"], "newValues": ["disabled"]}]


def test_client_disabled_admin_cannot_disable_others(http: TestClient, headers: dict[str, str],
                                                     app_client: Registered,
                                                     super_admin: str) -> None:
    # A client disabled mid-session must not keep managing others with a token it already has.
    victim = create_client(http, headers, client_body(super_admin, name="victim"))
    access = bearer(token(http, app_client))
    assert update_client(http, headers, app_client.id, state="disabled").status_code == 200
    response = http.delete(f"{CLIENTS}/{victim.id}", headers=access)
    assert response.status_code == 401
    assert http.get(f"{CLIENTS}/{victim.id}", headers=headers).status_code == 200


# -- inactive and scheduled deletion -----------------------------------------------------------


@pytest.mark.parametrize(("fields", "problem"), [
    pytest.param({"state": "inactive"}, "dateToDelete", id="no-date"),
    pytest.param({"state": "inactive", "dateToDelete": "2001-01-01T00:00:00Z"}, "dateToDelete",
                 id="date-in-past"),
    pytest.param({"state": "retired"}, "state", id="unknown-state"),
])
def test_client_deactivate_refused_keeps_tokens_working(http: TestClient,
                                                        headers: dict[str, str],
                                                        app_client: Registered,
                                                        fields: dict[str, Any],
                                                        problem: str) -> None:
    access = token(http, app_client)
    before = http.get(f"{CLIENTS}/{app_client.id}", headers=headers).json()
    response = update_client(http, headers, app_client.id, **fields)
    assert response.status_code == 400
    assert problem in {d["fieldName"] for d in response.json()["details"]}
    assert http.get(f"{CLIENTS}/{app_client.id}", headers=headers).json() == before
    assert http.get(TOKENS_ME, headers=bearer(access)).status_code == 200


def test_client_reactivate_needs_date_cleared(http: TestClient, headers: dict[str, str],
                                              app_client: Registered) -> None:
    inactive = update_client(http, headers, app_client.id, state="inactive",
                             dateToDelete="2099-01-01T00:00:00Z")
    assert inactive.status_code == 200, inactive.text
    kept_date = update_client(http, headers, app_client.id, state="active")
    assert kept_date.status_code == 400
    assert {d["fieldName"] for d in kept_date.json()["details"]} == {"dateToDelete"}
    cleared = update_client(http, headers, app_client.id, state="active", dateToDelete=None)
    assert cleared.status_code == 200, cleared.text
    assert "dateToDelete" not in cleared.json()
    assert token_response(http, app_client).status_code == 200


def test_client_inactive_purged_when_date_to_delete_passes(clocked: TestClient,
                                                           clock: ManualClock) -> None:
    admin = bootstrap(clocked, name="test admin", roles=["Super Admin"])
    headers = bearer(token(clocked, admin))
    super_admin = role_id(clocked, headers, "Super Admin")
    doomed = create_client(clocked, headers, client_body(
        super_admin, name="doomed", state="inactive",
        dateToDelete=stamp(clock.now + timedelta(days=1))))
    later = create_client(clocked, headers, client_body(
        super_admin, name="later", state="inactive",
        dateToDelete=stamp(clock.now + timedelta(days=2))))
    active = create_client(clocked, headers, client_body(super_admin, name="active"))

    run(clocked, housekeeping)
    assert clocked.get(f"{CLIENTS}/{doomed.id}", headers=headers).status_code == 200

    clock.advance(86_400 + 1)
    run(clocked, housekeeping)
    headers = bearer(token(clocked, admin))  # the first token has expired by now
    assert clocked.get(f"{CLIENTS}/{doomed.id}", headers=headers).status_code == 404
    assert clocked.get(f"{CLIENTS}/{later.id}", headers=headers).status_code == 200
    assert clocked.get(f"{CLIENTS}/{active.id}", headers=headers).status_code == 200
    events = audit_events(clocked, headers, entity_id=doomed.id)
    assert [e["action"] for e in events] == ["delete", "create"]
    assert events[0]["context"]["actorKind"] == "system"
    assert_no_new_token(clocked, doomed)


def test_client_reactivated_is_not_purged(clocked: TestClient, clock: ManualClock) -> None:
    admin = bootstrap(clocked, name="test admin", roles=["Super Admin"])
    headers = bearer(token(clocked, admin))
    super_admin = role_id(clocked, headers, "Super Admin")
    saved = create_client(clocked, headers, client_body(
        super_admin, state="inactive", dateToDelete=stamp(clock.now + timedelta(hours=1))))
    assert update_client(clocked, headers, saved.id, state="active",
                         dateToDelete=None).status_code == 200
    clock.advance(7_200)
    run(clocked, housekeeping)
    headers = bearer(token(clocked, admin))
    assert clocked.get(f"{CLIENTS}/{saved.id}", headers=headers).status_code == 200


# -- delete ------------------------------------------------------------------------------------


def test_client_delete_is_final(http: TestClient, headers: dict[str, str],
                                app_client: Registered) -> None:
    access = token(http, app_client)
    response = http.delete(f"{CLIENTS}/{app_client.id}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert http.get(f"{CLIENTS}/{app_client.id}", headers=headers).status_code == 404
    assert http.delete(f"{CLIENTS}/{app_client.id}", headers=headers).status_code == 404
    assert app_client.id not in {c["id"] for c in http.get(CLIENTS, headers=headers).json()[
        "entities"]}
    assert_token_refused(http, access)
    assert_no_new_token(http, app_client)


def test_client_delete_keeps_audit_history(http: TestClient, headers: dict[str, str],
                                           app_client: Registered, admin: Registered) -> None:
    assert update_client(http, headers, app_client.id, description="edited").status_code == 200
    assert http.delete(f"{CLIENTS}/{app_client.id}", headers=headers).status_code == 204
    events = audit_events(http, headers, entity_id=app_client.id)
    assert [e["action"] for e in events] == ["delete", "update", "create"]
    assert {e["client"]["id"] for e in events} == {admin.id}
    assert {e["entity"]["name"] for e in events} == {"billing service"}


def test_client_delete_leaves_other_clients(http: TestClient, headers: dict[str, str],
                                            app_client: Registered, super_admin: str) -> None:
    other = create_client(http, headers, client_body(super_admin, name="other"))
    other_token = token(http, other)
    assert http.delete(f"{CLIENTS}/{app_client.id}", headers=headers).status_code == 204
    assert http.get(TOKENS_ME, headers=bearer(other_token)).status_code == 200
    assert http.get(f"{CLIENTS}/{other.id}", headers=headers).status_code == 200


def test_client_delete_unknown_is_404(http: TestClient, headers: dict[str, str]) -> None:
    response = http.delete(f"{CLIENTS}/00000000-0000-0000-0000-000000000000", headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "not.found")


def test_client_delete_needs_delete_permission(http: TestClient, headers: dict[str, str],
                                               app_client: Registered) -> None:
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client Editor",
        "permissions": ["oauth:client:view", "oauth:client:add", "oauth:client:edit"]})
    assert response.status_code == 200, response.text
    editor = bearer(token(http, bootstrap(http, name="editor", roles=["Client Editor"])))
    app_token = token(http, app_client)
    denied = http.delete(f"{CLIENTS}/{app_client.id}", headers=editor)
    assert (denied.status_code, denied.json()["code"]) == (403, "missing.permissions")
    assert "oauth:client:delete" in denied.headers["www-authenticate"]
    assert http.get(f"{CLIENTS}/{app_client.id}", headers=headers).status_code == 200
    assert http.get(TOKENS_ME, headers=bearer(app_token)).status_code == 200
    assert "delete" not in {e["action"] for e in audit_events(http, headers,
                                                               entity_id=app_client.id)}


def test_client_delete_needs_manage_scope(http: TestClient, admin: Registered,
                                          app_client: Registered) -> None:
    readonly = bearer(token(http, admin, scope="oauth:readonly"))
    response = http.delete(f"{CLIENTS}/{app_client.id}", headers=readonly)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert http.get(f"{CLIENTS}/{app_client.id}", headers=readonly).status_code == 200


# -- the implicit grant ------------------------------------------------------------------------


@pytest.mark.parametrize("grants", [
    pytest.param({"authorizedGrantType": "CODE", "authorizedGrantTypes": ["CODE", "TOKEN"]},
                 id="beside-code"),
    pytest.param({"authorizedGrantType": "TOKEN", "authorizedGrantTypes": None},
                 id="replacing-code"),
])
def test_client_implicit_cannot_be_added_to_existing_client(http: TestClient,
                                                            headers: dict[str, str],
                                                            grants: dict[str, Any]) -> None:
    web = create_client(http, headers, code_body())
    before = http.get(f"{CLIENTS}/{web.id}", headers=headers).json()
    response = update_client(http, headers, web.id, **grants)
    assert response.status_code == 400
    assert [(d["fieldName"], d["errorCode"]) for d in response.json()["details"]] == [
        ("authorizedGrantType", "deprecated")]
    assert http.get(f"{CLIENTS}/{web.id}", headers=headers).json() == before


def import_legacy_implicit_client(http: TestClient) -> str:
    """A client imported with its original 2025 creation date, when TOKEN was still allowed."""

    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            issued = await runtime.management(conn).create(operator(), ClientSettings(
                name="legacy spa", grant_types=(GrantType.token,), scopes=("oauth:readonly",),
                redirect_uris=("https://spa.example.com/cb",)),
                date_created=datetime(2025, 6, 1, tzinfo=UTC))
            return issued.client.id

    return run(http, work)


def test_client_imported_implicit_keeps_it(http: TestClient, headers: dict[str, str]) -> None:
    legacy = import_legacy_implicit_client(http)
    fetched = http.get(f"{CLIENTS}/{legacy}", headers=headers).json()
    assert (fetched["authorizedGrantType"], fetched["dateCreated"]) == (
        "TOKEN", "2025-06-01T00:00:00.000Z")
    response = update_client(http, headers, legacy, description="still implicit")
    assert response.status_code == 200, response.text
    assert response.json()["authorizedGrantTypes"] == ["TOKEN"]


def test_client_imported_implicit_cannot_get_it_back_once_removed(
        http: TestClient, headers: dict[str, str]) -> None:
    legacy = import_legacy_implicit_client(http)
    moved = update_client(http, headers, legacy, authorizedGrantType="CODE",
                          authorizedGrantTypes=["CODE"])
    assert moved.status_code == 200, moved.text
    back = update_client(http, headers, legacy, authorizedGrantType="TOKEN",
                         authorizedGrantTypes=["TOKEN"])
    assert back.status_code == 400
    assert {d["fieldName"] for d in back.json()["details"]} == {"authorizedGrantType"}


def test_client_api_cannot_backdate_creation(http: TestClient, headers: dict[str, str]) -> None:
    # Only the operator's import keeps an old dateCreated: an API caller cannot fake one to
    # slip TOKEN past the cut-off.
    response = http.post(CLIENTS, headers=headers, json=code_body(
        authorizedGrantType="TOKEN", dateCreated="2025-01-01T00:00:00Z"))
    assert response.status_code == 400
    assert "web app" not in {c["name"] for c in http.get(
        CLIENTS, headers=headers).json()["entities"]}
