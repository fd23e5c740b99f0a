"""The tokenEndpointAuthMethod extension field of an OAuthClient (RFC 7591 §2 names)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.clients import CLIENTS, client_body, code_body, create_client, update_client
from tests.support.management import audit_events


@pytest.fixture
def role(super_admin: str) -> str:
    return super_admin  # a role the caller holds, so it may assign it


def _refused(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.text
    return [(d["fieldName"], d["errorCode"]) for d in response.json()["details"]]


def test_client_auth_method_defaults_by_client_type(http: TestClient,
                                                    headers: dict[str, str], role: str) -> None:
    service = http.post(CLIENTS, headers=headers, json=client_body(role))
    public = http.post(CLIENTS, headers=headers, json=code_body(clientType="public"))
    assert service.json()["tokenEndpointAuthMethod"] == "client_secret_basic"
    assert public.json()["tokenEndpointAuthMethod"] == "none"


def test_client_auth_method_is_registered_and_shown(http: TestClient, headers: dict[str, str],
                                                    role: str) -> None:
    created = create_client(http, headers, client_body(
        role, tokenEndpointAuthMethod="client_secret_post"))
    shown = http.get(f"{CLIENTS}/{created.id}", headers=headers).json()
    assert shown["tokenEndpointAuthMethod"] == "client_secret_post"


@pytest.mark.parametrize(("body", "code"), [
    pytest.param({"tokenEndpointAuthMethod": "none"}, "confidential.method",
                 id="confidential-none"),
    pytest.param({"clientType": "public", "tokenEndpointAuthMethod": "client_secret_basic"},
                 "public.method", id="public-basic"),
    pytest.param({"clientType": "public", "tokenEndpointAuthMethod": "client_secret_post"},
                 "public.method", id="public-post"),
])
def test_client_auth_method_must_fit_the_client_type(http: TestClient, headers: dict[str, str],
                                                     body: dict[str, str], code: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=code_body(**body))
    assert _refused(response) == [("tokenEndpointAuthMethod", code)]


@pytest.mark.parametrize("value", ["private_key_jwt", "client_secret_jwt", "BASIC", ""])
def test_client_auth_method_unknown_value_is_refused(http: TestClient, headers: dict[str, str],
                                                     role: str, value: str) -> None:
    response = http.post(CLIENTS, headers=headers, json=client_body(
        role, tokenEndpointAuthMethod=value))
    assert [field for field, _ in _refused(response)] == ["tokenEndpointAuthMethod"]


def test_client_auth_method_changes_by_put_and_is_audited(
        http: TestClient, headers: dict[str, str], role: str) -> None:
    created = create_client(http, headers, client_body(role))
    response = update_client(http, headers, created.id,
                             tokenEndpointAuthMethod="client_secret_post")
    assert response.status_code == 200, response.text
    assert response.json()["tokenEndpointAuthMethod"] == "client_secret_post"
    [change] = audit_events(http, headers, entity_id=created.id, action="update")
    assert "tokenEndpointAuthMethod" in str(change)
    # The new method works at once, the old one no longer does.
    form = {"grant_type": "client_credentials"}
    assert http.post("/oauth/token", data=form, auth=created.basic_auth).status_code == 401
    assert http.post("/oauth/token", data=form | {
        "client_id": created.id, "client_secret": created.secret}).status_code == 200


@pytest.mark.parametrize("client_type", ["confidential", "public"])
def test_client_auth_method_is_kept_by_a_put_that_does_not_name_it(
        http: TestClient, headers: dict[str, str], client_type: str) -> None:
    # A tool that does not know the extension (the Genesys SDK) PUTs the client back without it.
    method = "client_secret_post" if client_type == "confidential" else "none"
    created = http.post(CLIENTS, headers=headers, json=code_body(
        clientType=client_type, tokenEndpointAuthMethod=method)).json()
    body = {k: v for k, v in created.items() if k not in ("tokenEndpointAuthMethod", "clientType")}
    response = http.put(f"{CLIENTS}/{created['id']}", headers=headers,
                        json=body | {"description": "renamed"})
    assert response.status_code == 200, response.text
    assert response.json()["tokenEndpointAuthMethod"] == method


def test_client_auth_method_none_cannot_be_put_on_a_confidential_client(
        http: TestClient, headers: dict[str, str], role: str) -> None:
    created = create_client(http, headers, client_body(role))
    response = update_client(http, headers, created.id, tokenEndpointAuthMethod="none")
    assert _refused(response) == [("tokenEndpointAuthMethod", "confidential.method")]
    shown = http.get(f"{CLIENTS}/{created.id}", headers=headers).json()
    assert shown["tokenEndpointAuthMethod"] == "client_secret_basic"
