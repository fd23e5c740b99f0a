"""The findings rules on their own: each kind fires on the facts that make it, with its
evidence, and stays silent once the facts are fixed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from keystead.domain.clients import (
    Actor,
    Client,
    ClientSettings,
    ClientState,
    Environment,
    GrantType,
    RoleDivision,
    SecretInfo,
)
from keystead.domain.governance.evidence import Evidence
from keystead.domain.governance.finding_rules import (
    ClientFacts,
    OwnerStatus,
    RoleFacts,
    detect,
    is_dev_redirect_uri,
)
from keystead.domain.governance.findings import Detected, FindingKind, Remedy, Severity
from keystead.domain.governance.policy import Policy

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
WHO = Actor("cli", "cli")
READER = RoleFacts("r-read", "Reader", ("oauth:client:view",))
ADMIN = RoleFacts("r-admin", "Super Admin", ("*:*:*",))
USED = Evidence(tokens_by_grant={"CLIENT-CREDENTIALS": 40},
                scopes_granted=frozenset({"oauth:readonly"}),
                permissions_exercised=frozenset({"oauth:client:view"}))


def service(**changes: object) -> ClientFacts:
    """A well-kept, used, owned client-credentials client: no findings."""
    settings = ClientSettings(
        name="billing", grant_types=(GrantType.client_credentials,), scopes=("oauth:readonly",),
        role_divisions=(RoleDivision("r-read", "home"),), owner_id="u1", token_ttl_seconds=3600)
    secret = SecretInfo("s1", NOW - timedelta(days=3), None, NOW, current=True)
    client = Client("c1", settings, OLD, OLD, WHO, WHO, secrets=(secret,))
    facts = ClientFacts(client, (READER,), OwnerStatus.active)
    return replace(facts, **changes)  # type: ignore[arg-type]


def with_settings(facts: ClientFacts, **changes: object) -> ClientFacts:
    return replace(facts, client=replace(facts.client, settings=replace(
        facts.client.settings, **changes)))  # type: ignore[arg-type]


def kinds(found: list[Detected]) -> dict[tuple[FindingKind, str], Detected]:
    return {d.key: d for d in found}


def test_finding_rules_a_well_kept_client_has_no_findings() -> None:
    assert detect(service(), USED, Policy(), NOW) == []


def test_finding_rules_unused_client_counts_the_window() -> None:
    found = kinds(detect(service(), Evidence(), Policy(unused_lookback_days=30), NOW))
    unused = found[(FindingKind.unused_client, "")]
    assert unused.evidence["tokensInWindow"] == 0
    assert unused.evidence["lookbackDays"] == 30
    assert unused.remedy is Remedy.disable_client


def test_finding_rules_a_client_younger_than_the_window_is_not_judged_on_use() -> None:
    young = service()
    young = replace(young, client=replace(young.client, date_created=NOW - timedelta(days=5)))
    assert (FindingKind.unused_client, "") not in kinds(detect(young, Evidence(), Policy(), NOW))


def test_finding_rules_unused_scope_and_role_from_the_evidence() -> None:
    facts = with_settings(service(roles=(READER, RoleFacts("r2", "Auditor",
                                                           ("audits:audit:view",)))),
                          scopes=("oauth:readonly", "audits:readonly"),
                          role_divisions=(RoleDivision("r-read", "home"),
                                          RoleDivision("r2", "home")))
    found = kinds(detect(facts, USED, Policy(), NOW))
    scope = found[(FindingKind.unused_scope, "audits:readonly")]
    assert scope.evidence["tokensInWindow"] == 40
    assert scope.remedy is Remedy.remove_scope
    role = found[(FindingKind.unused_role, "r2")]
    assert role.evidence["roleName"] == "Auditor"
    assert (FindingKind.unused_role, "r-read") not in found


def test_finding_rules_usage_counts_alone_never_call_a_scope_unused() -> None:
    counts_only = Evidence(tokens_by_grant={"*": 10})
    found = kinds(detect(service(), counts_only, Policy(), NOW))
    assert not any(kind in (FindingKind.unused_scope, FindingKind.unused_role)
                   for kind, _ in found)


def test_finding_rules_secret_rotation_due_at_the_policy_age() -> None:
    facts = service()
    aged = replace(facts, client=replace(facts.client, secrets=(
        SecretInfo("s1", NOW - timedelta(days=31), None, NOW, current=True),)))
    due = kinds(detect(aged, USED, Policy(), NOW))[(FindingKind.secret_rotation_due, "")]
    assert due.evidence["ageDays"] == 31
    assert due.severity is Severity.medium
    assert detect(aged, USED, Policy(rotation_max_age_days=60), NOW) == []


def test_finding_rules_previous_secret_used_late_in_its_window() -> None:
    rotated = NOW - timedelta(days=6)
    expires = NOW + timedelta(days=1)  # a 7-day window; its last quarter began 1.75 days ago
    late = SecretInfo("old", NOW - timedelta(days=90), expires, NOW - timedelta(hours=1), False)
    facts = service()
    facts = replace(facts, client=replace(facts.client, secrets=(
        SecretInfo("new", rotated, None, NOW, True), late)))
    found = kinds(detect(facts, USED, Policy(), NOW))
    assert found[(FindingKind.previous_secret_in_use, "")].remedy is (
        Remedy.expire_previous_secret)
    early = replace(late, date_last_used=rotated + timedelta(days=1))
    facts = replace(facts, client=replace(facts.client, secrets=(facts.client.secrets[0], early)))
    assert detect(facts, USED, Policy(), NOW) == []


def test_finding_rules_no_owner_and_orphaned() -> None:
    unowned = with_settings(service(owner=OwnerStatus.none), owner_id=None)
    assert kinds(detect(unowned, USED, Policy(owner_required=True), NOW))[
        (FindingKind.no_owner, "")].severity is Severity.medium
    orphan = kinds(detect(service(owner=OwnerStatus.inactive), USED, Policy(), NOW))
    assert orphan[(FindingKind.orphaned, "")].evidence["ownerStatus"] == "inactive"


def test_finding_rules_over_privileged_service_client() -> None:
    facts = with_settings(service(roles=(ADMIN,)), scopes=("oauth:readonly", "users"))
    found = kinds(detect(facts, USED, Policy(), NOW))[(FindingKind.over_privileged, "")]
    assert found.severity is Severity.critical
    assert found.evidence == {"administrativeRoles": ["Super Admin"], "broadScopes": ["users"]}


def test_finding_rules_token_duration_above_the_grant_maximum() -> None:
    facts = with_settings(service(), token_ttl_seconds=90_000)
    found = kinds(detect(facts, USED, Policy(), NOW))[
        (FindingKind.token_duration_above_policy, "")]
    assert found.evidence["policyMaxSeconds"] == 86_400
    assert found.remedy is Remedy.shorten_token_duration


def test_finding_rules_dev_redirect_uris_only_matter_in_production() -> None:
    uris = ("https://app.example.com/cb", "http://localhost:8080/cb")
    facts = with_settings(service(), grant_types=(GrantType.code,), role_divisions=(),
                          redirect_uris=uris, environment=Environment.production)
    found = kinds(detect(replace(facts, roles=()), USED, Policy(), NOW))
    assert found[(FindingKind.dev_redirect_uri_in_production, "")].evidence[
        "redirectUris"] == ["http://localhost:8080/cb"]
    staging = with_settings(facts, environment=Environment.staging)
    assert (FindingKind.dev_redirect_uri_in_production, "") not in kinds(
        detect(staging, USED, Policy(), NOW))


def test_finding_rules_dev_redirect_uri_shapes() -> None:
    assert is_dev_redirect_uri("http://app.example.com/cb")
    assert is_dev_redirect_uri("https://127.0.0.1/cb")
    assert is_dev_redirect_uri("https://dev.localhost/cb")
    assert not is_dev_redirect_uri("https://app.example.com/cb")
    assert not is_dev_redirect_uri("com.example.app:/cb")


def test_finding_rules_implicit_in_use_until_token_is_removed() -> None:
    used = replace(USED, tokens_by_grant={"implicit": 3, "client_credentials": 1})
    legacy = with_settings(service(), grant_types=(GrantType.client_credentials, GrantType.token))
    found = kinds(detect(legacy, used, Policy(), NOW))[(FindingKind.implicit_in_use, "")]
    assert found.evidence["implicitTokens"] == 3
    assert (FindingKind.implicit_in_use, "") not in kinds(detect(service(), used, Policy(), NOW))


def test_finding_rules_a_disabled_client_is_not_called_unused() -> None:
    facts = with_settings(service(), state=ClientState.disabled)
    assert (FindingKind.unused_client, "") not in kinds(detect(facts, Evidence(), Policy(), NOW))


def test_finding_rules_review_overdue_only_where_reviews_are_known() -> None:
    never = replace(service(), reviews_known=True)
    overdue = kinds(detect(never, USED, Policy(review_period_days=90), NOW))[
        (FindingKind.review_overdue, "")]
    assert overdue.evidence["lastReviewed"] is None
    recent = replace(never, last_reviewed=NOW - timedelta(days=10))
    assert (FindingKind.review_overdue, "") not in kinds(detect(recent, USED, Policy(), NOW))
    assert (FindingKind.review_overdue, "") not in kinds(detect(service(), USED, Policy(), NOW))
