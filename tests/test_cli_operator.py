"""The operator CLI's shell: profiles and `keystead login`, help texts, shell completion."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from keystead.cli import app
from tests.support.operator_cli import Site, serving_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serving_site("sqlite", tmp_path_factory.mktemp("site") / "data") as made:
        yield made


def _login(site: Site, profiles: Path, secret: str, *extra: str) -> tuple[int, str]:
    result = site.local("login", "--server", site.server, "--client-id", site.admin.id,
                        "--client-secret-stdin", *extra, stdin=secret + "\n",
                        KEYSTEAD_PROFILES=str(profiles))
    return result.exit_code, result.stdout + result.stderr


def test_login_writes_a_0600_profile_that_remote_commands_use(site: Site, tmp_path: Path) -> None:
    profiles = tmp_path / "config" / "profiles.toml"
    code, printed = _login(site, profiles, site.admin.secret, "--profile", "prod")
    assert code == 0, printed
    assert site.admin.secret not in printed
    assert oct(profiles.stat().st_mode & 0o777) == "0o600"
    # No server, no credentials in the environment: all from the profile; no local store.
    result = site.local("--profile", "prod", "clients", "list", KEYSTEAD_PROFILES=str(profiles),
                        KEYSTEAD_DATA_DIR=str(tmp_path / "nothing"))
    assert result.exit_code == 0, result.stderr
    assert site.admin.id in result.stdout
    by_variable = site.local("clients", "show", site.admin.id, KEYSTEAD_PROFILE="prod",
                             KEYSTEAD_PROFILES=str(profiles),
                             KEYSTEAD_DATA_DIR=str(tmp_path / "nothing"))
    assert by_variable.exit_code == 0, by_variable.stderr


def test_login_refuses_a_wrong_secret_and_writes_nothing(site: Site, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    code, printed = _login(site, profiles, "wrong-secret")
    assert code == 4
    assert "wrong-secret" not in printed
    assert not profiles.exists()


def test_profile_readable_by_others_is_refused_with_the_fix(site: Site, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    assert _login(site, profiles, site.admin.secret)[0] == 0
    os.chmod(profiles, 0o644)
    result = site.local("--profile", "default", "clients", "list",
                        KEYSTEAD_PROFILES=str(profiles))
    assert result.exit_code == 2
    assert f"chmod 600 {profiles}" in result.stderr
    assert site.admin.secret not in result.stderr + result.stdout


def test_unknown_profile_exits_2_saying_how_to_make_it(site: Site, tmp_path: Path) -> None:
    result = site.local("--profile", "nope", "clients", "list",
                        KEYSTEAD_PROFILES=str(tmp_path / "profiles.toml"))
    assert result.exit_code == 2
    assert "keystead login --profile nope" in result.stderr


def _commands(group: typer.Typer) -> Iterator[list[str]]:
    command = typer.main.get_command(group)
    stack: list[tuple[list[str], object]] = [([], command)]
    while stack:
        path, node = stack.pop()
        yield path
        for name, child in getattr(node, "commands", {}).items():
            stack.append(([*path, name], child))


def test_help_shows_types_as_words_never_python_annotations() -> None:
    runner = CliRunner()
    seen = 0
    for path in _commands(app):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        assert not re.search(r"<(list|int|str|bool|float|path|datetime)", result.stdout), (
            path, result.stdout)
        seen += 1
    assert seen > 40
    create = runner.invoke(app, ["clients", "create", "--help"], env={"COLUMNS": "200"}).stdout
    assert "SCOPE…" in create
    assert "URI…" in create


def test_show_completion_prints_a_bash_script() -> None:
    result = CliRunner().invoke(app, ["--show-completion", "bash"],
                                prog_name="keystead")
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "complete" in result.stdout
    assert "_KEYSTEAD_COMPLETE" in result.stdout


def test_local_only_command_refuses_when_a_server_is_named(site: Site) -> None:
    result = site.remote("clients", "add-role", site.admin.id, "--role", "OAuth Admin")
    assert result.exit_code == 2
    assert "runs locally only" in result.stderr
