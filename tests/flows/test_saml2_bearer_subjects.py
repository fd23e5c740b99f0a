"""Issue 9.1 over HTTP: which users a trusted identity provider may assert through the SAML2
bearer grant. The subject is (provider, NameID) and names a user only through a link; a user who
holds any permission needs a provider that vouches for MFA and an assertion that says MFA was
done; an assertion lives at most ten minutes. Every refusal is ``invalid_grant``, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.permissions import SUPER_ADMIN
from tests.people import create_user
from tests.saml_idp import AUDIENCE, EMAIL, MULTI_FACTOR, PASSWORD_PROTECTED, SamlIdp
from tests.support.apps import serve
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.management import audit_events
from tests.support.tokens import bearer, token

CORPORATE = SamlIdp.create("https://idp.corp.test", label="corporate")
PARTNER = SamlIdp.create("https://idp.partner.test", label="partner")
GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
PROVIDERS = "/api/v2/identityproviders/generic"


@dataclass
class Org:
    admin: dict[str, str]  # a Super Admin client's bearer headers
    corporate: str  # provider ids
    partner: str
    sso: Registered  # a SAML2-BEARER client holding the oauth scope


def _provider(http: TestClient, admin: dict[str, str], idp: SamlIdp, **fields: Any) -> str:
    made = http.post(PROVIDERS, headers=admin, json={
        "name": idp.issuer, "issuerURI": idp.issuer, "certificates": [idp.certificate],
        "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": EMAIL} | fields)
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


def _link(http: TestClient, org: Org, user_id: str, provider_id: str, name_id: str) -> None:
    linked = http.put(f"/api/v2/users/{user_id}/identityproviders/{provider_id}",
                      headers=org.admin, json={"nameId": name_id})
    assert linked.status_code == 200, linked.text


def _trade(http: TestClient, org: Org, assertion: str) -> Any:
    return http.post("/oauth/token", auth=org.sso.basic_auth, data={
        "grant_type": GRANT, "assertion": assertion})


def _refused(response: Any) -> None:
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    assert response.headers["cache-control"] == "no-store"


def _last_refusal(http: TestClient, org: Org) -> dict[str, Any]:
    refused = audit_events(http, org.admin, action="saml2-bearer")
    assert refused
    latest = max(refused, key=lambda e: int(e["context"]["sequence"]))
    assert latest["status"] == "FAILURE"
    return dict(latest["context"])


@pytest.fixture
def org(http: TestClient) -> Org:
    return _org(http)


def _org(http: TestClient) -> Org:
    admin = bearer(token(http, bootstrap(http, name="ops", roles=[SUPER_ADMIN])))
    corporate = _provider(http, admin, CORPORATE)
    partner = _provider(http, admin, PARTNER)
    made = http.post(CLIENTS, headers=admin, json={
        "name": "sso app", "authorizedGrantType": "SAML2-BEARER",
        "scope": ["oauth", "users:readonly"]})
    assert made.status_code == 200, made.text
    return Org(admin, corporate, partner, Registered(made.json()["id"], made.json()["secret"]))


def _vouching(http: TestClient, org: Org, provider_id: str, idp: SamlIdp, *,
              vouches: bool = True) -> None:
    current = http.get(f"{PROVIDERS}/{provider_id}", headers=org.admin).json()
    changed = http.put(f"{PROVIDERS}/{provider_id}", headers=org.admin,
                       json=current | {"vouchesForMfa": vouches})
    assert changed.status_code == 200, changed.text
    assert changed.json()["vouchesForMfa"] is vouches
    assert idp.issuer == changed.json()["issuerURI"]


# -- the reproduction from the issue


def test_saml2_bearer_partner_idp_cannot_mint_a_super_admins_token(http: TestClient,
                                                                   org: Org) -> None:
    # root never signed in nor enrolled TOTP; the partner's signed assertion names their e-mail.
    create_user(http, "root@corp.test", roles=(SUPER_ADMIN,), password=None)
    response = _trade(http, org, PARTNER.issue(datetime.now(UTC), name_id="root@corp.test"))
    _refused(response)
    assert "access_token" not in response.json()
    reason = _last_refusal(http, org)
    assert reason["identityProviderId"] == org.partner
    assert reason["nameId"] == "root@corp.test"
    # Had a token been issued, it would have made this backdoor; nothing was made.
    clients = http.get(CLIENTS, headers=org.admin).json()["entities"]
    assert [c["name"] for c in clients if c.get("authorizedGrantType") == "CLIENT-CREDENTIALS"
            and c["name"] != "ops"] == []


def test_saml2_bearer_partner_idp_cannot_assert_a_super_admin_linked_elsewhere(
        http: TestClient, org: Org) -> None:
    root = create_user(http, "root@corp.test", roles=(SUPER_ADMIN,), password=None)
    _link(http, org, root.id, org.corporate, "root@corp.test")
    _vouching(http, org, org.corporate, CORPORATE)
    _refused(_trade(http, org, PARTNER.issue(datetime.now(UTC), name_id="root@corp.test",
                                             authn_context_class=MULTI_FACTOR)))


# -- the subject is (provider, NameID)


def test_saml2_bearer_an_unlinked_user_is_refused_whatever_their_e_mail(http: TestClient,
                                                                       org: Org) -> None:
    create_user(http, "ada@corp.test")
    _refused(_trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="ada@corp.test")))
    assert "linked" in _last_refusal(http, org)["reason"]


def test_saml2_bearer_same_name_id_from_an_unlinked_second_provider_is_refused(
        http: TestClient, org: Org) -> None:
    ada = create_user(http, "ada@corp.test")
    _link(http, org, ada.id, org.corporate, "ada@corp.test")
    assert _trade(http, org, CORPORATE.issue(datetime.now(UTC),
                                             name_id="ada@corp.test")).status_code == 200
    _refused(_trade(http, org, PARTNER.issue(datetime.now(UTC), name_id="ada@corp.test")))


def test_saml2_bearer_same_name_id_from_two_linked_providers_names_the_same_user(
        http: TestClient, org: Org) -> None:
    ada = create_user(http, "ada@corp.test")
    _link(http, org, ada.id, org.corporate, "ada@corp.test")
    _link(http, org, ada.id, org.partner, "ada@corp.test")
    for idp in (CORPORATE, PARTNER):
        issued = _trade(http, org, idp.issue(datetime.now(UTC), name_id="ada@corp.test"))
        assert issued.status_code == 200, issued.text
        me = http.get("/api/v2/users/me", headers=bearer(issued.json()["access_token"]))
        assert me.json()["id"] == ada.id


def test_saml2_bearer_a_link_names_the_user_by_its_own_name_id_only(http: TestClient,
                                                                   org: Org) -> None:
    ada = create_user(http, "ada@corp.test")
    _link(http, org, ada.id, org.partner, "p-7731")
    # The partner names Ada "p-7731"; her e-mail from the partner names nobody.
    _refused(_trade(http, org, PARTNER.issue(datetime.now(UTC), name_id="ada@corp.test")))
    issued = _trade(http, org, PARTNER.issue(datetime.now(UTC), name_id="p-7731"))
    assert issued.status_code == 200, issued.text


def test_saml2_bearer_unlinking_stops_the_provider_at_once(http: TestClient, org: Org) -> None:
    ada = create_user(http, "ada@corp.test")
    _link(http, org, ada.id, org.corporate, "ada@corp.test")
    assert _trade(http, org, CORPORATE.issue(datetime.now(UTC),
                                             name_id="ada@corp.test")).status_code == 200
    gone = http.delete(f"/api/v2/users/{ada.id}/identityproviders/{org.corporate}",
                       headers=org.admin)
    assert gone.status_code == 204
    _refused(_trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="ada@corp.test")))


def test_saml2_bearer_deleting_a_provider_removes_its_links(http: TestClient, org: Org) -> None:
    ada = create_user(http, "ada@corp.test")
    _link(http, org, ada.id, org.partner, "ada@corp.test")
    assert http.delete(f"{PROVIDERS}/{org.partner}", headers=org.admin).status_code == 204
    listed = http.get(f"/api/v2/users/{ada.id}/identityproviders", headers=org.admin)
    assert listed.json()["entities"] == []
    # Registered again under the same issuer, it is a new provider with no links.
    _provider(http, org.admin, PARTNER)
    _refused(_trade(http, org, PARTNER.issue(datetime.now(UTC), name_id="ada@corp.test")))


# -- administrators need a provider that vouches for MFA


@pytest.fixture
def root(http: TestClient, org: Org) -> str:
    """A Super Admin linked to the corporate provider."""
    person = create_user(http, "root@corp.test", roles=(SUPER_ADMIN,), password=None)
    _link(http, org, person.id, org.corporate, "root@corp.test")
    return person.id


@pytest.mark.usefixtures("root")
def test_saml2_bearer_admin_refused_when_the_provider_does_not_vouch_for_mfa(
        http: TestClient, org: Org) -> None:
    _refused(_trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="root@corp.test",
                                               authn_context_class=MULTI_FACTOR)))
    assert "vouchesForMfa" in _last_refusal(http, org)["reason"]


@pytest.mark.parametrize("context_class", [
    pytest.param(PASSWORD_PROTECTED, id="password-only"),
    pytest.param(None, id="no-class"),
    pytest.param("urn:oasis:names:tc:SAML:2.0:ac:classes:mobiletwofactorcontract",
                 id="near-miss-case"),
])
@pytest.mark.usefixtures("root")
def test_saml2_bearer_admin_refused_when_the_assertion_does_not_say_mfa(
        http: TestClient, org: Org, context_class: str | None) -> None:
    _vouching(http, org, org.corporate, CORPORATE)
    _refused(_trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="root@corp.test",
                                               authn_context_class=context_class)))
    assert "AuthnContextClassRef" in _last_refusal(http, org)["reason"]


def test_saml2_bearer_admin_accepted_with_a_vouching_provider_and_an_mfa_class(
        http: TestClient, org: Org, root: str) -> None:
    _vouching(http, org, org.corporate, CORPORATE)
    issued = _trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="root@corp.test",
                                               authn_context_class=MULTI_FACTOR))
    assert issued.status_code == 200, issued.text
    me = http.get("/api/v2/users/me", headers=bearer(issued.json()["access_token"]))
    assert me.json()["id"] == root


def test_saml2_bearer_admin_accepted_with_a_class_the_admin_configured(
        http: TestClient, org: Org, root: str) -> None:
    custom = "https://idp.corp.test/ac/hardware-key"
    current = http.get(f"{PROVIDERS}/{org.corporate}", headers=org.admin).json()
    assert http.put(f"{PROVIDERS}/{org.corporate}", headers=org.admin, json=current | {
        "vouchesForMfa": True, "mfaAuthnContextClassRefs": [custom]}).status_code == 200
    _refused(_trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="root@corp.test",
                                               authn_context_class=MULTI_FACTOR)))
    issued = _trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="root@corp.test",
                                               authn_context_class=custom))
    assert issued.status_code == 200, issued.text
    assert http.get("/api/v2/users/me", headers=bearer(
        issued.json()["access_token"])).json()["id"] == root


def test_saml2_bearer_any_permission_counts_as_administrative(http: TestClient,
                                                              org: Org) -> None:
    # A custom role with one read-only permission still administers something.
    role = http.post("/api/v2/authorization/roles", headers=org.admin, json={
        "name": "Auditor", "permissionPolicies": [
            {"domain": "audits", "entityName": "audit", "actionSet": ["view"]}]})
    assert role.status_code == 200, role.text
    auditor = create_user(http, "auditor@corp.test", roles=("Auditor",), password=None)
    _link(http, org, auditor.id, org.corporate, "auditor@corp.test")
    _refused(_trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="auditor@corp.test")))


def test_saml2_bearer_a_user_without_permissions_needs_no_mfa(http: TestClient,
                                                              org: Org) -> None:
    ada = create_user(http, "ada@corp.test")
    _link(http, org, ada.id, org.corporate, "ada@corp.test")
    issued = _trade(http, org, CORPORATE.issue(datetime.now(UTC), name_id="ada@corp.test",
                                               authn_context_class=PASSWORD_PROTECTED))
    assert issued.status_code == 200, issued.text


# -- an assertion lives at most KEYSTEAD_SAML_ASSERTION_MAX_LIFETIME_SECONDS (600 by default)


@pytest.fixture
def ada(http: TestClient, org: Org) -> str:
    person = create_user(http, "ada@corp.test")
    _link(http, org, person.id, org.corporate, "ada@corp.test")
    return person.id


@pytest.mark.usefixtures("ada")
def test_saml2_bearer_refuses_an_assertion_valid_for_a_year(http: TestClient, org: Org) -> None:
    now = datetime.now(UTC)
    year = now + timedelta(days=365)
    _refused(_trade(http, org, CORPORATE.issue(now, name_id="ada@corp.test",
                                               not_on_or_after=year,
                                               confirmation_not_on_or_after=year)))
    assert "longer than" in _last_refusal(http, org)["reason"]


@pytest.mark.usefixtures("ada")
def test_saml2_bearer_accepts_an_assertion_valid_for_ten_minutes(http: TestClient,
                                                                 org: Org) -> None:
    now = datetime.now(UTC)
    ten = now + timedelta(minutes=10)
    issued = _trade(http, org, CORPORATE.issue(now, name_id="ada@corp.test",
                                               not_on_or_after=ten,
                                               confirmation_not_on_or_after=ten))
    assert issued.status_code == 200, issued.text



def test_saml2_bearer_max_lifetime_is_a_setting(settings: Settings) -> None:
    longer = settings.model_copy(update={"saml_assertion_max_lifetime_seconds": 3600})
    with serve(longer) as http:
        org = _org(http)
        ada = create_user(http, "ada@corp.test")
        _link(http, org, ada.id, org.corporate, "ada@corp.test")
        now = datetime.now(UTC)
        hour, more = now + timedelta(minutes=60), now + timedelta(minutes=61)
        issued = _trade(http, org, CORPORATE.issue(now, name_id="ada@corp.test",
                                                   not_on_or_after=hour,
                                                   confirmation_not_on_or_after=hour))
        assert issued.status_code == 200, issued.text
        _refused(_trade(http, org, CORPORATE.issue(now, name_id="ada@corp.test",
                                                   not_on_or_after=more,
                                                   confirmation_not_on_or_after=more)))


@pytest.mark.parametrize("seconds", [59, 86_401])
def test_saml2_bearer_max_lifetime_setting_has_bounds(seconds: int) -> None:
    with pytest.raises(ValidationError):
        Settings(saml_assertion_max_lifetime_seconds=seconds)
