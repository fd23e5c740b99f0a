"""Every response names its request (``ININ-Correlation-Id``), and the audit entries it causes
carry that id and the divisions of the actor's roles.

A caller's own id is kept when it is a short token of ``A-Z a-z 0-9 . _ -``; anything else
(too long, line breaks, spaces, quotes, non-ASCII) is replaced, since the id is written into
log lines and audit entries.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.protocol.client_auth import ClientAuthenticator
from keystead.request_context import accepted_request_id
from keystead.store.audit import SqlAuditLog
from keystead.web.app import create_app
from keystead.web.fast_path import ProtocolFastPath
from keystead.web.metrics import Metrics
from tests.support.clients import CLIENTS, Registered, bootstrap, client_body
from tests.support.management import ALL_TIME, home_division_id, role_id
from tests.support.tokens import bearer, token

HEADER = "ININ-Correlation-Id"
GENERATED = re.compile(r"[0-9a-f]{16}")
AUDITS = "/api/v2/audits/query/realtime"
CC = {"grant_type": "client_credentials"}


def _entries(http: TestClient, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    response = http.post(AUDITS, headers=headers, json={
        "interval": ALL_TIME, "pageSize": 500,
        "filters": [{"property": k, "value": v} for k, v in filters.items()]})
    assert response.status_code == 200, response.text
    return list(response.json()["entities"])


@pytest.mark.parametrize(("method", "path", "status"), [
    pytest.param("GET", "/api/v2/oauth/clients", 200, id="api"),
    pytest.param("GET", "/api/v2/oauth/clients/no-such-client", 404, id="api-404"),
    pytest.param("GET", "/api/v2/nowhere", 404, id="unrouted-404"),
    pytest.param("GET", "/login", 200, id="console"),
    pytest.param("GET", "/.well-known/oauth-authorization-server", 200, id="metadata"),
    pytest.param("GET", "/oauth/token", 405, id="fast-path-405"),
])
def test_request_id_is_on_every_response(http: TestClient, headers: dict[str, str],
                                         method: str, path: str, status: int) -> None:
    response = http.request(method, path, headers=headers)
    assert response.status_code == status
    assert GENERATED.fullmatch(response.headers[HEADER])


def test_request_id_is_on_fast_path_answers(http: TestClient, admin: Registered) -> None:
    issued = http.post("/oauth/token", data=CC, auth=admin.basic_auth)
    refused = http.post("/oauth/token", data=CC, auth=(admin.id, "wrong"))
    malformed = http.post("/oauth/token", content=b"x", headers={"content-type": "text/plain"})
    introspected = http.post("/oauth/introspect", data={"token": "nope"}, auth=admin.basic_auth)
    answers = [issued, refused, malformed, introspected]
    assert [r.status_code for r in answers] == [200, 401, 400, 200]
    ids = [r.headers[HEADER] for r in answers]
    assert all(GENERATED.fullmatch(i) for i in ids)
    assert len(set(ids)) == 4  # one per request


def test_request_id_is_the_error_bodys_context_id(http: TestClient) -> None:
    response = http.get(CLIENTS)  # no token: 401 in the Genesys ErrorBody shape
    assert response.status_code == 401
    assert response.json()["contextId"] == response.headers[HEADER]


@pytest.fixture
def lenient(settings: Settings) -> Iterator[TestClient]:
    """The app with server errors answered as 500 (as a real server does), not raised."""
    app = create_app(settings, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def test_request_id_is_on_an_unexpected_errors_answer(lenient: TestClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    admin = bootstrap(lenient, name="ops", roles=["Super Admin"])
    headers = bearer(token(lenient, admin))

    async def fail(_self: object, *_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(SqlAuditLog, "append", fail)
    monkeypatch.setattr(ClientAuthenticator, "identify", fail)
    api = lenient.post("/api/v2/authorization/roles", json={"name": "Auditor"},
                       headers=headers | {HEADER: "ticket-42"})
    protocol = lenient.post("/oauth/token", data=CC, auth=admin.basic_auth,
                            headers={HEADER: "ticket-43"})
    assert (api.status_code, api.headers[HEADER]) == (500, "ticket-42")
    assert api.json()["contextId"] == "ticket-42"
    assert (protocol.status_code, protocol.headers[HEADER]) == (500, "ticket-43")


@pytest.mark.parametrize("good", [
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "a", "trace.id_01-x", "x" * 64,
])
def test_request_id_of_the_caller_is_echoed(http: TestClient, admin: Registered,
                                            good: str) -> None:
    response = http.post("/oauth/token", data=CC, auth=admin.basic_auth, headers={HEADER: good})
    assert response.status_code == 200
    assert response.headers[HEADER] == good
    assert http.get("/login", headers={HEADER: good}).headers[HEADER] == good


@pytest.mark.parametrize("bad", [
    pytest.param("x" * 65, id="too-long"),
    pytest.param("two words", id="space"),
    pytest.param('"quoted"', id="quote"),
    pytest.param("id;drop", id="semicolon"),
    pytest.param("{\"level\":\"ERROR\"}", id="json"),
])
def test_request_id_malformed_is_replaced(http: TestClient, admin: Registered, bad: str) -> None:
    for response in (http.post("/oauth/token", data=CC, auth=admin.basic_auth,
                               headers={HEADER: bad}),
                     http.get("/login", headers={HEADER: bad})):
        assert response.headers[HEADER] != bad
        assert GENERATED.fullmatch(response.headers[HEADER])


@pytest.mark.parametrize("raw", [
    pytest.param(b"abc\r\nX-Injected: 1", id="crlf"),
    pytest.param(b"abc\ndef", id="lf"),
    pytest.param("caf\u00e9".encode(), id="non-ascii-utf8"),
    pytest.param(b"caf\xe9", id="non-ascii-latin1"),
    pytest.param(b"", id="empty"),
    pytest.param(b"a\x00b", id="nul"),
])
def test_request_id_with_control_or_non_ascii_bytes_is_replaced(raw: bytes) -> None:
    # httpx refuses to send these, so the ASGI layer is driven with the raw header bytes.
    sent: list[MutableMapping[str, Any]] = []

    async def empty(_request: Request) -> Response:
        return Response(status_code=204)

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    layer = ProtocolFastPath(Starlette(routes=[Route("/x", empty)]), Metrics())
    scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"",
             "headers": [(b"inin-correlation-id", raw)]}
    asyncio.run(layer(scope, receive, send))
    answered = dict(sent[0]["headers"])[b"inin-correlation-id"]
    assert answered != raw
    assert GENERATED.fullmatch(answered.decode("ascii"))
    assert accepted_request_id(raw) != raw.decode("latin-1")


def test_request_id_of_the_caller_lands_in_the_audit_entry(http: TestClient,
                                                           admin: Registered) -> None:
    headers = bearer(token(http, admin))
    super_admin = role_id(http, headers, "Super Admin")
    created = http.post(CLIENTS, json=client_body(super_admin),
                        headers=headers | {HEADER: "change-ticket-7"})
    assert created.status_code == 200, created.text
    assert created.headers[HEADER] == "change-ticket-7"
    (entry,) = _entries(http, headers, requestId="change-ticket-7")
    assert (entry["action"], entry["entity"]["id"]) == ("create", created.json()["id"])
    assert entry["requestId"] == "change-ticket-7"
    assert entry["context"]["requestId"] == "change-ticket-7"


def test_audit_entry_records_the_actor_divisions(http: TestClient, admin: Registered) -> None:
    headers = bearer(token(http, admin))
    home = home_division_id(http, headers)
    created = http.post(CLIENTS, json=client_body(role_id(http, headers, "Super Admin")),
                        headers=headers)
    assert created.status_code == 200, created.text
    (entry,) = _entries(http, headers, requestId=created.headers[HEADER])
    assert [d["id"] for d in entry["actorDivisions"]] == [home]
    assert entry["actorDivisions"][0]["selfUri"] == f"/api/v2/authorization/divisions/{home}"


def test_audit_entry_of_a_failed_client_authentication_carries_the_request_id(
        http: TestClient, admin: Registered) -> None:
    # Appended by the hot store (SQLite's own connection, or the PostgreSQL hot path).
    refused = http.post("/oauth/token", data=CC, auth=(admin.id, "wrong-" + admin.secret),
                        headers={HEADER: "probe-1"})
    assert refused.status_code == 401
    headers = bearer(token(http, admin))
    (entry,) = _entries(http, headers, requestId="probe-1")
    assert (entry["action"], entry["status"]) == ("authenticate", "FAILURE")
    assert entry["client"] == {"id": admin.id}
    assert [d["id"] for d in entry["actorDivisions"]] == [home_division_id(http, headers)]


def test_audit_entry_of_a_refused_api_call_carries_the_request_id(http: TestClient,
                                                                  admin: Registered) -> None:
    refused = http.get(CLIENTS, headers=bearer("not-a-token") | {HEADER: "probe-2"})
    assert refused.status_code == 401
    (entry,) = _entries(http, bearer(token(http, admin)), requestId="probe-2")
    assert (entry["action"], entry["status"]) == ("access.denied", "FAILURE")


def test_audit_entry_outside_a_request_has_no_request_id(http: TestClient,
                                                         admin: Registered) -> None:
    # The admin was bootstrapped by the operator (as the CLI does): no request, no id.
    entries = _entries(http, bearer(token(http, admin)), entityId=admin.id)
    bootstrap_entry = entries[-1]
    assert bootstrap_entry["requestId"] == ""
    assert "requestId" not in bootstrap_entry["context"]
