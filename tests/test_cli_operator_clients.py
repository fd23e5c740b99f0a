"""`keystead clients …` in both modes: locally on the store, remotely through the API.

One site per store for the whole module (a real uvicorn); each test makes the clients it needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.operator_cli import MODES, Site, serving_site

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=STORES)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    with serving_site(str(request.param), tmp_path_factory.mktemp("site") / "data") as made:
        yield made


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _create(site: Site, mode: str, *extra: str) -> dict[str, Any]:
    name = f"app-{uuid.uuid4().hex[:8]}"
    created = site.json(mode, "clients", "create", "--name", name, "--role", "OAuth Admin",
                        "--scope", "oauth:readonly", *extra)
    assert isinstance(created, dict)
    return created | {"name": name}


def _token_status(site: Site, client_id: str, secret: str) -> int:
    return httpx.post(f"{site.server}/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(client_id, secret)).status_code


def test_clients_create_prints_a_secret_that_gets_a_token(site: Site, mode: str) -> None:
    created = _create(site, mode)
    assert set(created) == {"id", "secret", "name"}
    assert _token_status(site, created["id"], created["secret"]) == 200
    other = "remote" if mode == "local" else "local"
    shown = site.json(other, "clients", "show", created["id"])
    assert isinstance(shown, dict)
    assert (shown["name"], shown["scope"]) == (created["name"], ["oauth:readonly"])


def test_clients_create_refuses_bad_input_with_exit_1_naming_the_field(site: Site,
                                                                       mode: str) -> None:
    result = site.run(mode, "clients", "create", "--name", "no scope", "--role", "OAuth Admin")
    assert result.exit_code == 1
    assert "scope" in result.stderr
    assert result.stdout == ""


def test_clients_list_is_a_table_with_headers_and_json_with_flag(site: Site, mode: str) -> None:
    created = _create(site, mode)
    lines = site.ok(mode, "clients", "list").splitlines()
    assert lines[0].split() == ["ID", "STATE", "GRANTS", "NAME"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows[created["id"]] == ["active", "CLIENT-CREDENTIALS", created["name"]]
    listed = site.json(mode, "clients", "list", "--name", created["name"])
    assert isinstance(listed, list)
    assert [c["id"] for c in listed] == [created["id"]]
    assert created["secret"] not in site.ok(mode, "clients", "list", "--json")


def test_clients_show_prints_fields_or_json_and_never_the_secret(site: Site, mode: str) -> None:
    created = _create(site, mode, "--tag", "billing")
    text = site.ok(mode, "clients", "show", created["id"])
    fields = {k.strip(): v.strip() for k, v in (line.split(":", 1)
                                                 for line in text.splitlines())}
    assert (fields["NAME"], fields["TAGS"], fields["SECRETS"]) == (created["name"], "billing", "1")
    shown = site.json(mode, "clients", "show", created["id"])
    assert isinstance(shown, dict)
    assert shown["id"] == created["id"]
    assert created["secret"] not in text + str(shown)


def test_clients_show_unknown_id_exits_1_naming_it(site: Site, mode: str) -> None:
    missing = str(uuid.uuid4())
    result = site.run(mode, "clients", "show", missing)
    assert result.exit_code == 1
    assert missing in result.stderr
    assert result.stdout == ""


def test_clients_update_changes_only_the_named_fields(site: Site, mode: str) -> None:
    created = _create(site, mode, "--tag", "a", "--environment", "staging")
    updated = site.json(mode, "clients", "update", created["id"], "--name", "renamed",
                        "--tag", "b")
    assert isinstance(updated, dict)
    assert (updated["name"], updated["tags"], updated["environment"], updated["scope"]) == (
        "renamed", ["b"], "staging", ["oauth:readonly"])
    assert _token_status(site, created["id"], created["secret"]) == 200


def test_clients_rotate_secret_prints_a_new_working_secret(site: Site, mode: str) -> None:
    created = _create(site, mode)
    rotated = site.json(mode, "clients", "rotate-secret", created["id"],
                        "--dual-use-seconds", "0")
    assert isinstance(rotated, dict)
    assert rotated["secret"] != created["secret"]
    assert _token_status(site, created["id"], rotated["secret"]) == 200
    assert _token_status(site, created["id"], created["secret"]) == 401


def test_clients_disable_stops_its_tokens_and_enable_restores(site: Site, mode: str) -> None:
    created = _create(site, mode)
    assert "is now disabled" in site.ok(mode, "clients", "disable", created["id"])
    assert _token_status(site, created["id"], created["secret"]) != 200
    enabled = site.json(mode, "clients", "enable", created["id"])
    assert isinstance(enabled, dict)
    assert enabled["state"] == "active"
    assert _token_status(site, created["id"], created["secret"]) == 200


def test_clients_schedule_deletion_makes_it_inactive_until_the_date(site: Site,
                                                                    mode: str) -> None:
    created = _create(site, mode)
    scheduled = site.json(mode, "clients", "schedule-deletion", created["id"], "--in", "7")
    assert isinstance(scheduled, dict)
    when = datetime.fromisoformat(scheduled["dateToDelete"].replace("Z", "+00:00"))
    assert scheduled["state"] == "inactive"
    assert abs(when - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)
    assert _token_status(site, created["id"], created["secret"]) != 200
    refused = site.run(mode, "clients", "schedule-deletion", created["id"], "--in", "0")
    assert refused.exit_code == 2  # a usage error: DAYS is at least 1


def test_clients_delete_removes_it_for_good(site: Site, mode: str) -> None:
    created = _create(site, mode)
    declined = site.run(mode, "clients", "delete", created["id"], stdin="n\n")
    assert declined.exit_code != 0
    assert site.run(mode, "clients", "show", created["id"]).exit_code == 0
    assert f"{created['id']} deleted" in site.ok(mode, "clients", "delete", created["id"],
                                                 "--yes")
    assert site.run(mode, "clients", "show", created["id"]).exit_code == 1
    assert _token_status(site, created["id"], created["secret"]) == 401


def test_remote_exit_codes_tell_refused_credentials_from_an_unreachable_server(
        site: Site) -> None:
    wrong = site.remote("clients", "list", KEYSTEAD_CLIENT_SECRET="not-the-secret")
    assert wrong.exit_code == 4
    assert "not-the-secret" not in wrong.stderr + wrong.stdout
    assert site.remote("clients", "show").exit_code == 2  # usage: CLIENT-ID missing
    gone = site.local("--server", "http://127.0.0.1:1", "clients", "list",
                      KEYSTEAD_CLIENT_ID=site.admin.id, KEYSTEAD_CLIENT_SECRET=site.admin.secret)
    assert gone.exit_code == 3
    assert "no answer" in gone.stderr
    assert site.admin.secret not in gone.stderr + gone.stdout
    missing = site.local("--server", site.server, "clients", "list")
    assert missing.exit_code == 2
    assert "KEYSTEAD_CLIENT_SECRET" in missing.stderr


def test_remote_permission_denied_exits_4(site: Site) -> None:
    reader = _create(site, "local")  # holds OAuth Admin, but its tokens carry oauth:readonly
    result = site.local("--server", site.server, "clients", "create", "--name", "x", "--scope",
                        "oauth:readonly", KEYSTEAD_CLIENT_ID=reader["id"],
                        KEYSTEAD_CLIENT_SECRET=reader["secret"])
    assert result.exit_code == 4, result.stderr
