"""`keystead governance findings …`: the operator evaluates, lists, archives and fixes findings
from the command line; each change is audited as the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.support.cli import keystead_cli
from tests.support.clients import CLIENTS, Registered, code_body, create_client
from tests.support.management import audit_events
from tests.support.tokens import bearer, token


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return keystead_cli({"KEYSTEAD_DATA_DIR": str(data_dir)}, *args)


def _findings(data_dir: Path, *args: str) -> Any:
    result = _cli(data_dir, "governance", "findings", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    assert _cli(tmp_path, "init").returncode == 0
    return tmp_path


def test_cli_findings_evaluate_list_archive_unarchive(data_dir: Path) -> None:
    made = _cli(data_dir, "bootstrap-client", "--name", "root", "--role", "Super Admin", "--json")
    admin = json.loads(made.stdout)
    done = _findings(data_dir, "evaluate")  # the admin's were found when it was created
    assert done == {"clientsEvaluated": 1, "opened": 0, "resolved": 0}
    listed = _findings(data_dir, "list", "--kind", "over-privileged")
    assert [(f["clientId"], f["severity"]) for f in listed] == [(admin["id"], "critical")]
    bad = _cli(data_dir, "governance", "findings", "list", "--kind", "nope")
    assert bad.returncode == 1
    assert "kind must be one of" in bad.stderr
    finding = listed[0]["id"]
    no_reason = _cli(data_dir, "governance", "findings", "archive", finding, "--reason", " ")
    assert no_reason.returncode == 1
    assert "reason" in no_reason.stderr
    archived = _findings(data_dir, "archive", finding, "--reason", "break-glass admin")
    assert archived["state"] == "archived"
    assert archived["archived"]["by"]["id"] == "cli"
    assert [f["id"] for f in _findings(data_dir, "list", "--state", "archived")] == [finding]
    assert _findings(data_dir, "unarchive", finding)["state"] == "active"
    manual = _cli(data_dir, "governance", "findings", "remedy", finding)
    assert manual.returncode == 1
    assert "no one-step remedy" in manual.stderr
    assert _cli(data_dir, "audit", "verify").returncode == 0


def test_cli_findings_remedy_changes_the_client_audited_as_the_cli(data_dir: Path) -> None:
    made = _cli(data_dir, "bootstrap-client", "--name", "root", "--role", "Super Admin", "--json")
    admin = json.loads(made.stdout)
    with TestClient(create_app(Settings(data_dir=data_dir), housekeeping_interval=False)) as http:
        headers = bearer(token(http, Registered(admin["id"], admin["secret"])))
        app = create_client(http, headers, code_body(accessTokenValiditySeconds=86_400))
        _findings(data_dir, "evaluate", "--client-id", app.id)
        [long] = _findings(data_dir, "list", "--client-id", app.id,
                           "--kind", "token-duration-above-policy")
        assert long["evidence"]["policyMaxSeconds"] == 64_800
        assert _findings(data_dir, "remedy", long["id"])["state"] == "resolved"
        client = http.get(f"{CLIENTS}/{app.id}", headers=headers).json()
        assert client["accessTokenValiditySeconds"] == 64_800
        change = audit_events(http, headers, entity_id=app.id, action="update")[-1]
        assert change["context"]["actorKind"] == "cli"
