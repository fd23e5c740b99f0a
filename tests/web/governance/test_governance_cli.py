"""`keystead governance deletion-requests list|approve|reject` and `keystead clients delete` under
the approval policy, run as the installed command on the test's database."""

from __future__ import annotations

import json
import subprocess

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.conftest import SECRET_KEY
from tests.support.cli import keystead_cli
from tests.support.clients import Registered, client_body, create_client
from tests.web.governance.support import CLIENTS, set_policy


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return keystead_cli({"KEYSTEAD_DATABASE_URL": settings.database_url,
                         "KEYSTEAD_DATA_DIR": str(settings.data_dir),
                         "KEYSTEAD_SECRET_KEY": SECRET_KEY}, *args)


@pytest.fixture
def target(http: TestClient, headers: dict[str, str], super_admin: str) -> Registered:
    set_policy(http, deletion_approval=True)
    return create_client(http, headers, client_body(super_admin, name="billing service"))


def test_cli_lists_and_approves_a_request_filed_through_the_api(
        http: TestClient, headers: dict[str, str], target: Registered, settings: Settings
) -> None:
    filed = http.delete(f"{CLIENTS}/{target.id}", headers=headers).json()
    listed = _run(settings, "governance", "deletion-requests", "list", "--state", "pending")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [filed["id"]]
    approved = _run(settings, "governance", "deletion-requests", "approve", filed["id"])
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["state"] == "approved"
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 404


def test_cli_delete_files_a_request_the_operator_cannot_approve_alone(
        http: TestClient, headers: dict[str, str], target: Registered, settings: Settings
) -> None:
    deleted = _run(settings, "clients", "delete", target.id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "stays until another admin approves" in deleted.stdout
    [pending] = http.get("/api/v2/governance/deletion-requests", headers=headers).json()[
        "entities"]
    refused = _run(settings, "governance", "deletion-requests", "approve", pending["id"])
    assert refused.returncode == 4  # permission denied (README "CLI": exit codes)
    assert "second admin" in refused.stderr
    no_reason = _run(settings, "governance", "deletion-requests", "reject", pending["id"],
                     "--reason", "")
    assert no_reason.returncode == 1
    assert "reason" in no_reason.stderr
    rejected = _run(settings, "governance", "deletion-requests", "reject", pending["id"],
                    "--reason", "withdrawn")
    assert rejected.returncode == 0, rejected.stderr
    assert http.get(f"{CLIENTS}/{target.id}", headers=headers).status_code == 200
