"""The OpenAPI document: valid 3.1, served, and one entry for every /api/v2 route; unknown
/api/v2 paths answer the Genesys error body."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from keystead.web.api.docs import PATH as DOCS
from keystead.web.openapi.document import openapi_document
from keystead.web.openapi.operations import OPERATIONS

_CONVERTER = re.compile(r"{(\w+):\w+}")


def _api_routes(http: TestClient) -> set[tuple[str, str]]:
    found = set()
    for route in http.app.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path.startswith("/api/v2/") and route.path != DOCS:
            for method in route.methods or ():
                if method != "HEAD":  # Starlette adds HEAD to every GET
                    found.add((method, _CONVERTER.sub(r"{\1}", route.path)))
    return found


def test_openapi_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    validate(document)  # raises on any violation of the 3.1 schema
    assert document["openapi"] == "3.1.0"


def test_openapi_every_api_route_has_exactly_one_operation(http: TestClient) -> None:
    declared = [(op.method, op.path) for op in OPERATIONS]
    assert len(declared) == len(set(declared))
    routes = _api_routes(http)
    # Paths may name their parameters differently from the route; compare shapes.
    shape = re.compile(r"{\w+}")
    assert {(m, shape.sub("{}", p)) for m, p in routes} == {
        (m, shape.sub("{}", p)) for m, p in declared}


def test_openapi_operations_name_scope_and_permission(http: TestClient) -> None:
    document = http.get(DOCS).json()
    operation = document["paths"]["/api/v2/oauth/clients/{id}"]["delete"]
    assert operation["x-keystead-scope"] == "oauth"
    assert operation["x-keystead-permission"] == "oauth:client:delete"
    assert operation["security"] == [{"oauth2": ["oauth"]}]
    create = document["paths"]["/api/v2/oauth/clients"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ClientRequest"}
    # The request model's own rules, as pydantic validates them.
    fields = document["components"]["schemas"]["ClientRequest"]["properties"]
    assert "accessTokenValiditySeconds" in fields


def test_openapi_document_needs_no_token(http: TestClient) -> None:
    response = http.get(DOCS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    pytest.param("GET", "/api/v2/nothing/here", 404, "not.found", id="unknown-path"),
    pytest.param("GET", "/api/v2", 404, "not.found", id="api-root"),
    pytest.param("POST", "/api/v2/oauth/clients/x/nothing", 404, "not.found", id="deeper"),
    pytest.param("PATCH", "/api/v2/oauth/clients", 405, "method.not.allowed", id="method"),
])
def test_unknown_api_path_answers_the_genesys_error_body(http: TestClient, method: str,
                                                         path: str, status: int,
                                                         code: str) -> None:
    response = http.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert {"message", "contextId", "details", "errors"} <= set(body)


def test_unknown_path_outside_the_api_stays_plain_text(http: TestClient) -> None:
    response = http.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
