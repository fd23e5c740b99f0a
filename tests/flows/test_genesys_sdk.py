"""The official Genesys Cloud Python SDK (PureCloudPlatformClientV2), unchanged, against Keystead.

Every management endpoint is driven through the SDK over real HTTP (``live_server``), and each
test asserts what an SDK user sees: the returned models, the ``ApiException`` status and its
Genesys ``ErrorBody``. No returned field may be ``outdated_sdk_version`` (what the SDK puts in
place of an enum value it does not know), and no request may be retried or redirected.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import PureCloudPlatformClientV2
import pytest
from PureCloudPlatformClientV2 import (
    ApiClient,
    AuditApi,
    AuditQueryFilter,
    AuditQuerySort,
    AuditRealtimeQueryRequest,
    AuthorizationApi,
    AuthzDivision,
    DomainOrganizationRoleCreate,
    DomainOrganizationRoleUpdate,
    DomainPermissionPolicy,
    ErrorBody,
    OAuthApi,
    OAuthClient,
    OAuthClientEntityListing,
    OAuthClientRequest,
    RoleDivision,
    TokensApi,
)
from PureCloudPlatformClientV2.rest import ApiException
from starlette.testclient import TestClient
from urllib3.util.retry import Retry

from keystead.domain.scopes import BUILTIN_SCOPES as BUILTIN_SCOPE_DESCRIPTIONS
from tests.support.clients import Registered, bootstrap
from tests.web.governance.support import set_policy

OUTDATED = "outdated_sdk_version"
BUILTIN_SCOPES = set(BUILTIN_SCOPE_DESCRIPTIONS)


# ---------------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _RawResponse:
    """What ``ApiClient.deserialize`` reads from a response, rebuilt from an ``ApiException``."""

    data: str
    headers: Any

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default) if self.headers else default


def error_of(api: ApiClient, exc: ApiException) -> ErrorBody:
    """The exception's body as the SDK's ``ErrorBody`` model."""
    body: ErrorBody = api.deserialize(_RawResponse(exc.body, exc.headers), "ErrorBody")
    return body


def fields_of(model: Any) -> Iterator[tuple[str, Any]]:
    """Every (path, value) in a returned SDK model, nested models and collections included."""
    stack: list[tuple[str, Any]] = [("", model)]
    while stack:
        path, value = stack.pop()
        if hasattr(value, "swagger_types"):
            stack.extend((f"{path}.{name}", getattr(value, name)) for name in value.swagger_types)
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((f"{path}[{key!r}]", item) for key, item in value.items())
        else:
            yield path, value


def known(model: Any) -> Any:
    """``model``, after checking the SDK knew every enum value in it."""
    outdated = [path for path, value in fields_of(model) if value == OUTDATED]
    assert outdated == [], f"the SDK did not know the values at {outdated}"
    return model


def sdk_login(live_server: str, client_id: str, secret: str) -> ApiClient:
    """An SDK client authenticated the way Genesys documents it (client credentials)."""
    api = ApiClient(host=live_server)
    return api.get_client_credentials_token(client_id, secret)


def login_status(live_server: str, client_id: str, secret: str) -> int:
    """200 when the SDK can log in with these credentials, else the HTTP status it got."""
    try:
        sdk_login(live_server, client_id, secret)
    except ApiException as exc:
        return int(exc.status)
    return 200


def raised(function: Callable[..., Any], *args: Any, **kwargs: Any) -> ApiException:
    """The ``ApiException`` an SDK call raises."""
    with pytest.raises(ApiException) as info:
        function(*args, **kwargs)
    return info.value


def raw_json(api: ApiClient) -> dict[str, Any]:
    """The JSON of the last response the SDK received (Keystead's extensions live here)."""
    body: dict[str, Any] = json.loads(api.last_response.data)
    return body


M = TypeVar("M")


def build(model: type[M], **fields: Any) -> M:
    """An SDK request model with these attributes (its constructor takes no arguments)."""
    instance = model()
    for name, value in fields.items():
        assert name in instance.swagger_types, name  # type: ignore[attr-defined]
        setattr(instance, name, value)
    return instance


def client_request(**fields: Any) -> OAuthClientRequest:
    defaults: dict[str, Any] = {"name": "billing sync", "scope": ["oauth:readonly"],
                                "authorized_grant_type": "CLIENT-CREDENTIALS"}
    return build(OAuthClientRequest, **(defaults | fields))


# --------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every retry or redirect urllib3 makes on the SDK's behalf; none are expected."""
    made: list[str] = []
    original = Retry.increment

    def increment(self: Retry, method: str | None = None, url: str | None = None,
                  *args: Any, **kwargs: Any) -> Retry:
        response = kwargs.get("response")
        made.append(f"{method} {url} -> {getattr(response, 'status', kwargs.get('error'))}")
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(Retry, "increment", increment)
    yield made
    assert made == [], f"the SDK retried: {made}"


@pytest.fixture
def sdk(live_server: str, admin: Registered) -> ApiClient:
    """The SDK logged in as the Super Admin client."""
    return sdk_login(live_server, admin.id, admin.secret)


@pytest.fixture
def oauth(sdk: ApiClient) -> OAuthApi:
    return OAuthApi(sdk)


@pytest.fixture
def authz(sdk: ApiClient) -> AuthorizationApi:
    return AuthorizationApi(sdk)


@pytest.fixture
def home(authz: AuthorizationApi) -> str:
    return str(known(authz.get_authorization_divisions_home()).id)


@pytest.fixture
def role_ids(authz: AuthorizationApi) -> dict[str, str]:
    listing = known(authz.get_authorization_roles(page_size=100))
    return {role.name: role.id for role in listing.entities}


@pytest.fixture
def created(oauth: OAuthApi, role_ids: dict[str, str], home: str) -> OAuthClient:
    """A client-credentials client made by the SDK: Super Admin in the Home division (the
    admin may assign only roles it holds) and only the ``oauth:readonly`` scope."""
    return known(oauth.post_oauth_clients(client_request(
        role_divisions=[build(RoleDivision, role_id=role_ids["Super Admin"], division_id=home)])))


# ------------------------------------------------------------------------------ OAuth clients


def test_sdk_login_client_credentials_gets_a_token(live_server: str, admin: Registered) -> None:
    api = ApiClient(host=live_server)
    assert api.get_client_credentials_token(admin.id, admin.secret) is api
    assert api.access_token
    assert known(TokensApi(api).get_tokens_me()).o_auth_client.id == admin.id


def test_sdk_configuration_host_points_the_sdk_at_keystead(
        live_server: str, admin: Registered, monkeypatch: pytest.MonkeyPatch) -> None:
    # The set-up Genesys documents: the global configuration's host, then a default ApiClient.
    monkeypatch.setattr(PureCloudPlatformClientV2.configuration, "host", live_server)
    api = PureCloudPlatformClientV2.api_client.ApiClient().get_client_credentials_token(
        admin.id, admin.secret)
    listing = known(PureCloudPlatformClientV2.OAuthApi(api).get_oauth_clients())
    assert [c.id for c in listing.entities] == [admin.id]


def test_oauth_clients_create_returns_the_client_with_its_secret(
        oauth: OAuthApi, role_ids: dict[str, str], home: str, admin: Registered) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    client = known(oauth.post_oauth_clients(client_request(
        name="  billing sync  ", description="nightly invoices", access_token_validity_seconds=900,
        scope=["oauth:readonly", "audits:readonly"],
        role_divisions=[build(RoleDivision, role_id=role_ids["Super Admin"], division_id=home)])))
    assert client.id
    assert client.secret
    assert (client.name, client.description) == ("billing sync", "nightly invoices")
    assert client.authorized_grant_type == "CLIENT-CREDENTIALS"
    assert client.access_token_validity_seconds == 900
    assert sorted(client.scope) == ["audits:readonly", "oauth:readonly"]
    assert [(rd.role_id, rd.division_id) for rd in client.role_divisions] == [
        (role_ids["Super Admin"], home)]
    assert client.role_ids == [role_ids["Super Admin"]]
    assert client.state == "active"
    assert client.date_created.tzinfo is not None
    assert started <= client.date_created <= datetime.now(UTC) + timedelta(seconds=5)
    assert client.created_by.id == admin.id
    assert client.self_uri == f"/api/v2/oauth/clients/{client.id}"


def test_oauth_clients_create_secret_authenticates_the_new_client(
        live_server: str, created: OAuthClient) -> None:
    api = sdk_login(live_server, created.id, created.secret)
    assert known(OAuthApi(api).get_oauth_client(created.id)).name == created.name


def test_oauth_clients_create_defaults_roles_to_the_home_division(
        oauth: OAuthApi, role_ids: dict[str, str], home: str) -> None:
    client = known(oauth.post_oauth_clients(client_request(role_ids=[role_ids["Super Admin"]])))
    assert [(rd.role_id, rd.division_id) for rd in client.role_divisions] == [
        (role_ids["Super Admin"], home)]
    assert client.access_token_validity_seconds == 3600


def test_oauth_client_get_and_listing_never_show_the_secret(
        oauth: OAuthApi, created: OAuthClient) -> None:
    fetched = known(oauth.get_oauth_client(created.id))
    assert fetched.id == created.id
    assert fetched.secret is None
    listing = known(oauth.get_oauth_clients())
    assert created.id in {c.id for c in listing.entities}
    assert all(c.secret is None for c in listing.entities)


def test_oauth_clients_listing_pages(sdk: ApiClient, oauth: OAuthApi, http: TestClient) -> None:
    for number in range(25):  # 25 plus the admin: two pages of the default 25
        bootstrap(http, name=f"service {number:02d}", roles=["OAuth Admin"],
                  scopes=["oauth:readonly"])
    first = known(oauth.get_oauth_clients())
    assert (first.page_number, first.page_size, first.total, first.page_count) == (1, 25, 26, 2)
    assert len(first.entities) == 25
    assert first.previous_uri is None
    second: OAuthClientEntityListing = known(sdk.call_api(
        first.next_uri, "GET", response_type="OAuthClientEntityListing",
        auth_settings=["PureCloud OAuth"]))
    assert (second.page_number, len(second.entities), second.next_uri) == (2, 1, None)
    assert second.previous_uri is not None
    ids = [c.id for c in first.entities + second.entities]
    assert len(set(ids)) == 26


def test_oauth_client_put_updates_the_client(
        oauth: OAuthApi, created: OAuthClient, admin: Registered) -> None:
    updated = known(oauth.put_oauth_client(created.id, client_request(
        name="billing sync v2", description="hourly", access_token_validity_seconds=600,
        scope=["oauth:readonly", "audits:readonly"], role_divisions=created.role_divisions)))
    assert (updated.name, updated.description, updated.access_token_validity_seconds) == (
        "billing sync v2", "hourly", 600)
    assert sorted(updated.scope) == ["audits:readonly", "oauth:readonly"]
    assert updated.secret is None
    assert updated.date_modified >= created.date_created
    assert updated.modified_by.id == admin.id
    fetched = known(oauth.get_oauth_client(created.id))
    assert (fetched.name, fetched.access_token_validity_seconds) == ("billing sync v2", 600)


def test_oauth_client_put_accepts_the_fetched_model_back(
        oauth: OAuthApi, created: OAuthClient) -> None:
    fetched = known(oauth.get_oauth_client(created.id))
    fetched.description = "edited in place"
    updated = known(oauth.put_oauth_client(created.id, fetched))
    assert updated.description == "edited in place"
    assert (updated.name, updated.scope, updated.date_created) == (
        fetched.name, fetched.scope, fetched.date_created)


def test_oauth_client_put_disabled_stops_its_tokens(
        live_server: str, oauth: OAuthApi, created: OAuthClient) -> None:
    api = sdk_login(live_server, created.id, created.secret)
    updated = known(oauth.put_oauth_client(created.id, client_request(
        name=created.name, state="disabled", role_divisions=created.role_divisions)))
    assert updated.state == "disabled"
    assert raised(TokensApi(api).head_tokens_me).status == 401
    assert login_status(live_server, created.id, created.secret) == 401


def test_oauth_client_put_inactive_keeps_date_to_delete(
        oauth: OAuthApi, created: OAuthClient) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    updated = known(oauth.put_oauth_client(created.id, client_request(
        name=created.name, state="inactive", date_to_delete=when,
        role_divisions=created.role_divisions)))
    assert (updated.state, updated.date_to_delete) == ("inactive", when)


def test_oauth_client_delete_then_get_is_404(
        live_server: str, sdk: ApiClient, oauth: OAuthApi, created: OAuthClient) -> None:
    assert oauth.delete_oauth_client(created.id) is None
    exc = raised(oauth.get_oauth_client, created.id)
    assert exc.status == 404
    body = error_of(sdk, exc)
    assert (body.status, body.code) == (404, "not.found")
    assert created.id in body.message
    assert login_status(live_server, created.id, created.secret) == 401


def test_oauth_client_delete_under_approval_policy_returns_without_error_and_client_stays(
        http: TestClient, oauth: OAuthApi, created: OAuthClient) -> None:
    """The SDK's delete_oauth_client reads no body: a 202 with the pending request returns None
    as a 204 does, and the client is still there (README: "Deletion with approval")."""
    set_policy(http, deletion_approval=True)
    assert oauth.delete_oauth_client(created.id) is None
    assert known(oauth.get_oauth_client(created.id)).id == created.id


def test_oauth_client_delete_invalidates_its_tokens_at_once(
        live_server: str, oauth: OAuthApi, created: OAuthClient) -> None:
    api = sdk_login(live_server, created.id, created.secret)
    oauth.delete_oauth_client(created.id)
    assert raised(TokensApi(api).head_tokens_me).status == 401


def test_oauth_client_secret_regenerate_with_sdk_null_body(
        live_server: str, sdk: ApiClient, oauth: OAuthApi, created: OAuthClient) -> None:
    regenerated = known(oauth.post_oauth_client_secret(created.id))
    assert regenerated.id == created.id
    assert regenerated.secret
    assert regenerated.secret != created.secret
    assert login_status(live_server, created.id, regenerated.secret) == 200
    # The SDK sends the body `null`: the default dual-use window keeps the old secret working.
    assert login_status(live_server, created.id, created.secret) == 200
    fetched = known(oauth.get_oauth_client(created.id))
    assert fetched.secret is None
    previous = [s for s in raw_json(sdk)["secrets"] if not s["current"]]
    assert len(previous) == 1
    expires = datetime.fromisoformat(previous[0]["dateExpires"].replace("Z", "+00:00"))
    window = expires - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < window <= timedelta(hours=24)


def test_oauth_client_usage_summary_counts_tokens_and_failures(
        live_server: str, oauth: OAuthApi, created: OAuthClient) -> None:
    for _ in range(2):
        sdk_login(live_server, created.id, created.secret)
    assert login_status(live_server, created.id, "wrong-secret") == 401
    execution = known(oauth.get_oauth_client_usage_summary(created.id, days="7"))
    assert execution.execution_id
    assert execution.results_uri == (
        f"/api/v2/oauth/clients/{created.id}/usage/query/results/{execution.execution_id}")
    result = known(oauth.get_oauth_client_usage_query_result(execution.execution_id, created.id))
    assert result.query_status == "Complete"
    [row] = result.results
    assert (row.client_id, row.client_name) == (created.id, created.name)
    assert (row.status200, row.status400, row.requests) == (2, 1, 3)


def test_oauth_scopes_list_the_catalogue(oauth: OAuthApi) -> None:
    listing = known(oauth.get_oauth_scopes())
    ids = {scope.id for scope in listing.entities}
    assert ids >= BUILTIN_SCOPES
    assert listing.total == len(listing.entities)
    assert all(scope.description for scope in listing.entities)


def test_oauth_scope_get_by_id(oauth: OAuthApi) -> None:
    scope = known(oauth.get_oauth_scope("oauth:readonly"))
    assert scope.id == "oauth:readonly"
    assert scope.description
    assert scope.self_uri


# --------------------------------------------------------------------------- client errors


@pytest.mark.parametrize(("fields", "field_name"), [
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "x" * 129}, "name", id="name-too-long"),
    pytest.param({"access_token_validity_seconds": 299}, "accessTokenValiditySeconds",
                 id="ttl-below-300"),
    pytest.param({"access_token_validity_seconds": 172_801}, "accessTokenValiditySeconds",
                 id="ttl-above-172800"),
    pytest.param({"scope": ["no:such:scope"]}, "scope", id="scope-unknown"),
    pytest.param({"scope": []}, "scope", id="scope-missing"),
    pytest.param({"role_ids": None}, "roleDivisions", id="roles-missing"),
    pytest.param({"authorized_grant_type": "PASSWORD"}, "authorizedGrantType",
                 id="password-grant-refused"),
    pytest.param({"authorized_grant_type": "TOKEN",
                  "registered_redirect_uri": ["https://app.example/cb"]},
                 "authorizedGrantType", id="implicit-after-cutoff"),
])
def test_oauth_clients_create_invalid_is_400_naming_the_field(
        sdk: ApiClient, oauth: OAuthApi, role_ids: dict[str, str],
        fields: dict[str, Any], field_name: str) -> None:
    before = known(oauth.get_oauth_clients()).total
    request = client_request(role_ids=[role_ids["Super Admin"]])
    for name, value in fields.items():
        setattr(request, name, value)
    exc = raised(oauth.post_oauth_clients, request)
    assert exc.status == 400
    body = error_of(sdk, exc)
    assert body.status == 400
    assert body.code
    assert body.message
    assert body.context_id
    assert field_name in {detail.field_name for detail in body.details}
    assert all(detail.error_code for detail in body.details)
    assert known(oauth.get_oauth_clients()).total == before


def test_oauth_clients_create_without_permission_is_403(
        live_server: str, http: TestClient, authz: AuthorizationApi) -> None:
    known(authz.post_authorization_roles(build(
        DomainOrganizationRoleCreate, name="client viewer", permissions=["oauth:client:view"])))
    viewer = bootstrap(http, name="viewer", roles=["client viewer"], scopes=["oauth"])
    as_viewer = sdk_login(live_server, viewer.id, viewer.secret)
    assert known(OAuthApi(as_viewer).get_oauth_clients()).total == 2
    exc = raised(OAuthApi(as_viewer).post_oauth_clients, client_request(role_ids=[]))
    assert exc.status == 403
    body = error_of(as_viewer, exc)
    assert body.status == 403
    assert "oauth:client:add" in body.message


def test_oauth_clients_create_without_scope_is_403(
        live_server: str, created: OAuthClient, role_ids: dict[str, str]) -> None:
    # `created` holds Super Admin (every permission) but only the oauth:readonly scope.
    as_reader = sdk_login(live_server, created.id, created.secret)
    exc = raised(OAuthApi(as_reader).post_oauth_clients,
                 client_request(role_ids=[role_ids["Super Admin"]]))
    assert exc.status == 403
    body = error_of(as_reader, exc)
    assert body.status == 403
    assert "oauth" in body.message
    assert 'error="insufficient_scope"' in exc.headers["WWW-Authenticate"]


def test_oauth_clients_create_assigning_a_role_not_held_is_403(
        live_server: str, http: TestClient, role_ids: dict[str, str]) -> None:
    oauth_admin = bootstrap(http, name="oauth admin", roles=["OAuth Admin"], scopes=["oauth"])
    as_oauth_admin = sdk_login(live_server, oauth_admin.id, oauth_admin.secret)
    exc = raised(OAuthApi(as_oauth_admin).post_oauth_clients,
                 client_request(role_ids=[role_ids["Super Admin"]]))
    assert exc.status == 403
    assert "Super Admin" in error_of(as_oauth_admin, exc).message


def test_sdk_errors_are_raised_at_once_without_retry(
        live_server: str, retries: list[str]) -> None:
    api = ApiClient(host=live_server)
    api.access_token = "not-a-token"
    started = time.monotonic()
    exc = raised(OAuthApi(api).get_oauth_clients)
    assert exc.status == 401
    assert 'error="invalid_token"' in exc.headers["WWW-Authenticate"]
    assert error_of(api, exc).status == 401
    assert time.monotonic() - started < 1
    assert retries == []


# ---------------------------------------------------------------------------- divisions


def test_authorization_divisions_home(authz: AuthorizationApi) -> None:
    division = known(authz.get_authorization_divisions_home())
    assert division.home_division is True
    assert division.id
    assert division.name


def test_authorization_divisions_listing(authz: AuthorizationApi, home: str) -> None:
    known(authz.post_authorization_divisions(build(AuthzDivision, name="Sales")))
    listing = known(authz.get_authorization_divisions(page_size=1))
    assert (listing.page_size, listing.page_number, listing.total, listing.page_count) == (
        1, 1, 2, 2)
    assert len(listing.entities) == 1
    assert listing.next_uri
    everything = known(authz.get_authorization_divisions())
    assert {d.id for d in everything.entities if d.home_division} == {home}
    assert "Sales" in {d.name for d in everything.entities}


def test_authorization_division_create_and_get(authz: AuthorizationApi) -> None:
    division = known(authz.post_authorization_divisions(
        build(AuthzDivision, name="Sales", description="the sales team")))
    assert division.id
    assert (division.name, division.description, division.home_division) == (
        "Sales", "the sales team", False)
    fetched = known(authz.get_authorization_division(division.id))
    assert (fetched.id, fetched.name) == (division.id, "Sales")


def test_authorization_division_put_renames(authz: AuthorizationApi) -> None:
    division = known(authz.post_authorization_divisions(build(AuthzDivision, name="Sales")))
    updated = known(authz.put_authorization_division(
        division.id, build(AuthzDivision, name="Sales EMEA", description="Europe")))
    assert (updated.id, updated.name, updated.description) == (division.id, "Sales EMEA", "Europe")
    assert known(authz.get_authorization_division(division.id)).name == "Sales EMEA"


def test_authorization_division_delete_then_get_is_404(
        sdk: ApiClient, authz: AuthorizationApi) -> None:
    division = known(authz.post_authorization_divisions(build(AuthzDivision, name="Sales")))
    assert authz.delete_authorization_division(division.id) is None
    exc = raised(authz.get_authorization_division, division.id)
    assert (exc.status, error_of(sdk, exc).status) == (404, 404)


def test_authorization_division_create_without_name_is_400(
        sdk: ApiClient, authz: AuthorizationApi) -> None:
    exc = raised(authz.post_authorization_divisions, build(AuthzDivision, description="nameless"))
    assert exc.status == 400
    assert "name" in {d.field_name for d in error_of(sdk, exc).details}


# -------------------------------------------------------------------------------- roles


def test_authorization_roles_list_the_builtins(authz: AuthorizationApi) -> None:
    listing = known(authz.get_authorization_roles())
    by_name = {role.name: role for role in listing.entities}
    assert {"Super Admin", "OAuth Admin"} <= set(by_name)
    assert "oauth:client:*" in by_name["OAuth Admin"].permissions
    assert by_name["Super Admin"].default is True
    assert listing.total == len(listing.entities)
    assert (listing.page_number, listing.page_count) == (1, 1)


def test_authorization_roles_filter_by_name(authz: AuthorizationApi) -> None:
    listing = known(authz.get_authorization_roles(name="OAuth Admin"))
    assert [role.name for role in listing.entities] == ["OAuth Admin"]


def test_authorization_role_create_with_permission_policies(authz: AuthorizationApi) -> None:
    role = known(authz.post_authorization_roles(build(
        DomainOrganizationRoleCreate, name="auditor", description="reads the audit log",
        permission_policies=[build(DomainPermissionPolicy, domain="audits", entity_name="audit",
                                   action_set=["view"])])))
    assert role.id
    assert (role.name, role.description, role.permissions) == (
        "auditor", "reads the audit log", ["audits:audit:view"])
    assert [(p.domain, p.entity_name, p.action_set) for p in role.permission_policies] == [
        ("audits", "audit", ["view"])]
    assert role.default is False
    fetched = known(authz.get_authorization_role(role.id))
    assert (fetched.id, fetched.permissions) == (role.id, ["audits:audit:view"])


def test_authorization_role_put_replaces_permissions(authz: AuthorizationApi) -> None:
    role = known(authz.post_authorization_roles(build(
        DomainOrganizationRoleCreate, name="auditor", permissions=["audits:audit:view"])))
    updated = known(authz.put_authorization_role(role.id, build(
        DomainOrganizationRoleUpdate, name="auditor plus",
        permissions=["audits:audit:view", "oauth:client:view"])))
    assert (updated.id, updated.name) == (role.id, "auditor plus")
    assert sorted(updated.permissions) == ["audits:audit:view", "oauth:client:view"]
    assert sorted(known(authz.get_authorization_role(role.id)).permissions) == [
        "audits:audit:view", "oauth:client:view"]


def test_authorization_role_delete_then_get_is_404(
        sdk: ApiClient, authz: AuthorizationApi) -> None:
    role = known(authz.post_authorization_roles(build(
        DomainOrganizationRoleCreate, name="auditor", permissions=["audits:audit:view"])))
    assert authz.delete_authorization_role(role.id) is None
    exc = raised(authz.get_authorization_role, role.id)
    assert (exc.status, error_of(sdk, exc).status) == (404, 404)


def test_authorization_role_create_unknown_permission_is_400(
        sdk: ApiClient, authz: AuthorizationApi) -> None:
    exc = raised(authz.post_authorization_roles, build(
        DomainOrganizationRoleCreate, name="wizard", permissions=["magic:wand:wave"]))
    assert exc.status == 400
    assert any(d.field_name.startswith("permission") for d in error_of(sdk, exc).details)


def test_authorization_permissions_catalogue(authz: AuthorizationApi) -> None:
    listing = known(authz.get_authorization_permissions())
    by_domain = {collection.domain: collection for collection in listing.entities}
    assert {"oauth", "authorization", "audits"} <= set(by_domain)
    labels = {p.label for p in by_domain["oauth"].permission_map["client"]}
    assert {"oauth:client:add", "oauth:client:view", "oauth:client:edit",
            "oauth:client:delete"} <= labels
    assert listing.total == len(listing.entities)


# -------------------------------------------------------------------------------- audits


def test_audits_query_realtime_finds_a_clients_history(
        sdk: ApiClient, oauth: OAuthApi, created: OAuthClient, admin: Registered) -> None:
    oauth.put_oauth_client(created.id, client_request(
        name="renamed", role_divisions=created.role_divisions))
    now = datetime.now(UTC)
    interval = f"{(now - timedelta(hours=1)).isoformat()}/{(now + timedelta(hours=1)).isoformat()}"
    result = known(AuditApi(sdk).post_audits_query_realtime(build(
        AuditRealtimeQueryRequest, interval=interval, service_name="OAuth",
        filters=[build(AuditQueryFilter, pcProperty="EntityId", value=created.id)],
        sort=[build(AuditQuerySort, name="Timestamp", sort_order="ascending")])))
    assert [e.action for e in result.entities] == ["create", "update"]
    assert result.total == 2
    assert all(e.entity.id == created.id and e.status == "SUCCESS" for e in result.entities)
    assert all(e.client.id == admin.id for e in result.entities)
    assert all(e.event_date.tzinfo is not None for e in result.entities)
    [change] = [c for c in result.entities[1].property_changes if c.pcProperty == "name"]
    assert (change.old_values, change.new_values) == (["billing sync"], ["renamed"])


def test_audits_query_realtime_never_shows_a_secret(
        sdk: ApiClient, oauth: OAuthApi, created: OAuthClient) -> None:
    regenerated = oauth.post_oauth_client_secret(created.id)
    now = datetime.now(UTC)
    interval = f"{(now - timedelta(hours=1)).isoformat()}/{(now + timedelta(hours=1)).isoformat()}"
    result = known(AuditApi(sdk).post_audits_query_realtime(
        build(AuditRealtimeQueryRequest, interval=interval)))
    assert {"create", "secret.regenerate"} <= {e.action for e in result.entities}
    assert created.secret not in sdk.last_response.data
    assert regenerated.secret not in sdk.last_response.data


# -------------------------------------------------------------------------------- tokens


def test_tokens_me_describes_the_calling_token(sdk: ApiClient, admin: Registered) -> None:
    info = known(TokensApi(sdk).get_tokens_me())
    assert set(info.authorized_scope) >= BUILTIN_SCOPES
    assert (info.o_auth_client.id, info.o_auth_client.name) == (admin.id, "test admin")
    assert info.organization.id
    assert info.home_organization.id == info.organization.id


def test_tokens_me_head_is_ok_for_an_active_token(sdk: ApiClient) -> None:
    assert TokensApi(sdk).head_tokens_me() is None


def test_tokens_me_delete_revokes_the_token(sdk: ApiClient) -> None:
    tokens = TokensApi(sdk)
    assert tokens.delete_tokens_me() is None
    assert raised(tokens.head_tokens_me).status == 401
    exc = raised(OAuthApi(sdk).get_oauth_clients)
    assert exc.status == 401
    assert error_of(sdk, exc).status == 401
