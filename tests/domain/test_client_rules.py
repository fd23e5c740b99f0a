"""The client registration rules of the seed, checked without I/O (``check_settings``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from keystead.domain.clients import (
    DEFAULT_TOKEN_TTL,
    IMPLICIT_CUTOFF,
    ClientSettings,
    ClientState,
    GrantType,
    RoleDivision,
    check_settings,
    max_token_ttl,
)
from keystead.domain.principal import Caller, operator

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KNOWN_SCOPES = frozenset({"oauth", "oauth:readonly", "scim"})
SCIM_ROLE = "role-scim"
SERVICE = ClientSettings(
    name="billing service", grant_types=(GrantType.client_credentials,),
    scopes=("oauth:readonly",), role_divisions=(RoleDivision("role-1", "home"),))
WEB_APP = ClientSettings(
    name="web app", grant_types=(GrantType.code,), scopes=("oauth:readonly",),
    redirect_uris=("https://app.example.com/cb",))


def problems_of(settings: ClientSettings, *, now: datetime = NOW,
                previous: frozenset[GrantType] = frozenset()) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in check_settings(
        settings, known_scopes=KNOWN_SCOPES, scim_role_ids=frozenset({SCIM_ROLE}),
        previous_grants=previous, now=now)]


@pytest.mark.parametrize("settings", [
    pytest.param(SERVICE, id="client-credentials"),
    pytest.param(WEB_APP, id="code"),
    pytest.param(replace(SERVICE, grant_types=(GrantType.client_credentials, GrantType.code),
                         redirect_uris=("http://localhost:3000/cb",)), id="several-grants"),
    pytest.param(replace(SERVICE, name="x"), id="name-1-char"),
    pytest.param(replace(SERVICE, name="n" * 128), id="name-128-chars"),
    pytest.param(replace(SERVICE, description="d" * 512), id="description-512-chars"),
    pytest.param(replace(SERVICE, token_ttl_seconds=300), id="ttl-minimum"),
    pytest.param(replace(SERVICE, token_ttl_seconds=172_800), id="ttl-maximum"),
    pytest.param(replace(SERVICE, scopes=("oauth", "scim"), token_ttl_seconds=38_880_000),
                 id="ttl-scim-scope-450-days"),
    pytest.param(replace(SERVICE, role_divisions=(RoleDivision(SCIM_ROLE, "home"),),
                         token_ttl_seconds=38_880_000), id="ttl-scim-role-450-days"),
    pytest.param(replace(SERVICE, state=ClientState.disabled), id="disabled"),
    pytest.param(replace(SERVICE, state=ClientState.inactive,
                         date_to_delete=NOW + timedelta(days=1)), id="inactive-with-date"),
    pytest.param(replace(WEB_APP, grant_types=(GrantType.saml2_bearer,), redirect_uris=()),
                 id="saml2-bearer-without-redirects"),
])
def test_client_rules_accept(settings: ClientSettings) -> None:
    assert problems_of(settings) == []


@pytest.mark.parametrize(("settings", "problem"), [
    pytest.param(replace(SERVICE, name=""), ("name", "length"), id="name-empty"),
    pytest.param(replace(SERVICE, name="n" * 129), ("name", "length"), id="name-129-chars"),
    pytest.param(replace(SERVICE, description="d" * 513), ("description", "length"),
                 id="description-513-chars"),
    pytest.param(replace(SERVICE, token_ttl_seconds=299),
                 ("accessTokenValiditySeconds", "out.of.range"), id="ttl-below-minimum"),
    pytest.param(replace(SERVICE, token_ttl_seconds=172_801),
                 ("accessTokenValiditySeconds", "out.of.range"), id="ttl-above-maximum"),
    pytest.param(replace(SERVICE, token_ttl_seconds=38_880_000),
                 ("accessTokenValiditySeconds", "out.of.range"), id="ttl-450-days-not-scim"),
    pytest.param(replace(SERVICE, scopes=("scim",), token_ttl_seconds=38_880_001),
                 ("accessTokenValiditySeconds", "out.of.range"), id="ttl-above-scim-maximum"),
    pytest.param(replace(SERVICE, scopes=("scim",), token_ttl_seconds=299),
                 ("accessTokenValiditySeconds", "out.of.range"), id="ttl-scim-below-minimum"),
    pytest.param(replace(SERVICE, grant_types=()), ("authorizedGrantTypes", "required"),
                 id="no-grant"),
    pytest.param(replace(SERVICE, grant_types=(GrantType.client_credentials,) * 2),
                 ("authorizedGrantTypes", "duplicate"), id="repeated-grant"),
    pytest.param(replace(SERVICE, scopes=()), ("scope", "required"), id="no-scope"),
    pytest.param(replace(SERVICE, scopes=("oauth", "payments:write")),
                 ("scope", "unknown.scope"), id="unknown-scope"),
    pytest.param(replace(SERVICE, scopes=("oauth", "oauth")), ("scope", "duplicate"),
                 id="repeated-scope"),
    pytest.param(replace(SERVICE, role_divisions=()), ("roleDivisions", "required"),
                 id="client-credentials-without-role"),
    pytest.param(replace(WEB_APP, redirect_uris=()), ("registeredRedirectUri", "required"),
                 id="code-without-redirect"),
    pytest.param(replace(WEB_APP, redirect_uris=("http://app.example.com/cb",)),
                 ("registeredRedirectUri[0]", "invalid.uri"), id="code-plain-http-redirect"),
    pytest.param(replace(SERVICE, redirect_uris=("https://app.example.com/cb",)),
                 ("registeredRedirectUri", "not.applicable"),
                 id="redirect-on-client-credentials"),
    pytest.param(replace(SERVICE, state=ClientState.inactive), ("dateToDelete", "required"),
                 id="inactive-without-date"),
    pytest.param(replace(SERVICE, date_to_delete=NOW + timedelta(days=1)),
                 ("dateToDelete", "not.applicable"), id="date-on-active-client"),
])
def test_client_rules_refuse(settings: ClientSettings, problem: tuple[str, str]) -> None:
    assert problems_of(settings) == [problem]


@pytest.mark.parametrize("when", [
    pytest.param(NOW - timedelta(seconds=1), id="past"),
    pytest.param(NOW, id="now"),
])
def test_client_rules_refuse_date_to_delete_not_in_future(when: datetime) -> None:
    inactive = replace(SERVICE, state=ClientState.inactive, date_to_delete=when)
    assert problems_of(inactive) == [("dateToDelete", "in.past")]


def test_client_rules_report_every_broken_rule_at_once() -> None:
    broken = replace(SERVICE, name="", scopes=(), token_ttl_seconds=1, role_divisions=())
    assert {field for field, _ in problems_of(broken)} == {
        "name", "scope", "accessTokenValiditySeconds", "roleDivisions"}


@pytest.mark.parametrize("grants", [
    pytest.param((GrantType.token,), id="token-alone"),
    pytest.param((GrantType.code, GrantType.token), id="token-beside-code"),
])
def test_client_rules_refuse_implicit_for_new_clients(grants: tuple[GrantType, ...]) -> None:
    implicit = replace(WEB_APP, grant_types=grants)
    assert problems_of(implicit) == [("authorizedGrantType", "deprecated")]


def test_client_rules_refuse_implicit_added_to_existing_client() -> None:
    implicit = replace(WEB_APP, grant_types=(GrantType.code, GrantType.token))
    assert problems_of(implicit, previous=frozenset({GrantType.code})) == [
        ("authorizedGrantType", "deprecated")]


def test_client_rules_keep_implicit_for_a_client_that_had_it() -> None:
    implicit = replace(WEB_APP, grant_types=(GrantType.token,))
    assert problems_of(implicit, previous=frozenset({GrantType.token})) == []


def test_client_rules_allow_implicit_before_the_cutoff() -> None:
    implicit = replace(WEB_APP, grant_types=(GrantType.token,))
    assert problems_of(implicit, now=IMPLICIT_CUTOFF - timedelta(seconds=1)) == []
    assert problems_of(implicit, now=IMPLICIT_CUTOFF) == [("authorizedGrantType", "deprecated")]


def test_client_rules_default_token_duration_is_one_hour() -> None:
    assert ClientSettings(name="x").token_ttl_seconds == DEFAULT_TOKEN_TTL == 3_600


@pytest.mark.parametrize(("settings", "ceiling"), [
    pytest.param(SERVICE, 172_800, id="ordinary"),
    pytest.param(replace(SERVICE, scopes=("scim",)), 38_880_000, id="scim-scope"),
    pytest.param(replace(SERVICE, role_divisions=(RoleDivision("role-1", "home"),
                                                  RoleDivision(SCIM_ROLE, "home"))),
                 38_880_000, id="scim-role"),
])
def test_client_rules_token_ceiling(settings: ClientSettings, ceiling: int) -> None:
    assert max_token_ttl(settings, scim_role_ids=frozenset({SCIM_ROLE})) == ceiling


def caller_holding(*pairs: RoleDivision) -> Caller:
    return Caller(actor=operator().actor, role_divisions=frozenset(pairs),
                  permissions=frozenset({"oauth:client:*"}))


def test_caller_may_assign_roles_it_holds() -> None:
    held = RoleDivision("role-1", "home")
    assert caller_holding(held).missing_roles([held]) == []


@pytest.mark.parametrize("wanted", [
    pytest.param(RoleDivision("role-admin", "home"), id="role-not-held"),
    pytest.param(RoleDivision("role-1", "division-2"), id="held-role-other-division"),
])
def test_caller_may_not_assign_roles_it_lacks(wanted: RoleDivision) -> None:
    caller = caller_holding(RoleDivision("role-1", "home"))
    assert caller.missing_roles([RoleDivision("role-1", "home"), wanted]) == [wanted]


def test_caller_operator_may_assign_any_role() -> None:
    assert operator().missing_roles([RoleDivision("role-admin", "home")]) == []
