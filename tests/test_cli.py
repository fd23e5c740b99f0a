"""The `keystead` command, run as an operator runs it, against a real store: in-process through
typer's runner, and as the installed program where only a real process shows it (the entry point,
exit statuses, standard input and error, `serve`).

Each deployment is embedded SQLite under KEYSTEAD_DATA_DIR, or (when KEYSTEAD_TEST_POSTGRES_URL is
set) a fresh PostgreSQL database named by KEYSTEAD_DATABASE_URL. What the CLI did is checked through
the product itself: the app started in-process on the same store, its API and token endpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from keystead.config import Settings, listen_url, serve_issuer
from keystead.domain.scopes import BUILTIN_SCOPES as BUILTIN_SCOPE_DESCRIPTIONS
from keystead.web.app import create_app
from tests.support.cli import KEYSTEAD_COMMAND, keystead_cli, keystead_process
from tests.support.clients import Registered
from tests.support.management import audit_events
from tests.support.postgres import throwaway_database, url_of
from tests.support.servers import reserved_port
from tests.support.tokens import bearer, token
from tests.support.waiting import once_seen

CLIENTS = "/api/v2/oauth/clients"
BUILTIN_SCOPES = set(BUILTIN_SCOPE_DESCRIPTIONS)


@dataclass(frozen=True)
class Deployment:
    """One Keystead installation: a data directory and, for PostgreSQL, a database URL."""

    data_dir: Path
    database_url: str = ""
    program: bool = False  # run commands as the installed program rather than in-process

    def as_program(self) -> Deployment:
        return replace(self, program=True)

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"KEYSTEAD_DATA_DIR": str(self.data_dir)}
        if self.database_url:
            env["KEYSTEAD_DATABASE_URL"] = self.database_url
        return (keystead_process if self.program else keystead_cli)(env, *args, stdin=stdin)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        """Run a command that must succeed; return its standard output."""
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        assert "Traceback" not in result.stderr
        return result.stdout

    def bootstrap(self, name: str, *roles: str) -> Registered:
        role_args = [arg for role in roles for arg in ("--role", role)]
        printed = json.loads(self.ok("bootstrap-client", "--name", name, *role_args, "--json"))
        return Registered(printed["id"], printed["secret"])

    @contextmanager
    def serving(self) -> Iterator[TestClient]:
        """The app on this deployment's store, configured the way `keystead serve` is."""
        settings = Settings(data_dir=self.data_dir, database_url=self.database_url,
                            secret_key=SecretStr(""), issuer="http://testserver")
        app = create_app(settings, housekeeping_interval=False)
        with TestClient(app, base_url="http://testserver") as http:
            yield http


@pytest.fixture(scope="session")
def sqlite_initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory that `keystead init` prepared (copied per test: init takes seconds)."""
    data_dir = tmp_path_factory.mktemp("cli-template") / "data"
    Deployment(data_dir).ok("init")
    return data_dir


@pytest.fixture(scope="session")
def postgres_initialised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL database `keystead init` prepared, used as a template for per-test copies."""
    data_dir = tmp_path_factory.mktemp("cli-pg-template") / "data"
    with throwaway_database("keystead_cli") as name:
        Deployment(data_dir, url_of(name)).ok("init")
        yield name, data_dir


@pytest.fixture
def fresh(store: str, tmp_path: Path) -> Iterator[Deployment]:
    """A deployment on which nothing has run yet."""
    if store == "sqlite":
        yield Deployment(tmp_path / "data")
        return
    with throwaway_database("keystead_cli") as name:
        yield Deployment(tmp_path / "data", url_of(name))


@pytest.fixture
def deployment(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A deployment after `keystead init`."""
    if store == "sqlite":
        template: Path = request.getfixturevalue("sqlite_initialised")
        shutil.copytree(template, tmp_path / "data")
        yield Deployment(tmp_path / "data")
        return
    name, template_dir = request.getfixturevalue("postgres_initialised")
    shutil.copytree(template_dir, tmp_path / "data")
    with throwaway_database("keystead_cli", template=name) as copy:
        yield Deployment(tmp_path / "data", url_of(copy))


def _client(http: TestClient, admin: Registered, client_id: str) -> dict[str, Any]:
    response = http.get(f"{CLIENTS}/{client_id}", headers=bearer(token(http, admin)))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _token_status(http: TestClient, client: Registered) -> tuple[int, str]:
    response = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                         auth=client.basic_auth)
    return response.status_code, str(response.json().get("error", ""))


def _token_status_once(http: TestClient, client: Registered,
                       expected: tuple[int, str]) -> tuple[int, str]:
    """The token endpoint's answer once it is ``expected`` (or at the deadline), after the CLI
    changed the client: the serving app learns of it from the change feed, not at once."""
    return once_seen(lambda: _token_status(http, client), expected)


def _introspect(http: TestClient, caller: Registered, access_token: str) -> bool:
    response = http.post("/oauth/introspect", data={"token": access_token},
                         auth=caller.basic_auth)
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def test_cli_init_is_idempotent_and_seeds_builtins_once(fresh: Deployment) -> None:
    assert "database ready" in fresh.ok("init")
    again = fresh.ok("init")
    assert "0 built-ins added" in again
    admin = fresh.bootstrap("ops", "Super Admin")
    with fresh.serving() as http:
        headers = bearer(token(http, admin))
        roles = http.get("/api/v2/authorization/roles", headers=headers).json()["entities"]
        divisions = http.get("/api/v2/authorization/divisions", headers=headers).json()
        scopes = http.get("/api/v2/oauth/scopes", headers=headers).json()["entities"]
    assert sorted(r["name"] for r in roles) == ["OAuth Admin", "Super Admin"]
    assert [(d["name"], d["homeDivision"]) for d in divisions["entities"]] == [("Home", True)]
    assert {s["id"] for s in scopes} == BUILTIN_SCOPES
    assert "audit log intact" in fresh.ok("audit", "verify")


def test_cli_commands_before_init_fail_with_a_clear_message(fresh: Deployment) -> None:
    result = fresh.as_program().run("clients", "list")
    assert result.returncode != 0
    assert "keystead init" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bootstrap_client_json_prints_id_and_secret_that_gets_a_token(
        deployment: Deployment) -> None:
    printed = json.loads(deployment.as_program().ok("bootstrap-client", "--name", "ci admin",
                                       "--role", "Super Admin", "--json"))
    assert set(printed) == {"id", "secret"}
    admin = Registered(printed["id"], printed["secret"])
    with deployment.serving() as http:
        issued = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=admin.basic_auth)
        assert issued.status_code == 200, issued.text
        headers = bearer(issued.json()["access_token"])
        client = http.get(f"{CLIENTS}/{admin.id}", headers=headers).json()
        home = http.get("/api/v2/authorization/divisions/home", headers=headers).json()
        roles = http.get("/api/v2/authorization/roles", headers=headers,
                         params={"name": "Super Admin"}).json()["entities"]
        created = audit_events(http, headers, entity_id=admin.id, action="create")
    assert client["name"] == "ci admin"
    assert client["authorizedGrantType"] == "CLIENT-CREDENTIALS"
    assert client["roleDivisions"] == [{"roleId": roles[0]["id"], "divisionId": home["id"]}]
    assert set(client["scope"]) == BUILTIN_SCOPES
    assert set(issued.json()["scope"].split()) == BUILTIN_SCOPES
    assert "secret" not in client
    assert [e["context"]["actorKind"] for e in created] == ["cli"]
    assert (created[0]["client"], created[0]["user"]) == (None, None)


def test_cli_bootstrap_client_text_output_shows_the_secret_once(deployment: Deployment) -> None:
    out = deployment.ok("bootstrap-client", "--name", "ops", "--role", "OAuth Admin")
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    client = Registered(fields["client id"].strip(), fields["client secret"].strip())
    assert "will not be shown again" in out
    with deployment.serving() as http:
        assert _token_status(http, client) == (200, "")


def test_cli_bootstrap_client_unknown_role_exits_1_and_creates_nothing(
        deployment: Deployment) -> None:
    result = deployment.run("bootstrap-client", "--name", "ops", "--role", "Super Admin",
                            "--role", "Janitor", "--json")
    assert result.returncode == 1
    assert "no role named 'Janitor'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert deployment.ok("clients", "list") == ""
    admin = deployment.bootstrap("ops", "Super Admin")
    with deployment.serving() as http:
        events = audit_events(http, bearer(token(http, admin)))
    assert [e["entity"]["id"] for e in events] == [admin.id]


def test_cli_clients_list_and_show_never_print_a_secret(deployment: Deployment) -> None:
    first = deployment.bootstrap("billing", "OAuth Admin")
    second = deployment.bootstrap("reports", "Super Admin")
    listed = deployment.run("clients", "list")
    shown = deployment.run("clients", "show", first.id, "--json")
    for result in (listed, shown):
        assert result.returncode == 0, result.stderr
        for secret in (first.secret, second.secret):
            assert secret not in result.stdout + result.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "STATE", "GRANTS", "NAME"]
    lines = {line.split()[0]: line.split() for line in rows}
    assert set(lines) == {first.id, second.id}
    assert lines[first.id][1:] == ["active", "CLIENT-CREDENTIALS", "billing"]
    client = json.loads(shown.stdout)
    assert (client["id"], client["name"], client["state"]) == (first.id, "billing", "active")
    assert "secret" not in client
    assert len(client["secrets"]) == 1
    assert set(client["secrets"][0]) <= {"id", "dateCreated", "dateExpires", "dateLastUsed",
                                         "current"}


def test_cli_clients_show_unknown_id_exits_1_naming_it(deployment: Deployment) -> None:
    missing = str(uuid.uuid4())
    result = deployment.run("clients", "show", missing)
    assert result.returncode == 1
    assert missing in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_disable_stops_tokens_and_enable_restores_new_ones(deployment: Deployment) -> None:
    admin = deployment.bootstrap("ops", "Super Admin")
    app = deployment.bootstrap("batch job", "OAuth Admin")
    with deployment.serving() as http:
        old_token = token(http, app)
        assert _introspect(http, admin, old_token) is True
        token(http, app)  # read, and kept: last-used writes (which drop kept reads) are done
        assert "is now disabled" in deployment.ok("clients", "disable", app.id)
        assert _token_status_once(http, app, (401, "invalid_client")) == (401, "invalid_client")
        assert _introspect(http, admin, old_token) is False
        assert _client(http, admin, app.id)["state"] == "disabled"
        assert "is now active" in deployment.ok("clients", "enable", app.id)
        assert _token_status_once(http, app, (200, "")) == (200, "")
        assert _introspect(http, admin, old_token) is False
        events = audit_events(http, bearer(token(http, admin)), entity_id=app.id)
    changes = [(e["action"], e["context"]["actorKind"]) for e in reversed(events)
               if e["action"] == "state.change"]
    assert changes == [("state.change", "cli"), ("state.change", "cli")]
    assert [e["propertyChanges"] for e in reversed(events) if e["action"] == "state.change"] == [
        [{"property": "state", "oldValues": ["active"], "newValues": ["disabled"]}],
        [{"property": "state", "oldValues": ["disabled"], "newValues": ["active"]}]]


def test_cli_rotate_secret_json_prints_a_new_secret_and_honours_the_window(
        deployment: Deployment) -> None:
    admin = deployment.bootstrap("ops", "Super Admin")
    app = deployment.bootstrap("batch job", "OAuth Admin")
    rotated = json.loads(deployment.ok("clients", "rotate-secret", app.id, "--json"))
    assert set(rotated) == {"id", "secret"}
    assert rotated["id"] == app.id
    assert rotated["secret"] != app.secret
    second = Registered(app.id, rotated["secret"])
    with deployment.serving() as http:
        assert _token_status(http, second) == (200, "")
        assert _token_status(http, app) == (200, "")  # default dual-use window
        third = Registered(app.id, json.loads(deployment.ok(
            "clients", "rotate-secret", app.id, "--dual-use-seconds", "0", "--json"))["secret"])
        assert _token_status_once(http, third, (200, "")) == (200, "")
        refused = (401, "invalid_client")
        for old in (second, app):
            assert _token_status_once(http, old, refused) == refused
        events = audit_events(http, bearer(token(http, admin)), entity_id=app.id,
                              action="secret.regenerate")
    assert [(e["context"]["actorKind"], e["context"]["dualUseSeconds"]) for e in events] == [
        ("cli", "0"), ("cli", "86400")]


def test_cli_rotate_secret_refuses_a_window_out_of_range(deployment: Deployment) -> None:
    app = deployment.bootstrap("batch job", "OAuth Admin")
    result = deployment.run("clients", "rotate-secret", app.id, "--dual-use-seconds", "604801")
    assert result.returncode == 1
    assert "dualUseSeconds" in result.stderr
    assert "Traceback" not in result.stderr
    with deployment.serving() as http:
        assert _token_status(http, app) == (200, "")


def test_cli_delete_asks_first_and_yes_deletes_for_good(deployment: Deployment) -> None:
    admin = deployment.bootstrap("ops", "Super Admin")
    app = deployment.bootstrap("batch job", "OAuth Admin")
    with deployment.serving() as http:
        old_token = token(http, app)
        declined = deployment.as_program().run("clients", "delete", app.id, stdin="n\n")
        assert declined.returncode == 1
        assert _token_status(http, app) == (200, "")
        assert f"{app.id} deleted" in deployment.ok("clients", "delete", app.id, "--yes")
        assert _token_status_once(http, app, (401, "invalid_client")) == (401, "invalid_client")
        assert _introspect(http, admin, old_token) is False
        headers = bearer(token(http, admin))
        assert http.get(f"{CLIENTS}/{app.id}", headers=headers).status_code == 404
        history = audit_events(http, headers, entity_id=app.id)
    assert [(e["action"], e["context"]["actorKind"]) for e in history
            if e["action"] != "authenticate"] == [("delete", "cli"), ("create", "cli")]
    assert deployment.run("clients", "show", app.id).returncode == 1


def _write(path: Path, content: Any) -> Path:
    path.write_text(json.dumps(content))
    return path


LEGACY_SPA = {"id": "0f6f1a3e-0000-4000-8000-00000000beef", "name": "legacy spa",
              "authorizedGrantType": "TOKEN", "state": "active",
              "registeredRedirectUri": ["https://spa.example.com/callback"],
              "scope": ["oauth:readonly"], "accessTokenValiditySeconds": 7200,
              "dateCreated": "2025-06-01T10:00:00.000Z",
              "dateModified": "2025-07-01T10:00:00.000Z",
              "createdBy": {"id": "someone"}, "selfUri": "/api/v2/oauth/clients/x"}


def test_cli_import_keeps_date_created_and_a_legacy_implicit_grant(
        deployment: Deployment, tmp_path: Path) -> None:
    web_app = {"name": "web app", "authorizedGrantTypes": ["CODE"],
               "registeredRedirectUri": ["https://app.example.com/cb"],
               "scope": ["oauth:readonly"], "dateCreated": "2024-01-02T03:04:05"}
    export = _write(tmp_path / "export.json", {"entities": [LEGACY_SPA, web_app],
                                               "pageSize": 25, "total": 2})
    out = deployment.ok("clients", "import", str(export))
    imported = [json.loads(line) for line in out.splitlines()]
    assert [i["name"] for i in imported] == ["legacy spa", "web app"]
    assert all(set(i) == {"name", "id", "secret"} for i in imported)
    assert imported[0]["id"] != LEGACY_SPA["id"]  # ids are Keystead's own
    admin = deployment.bootstrap("ops", "Super Admin")
    with deployment.serving() as http:
        spa = _client(http, admin, imported[0]["id"])
        web = _client(http, admin, imported[1]["id"])
        created = audit_events(http, bearer(token(http, admin)), entity_id=spa["id"])
    assert spa["dateCreated"] == "2025-06-01T10:00:00.000Z"
    assert (spa["authorizedGrantType"], spa["authorizedGrantTypes"]) == ("TOKEN", ["TOKEN"])
    assert spa["accessTokenValiditySeconds"] == 7200
    assert web["dateCreated"] == "2024-01-02T03:04:05.000Z"  # naive means UTC
    assert [(e["action"], e["context"]["actorKind"]) for e in created] == [("create", "cli")]


@pytest.mark.parametrize("date_created", [
    pytest.param("2026-03-01T00:00:00Z", id="on-the-cutoff"),
    pytest.param("2026-04-15T09:00:00.000Z", id="after-the-cutoff"),
    pytest.param(None, id="no-date"),
])
def test_cli_import_refuses_implicit_for_a_client_created_after_the_cutoff(
        deployment: Deployment, tmp_path: Path, date_created: str | None) -> None:
    late = LEGACY_SPA | {"name": "late spa", "dateCreated": date_created}
    export = _write(tmp_path / "export.json", [LEGACY_SPA, late])
    result = deployment.run("clients", "import", str(export))
    assert result.returncode == 1
    assert "[1]" in result.stderr
    assert "TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert deployment.ok("clients", "list") == ""  # all or nothing: the valid one is not kept


@pytest.mark.parametrize("content", [
    pytest.param("{not json", id="not-json"),
    pytest.param(json.dumps({"name": "one object"}), id="not-a-list"),
    pytest.param(json.dumps(["a string"]), id="entry-not-an-object"),
    pytest.param(json.dumps([LEGACY_SPA | {"dateCreated": "last tuesday"}]), id="bad-date"),
])
def test_cli_import_rejects_a_malformed_file_with_a_message(
        deployment: Deployment, tmp_path: Path, content: str) -> None:
    export = tmp_path / "export.json"
    export.write_text(content)
    result = deployment.run("clients", "import", str(export))
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_keys_rotate_publishes_the_new_key_beside_the_old(deployment: Deployment) -> None:
    before = deployment.ok("keys", "list").splitlines()[1:]  # under the header
    assert len(before) == 1
    out = deployment.ok("keys", "rotate")
    assert "new signing key" in out
    after = deployment.ok("keys", "list").splitlines()[1:]
    assert len(after) == 2
    assert all("published" in line for line in after)
    admin = deployment.bootstrap("ops", "Super Admin")
    with deployment.serving() as http:
        kids = {k["kid"] for k in http.get("/oauth/jwks").json()["keys"]}
        rotations = audit_events(http, bearer(token(http, admin)), action="key.rotate")
    assert kids == {line.split()[0] for line in after}
    assert [e["context"]["actorKind"] for e in rotations] == ["cli"]


# -- keystead serve: the issuer follows where the server listens unless configured --

@contextmanager
def _serving(data_dir: Path, host: str, port: int,
             extra: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """`keystead serve --host --port` as a real process; yields its discovery document."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {"KEYSTEAD_DATA_DIR": str(data_dir), **(extra or {})}
    log = (data_dir.parent / "serve.log").open("w+")
    process = subprocess.Popen(
        [KEYSTEAD_COMMAND, "serve", "--host", host, "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=log)
    try:
        url = f"{listen_url(host, port)}/.well-known/openid-configuration"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (data_dir.parent / "serve.log").read_text()
            try:
                response = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "keystead serve did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        yield response.json()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def served_data(sqlite_initialised: Path, tmp_path: Path) -> Path:
    shutil.copytree(sqlite_initialised, tmp_path / "data")
    return tmp_path / "data"


def _assert_everything_under(document: dict[str, Any], issuer: str) -> None:
    assert document["issuer"] == issuer
    endpoints = {k: v for k, v in document.items() if k.endswith(("_endpoint", "_uri"))}
    assert endpoints
    assert all(v.startswith(f"{issuer}/") for v in endpoints.values()), endpoints


def test_cli_serve_issuer_is_the_listen_address(served_data: Path) -> None:
    port = reserved_port()
    with _serving(served_data, "127.0.0.1", port) as document:
        _assert_everything_under(document, f"http://127.0.0.1:{port}")
        # Every advertised endpoint is reachable where it is advertised.
        assert httpx.get(document["jwks_uri"], timeout=5).status_code == 200


def test_cli_serve_issuer_from_the_environment_wins(served_data: Path) -> None:
    port = reserved_port()
    issuer = "https://id.example.com"
    with _serving(served_data, "127.0.0.1", port, {"KEYSTEAD_ISSUER": issuer}) as document:
        _assert_everything_under(document, issuer)


def test_cli_serve_issuer_brackets_an_ipv6_address(served_data: Path) -> None:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
            port = int(sock.getsockname()[1])
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with _serving(served_data, "::1", port) as document:
        _assert_everything_under(document, f"http://[::1]:{port}")


@pytest.mark.parametrize(("host", "port", "issuer"), [
    pytest.param("127.0.0.1", 8000, "http://127.0.0.1:8000", id="ipv4"),
    pytest.param("localhost", 9000, "http://localhost:9000", id="name"),
    pytest.param("::1", 8443, "http://[::1]:8443", id="ipv6-bracketed"),
    pytest.param("[::1]", 8443, "http://[::1]:8443", id="ipv6-already-bracketed"),
    pytest.param("auth.internal", 80, "http://auth.internal", id="port-80-left-out"),
    pytest.param("0.0.0.0", 8000, "http://0.0.0.0:8000", id="wildcard-kept-as-given"),  # noqa: S104
])
def test_serve_issuer_without_configuration_is_the_listen_url(host: str, port: int,
                                                              issuer: str) -> None:
    assert serve_issuer(host, port, environ={}) == (issuer, False)


def test_serve_issuer_configured_is_kept() -> None:
    assert serve_issuer("0.0.0.0", 8000, environ={  # noqa: S104
        "KEYSTEAD_ISSUER": "https://id.example.com"}) == ("https://id.example.com", True)
