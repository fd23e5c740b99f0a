"""One route a path (web/routing.py): a 405 names every method the path takes (RFC 9110
§15.5.6), in the API and in the console alike; HEAD is answered as GET."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from keystead.web.routing import route_at


def _paths(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[str]:
    for route in routes:
        if isinstance(route, Route):
            yield prefix + route.path
        elif isinstance(route, Mount):
            yield from _paths(route.routes, prefix + route.path)


def test_no_two_routes_of_the_app_share_a_path(http: TestClient) -> None:
    # Two routes on one path would let a 405 name only the first one's methods.
    paths = Counter(_paths(http.app.app.routes))  # type: ignore[attr-defined]
    assert len(paths) > 150  # the whole app was walked: API, console, protocol
    assert [path for path, routes in paths.items() if routes > 1] == []


@pytest.mark.parametrize(("method", "path", "allowed"), [
    pytest.param("PATCH", "/api/v2/oauth/clients", {"GET", "HEAD", "POST"}, id="collection"),
    pytest.param("POST", "/api/v2/oauth/clients/any-id", {"GET", "HEAD", "PUT", "DELETE"},
                 id="item"),
    pytest.param("GET", "/api/v2/oauth/clients/any-id/secret", {"POST"}, id="action"),
    pytest.param("PUT", "/api/v2/users/any-id", {"GET", "HEAD", "PATCH", "DELETE"}, id="patch"),
    pytest.param("PUT", "/login", {"GET", "HEAD", "POST"}, id="console-sign-in"),
    pytest.param("DELETE", "/admin/integrations/oauth/new", {"GET", "HEAD", "POST"},
                 id="console-form"),
    pytest.param("GET", "/logout", {"POST"}, id="console-action"),
    pytest.param("PUT", "/oauth/authorize", {"GET", "HEAD", "POST"}, id="authorization-endpoint"),
])
def test_method_not_allowed_names_every_method_the_path_takes(http: TestClient, method: str,
                                                              path: str,
                                                              allowed: set[str]) -> None:
    # RFC 9110 §15.5.6: a 405 MUST carry Allow with the resource's methods, all of them.
    response = http.request(method, path)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_head_is_answered_as_get(http: TestClient, headers: dict[str, str]) -> None:
    got = http.get("/api/v2/oauth/clients", headers=headers)
    head = http.head("/api/v2/oauth/clients", headers=headers)
    assert (head.status_code, head.headers["content-type"]) == (200, got.headers["content-type"])
    assert head.content == b""


def test_a_route_needs_a_handler() -> None:
    with pytest.raises(TypeError, match="names no handler"):
        route_at("/nothing")
