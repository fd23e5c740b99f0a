"""Build clients the way the product does, and return the plaintext secret once."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.principal import operator
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.web.app import create_app
from keystead.web.runtime import Runtime, utc_now
from keystead.web.schemas import ClientRequest

T = TypeVar("T")


@dataclass(frozen=True)
class Registered:
    id: str
    secret: str

    @property
    def basic_auth(self) -> tuple[str, str]:
        return (self.id, self.secret)


def run(http: TestClient, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run a coroutine on the app's event loop, with its runtime."""
    runtime: Runtime = http.app.state.runtime  # type: ignore[attr-defined]
    assert http.portal is not None
    return http.portal.call(work, runtime)


def bootstrap(http: TestClient, *, name: str, roles: list[str],
              scopes: list[str] | None = None, **fields: Any) -> Registered:
    """Create a client-credentials client as the operator (like `keystead bootstrap-client`)."""

    async def work(runtime: Runtime) -> Registered:
        async with runtime.transaction() as conn:
            role_store = SqlRoleStore(conn)
            role_ids = []
            for role_name in roles:
                role = await role_store.by_name(role_name)
                assert role is not None, role_name
                role_ids.append(role.id)
            wanted = scopes if scopes is not None else [
                s.id for s in await SqlScopeStore(conn).list() if s.builtin]
            request = ClientRequest(name=name, authorizedGrantType="CLIENT-CREDENTIALS",
                                    roleIds=role_ids, scope=wanted, **fields)
            issued = await runtime.management(conn).create(operator(), request.to_settings())
            assert issued.secret is not None  # a confidential client
            return Registered(issued.client.id, issued.secret)

    return run(http, work)


def flush_failures(http: TestClient, *, final: bool = True) -> None:
    """Write the tallied failed client authentications now, as the background flush does
    (``final``: as at shutdown, whether or not the interval has ended)."""

    async def work(runtime: Runtime) -> None:
        await runtime.flush_auth_failures(final=final)

    run(http, work)


def token(http: TestClient, client: Registered, *, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = http.post("/oauth/token", data=form, auth=client.basic_auth)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def home_division_id(http: TestClient, headers: dict[str, str]) -> str:
    response = http.get("/api/v2/authorization/divisions/home", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def role_id(http: TestClient, headers: dict[str, str], name: str) -> str:
    response = http.get("/api/v2/authorization/roles", params={"name": name}, headers=headers)
    assert response.status_code == 200, response.text
    matches = [r["id"] for r in response.json()["entities"] if r["name"] == name]
    assert matches, name
    return str(matches[0])


# -- Client-management helpers (appended; used by tests/web/test_client*.py).
from datetime import UTC, datetime, timedelta  # noqa: E402 - appended below the original helpers

import httpx2  # noqa: E402 - what starlette's TestClient returns when it is installed

CLIENTS = "/api/v2/oauth/clients"
ALL_TIME = "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z"


class ManualClock:
    """A clock the test moves by hand: ``create_app(settings, clock=clock)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def client_body(role: str, **fields: Any) -> dict[str, Any]:
    """A client-credentials request that passes every rule; ``fields`` replace or add."""
    return {"name": "billing service", "description": "nightly invoices",
            "authorizedGrantType": "CLIENT-CREDENTIALS", "scope": ["oauth:readonly"],
            "roleIds": [role]} | fields


def code_body(**fields: Any) -> dict[str, Any]:
    """An authorization-code request that passes every rule; ``fields`` replace or add."""
    return {"name": "web app", "authorizedGrantType": "CODE", "scope": ["oauth:readonly"],
            "registeredRedirectUri": ["https://app.example.com/cb"]} | fields


def create_client(http: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Registered:
    response = http.post(CLIENTS, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return Registered(response.json()["id"], response.json()["secret"])


def update_client(http: TestClient, headers: dict[str, str], client_id: str,
                  **changes: Any) -> httpx2.Response:
    """GET the client, change some fields, PUT it back (what an admin's tool does)."""
    current = http.get(f"{CLIENTS}/{client_id}", headers=headers)
    assert current.status_code == 200, current.text
    return http.put(f"{CLIENTS}/{client_id}", json=current.json() | changes, headers=headers)


def audit_events(http: TestClient, headers: dict[str, str], *,
                 entity_id: str | None = None, action: str | None = None) -> list[dict[str, Any]]:
    filters = [{"property": name, "value": value} for name, value in
               (("entityId", entity_id), ("action", action)) if value is not None]
    response = http.post("/api/v2/audits/query/realtime", headers=headers, json={
        "interval": ALL_TIME, "filters": filters, "pageSize": 500})
    assert response.status_code == 200, response.text
    return list(response.json()["entities"])


# -- CLI helpers (appended; used by tests/test_cli.py and tests/store/test_audit_chain.py).

KEYSTEAD_COMMAND = str(Path(sys.executable).with_name("keystead"))


def keystead_cli(env: dict[str, str], *args: str,
                 stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``keystead`` command with ``env`` as its only KEYSTEAD_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")} | env
    return subprocess.run([KEYSTEAD_COMMAND, *args], env=clean, capture_output=True, text=True,
                          input=stdin, timeout=120, check=False)


# --- protocol-endpoint helpers (appended; used by tests/protocol, tests/web/test_bearer_auth.py,
# tests/web/test_store_unavailable.py and tests/flows/test_client_credentials_flow.py).



@contextmanager
def serve(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Iterator[TestClient]:
    """Another app over the same database (its own clock), as a second replica would be."""
    app = create_app(settings, clock=clock, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def introspect(http: TestClient, caller: Registered, access_token: str,
               **form: str) -> httpx2.Response:
    return http.post("/oauth/introspect", data={"token": access_token, **form},
                     auth=caller.basic_auth)


def revoke(http: TestClient, caller: Registered, access_token: str,
           **form: str) -> httpx2.Response:
    return http.post("/oauth/revoke", data={"token": access_token, **form},
                     auth=caller.basic_auth)


def challenge(response: httpx2.Response | httpx.Response,
              scheme: str = "Bearer") -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate`` challenge (RFC 6750 §3, RFC 7235 §2.1)."""
    header = response.headers.get("www-authenticate", "")
    assert header.startswith(scheme + " "), header
    return dict(re.findall(r'([a-z_]+)="([^"]*)"', header))


def set_state(http: TestClient, headers: dict[str, str], client_id: str, state: str) -> None:
    """PUT the client back as fetched, with another ``state`` (as the console's switch does)."""
    changes: dict[str, Any] = {"state": state}
    if state == "inactive":
        changes["dateToDelete"] = (utc_now() + timedelta(days=30)).isoformat()
    response = update_client(http, headers, client_id, **changes)
    assert response.status_code == 200, response.text


def delete_client(http: TestClient, headers: dict[str, str], client_id: str) -> None:
    response = http.delete(f"/api/v2/oauth/clients/{client_id}", headers=headers)
    assert response.status_code == 204, response.text


# -- tokens in each invalid state (introspection and the API must both refuse them) --
TOKEN_FORMATS = ["opaque", "jwt"]
TokenMaker = Callable[[TestClient, Registered, str], str]


def service(http: TestClient, fmt: str = "opaque", **fields: Any) -> Registered:
    """A client-credentials client holding OAuth Admin, issuing tokens in format ``fmt``."""
    fields.setdefault("scopes", ["oauth:readonly", "audits:readonly"])
    return bootstrap(http, name="svc", roles=["OAuth Admin"], tokenFormat=fmt, **fields)


def revoked_token(http: TestClient, _admin: Registered, fmt: str) -> str:
    svc = service(http, fmt)
    value = token(http, svc)
    assert revoke(http, svc, value).status_code == 200
    return value


def token_of_client_in(state: str) -> TokenMaker:
    def make(http: TestClient, admin: Registered, fmt: str) -> str:
        svc = service(http, fmt)
        value = token(http, svc)
        set_state(http, bearer(token(http, admin)), svc.id, state)
        return value
    return make


def token_of_deleted_client(http: TestClient, admin: Registered, fmt: str) -> str:
    svc = service(http, fmt)
    value = token(http, svc)
    delete_client(http, bearer(token(http, admin)), svc.id)
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_on(settings: Settings, port: int) -> Iterator[None]:
    """The app behind a real uvicorn on a loopback port, in a thread, until the block ends."""
    config = uvicorn.Config(create_app(settings, housekeeping_interval=False),
                            host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
