"""``keystead secret-keys``: a new ring entry, what each ring key still keys, re-encryption under
the current key, and a malformed ring refused at start-up (a real subprocess, embedded SQLite)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.keyring import fingerprint
from keystead.web.app import create_app
from tests.support.cli import keystead_cli
from tests.support.clients import Registered
from tests.support.tokens import token


def _cli(data_dir: Path, *args: str, ring: str = "") -> subprocess.CompletedProcess[str]:
    env = {"KEYSTEAD_DATA_DIR": str(data_dir)} | ({"KEYSTEAD_SECRET_KEYS": ring} if ring else {})
    return keystead_cli(env, *args)


def _ok(data_dir: Path, *args: str, ring: str = "") -> str:
    result = _cli(data_dir, *args, ring=ring)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _bootstrap(data_dir: Path, name: str) -> Registered:
    printed = json.loads(_ok(data_dir, "bootstrap-client", "--name", name, "--role",
                             "Super Admin", "--json"))
    return Registered(printed["id"], printed["secret"])


def test_cli_secret_keys_new_prints_a_ring_entry(tmp_path: Path) -> None:
    kid, _, key = _ok(tmp_path, "secret-keys", "new", "--id", "k2").strip().partition(":")
    assert kid == "k2"
    assert len(key) >= 32
    refused = _cli(tmp_path, "secret-keys", "new", "--id", "bad.id")
    assert refused.returncode == 1
    assert "--id" in refused.stderr


def test_cli_secret_keys_status_and_reseal_through_a_rotation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _ok(data, "init")
    old = (data / "secret.key").read_text().strip()
    used, idle = (_bootstrap(data, "used"), _bootstrap(data, "idle"))
    entry = _ok(data, "secret-keys", "new", "--id", "k2").strip()
    ring = Settings(data_dir=data, secret_keys=SecretStr(entry), issuer="http://testserver")
    with TestClient(create_app(ring, housekeeping_interval=False)) as http:
        assert token(http, used)  # checked under the old key, and re-keyed under k2
    # In development the generated key file stays in the ring, last.
    status = _ok(data, "secret-keys", "status", ring=entry)
    old_kid = fingerprint(old.encode())
    assert "key k2 (current)" in status
    assert f"client secrets under {old_kid} (older, former single key): 1" in status
    assert "client secrets under k2 (current): 1" in status
    assert f"signing keys encrypted under {old_kid} (older" in status
    assert "re-encrypted under the current key" in _ok(data, "secret-keys", "reseal", ring=entry)
    status = _ok(data, "secret-keys", "status", ring=entry)
    assert f"signing keys encrypted under {old_kid}" not in status
    assert "signing keys encrypted under k2 (current)" in status
    # The old key out of the ring: the server starts (its signing keys were re-encrypted); the
    # re-keyed secret works, the one never used since the rotation stops.
    (data / "secret.key").unlink()
    with TestClient(create_app(ring, housekeeping_interval=False)) as http:
        assert token(http, used)
        refused = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                            auth=idle.basic_auth)
        assert refused.status_code == 401
    assert "NOT IN THE RING" in _ok(data, "secret-keys", "status", ring=entry)


@pytest.mark.parametrize(("ring", "rule"), [
    pytest.param("k1:" + "a" * 40 + ",k1:" + "b" * 40, "appears twice", id="duplicate-kid"),
    pytest.param("k1:tooshort", "at least 32 characters", id="short-key"),
    pytest.param("k-1:" + "a" * 40, "1 to 16 letters or digits", id="bad-kid"),
])
def test_cli_refuses_a_malformed_ring_at_start_up(tmp_path: Path, ring: str, rule: str) -> None:
    result = _cli(tmp_path, "clients", "list", ring=ring)
    assert result.returncode == 1
    assert rule in result.stderr
    assert "Traceback" not in result.stderr
    assert "a" * 32 not in result.stderr
