"""`keystead health`: the readiness report for an operator, with an exit status to script on."""

from __future__ import annotations

import json
import socket
import subprocess

from pydantic import SecretStr

from keystead.config import Settings
from tests.support.cli import keystead_cli
from tests.support.servers import reserved_port, uvicorn_on


def _health(settings: Settings, url: str) -> subprocess.CompletedProcess[str]:
    env = {"KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
           "KEYSTEAD_DATA_DIR": str(settings.data_dir),
           "KEYSTEAD_SECRET_KEY": settings.secret_key.get_secret_value()}
    return keystead_cli(env, "health", "--url", url)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_health_exits_0_when_the_server_is_ready(settings: Settings) -> None:
    port = reserved_port()
    with uvicorn_on(settings, port):
        result = _health(settings, f"http://127.0.0.1:{port}")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "ready"
    assert report["problems"] == []


def test_cli_health_exits_1_naming_what_is_wrong(settings: Settings) -> None:
    port = reserved_port()
    unready = settings.model_copy(update={
        "redis_url": SecretStr(f"redis://127.0.0.1:{_closed_port()}/0")})
    with uvicorn_on(unready, port):
        result = _health(settings, f"http://127.0.0.1:{port}")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "not ready"
    assert report["checks"]["redis"]["ok"] is False


def test_cli_health_exits_3_with_its_own_checks_when_no_server_answers(
        settings: Settings) -> None:
    result = _health(settings, f"http://127.0.0.1:{_closed_port()}")
    assert result.returncode == 3, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "unreachable"
    assert report["problems"][0].startswith("server: ")
    checks = report["checks"]
    assert checks["database"]["ok"] is True
    assert checks["migrations"]["ok"] is True
    assert checks["signing_key"]["ok"] is True
