"""Endpoints real integrations call that the SDK used to get 404 for, through the official SDK
over real HTTP: ``subjects/me``, ``users/{id}/roles`` and ``usage/query``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PureCloudPlatformClientV2 import (
    ApiClient,
    ApiUsageClientQuery,
    AuthorizationApi,
    OAuthApi,
    UsersApi,
)
from starlette.testclient import TestClient

from keystead.domain.permissions import OAUTH_ADMIN, SUPER_ADMIN
from tests.flows.test_genesys_sdk import build, error_of, known, login_status, raised, sdk_login
from tests.oauth_flows import REDIRECT_URI, answer_of, authorize, signed_in_person
from tests.people import create_user
from tests.support.clients import Registered, bootstrap, code_body, create_client, service
from tests.support.tokens import bearer, token


@pytest.fixture
def sdk(live_server: str, admin: Registered) -> ApiClient:
    return sdk_login(live_server, admin.id, admin.secret)


def test_sdk_subjects_me_lists_a_clients_own_grants(sdk: ApiClient, admin: Registered) -> None:
    me = known(AuthorizationApi(sdk).get_authorization_subjects_me())
    assert me.id == admin.id
    assert [(g.role.name, g.division.name) for g in me.grants] == [(SUPER_ADMIN, "Home")]
    assert all(g.subject_id == admin.id for g in me.grants)


def test_sdk_subjects_me_of_a_user_token_is_the_user(http: TestClient, live_server: str,
                                                      headers: dict[str, str]) -> None:
    client = create_client(http, headers, code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["authorization:readonly"],
        requirePkce=False))
    person = signed_in_person(http, roles=(OAUTH_ADMIN,))
    code = answer_of(authorize(http, client.id, scope="authorization:readonly"))["code"]
    api, _ = ApiClient(host=live_server).get_code_authorization_token(
        client.id, client.secret, code, REDIRECT_URI)
    me = known(UsersApi(api).get_authorization_subjects_me())
    assert me.id == person.id
    assert [g.role.name for g in me.grants] == [OAUTH_ADMIN]


def test_sdk_user_roles_give_roles_and_permissions(http: TestClient, sdk: ApiClient) -> None:
    person = create_user(http, "ops@example.com", roles=(OAUTH_ADMIN,))
    found = known(UsersApi(sdk).get_user_roles(person.id))
    assert [role.name for role in found.roles] == [OAUTH_ADMIN]
    assert "oauth:client:*" in found.permissions
    policies = {(p.domain, p.entity_name): p.action_set for p in found.permission_policies}
    assert policies[("oauth", "client")] == ["*"]
    assert found.unused_roles == []


def test_sdk_user_roles_of_another_user_needs_grant_view(
        http: TestClient, live_server: str) -> None:
    person = create_user(http, "someone@example.com", roles=(OAUTH_ADMIN,))
    # OAuth Admin may view roles but not grants: the scope alone is not enough.
    weak = bootstrap(http, name="weak", roles=[OAUTH_ADMIN])
    api = sdk_login(live_server, weak.id, weak.secret)
    exc = raised(UsersApi(api).get_user_roles, person.id)
    assert exc.status == 403
    assert "authorization:grant:view" in error_of(api, exc).message


def test_sdk_usage_query_counts_the_interval(http: TestClient, live_server: str,
                                             sdk: ApiClient) -> None:
    oauth = OAuthApi(sdk)
    created = service(http)
    sdk_login(live_server, created.id, created.secret)
    assert login_status(live_server, created.id, "wrong-secret") == 401
    now = datetime.now(UTC)
    interval = f"{(now - timedelta(days=2)).isoformat()}/{(now + timedelta(hours=1)).isoformat()}"
    execution = known(oauth.post_oauth_client_usage_query(
        created.id, build(ApiUsageClientQuery, interval=interval, metrics=["Requests"])))
    assert execution.results_uri == (
        f"/api/v2/oauth/clients/{created.id}/usage/query/results/{execution.execution_id}")
    result = known(oauth.get_oauth_client_usage_query_result(execution.execution_id, created.id))
    [row] = result.results
    assert (row.status200, row.status400, row.requests) == (1, 1, 2)


def test_sdk_usage_query_of_days_before_today_leaves_today_out(
        http: TestClient, live_server: str, sdk: ApiClient) -> None:
    oauth = OAuthApi(sdk)
    created = service(http)
    sdk_login(live_server, created.id, created.secret)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    interval = f"{(today - timedelta(days=3)).isoformat()}/{today.isoformat()}"
    execution = known(oauth.post_oauth_client_usage_query(
        created.id, build(ApiUsageClientQuery, interval=interval)))
    result = known(oauth.get_oauth_client_usage_query_result(execution.execution_id, created.id))
    assert result.results[0].status200 == 0


@pytest.mark.parametrize("interval", [
    pytest.param("yesterday", id="not-an-interval"),
    pytest.param("2001-01-01T00:00:00Z/2001-02-01T00:00:00Z", id="long-gone"),
    pytest.param("2999-01-01T00:00:00Z/2999-02-01T00:00:00Z", id="future"),
])
def test_sdk_usage_query_refuses_a_bad_interval(http: TestClient, sdk: ApiClient,
                                                interval: str) -> None:
    oauth = OAuthApi(sdk)
    created = service(http)
    exc = raised(oauth.post_oauth_client_usage_query, created.id,
                 build(ApiUsageClientQuery, interval=interval))
    assert exc.status == 400
    assert [d.field_name for d in error_of(sdk, exc).details] == ["interval"]


def test_usage_query_needs_a_token(http: TestClient, admin: Registered) -> None:
    client_id = admin.id
    response = http.post(f"/api/v2/oauth/clients/{client_id}/usage/query",
                         json={"interval": "x"})
    assert response.status_code == 401
    assert http.post(f"/api/v2/oauth/clients/{client_id}/usage/query", json={"interval": "x"},
                     headers=bearer(token(http, admin))).status_code == 400
