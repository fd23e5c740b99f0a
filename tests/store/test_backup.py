"""Backups and restores as the README describes them: `keystead backup` copies the embedded store
while the server writes to it, and the documented pg_dump/pg_restore flags round-trip PostgreSQL.
A restored store serves the same clients and secrets, and its audit chain verifies."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from keystead.cli import app as cli
from keystead.config import Settings
from keystead.web.app import create_app
from tests.conftest import SECRET_KEY
from tests.support.cli import keystead_cli
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.postgres import throwaway_database, url_of
from tests.support.servers import reserved_port, uvicorn_on
from tests.support.tokens import bearer, token


def _env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    env = {"KEYSTEAD_DATA_DIR": str(data_dir), "KEYSTEAD_SECRET_KEY": SECRET_KEY}
    return env | ({"KEYSTEAD_DATABASE_URL": database_url} if database_url else {})


def _ok(env: dict[str, str], *args: str) -> str:
    done = keystead_cli(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _settings(data_dir: Path, database_url: str = "") -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url,
                    secret_key=SecretStr(SECRET_KEY), issuer="http://testserver")


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    data_dir = tmp_path / "live"
    _ok(_env(data_dir), "init")
    return data_dir


def _names(http: TestClient, admin: Registered) -> set[str]:
    listing = http.get(CLIENTS, headers=bearer(token(http, admin)), params={"pageSize": 500})
    assert listing.status_code == 200, listing.text
    return {c["name"] for c in listing.json()["entities"]}


def test_backup_while_serving_restores_to_a_working_store(deployment: Path,
                                                           tmp_path: Path) -> None:
    admin = Registered(**{k: v for k, v in json.loads(_ok(
        _env(deployment), "bootstrap-client", "--name", "ops", "--role", "Super Admin",
        "--json")).items() if k in ("id", "secret")})
    port = reserved_port()
    writes: list[int] = []
    writing, stop = threading.Event(), threading.Event()

    def keep_writing() -> None:  # a server busy with changes while the copy is made
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as web:
            answer = web.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(admin.id, admin.secret)).json()
            while not stop.is_set():
                made = web.post("/api/v2/oauth/scopes", headers=bearer(answer["access_token"]),
                                json={"id": f"busy:{uuid.uuid4().hex[:8]}", "description": "x"})
                writes.append(made.status_code)
                writing.set()

    with uvicorn_on(_settings(deployment), port):
        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            # The copy starts once changes are flowing: the in-process backup can otherwise be
            # done before the writer has its token.
            assert writing.wait(timeout=30)
            copy = tmp_path / "backups" / "keystead-backup.db"
            report = json.loads(_ok(_env(deployment), "backup", str(copy), "--json"))
        finally:
            stop.set()
            writer.join(timeout=30)
    assert writes
    assert set(writes) == {200}
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert report["clients"] == 1
    assert report["auditEvents"] >= 1

    # The README's restore: the copy becomes keystead.db of a data dir, then `keystead init`.
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(copy, restored / "keystead.db")
    _ok(_env(restored), "init")
    assert "audit log intact" in _ok(_env(restored), "audit", "verify")
    with TestClient(create_app(_settings(restored), housekeeping_interval=False),
                    base_url="http://testserver") as http:
        assert "ops" in _names(http, admin)


def _backup_in_process(data_dir: Path, destination: Path) -> Result:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KEYSTEAD_")}
    env.update(_env(data_dir))
    return CliRunner().invoke(cli, ["backup", str(destination)], env=env)


def test_backup_never_overwrites(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "keystead.db") as db:
        db.execute("CREATE TABLE t (x)")
    existing = tmp_path / "taken.db"
    existing.write_bytes(b"someone's file")
    done = _backup_in_process(tmp_path, existing)
    assert done.exit_code == 1
    assert "exists" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert existing.read_bytes() == b"someone's file"


def test_backup_of_a_missing_store_says_so(tmp_path: Path) -> None:
    done = _backup_in_process(tmp_path / "nothing-here", tmp_path / "b.db")
    assert done.exit_code == 1
    assert "no database" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert not (tmp_path / "b.db").exists()


def test_backup_of_a_database_that_is_not_keysteads_leaves_nothing(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "keystead.db") as db:
        db.execute("CREATE TABLE t (x)")
    done = _backup_in_process(tmp_path, tmp_path / "b.db")
    assert done.exit_code == 1
    assert "not a Keystead database" in done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keystead.db"]


# -- PostgreSQL: the documented pg_dump / pg_restore flags


@pytest.fixture
def postgres_pair() -> Iterator[tuple[str, str]]:
    """Two empty databases: the live one and the one a dump is restored into."""
    with throwaway_database("keystead_backup") as live, \
            throwaway_database("keystead_backup") as target:
        yield url_of(live), url_of(target)


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.mark.postgres
def test_pg_dump_and_restore_with_the_documented_flags(postgres_pair: tuple[str, str],
                                                      tmp_path: Path) -> None:
    live, target = postgres_pair
    _ok(_env(tmp_path, live), "init")
    with TestClient(create_app(_settings(tmp_path, live), housekeeping_interval=False),
                    base_url="http://testserver") as http:
        admin = bootstrap(http, name="ops", roles=["Super Admin"])
    dump = tmp_path / "keystead.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                    f"--file={dump}", _libpq(live)], check=True, capture_output=True)
    subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                    f"--dbname={_libpq(target)}", str(dump)], check=True, capture_output=True)
    _ok(_env(tmp_path, target), "init")
    assert "audit log intact" in _ok(_env(tmp_path, target), "audit", "verify")
    with TestClient(create_app(_settings(tmp_path, target), housekeeping_interval=False),
                    base_url="http://testserver") as http:
        assert "ops" in _names(http, admin)
