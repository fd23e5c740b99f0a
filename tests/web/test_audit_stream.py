"""The audit log as a stream (issue 13 §3): every entry, once and in sequence, as one JSON line
to a file or as an RFC 5424 message to a real UDP syslog socket, with no secrets."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import stream_audit
from tests.support.apps import flush_failures, run, serve
from tests.support.clients import Registered, client_body, create_client
from tests.support.servers import reserved_port
from tests.web.governance.support import rows

# RFC 5424 §6: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP MSG
SYSLOG = re.compile(r"^<110>1 (\S+Z) (\S+) keystead (\d+) audit - (\{.*\})$")


def _head(http: TestClient) -> int:
    return int(rows(http, "SELECT seq FROM audit_head")[0]["seq"])


def _stream(app: TestClient) -> None:
    run(app, stream_audit)


def _activity(http: TestClient, headers: dict[str, str], super_admin: str) -> Registered:
    client = create_client(http, headers, client_body(super_admin, name="streamed"))
    assert http.post(f"/api/v2/oauth/clients/{client.id}/secret", headers=headers,
                     json={}).status_code == 200
    return client


def test_audit_stream_appends_every_entry_once_to_a_file(
        settings: Settings, http: TestClient, headers: dict[str, str], super_admin: str,
        tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with serve(settings.model_copy(update={"audit_stream": f"file:{path}"})) as streaming:
        client = _activity(http, headers, super_admin)
        _stream(streaming)
        _stream(streaming)  # nothing new: nothing written twice
        lines = path.read_text().splitlines()
        entries = [json.loads(line) for line in lines]
        assert [e["seq"] for e in entries] == list(range(1, _head(http) + 1))
        assert {"create", "secret.regenerate"} <= {e["action"] for e in entries}
        assert client.secret not in path.read_text()
        assert headers["Authorization"].split()[1] not in path.read_text()
        # Later entries come in the next round, after the ones before: a use case's, and the
        # token hot path's (failed client authentications, appended by the hot store).
        create_client(http, headers, client_body(super_admin, name="later"))
        refused = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(client.id, "presented-secret-7Qx"))
        assert refused.status_code == 401
        flush_failures(http)
        _stream(streaming)
    later = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["seq"] for e in later] == list(range(1, _head(http) + 1))
    assert "later" in [e["entity"]["name"] for e in later[len(entries):]]
    assert later[-1]["result"] == "failure"  # the hot path's entry
    assert "presented-secret-7Qx" not in path.read_text()


@pytest.fixture
def syslog_socket() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", reserved_port()))
        sock.settimeout(5)
        yield sock


def _datagrams(sock: socket.socket, count: int) -> list[str]:
    return [sock.recv(65_535).decode() for _ in range(count)]


def test_audit_stream_sends_rfc5424_syslog_over_udp(
        settings: Settings, http: TestClient, headers: dict[str, str], super_admin: str,
        syslog_socket: socket.socket) -> None:
    port = syslog_socket.getsockname()[1]
    target = f"syslog:udp://127.0.0.1:{port}"
    with serve(settings.model_copy(update={"audit_stream": target})) as streaming:
        client = _activity(http, headers, super_admin)
        _stream(streaming)
    messages = _datagrams(syslog_socket, _head(http))
    parsed: list[dict[str, Any]] = []
    for message in messages:
        match = SYSLOG.match(message)
        assert match, message
        parsed.append(json.loads(match.group(4)))
        assert match.group(1) == parsed[-1]["timestamp"]
    assert [p["seq"] for p in parsed] == list(range(1, _head(http) + 1))
    assert client.secret not in "".join(messages)


@pytest.mark.parametrize("store", ["sqlite"])  # a settings rule: the store plays no part
@pytest.mark.parametrize("value", ["file:relative/path", "syslog:tcp://h:514",
                                   "syslog:udp://host", "http://siem"])
def test_audit_stream_setting_refuses_what_it_cannot_use(
        settings: Settings, value: str) -> None:
    with pytest.raises(ValidationError, match="KEYSTEAD_AUDIT_STREAM"):
        Settings(**(settings.model_dump() | {"audit_stream": value}))
