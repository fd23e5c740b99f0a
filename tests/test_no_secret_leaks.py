"""No secret, token or digest ever shows up where it must not (DESIGN.md, issue 2 §8).

A realistic session runs against the app — clients created, secrets regenerated, tokens issued,
introspected and revoked, wrong secrets, swapped credentials, bad requests and a failing
database write — while every log record (all loggers, DEBUG), every HTTP response and the whole
database are captured. Then every secret and token value made in the session, and every keyed
digest of one, is searched for in all of it.

Logging runs at DEBUG from the root down, as an operator's ``level=DEBUG`` does; the database
drivers' own statement tracers stay at the level Keystead gives them (their job is to print
parameters), which the last test pins.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain import client_management
from keystead.domain.audit import AuditEvent
from keystead.domain.secrets import new_secret
from keystead.store.audit import SqlAuditLog
from keystead.store.database import create_engine, sqlite_path
from keystead.store.tables import audit_events, metadata
from keystead.web.app import create_app
from keystead.web.runtime import Runtime
from tests.support.apps import flush_failures, run
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.management import role_id
from tests.support.tokens import bearer

TOKEN_ENDPOINT = "/oauth/token"
DIGEST_COLUMNS = {("client_secrets", "digest"), ("revoked_tokens", "digest")}


@dataclass
class Captured:
    responses: list[httpx.Response] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


def _hands_out_a_value(response: httpx.Response) -> bool:
    """Client creation, secret regeneration and the token endpoint: each shows one value."""
    path = response.request.url.path
    if response.request.method != "POST" or response.status_code != 200:
        return False
    return path in (TOKEN_ENDPOINT, CLIENTS) or path.endswith("/secret")


def _shown(response: httpx.Response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.request.method} {response.request.url}\n{headers}\n{response.text}"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Captured:
    """Every secret the product generates (spied where it is made) and every response."""
    record = Captured()
    def spy() -> str:
        value = new_secret()
        record.secrets.append(value)
        return value

    monkeypatch.setattr(client_management, "new_secret", spy)
    return record


@pytest.fixture
def session(settings: Settings, captured: Captured,
            caplog: pytest.LogCaptureFixture) -> Iterator[TestClient]:
    caplog.set_level(logging.DEBUG)
    # KEYSTEAD_LOG_LEVEL=DEBUG: create_app sets the keystead loggers' level from it.
    app = create_app(settings.model_copy(update={"log_level": "DEBUG"}),
                     housekeeping_interval=False)

    def keep(response: httpx.Response) -> None:
        response.read()
        captured.responses.append(response)
        if _hands_out_a_value(response) and "access_token" in response.text:
            captured.tokens.append(response.json()["access_token"])

    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as http:
        http.event_hooks["response"].append(keep)
        yield http


def _digests(http: TestClient, captured: Captured) -> list[str]:
    runtime: Runtime = http.app.state.runtime  # type: ignore[attr-defined]
    found = [runtime.digester.secret(s) for s in captured.secrets]
    for value in captured.tokens:
        # The digest the store keeps: of the opaque value, or of the JWT's jti, under the ring
        # key the token names.
        claims = runtime.tokens.claims_of(value)
        assert claims is not None
        found.append(claims.digest)
    return found


def _tables(http: TestClient, *, without: set[tuple[str, str]]) -> str:
    async def work(runtime: Runtime) -> str:
        lines = []
        async with runtime.transaction() as conn:
            for table in metadata.sorted_tables:
                columns = [c for c in table.columns if (table.name, c.name) not in without]
                for row in await conn.execute(select(*columns)):
                    lines.append(f"{table.name}: {tuple(row)!r}")
        return "\n".join(lines)

    return run(http, work)


def _audit_rows(http: TestClient) -> str:
    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            rows = await conn.execute(select(audit_events))
            return "\n".join(json.dumps(dict(r._mapping), default=str) for r in rows)

    return run(http, work)


def _refuse_secret_writes(http: TestClient, store: str) -> Callable[[], None]:
    """Make the database refuse new client secrets (a failing write); return the undo."""
    statements = {
        "sqlite": ["CREATE TRIGGER refuse_secrets BEFORE INSERT ON client_secrets "
                   "BEGIN SELECT RAISE(ABORT, 'secret writes refused'); END"],
        "postgres": [
            "CREATE FUNCTION refuse_secrets() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'secret writes refused'; END $$",
            "CREATE TRIGGER refuse_secrets BEFORE INSERT ON client_secrets "
            "FOR EACH ROW EXECUTE FUNCTION refuse_secrets()"],
    }[store]
    undo = {"sqlite": ["DROP TRIGGER refuse_secrets"],
            "postgres": ["DROP TRIGGER refuse_secrets ON client_secrets",
                         "DROP FUNCTION refuse_secrets()"]}[store]

    def execute(sql: list[str]) -> None:
        async def work(runtime: Runtime) -> None:
            async with runtime.transaction() as conn:
                for statement in sql:
                    await conn.execute(text(statement))

        run(http, work)

    execute(statements)
    return lambda: execute(undo)


def _realistic_session(http: TestClient, store: str) -> None:
    admin = bootstrap(http, name="ops", roles=["Super Admin"])
    grant = {"grant_type": "client_credentials"}

    def get_token(client: Registered, **form: str) -> str:
        response = http.post(TOKEN_ENDPOINT, data=grant | form, auth=client.basic_auth)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    headers = bearer(get_token(admin))
    super_admin = role_id(http, headers, "Super Admin")

    def create(**fields: Any) -> Registered:
        body = {"name": "service", "authorizedGrantType": "CLIENT-CREDENTIALS",
                "scope": ["oauth:readonly", "oauth"], "roleIds": [super_admin]} | fields
        response = http.post(CLIENTS, json=body, headers=headers)
        assert response.status_code == 200, response.text
        return Registered(response.json()["id"], response.json()["secret"])

    opaque = create(name="billing")
    poster = create(name="form poster", tokenEndpointAuthMethod="client_secret_post")
    signed = create(name="reports", tokenFormat="jwt")
    web = create(name="web app", authorizedGrantType="CODE", roleIds=[],
                 registeredRedirectUri=["https://app.example.com/cb"])

    # Everyday use: tokens by Basic and by form, listings, reads, introspection.
    old_token = get_token(opaque)
    form_token = http.post(TOKEN_ENDPOINT, data=grant | {
        "client_id": poster.id, "client_secret": poster.secret}).json()["access_token"]
    jwt_token = get_token(signed, scope="oauth:readonly")
    for path in (CLIENTS, f"{CLIENTS}/{opaque.id}", f"{CLIENTS}/{web.id}",
                 "/api/v2/oauth/scopes", "/api/v2/tokens/me"):
        assert http.get(path, headers=headers).status_code == 200
    assert http.get(CLIENTS, headers=bearer(jwt_token)).status_code == 200
    for value in (old_token, jwt_token, form_token, "garbage"):
        assert http.post("/oauth/introspect", data={"token": value},
                         auth=admin.basic_auth).status_code == 200

    # Rotation with a dual-use window, then early expiry of the previous secret.
    rotated = http.post(f"{CLIENTS}/{opaque.id}/secret", json={"dualUseSeconds": 600},
                        headers=headers)
    assert rotated.status_code == 200, rotated.text
    fresh = Registered(opaque.id, rotated.json()["secret"])
    get_token(opaque)
    new_token = get_token(fresh)
    assert http.post(f"{CLIENTS}/{opaque.id}/secret/expire-previous",
                     headers=headers).status_code == 200
    assert http.post(f"{CLIENTS}/{web.id}/secret", json=None, headers=headers).status_code == 200

    # Mistakes integration developers make.
    for auth in ((opaque.id, opaque.secret), (opaque.id, fresh.secret + "x"),
                 (fresh.secret, opaque.id), (fresh.secret, fresh.secret),
                 ("no-such-client", fresh.secret), (web.id, web.secret)):
        assert http.post(TOKEN_ENDPOINT, data=grant, auth=auth).status_code in (400, 401)
    assert http.post(TOKEN_ENDPOINT, data=grant | {
        "client_id": signed.id, "client_secret": signed.secret + "!"}).status_code == 401
    assert http.post(TOKEN_ENDPOINT, data=grant | {"client_secret": fresh.secret},
                     auth=fresh.basic_auth).status_code == 400
    assert http.post(TOKEN_ENDPOINT, data=grant | {"scope": "users"},
                     auth=fresh.basic_auth).status_code == 400
    assert http.post("/oauth/introspect", data={"token": new_token},
                     auth=(opaque.id, fresh.secret[:-1])).status_code == 401
    for credential in (fresh.secret, new_token + "x", new_token[:-2]):
        assert http.get(CLIENTS, headers=bearer(credential)).status_code == 401
    assert http.get(CLIENTS, headers={"Authorization": f"Basic {fresh.secret}"}
                    ).status_code == 401
    for bad_body in ({"name": fresh.secret * 4}, {"accessTokenValiditySeconds": fresh.secret},
                     {"name": "x", "secret": fresh.secret}, {"name": "x", "state": fresh.secret}):
        assert http.put(f"{CLIENTS}/{opaque.id}", json=bad_body,
                        headers=headers).status_code == 400
    assert http.post(f"{CLIENTS}/{opaque.id}/secret", json={"dualUseSeconds": -1},
                     headers=headers).status_code == 400

    # Revocation, deactivation and deletion, and tokens used afterwards.
    assert http.post("/oauth/revoke", data={"token": new_token},
                     auth=fresh.basic_auth).status_code == 200
    assert http.get(CLIENTS, headers=bearer(new_token)).status_code == 401
    assert http.post("/oauth/introspect", data={"token": new_token},
                     auth=admin.basic_auth).json() == {"active": False}
    current = http.get(f"{CLIENTS}/{signed.id}", headers=headers).json()
    assert http.put(f"{CLIENTS}/{signed.id}", json=current | {"state": "disabled"},
                    headers=headers).status_code == 200
    assert http.get(CLIENTS, headers=bearer(jwt_token)).status_code == 401
    assert http.delete(f"{CLIENTS}/{opaque.id}", headers=headers).status_code == 204
    assert http.delete(f"{CLIENTS}/{poster.id}", headers=headers).status_code == 204
    assert http.get(CLIENTS, headers=bearer(form_token)).status_code == 401
    assert http.post(TOKEN_ENDPOINT, data=grant, auth=fresh.basic_auth).status_code == 401

    # A write the database refuses: the error is logged, the response says nothing.
    undo = _refuse_secret_writes(http, store)
    try:
        failed = http.post(f"{CLIENTS}/{web.id}/secret", json=None, headers=headers)
        refused_create = http.post(CLIENTS, headers=headers, json={
            "name": "doomed", "authorizedGrantType": "CLIENT-CREDENTIALS",
            "scope": ["oauth"], "roleIds": [super_admin]})
    finally:
        undo()
    assert (failed.status_code, refused_create.status_code) == (500, 500)

    # The admin's own token, revoked by itself.
    assert http.delete("/api/v2/tokens/me", headers=headers).status_code == 204
    assert http.get(CLIENTS, headers=headers).status_code == 401


def _leaks(haystack: str, needles: list[str]) -> list[str]:
    return [needle for needle in needles if needle in haystack]


def test_no_secret_leaks_in_a_realistic_session(session: TestClient, captured: Captured,
                                                caplog: pytest.LogCaptureFixture,
                                                settings: Settings, store: str) -> None:
    _realistic_session(session, store)
    flush_failures(session)  # the failed authentications aggregated in memory, written too
    secrets, tokens = captured.secrets, captured.tokens
    digests = _digests(session, captured)
    # Every secret made was spied on, including the two whose writes the database refused.
    assert len(secrets) == 1 + 4 + 2 + 2
    assert len(tokens) >= 6
    values = secrets + tokens

    logs = caplog.text
    assert "secret writes refused" in logs  # the failure was logged, with its traceback
    assert _leaks(logs, values + digests) == []

    for response in captured.responses:
        shown = _shown(response)
        if _hands_out_a_value(response):
            own = {response.json().get("secret"), response.json().get("access_token")}
            assert _leaks(shown, [v for v in values if v not in own] + digests) == [], shown
        else:
            assert _leaks(shown, values + digests) == [], shown

    assert _leaks(_audit_rows(session), values + digests) == []
    assert _leaks(_tables(session, without=set()), values) == []
    assert _leaks(_tables(session, without=DIGEST_COLUMNS), digests) == []

    path = sqlite_path(settings.resolved_database_url)
    if path is not None:
        on_disk = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
        assert [v for v in values if v.encode() in on_disk] == []


def test_no_secret_leaks_the_check_would_see_a_leak(session: TestClient, captured: Captured,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    # The searches above must be able to fail: a value planted in each place is found.
    admin = bootstrap(session, name="ops", roles=["Super Admin"])
    digest = _digests(session, captured)[0]
    logging.getLogger("keystead.test").debug("planted %s", admin.secret)
    assert _leaks(caplog.text, [admin.secret]) == [admin.secret]
    response = httpx.Response(200, text=f"planted {digest}",
                              request=httpx.Request("GET", "http://testserver/x"))
    assert _leaks(_shown(response), [digest]) == [digest]
    assert _leaks(_tables(session, without=set()), [digest]) == [digest]
    assert _leaks(_tables(session, without=DIGEST_COLUMNS), [digest]) == []

    async def plant(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await SqlAuditLog(conn).append(AuditEvent(
                timestamp=runtime.clock(), actor_kind="system", actor_id="test",
                actor_name="test", action="plant", entity_type="Test", entity_id="x",
                details={"oops": admin.secret}))

    run(session, plant)
    assert _leaks(_audit_rows(session), [admin.secret]) == [admin.secret]


def test_no_secret_leaks_driver_statement_tracing_stays_off_under_root_debug(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    asyncio.run(create_engine(settings.resolved_database_url).dispose())
    assert logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG) is False
    assert logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO) is False
    assert logging.getLogger("keystead.web").isEnabledFor(logging.DEBUG) is True
