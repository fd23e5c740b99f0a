"""`keystead users export|erase`: a data subject's rights from the command line, as the operator."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from keystead.config import Settings
from tests.people import create_user
from tests.support.cli import keystead_cli


def _cli(settings: Settings, *args: str) -> Any:
    return keystead_cli({"KEYSTEAD_DATA_DIR": str(settings.data_dir),
                         "KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
                         "KEYSTEAD_SECRET_KEY": settings.secret_key.get_secret_value()}, *args)


def test_cli_export_writes_the_users_data_to_a_private_file(
        http: TestClient, settings: Settings, tmp_path: Path) -> None:
    person = create_user(http, "export.me@example.com", name="Export Me")
    out = tmp_path / "export.json"
    done = _cli(settings, "users", "export", "export.me@example.com", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    body = json.loads(out.read_text())
    assert body["profile"] == body["profile"] | {"id": person.id, "name": "Export Me",
                                                  "email": "export.me@example.com"}
    assert [e["action"] for e in body["auditEntries"]] == ["create"]
    by_id = _cli(settings, "users", "export", person.id)
    assert json.loads(by_id.stdout)["profile"]["id"] == person.id


def test_cli_erase_needs_yes_then_leaves_a_verifying_chain(
        http: TestClient, settings: Settings) -> None:
    person = create_user(http, "erase.me@example.com")
    refused = _cli(settings, "users", "erase", person.id)
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    erased = _cli(settings, "users", "erase", "erase.me@example.com", "--yes")
    assert erased.returncode == 0, erased.stderr
    assert "erased-" in erased.stdout
    verified = _cli(settings, "audit", "verify")
    assert verified.returncode == 0
    assert verified.stdout.strip().startswith("audit log intact: ")
    gone = _cli(settings, "users", "export", "erase.me@example.com")
    assert gone.returncode == 1
    assert "no user" in gone.stderr
