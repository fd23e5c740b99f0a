"""`keystead users create-admin`: the bootstrap admin user, audited as the operator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.web.app import create_app
from tests.people import PASSWORD
from tests.saml_idp import AUDIENCE, EMAIL, SamlIdp
from tests.support.cli import keystead_cli
from tests.support.clients import Registered, client_body
from tests.support.management import audit_events
from tests.support.tokens import bearer, token


def _cli(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return keystead_cli({"KEYSTEAD_DATA_DIR": str(tmp_path)}, *args, stdin=stdin)


def _create_admin(data_dir: Path, email: str, password: str = PASSWORD,
                  ) -> subprocess.CompletedProcess[str]:
    return _cli(data_dir, "users", "create-admin", "--email", email, "--password-stdin",
                stdin=password + "\n")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    assert _cli(tmp_path, "init").returncode == 0
    return tmp_path


def test_create_admin_grants_super_admin_once(data_dir: Path) -> None:
    first = _create_admin(data_dir, "ops@example.com")
    assert first.returncode == 0, first.stderr
    assert "Super Admin" in first.stdout
    again = _create_admin(data_dir, "ops@example.com")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert _cli(data_dir, "audit", "verify").returncode == 0


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com"])
def test_create_admin_refuses_bad_email(data_dir: Path, email: str) -> None:
    result = _create_admin(data_dir, email)
    assert result.returncode == 1
    assert "email" in result.stderr


@pytest.mark.parametrize("password", ["short-pw", "password1234", "aaaaaaaaaaaaaa"])
def test_create_admin_refuses_weak_password(data_dir: Path, password: str) -> None:
    result = _create_admin(data_dir, "ops@example.com", password)
    assert result.returncode == 1
    assert "password" in result.stderr
    assert password not in result.stderr + result.stdout


def test_add_role_lets_an_admin_client_assign_a_custom_role(data_dir: Path) -> None:
    """The operator gives the admin client a custom role; the admin can then assign it."""
    made = _cli(data_dir, "bootstrap-client", "--name", "root", "--role", "Super Admin", "--json")
    admin = json.loads(made.stdout)
    settings = Settings(data_dir=data_dir)
    with TestClient(create_app(settings, housekeeping_interval=False)) as http:
        headers = bearer(token(http, Registered(admin["id"], admin["secret"])))
        role = http.post("/api/v2/authorization/roles", headers=headers, json={
            "name": "Contact Manager", "permissions": ["oauth:client:view"]}).json()["id"]
        refused = http.post("/api/v2/oauth/clients", headers=headers, json=client_body(role))
        assert refused.status_code == 403
        added = _cli(data_dir, "clients", "add-role", admin["id"], "--role", "Contact Manager")
        assert added.returncode == 0, added.stderr
        allowed = http.post("/api/v2/oauth/clients", headers=headers, json=client_body(role))
        assert allowed.status_code == 200, allowed.text
    unknown = _cli(data_dir, "clients", "add-role", admin["id"], "--role", "No Such Role")
    assert unknown.returncode == 1
    assert "No Such Role" in unknown.stderr


def test_users_grant_gives_a_role_the_console_could_not(data_dir: Path) -> None:
    assert _create_admin(data_dir, "ops@example.com").returncode == 0
    granted = _cli(data_dir, "users", "grant", "--email", "OPS@example.com",
                   "--role", "OAuth Admin")
    assert granted.returncode == 0, granted.stderr
    assert "OAuth Admin" in granted.stdout
    again = _cli(data_dir, "users", "grant", "--email", "ops@example.com", "--role", "OAuth Admin")
    assert again.returncode == 1
    assert "already holds" in again.stderr
    unknown = _cli(data_dir, "users", "grant", "--email", "ops@example.com", "--role", "Nope")
    assert unknown.returncode == 1
    assert "Nope" in unknown.stderr
    nobody = _cli(data_dir, "users", "grant", "--email", "x@example.com", "--role", "OAuth Admin")
    assert nobody.returncode == 1
    assert "x@example.com" in nobody.stderr
    settings = Settings(data_dir=data_dir)
    with TestClient(create_app(settings, housekeeping_interval=False)) as http:
        admin = _bootstrap(data_dir)
        headers = bearer(token(http, admin))
        user_id = http.get("/api/v2/users", headers=headers).json()["entities"][0]["id"]
        grants = http.get(f"/api/v2/authorization/subjects/{user_id}", headers=headers).json()
        audited = audit_events(http, headers, action="grant.add")
    assert sorted(g["role"]["name"] for g in grants["grants"]) == ["OAuth Admin", "Super Admin"]
    assert {e["context"]["actorKind"] for e in audited} == {"cli"}
    assert _cli(data_dir, "audit", "verify").returncode == 0


def _bootstrap(data_dir: Path) -> Registered:
    made = _cli(data_dir, "bootstrap-client", "--name", "root", "--role", "Super Admin", "--json")
    printed = json.loads(made.stdout)
    return Registered(printed["id"], printed["secret"])


def test_users_link_idp_and_unlink_idp(data_dir: Path) -> None:
    """The operator links a user to an identity provider (by id or issuer URI), audited."""
    idp = SamlIdp.create("https://idp.cli.test", label="cli")
    assert _create_admin(data_dir, "ops@example.com").returncode == 0
    admin = _bootstrap(data_dir)
    settings = Settings(data_dir=data_dir)
    with TestClient(create_app(settings, housekeeping_interval=False)) as http:
        headers = bearer(token(http, admin))
        provider = http.post("/api/v2/identityproviders/generic", headers=headers, json={
            "name": "Corporate IdP", "issuerURI": idp.issuer, "certificates": [idp.certificate],
            "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": EMAIL}).json()["id"]
    linked = _cli(data_dir, "users", "link-idp", "--email", "OPS@example.com",
                  "--provider", idp.issuer, "--name-id", "ops@corp.test")
    assert linked.returncode == 0, linked.stderr
    assert "ops@corp.test" in linked.stdout
    nobody = _cli(data_dir, "users", "link-idp", "--email", "ops@example.com",
                  "--provider", "https://nope.example.com", "--name-id", "x")
    assert nobody.returncode == 1
    assert "nope.example.com" in nobody.stderr
    bad = _cli(data_dir, "users", "link-idp", "--email", "ops@example.com",
               "--provider", provider, "--name-id", " padded")
    assert bad.returncode == 1
    assert "nameId" in bad.stderr
    with TestClient(create_app(settings, housekeeping_interval=False)) as http:
        headers = bearer(token(http, admin))
        user_id = http.get("/api/v2/users", headers=headers).json()["entities"][0]["id"]
        links = http.get(f"/api/v2/users/{user_id}/identityproviders", headers=headers).json()
        assert [(e["identityProvider"]["id"], e["nameId"]) for e in links["entities"]] == [
            (provider, "ops@corp.test")]
    unlinked = _cli(data_dir, "users", "unlink-idp", "--email", "ops@example.com",
                    "--provider", provider)
    assert unlinked.returncode == 0, unlinked.stderr
    again = _cli(data_dir, "users", "unlink-idp", "--email", "ops@example.com",
                 "--provider", provider)
    assert again.returncode == 1
    with TestClient(create_app(settings, housekeeping_interval=False)) as http:
        headers = bearer(token(http, admin))
        audited = audit_events(http, headers, entity_id=user_id)
    audited.sort(key=lambda e: int(e["context"]["sequence"]))
    assert [(e["action"], e["context"]["actorKind"]) for e in audited
            if e["action"].startswith("identityprovider.")] == [
        ("identityprovider.link", "cli"), ("identityprovider.unlink", "cli")]
    assert _cli(data_dir, "audit", "verify").returncode == 0
