"""`keystead users create-admin`: the bootstrap admin user, audited as the operator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KEYSTEAD = str(Path(sys.executable).with_name("keystead"))


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"KEYSTEAD_DATA_DIR": str(tmp_path)}
    env.pop("KEYSTEAD_DATABASE_URL", None)
    return subprocess.run([KEYSTEAD, *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    assert _cli(tmp_path, "init").returncode == 0
    return tmp_path


def test_create_admin_grants_super_admin_once(data_dir: Path) -> None:
    first = _cli(data_dir, "users", "create-admin", "--email", "ops@example.com")
    assert first.returncode == 0, first.stderr
    assert "Super Admin" in first.stdout
    again = _cli(data_dir, "users", "create-admin", "--email", "ops@example.com")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert _cli(data_dir, "audit", "verify").returncode == 0


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com"])
def test_create_admin_refuses_bad_email(data_dir: Path, email: str) -> None:
    result = _cli(data_dir, "users", "create-admin", "--email", email)
    assert result.returncode == 1
    assert "email" in result.stderr
