"""Owners, orphans and the policy's rules for saving a client (domain/governance/ownership.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from keystead.domain.clients import Actor, Client, ClientSettings, Environment
from keystead.domain.governance.ownership import (
    Owner,
    is_development_uri,
    is_orphaned,
    owner_problems,
    policy_problems,
)
from keystead.domain.governance.policy import Policy

NOW = datetime(2026, 12, 1, tzinfo=UTC)
STRICT = Policy(owner_required=True, description_required=True,
                production_https_redirects_only=True)
OLIVE = Owner("u1", "Olive", "olive@example.com", active=True)


def _client(owner_id: str | None) -> Client:
    actor = Actor("cli", "cli", "cli")
    return Client(id="c1", settings=ClientSettings(name="x", owner_id=owner_id),
                  date_created=NOW, date_modified=NOW, created_by=actor, modified_by=actor)


@pytest.mark.parametrize(("uri", "development"), [
    pytest.param("https://app.example.com/cb", False, id="https"),
    pytest.param("com.example.app:/cb", False, id="private-use-scheme"),
    pytest.param("http://app.example.com/cb", True, id="http"),
    pytest.param("https://localhost/cb", True, id="https-localhost"),
    pytest.param("https://127.0.0.2:8443/cb", True, id="https-loopback-v4"),
    pytest.param("https://[::1]/cb", True, id="https-loopback-v6"),
])
def test_is_development_uri(uri: str, development: bool) -> None:
    assert is_development_uri(uri) is development


def test_is_orphaned_when_the_owner_is_deactivated_or_deleted() -> None:
    assert is_orphaned(_client("u1"), {"u1": OLIVE}) is False
    assert is_orphaned(_client("u1"), {"u1": replace(OLIVE, active=False)}) is True
    assert is_orphaned(_client("u1"), {}) is True
    assert is_orphaned(_client(None), {}) is False


def test_owner_problems_name_owner_id() -> None:
    assert [p.code for p in owner_problems("u1", {})] == ["unknown.user"]
    assert [p.code for p in owner_problems("u1", {"u1": replace(OLIVE, active=False)})] == [
        "inactive.user"]
    assert owner_problems("u1", {"u1": OLIVE}) == []


def test_policy_problems_on_create_name_field_and_switch() -> None:
    settings = ClientSettings(name="x", environment=Environment.production,
                              redirect_uris=("http://localhost/cb",))
    assert [(p.field, p.code) for p in policy_problems(STRICT, settings)] == [
        ("owner.id", "policy.ownerRequired"), ("description", "policy.descriptionRequired"),
        ("registeredRedirectUri[0]", "policy.productionHttpsRedirectsOnly")]
    assert policy_problems(Policy(), settings) == []


def test_policy_problems_on_update_only_for_the_fields_it_changes() -> None:
    before = ClientSettings(name="x", environment=Environment.production,
                            redirect_uris=("http://localhost/cb",))
    assert policy_problems(STRICT, replace(before, name="renamed"), before) == []
    assert [p.code for p in policy_problems(
        STRICT, replace(before, redirect_uris=("http://localhost/other",)), before)] == [
        "policy.productionHttpsRedirectsOnly"]
