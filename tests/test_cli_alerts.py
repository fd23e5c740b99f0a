"""`keystead governance alerts …`: the operator evaluates, lists, acknowledges and resolves
alerts from the command line; each change is audited as the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli_findings import _cli


def _alerts(data_dir: Path, *args: str) -> Any:
    result = _cli(data_dir, "governance", "alerts", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    assert _cli(tmp_path, "init").returncode == 0
    return tmp_path


def test_cli_alerts_evaluate_list_acknowledge_resolve(data_dir: Path) -> None:
    made = _cli(data_dir, "bootstrap-client", "--name", "root", "--role", "Super Admin", "--json")
    admin = json.loads(made.stdout)
    # The operator, who never made a client before, just made one: a rare actor.
    assert _alerts(data_dir, "evaluate")["raised"] == 1
    [alert] = _alerts(data_dir, "list", "--rule", "unusual-change", "--state", "open")
    assert alert["clientId"] == admin["id"]
    assert "rare-actor" in alert["evidence"]["reasons"]
    bad = _cli(data_dir, "governance", "alerts", "list", "--rule", "nope")
    assert bad.returncode == 1
    assert "rule must be one of" in bad.stderr

    acknowledged = _alerts(data_dir, "acknowledge", alert["id"])
    assert (acknowledged["state"], acknowledged["acknowledged"]["by"]["id"]) == (
        "acknowledged", "cli")
    assert _alerts(data_dir, "resolve", alert["id"])["state"] == "resolved"
    assert _alerts(data_dir, "list", "--state", "open") == []
    assert _cli(data_dir, "audit", "verify").returncode == 0
