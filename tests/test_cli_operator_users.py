"""`keystead users …` in both modes: locally on the store, remotely through the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.operator_cli import MODES, Site, api_call, serving_site

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PASSWORD = "correct-horse-battery-staple-41"


@pytest.fixture(scope="module", params=STORES)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    with serving_site(str(request.param), tmp_path_factory.mktemp("site") / "data") as made:
        yield made


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _create(site: Site, mode: str) -> dict[str, Any]:
    email = f"u-{uuid.uuid4().hex[:8]}@example.com"
    created = site.json(mode, "users", "create", "--email", email, "--name", "Una User",
                        "--password-stdin", stdin=PASSWORD + "\n")
    assert isinstance(created, dict)
    return created


def _roles_held(site: Site, user_id: str) -> list[str]:
    subject = api_call(site, "GET", f"/api/v2/authorization/subjects/{user_id}").json()
    return sorted(g["role"]["name"] for g in subject["grants"])


def test_users_create_makes_an_active_user_without_roles(site: Site, mode: str) -> None:
    created = _create(site, mode)
    assert (created["state"], created["mfaEnrolled"]) == ("active", False)
    assert PASSWORD not in str(created)
    assert _roles_held(site, created["id"]) == []


def test_users_create_refuses_a_weak_password_with_exit_1(site: Site, mode: str) -> None:
    result = site.run(mode, "users", "create", "--email", "weak@example.com", "--name", "W",
                      "--password-stdin", stdin="password\n")
    assert result.exit_code == 1
    assert "password" in result.stderr
    assert "weak@example.com" not in site.ok(mode, "users", "list")


def test_users_list_is_a_table_with_headers_and_json_with_flag(site: Site, mode: str) -> None:
    created = _create(site, mode)
    lines = site.ok(mode, "users", "list").splitlines()
    assert lines[0].split() == ["ID", "EMAIL", "STATE", "MFA", "NAME"]
    assert any(line.split()[:3] == [created["id"], created["email"], "active"]
               for line in lines[1:])
    found = site.json(mode, "users", "list", "--query", created["email"])
    assert isinstance(found, list)
    assert [u["id"] for u in found] == [created["id"]]


def test_users_deactivate_by_email(site: Site, mode: str) -> None:
    created = _create(site, mode)
    assert "is now inactive" in site.ok(mode, "users", "deactivate", created["email"])
    shown = api_call(site, "GET", f"/api/v2/users/{created['id']}").json()
    assert shown["state"] == "inactive"
    assert site.run(mode, "users", "deactivate", "nobody@example.com").exit_code == 1


def test_users_reset_mfa_is_audited(site: Site, mode: str) -> None:
    created = _create(site, mode)
    reset = site.json(mode, "users", "reset-mfa", created["id"])
    assert isinstance(reset, dict)
    assert reset["mfaEnrolled"] is False
    events = api_call(site, "POST", "/api/v2/audits/query/realtime", json={
        "interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z",
        "filters": [{"property": "entityId", "value": created["id"]},
                    {"property": "action", "value": "mfa.reset"}]}).json()["entities"]
    assert len(events) == 1


def test_users_set_password_applies_the_password_rules(site: Site, mode: str) -> None:
    created = _create(site, mode)
    weak = site.run(mode, "users", "set-password", created["email"], "--password-stdin",
                    stdin="12345678\n")
    assert weak.exit_code == 1
    assert "12345678" not in weak.stderr + weak.stdout
    done = site.ok(mode, "users", "set-password", created["email"], "--password-stdin",
                   stdin="another-long-passphrase-77\n")
    assert "has a new password" in done
    assert "another-long-passphrase-77" not in done


def test_users_grant_gives_a_role_in_home(site: Site, mode: str) -> None:
    created = _create(site, mode)
    assert "now holds OAuth Admin in Home" in site.ok(
        mode, "users", "grant", "--email", created["email"], "--role", "OAuth Admin")
    assert _roles_held(site, created["id"]) == ["OAuth Admin"]
    unknown = site.run(mode, "users", "grant", "--email", created["email"], "--role", "Janitor")
    assert unknown.exit_code == 1
    assert "Janitor" in unknown.stderr


def test_users_create_admin_role_gives_least_privilege(site: Site, mode: str) -> None:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    out = site.ok(mode, "users", "create-admin", "--email", email, "--role", "OAuth Admin",
                  "--password-stdin", stdin=PASSWORD + "\n")
    assert "holds OAuth Admin in the Home division" in out
    [user] = api_call(site, "GET", "/api/v2/users", params={"q": email}).json()["entities"]
    assert _roles_held(site, user["id"]) == ["OAuth Admin"]


def test_users_create_admin_unknown_role_makes_no_user(site: Site, mode: str) -> None:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    result = site.run(mode, "users", "create-admin", "--email", email, "--role", "Janitor",
                      "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 1
    listed = api_call(site, "GET", "/api/v2/users", params={"q": email}).json()["entities"]
    assert listed == []
