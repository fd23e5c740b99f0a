"""``keystead clients set-secret-destination|secret-destination|remove-secret-destination`` and
``rotate-secret --deliver`` on both stores: the operator configures a file destination, rotates
into it (the secret is printed nowhere), and a failed delivery exits 1 leaving the secret as it
was."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from starlette.testclient import TestClient

from keystead.config import Settings
from tests.conftest import SECRET_KEY
from tests.support.cli import keystead_cli
from tests.support.clients import bootstrap

CC = {"grant_type": "client_credentials"}


def cli(settings: Settings, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return keystead_cli({"KEYSTEAD_DATA_DIR": str(settings.data_dir),
                         "KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
                         "KEYSTEAD_SECRET_KEY": SECRET_KEY,
                         "KEYSTEAD_SECRET_FILE_ROOT": str(root)}, "clients", *args)


def test_cli_rotates_into_a_file_and_prints_no_secret(http: TestClient, settings: Settings,
                                                      tmp_path: Path) -> None:
    app = bootstrap(http, name="nightly export", roles=["OAuth Admin"])
    root = tmp_path / "secrets"
    root.mkdir()

    configured = cli(settings, root, "set-secret-destination", app.id, "--kind", "file",
                     "--setting", f"directory={root}", "--rotate-every-days", "30",
                     "--dual-use-seconds", "3600")
    rotated = cli(settings, root, "rotate-secret", app.id, "--deliver")

    assert configured.returncode == 0, configured.stderr
    assert json.loads(configured.stdout)["rotation"] == {"everyDays": 30,
                                                         "dualUseSeconds": 3600}
    assert rotated.returncode == 0, rotated.stderr
    secret = (root / app.id).read_text()
    assert secret not in rotated.stdout + rotated.stderr
    assert http.post("/oauth/token", data=CC, auth=(app.id, secret)).status_code == 200
    shown = json.loads(cli(settings, root, "secret-destination", app.id).stdout)
    assert shown["dateLastDelivered"] is not None
    assert cli(settings, root, "remove-secret-destination", app.id).returncode == 0
    assert cli(settings, root, "secret-destination", app.id).returncode == 1


def test_cli_failed_delivery_exits_3_and_keeps_the_secret(http: TestClient, settings: Settings,
                                                          tmp_path: Path) -> None:
    app = bootstrap(http, name="nightly export", roles=["OAuth Admin"])
    root = tmp_path / "secrets"
    (root / "gone").mkdir(parents=True)
    assert cli(settings, root, "set-secret-destination", app.id, "--kind", "file",
               "--setting", f"directory={root / 'gone'}").returncode == 0
    (root / "gone").rmdir()

    failed = cli(settings, root, "rotate-secret", app.id, "--deliver")
    unknown_kind = cli(settings, root, "set-secret-destination", app.id, "--kind", "s3")

    assert failed.returncode == 3  # a system the server depends on failed (README, exit codes)
    assert "not delivered" in failed.stderr
    assert "Traceback" not in failed.stderr + unknown_kind.stderr
    assert http.post("/oauth/token", data=CC, auth=app.basic_auth).status_code == 200
    assert unknown_kind.returncode == 1
    assert "kind" in unknown_kind.stderr
