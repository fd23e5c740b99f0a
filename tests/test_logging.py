"""Structured logs: JSON lines (text on a terminal), one access line per request with its id,
warnings for refused authentications, tracebacks for the unexpected, retries of background
loops; KEYSTEAD_LOG_LEVEL and KEYSTEAD_LOG_FORMAT honoured; never a secret, token, code, query
string or credential header.

The app's handler writes to ``sys.stderr`` as it is at the time, so ``capsys`` sees exactly
what an operator's terminal or log collector would.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from keystead.config import LogFormat, Settings
from keystead.log_setup import resolved_format, uvicorn_log_config
from keystead.protocol.client_auth import ClientAuthenticator
from keystead.store.audit import SqlAuditLog
from keystead.web.app import create_app
from tests.oauth_flows import (
    answer_of,
    authorize,
    code_client,
    exchange,
    pkce_pair,
    refresh,
    signed_in_person,
)
from tests.support.cli import KEYSTEAD_COMMAND, keystead_process
from tests.support.clients import bootstrap
from tests.support.servers import reserved_port
from tests.support.tokens import bearer, token

HEADER = "ININ-Correlation-Id"
CC = {"grant_type": "client_credentials"}
Serve = Callable[..., TestClient]


@pytest.fixture
def serve_with(settings: Settings) -> Iterator[Serve]:
    """Start the app with some settings changed (log level, format); stopped at the end."""
    clients: list[TestClient] = []

    def start(**changes: Any) -> TestClient:
        app = create_app(settings.model_copy(update=changes), housekeeping_interval=False)
        client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def _lines(text: str) -> list[dict[str, Any]]:
    """Every line as JSON (any line that is not JSON fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _access(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "keystead.access"]


def test_log_access_line_per_request_is_json_with_its_fields(
        serve_with: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    http = serve_with(log_format=LogFormat.json)
    admin = bootstrap(http, name="ops", roles=["Super Admin"])
    capsys.readouterr()
    issued = http.post("/oauth/token", data=CC, auth=admin.basic_auth, headers={HEADER: "t-1"})
    listed = http.get("/api/v2/oauth/clients/" + admin.id,
                      headers=bearer(issued.json()["access_token"]))
    lines = _lines(capsys.readouterr().err)
    token_line, api_line = _access(lines)
    assert token_line["request_id"] == "t-1" == issued.headers[HEADER]
    assert {k: token_line[k] for k in ("method", "path", "status", "client_id", "level")} == {
        "method": "POST", "path": "/oauth/token", "status": 200, "client_id": admin.id,
        "level": "INFO"}
    assert isinstance(token_line["duration_ms"], float)
    assert api_line["request_id"] == listed.headers[HEADER]
    assert (api_line["path"], api_line["route"], api_line["status"], api_line["client_id"]) == (
        f"/api/v2/oauth/clients/{admin.id}", "/api/v2/oauth/clients/{id}", 200, admin.id)
    assert {"ts", "message"} <= set(api_line)


def test_log_access_line_written_directly_is_the_same_line(
        serve_with: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    # Under `keystead serve` the stderr handler is the only one, and access lines skip the
    # LogRecord (log_setup.log_access); under pytest the root has handlers, so they go through
    # logging. Both must write the same line.
    http = serve_with(log_format=LogFormat.json)
    capsys.readouterr()
    http.get("/login", headers={HEADER: "via-logging"})
    root = logging.getLogger()
    kept = root.handlers[:]
    root.handlers.clear()
    try:
        http.get("/login", headers={HEADER: "direct"})
    finally:
        root.handlers[:] = kept
    via, direct = _access(_lines(capsys.readouterr().err))
    assert (via["request_id"], direct["request_id"]) == ("via-logging", "direct")
    assert list(via) == list(direct)
    varying = {"ts", "request_id", "duration_ms"}
    assert {k: v for k, v in via.items() if k not in varying} == {
        k: v for k, v in direct.items() if k not in varying}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", direct["ts"])


def test_log_failed_authentication_is_a_warning_naming_the_request(
        serve_with: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    http = serve_with(log_format=LogFormat.json)
    admin = bootstrap(http, name="ops", roles=["Super Admin"])
    capsys.readouterr()
    http.post("/oauth/token", data=CC, auth=(admin.id, "wrong"), headers={HEADER: "bad-1"})
    http.get("/api/v2/oauth/clients", headers=bearer("forged") | {HEADER: "bad-2"})
    warnings = {line["request_id"]: line for line in _lines(capsys.readouterr().err)
                if line["level"] == "WARNING"}
    assert set(warnings) == {"bad-1", "bad-2"}
    assert warnings["bad-1"]["logger"] == "keystead.web"
    assert "wrong or expired secret" in warnings["bad-1"]["message"]
    assert warnings["bad-2"]["actor_kind"] == "anonymous"


def test_log_level_warning_drops_access_lines_and_keeps_warnings(
        serve_with: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    http = serve_with(log_format=LogFormat.json, log_level="WARNING")
    admin = bootstrap(http, name="ops", roles=["Super Admin"])
    capsys.readouterr()
    token(http, admin)
    http.post("/oauth/token", data=CC, auth=(admin.id, "wrong"))
    lines = _lines(capsys.readouterr().err)
    assert _access(lines) == []
    assert [line["level"] for line in lines] == ["WARNING"]


def test_log_level_from_the_environment_is_honoured(
        monkeypatch: pytest.MonkeyPatch, settings: Settings,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KEYSTEAD_LOG_LEVEL", "error")
    monkeypatch.setenv("KEYSTEAD_LOG_FORMAT", "json")
    from_env = Settings(**{k: v for k, v in settings.model_dump().items()
                           if k not in ("log_level", "log_format")})
    assert (from_env.log_level, from_env.log_format) == ("error", LogFormat.json)
    with TestClient(create_app(from_env, housekeeping_interval=False)) as http:
        capsys.readouterr()
        http.post("/oauth/token", data=CC, auth=("nobody", "wrong"))
        assert capsys.readouterr().err == ""
    assert logging.getLogger("keystead").getEffectiveLevel() == logging.ERROR


@pytest.mark.parametrize("value", ["loud", "", "INFO2"])
def test_log_level_not_a_level_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="log_level"):
        Settings(log_level=value)


def test_log_text_format_names_the_request(serve_with: Serve,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    http = serve_with(log_format=LogFormat.text)
    capsys.readouterr()
    http.get("/login", headers={HEADER: "txt-1"})
    (line,) = capsys.readouterr().err.splitlines()
    assert re.match(r"\d{4}-\d\d-\d\dT\S+ INFO +keystead\.access GET /login 200 ", line)
    assert "request_id=txt-1" in line
    assert not line.startswith("{")


class _Stream(io.StringIO):
    def __init__(self, *, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_log_format_auto_is_json_unless_stderr_is_a_terminal() -> None:
    assert resolved_format(LogFormat.auto, _Stream(tty=True)) is LogFormat.text
    assert resolved_format(LogFormat.auto, _Stream(tty=False)) is LogFormat.json
    assert resolved_format(LogFormat.json, _Stream(tty=True)) is LogFormat.json
    assert resolved_format(LogFormat.text, _Stream(tty=False)) is LogFormat.text


def test_log_unexpected_error_has_its_traceback_once_with_the_request_id(
        serve_with: Serve, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    http = serve_with(log_format=LogFormat.json)
    admin = bootstrap(http, name="ops", roles=["Super Admin"])

    async def fail(_self: object, *_args: object, **_kwargs: object) -> None:
        raise RuntimeError("something nobody expected")

    headers = bearer(token(http, admin))
    monkeypatch.setattr(ClientAuthenticator, "identify", fail)
    capsys.readouterr()
    fast = http.post("/oauth/token", data=CC, auth=admin.basic_auth, headers={HEADER: "e-1"})
    monkeypatch.undo()
    monkeypatch.setattr(SqlAuditLog, "append", fail)
    api = http.post("/api/v2/authorization/roles", json={"name": "x"},
                    headers=headers | {HEADER: "e-2"})
    assert (fast.status_code, api.status_code) == (500, 500)
    errors = [line for line in _lines(capsys.readouterr().err) if line["level"] == "ERROR"]
    assert [line["request_id"] for line in errors] == ["e-1", "e-2"]
    for line in errors:
        assert "RuntimeError: something nobody expected" in line["traceback"]
        assert "Traceback (most recent call last)" in line["traceback"]


def test_log_never_holds_a_secret_token_code_or_query_string(
        serve_with: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    http = serve_with(log_format=LogFormat.json, log_level="DEBUG")
    client = code_client(http)
    signed_in_person(http)
    pkce = pkce_pair()
    capsys.readouterr()
    # The code flow: the code travels in a query string (the redirect) and in the token form.
    answer = answer_of(authorize(http, client.id, pkce=pkce, state="state-value-xyz"))
    code = answer["code"]
    tokens = exchange(http, client, code, pkce=pkce).json()
    again = refresh(http, client, tokens["refresh_token"]).json()
    # client_credentials with the secret in the form, then in Basic; a token used on the API.
    admin = bootstrap(http, name="ops", roles=["Super Admin"])
    poster = bootstrap(http, name="form poster", roles=["Super Admin"],
                       tokenEndpointAuthMethod="client_secret_post")
    by_form = http.post("/oauth/token", data=CC | {"client_id": poster.id,
                                                   "client_secret": poster.secret}).json()
    access = token(http, admin)
    http.get("/api/v2/oauth/clients?pageSize=5", headers=bearer(access))
    http.post("/oauth/introspect", data={"token": access}, auth=admin.basic_auth)
    http.post("/oauth/token", data=CC, auth=(admin.id, admin.secret + "x"))
    text = capsys.readouterr().err
    values = [client.secret, admin.secret, poster.secret, code, pkce.verifier, pkce.challenge,
              tokens["access_token"], tokens["refresh_token"], tokens["id_token"],
              again["access_token"], by_form["access_token"], access, "state-value-xyz"]
    assert [v for v in values if v in text] == []
    for line in _lines(text):
        assert "?" not in line.get("path", "")
        assert "Bearer" not in json.dumps(line)
        assert "Basic" not in json.dumps(line)
    paths = {line["path"] for line in _access(_lines(text))}
    assert {"/oauth/authorize", "/oauth/token", "/api/v2/oauth/clients"} <= paths


def test_log_the_check_would_see_a_leak(serve_with: Serve,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    serve_with(log_format=LogFormat.json)
    logging.getLogger("keystead.web").warning("planted %s", "sekrit-value",
                                              extra={"fields": {"path": "/x?code=1"}})
    (line,) = _lines(capsys.readouterr().err)
    assert "sekrit-value" in json.dumps(line)
    assert "?" in line["path"]


def test_uvicorn_access_log_is_off_and_its_own_lines_are_formatted() -> None:
    config = uvicorn_log_config("INFO", LogFormat.json)
    assert config["loggers"]["uvicorn.access"] == {"handlers": [], "level": "CRITICAL",
                                                   "propagate": False}
    assert config["loggers"]["uvicorn"]["handlers"] == ["stderr"]


@pytest.mark.parametrize("store", ["sqlite"])  # one real server: the log path is store-blind
def test_serve_logs_json_access_lines_without_query_strings(settings: Settings) -> None:
    port = reserved_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")} | {
        "KEYSTEAD_DATA_DIR": str(settings.data_dir),
        "KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
        "KEYSTEAD_SECRET_KEY": settings.secret_key.get_secret_value()}
    server = subprocess.Popen(
        [KEYSTEAD_COMMAND, "serve", "--port", str(port)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/login", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        answer = httpx.get(f"{url}/oauth/authorize", params={
            "client_id": "x", "code": "query-code-value", "state": "query-state-value"},
            headers={HEADER: "live-1"})
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=20)
    assert answer.headers[HEADER] == "live-1"
    assert "query-code-value" not in err
    assert "query-state-value" not in err
    lines = _lines(err)  # uvicorn's own start-up lines are JSON too
    (line,) = [x for x in _access(lines) if x["request_id"] == "live-1"]
    assert (line["path"], line["method"]) == ("/oauth/authorize", "GET")
    assert not [x for x in lines if x["logger"] == "uvicorn.access"]



@pytest.mark.parametrize(("args", "env"), [
    pytest.param(["--log-level", "loud"], {}, id="flag"),
    pytest.param([], {"KEYSTEAD_LOG_LEVEL": "verbose"}, id="environment"),
    pytest.param([], {"KEYSTEAD_LOG_FORMAT": "xml"}, id="format"),
])
def test_serve_refuses_a_bad_log_setting(args: list[str], env: dict[str, str]) -> None:
    result = keystead_process(env, "serve", "--port", str(reserved_port()), *args)
    assert result.returncode == 1
    assert "invalid setting: log_" in result.stderr
