"""The console's side of issue 9.1: a user's page lists the identity providers linked to them and
links or unlinks one (audited, through the same use case as the API); a provider's page turns on
MFA vouching and names the classes that mean MFA."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from tests.people import Console, create_user
from tests.saml_idp import AUDIENCE, EMAIL, MULTI_FACTOR, SamlIdp
from tests.support.clients import CLIENTS, Registered
from tests.support.management import audit_events
from tests.support.tokens import bearer

IDP = SamlIdp.create("https://idp.console-links.test", label="console-links")
GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
PAGES = "/admin/identity-providers"


def _provider(http: TestClient, headers: dict[str, str]) -> str:
    made = http.post("/api/v2/identityproviders/generic", headers=headers, json={
        "name": "Corporate IdP", "issuerURI": IDP.issuer, "certificates": [IDP.certificate],
        "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": EMAIL})
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


def _sso(http: TestClient, headers: dict[str, str]) -> Registered:
    made = http.post(CLIENTS, headers=headers, json={
        "name": "sso app", "authorizedGrantType": "SAML2-BEARER", "scope": ["users:readonly"]})
    assert made.status_code == 200, made.text
    return Registered(made.json()["id"], made.json()["secret"])


def _trade(http: TestClient, client: Registered, name_id: str, **parts: Any) -> Any:
    return http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": GRANT, "assertion": IDP.issue(datetime.now(UTC), name_id=name_id,
                                                    **parts)})


def _links_table(page: str) -> str:
    found = re.search(r'<table id="identity-links">(.*?)</table>', page, re.S)
    assert found, "no identity-links table"
    return html.unescape(found.group(1))


def test_user_page_links_and_unlinks_an_identity_provider(console: Console,
                                                          headers: dict[str, str]) -> None:
    provider = _provider(console.http, headers)
    client = _sso(console.http, headers)
    ada = create_user(console.http, "ada@example.com")
    page = console.http.get(f"/admin/users/{ada.id}").text
    assert "No identity provider may vouch for this user." in _links_table(page)
    assert f'<option value="{provider}">Corporate IdP</option>' in page
    assert _trade(console.http, client, "ada@example.com").status_code == 400

    linked = console.post(f"/admin/users/{ada.id}/identity-providers",
                          {"provider": provider, "nameId": "ada@example.com"})
    assert linked.status_code == 200, linked.text
    assert "Identity provider linked." in linked.text
    row = _links_table(linked.text)
    assert "Corporate IdP" in row
    assert "ada@example.com" in row
    assert _trade(console.http, client, "ada@example.com").status_code == 200

    unlinked = console.post(f"/admin/users/{ada.id}/identity-providers/remove",
                            {"provider": provider})
    assert unlinked.status_code == 200, unlinked.text
    assert "Identity provider unlinked." in unlinked.text
    assert _trade(console.http, client, "ada@example.com").status_code == 400
    events = [e for e in audit_events(console.http, headers, entity_id=ada.id)
              if e["action"].startswith("identityprovider.")]
    assert {(e["action"], e["context"]["actorId"]) for e in events} == {
        ("identityprovider.link", console.person.id),
        ("identityprovider.unlink", console.person.id)}


def test_user_page_link_refuses_bad_input_beside_the_form(console: Console,
                                                          headers: dict[str, str]) -> None:
    provider = _provider(console.http, headers)
    ada = create_user(console.http, "ada@example.com")
    bob = create_user(console.http, "bob@example.com")
    bad = console.post(f"/admin/users/{ada.id}/identity-providers",
                       {"provider": provider, "nameId": " padded"})
    assert bad.status_code == 400
    assert 'id="link-error"' in bad.text
    none = console.post(f"/admin/users/{ada.id}/identity-providers",
                        {"provider": "", "nameId": "ada"})
    assert none.status_code == 400
    assert console.post(f"/admin/users/{ada.id}/identity-providers",
                        {"provider": provider, "nameId": "shared"}).status_code == 200
    taken = console.post(f"/admin/users/{bob.id}/identity-providers",
                         {"provider": provider, "nameId": "shared"})
    assert taken.status_code == 409
    assert "No identity provider may vouch" in _links_table(
        console.http.get(f"/admin/users/{bob.id}").text)


def test_user_page_offers_no_link_on_your_own_account(console: Console,
                                                      headers: dict[str, str]) -> None:
    provider = _provider(console.http, headers)
    page = console.http.get(f"/admin/users/{console.person.id}").text
    assert 'id="link-identity-provider"' not in page
    assert "You cannot link your own account" in page
    refused = console.post(f"/admin/users/{console.person.id}/identity-providers",
                           {"provider": provider, "nameId": "root@example.com"})
    assert refused.status_code == 403


def test_identity_provider_page_turns_on_mfa_vouching(console: Console,
                                                      headers: dict[str, str]) -> None:
    provider = _provider(console.http, headers)
    client = _sso(console.http, headers)
    admin = create_user(console.http, "auditor@example.com", roles=("OAuth Admin",))
    assert console.post(f"/admin/users/{admin.id}/identity-providers",
                        {"provider": provider, "nameId": "auditor@example.com"}
                        ).status_code == 200
    assert _trade(console.http, client, "auditor@example.com",
                  authn_context_class=MULTI_FACTOR).status_code == 400
    form: dict[str, str | list[str]] = {"name": "Corporate IdP", "issuerURI": IDP.issuer,
            "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": EMAIL,
            "certificates": IDP.certificate}
    empty = console.post(f"{PAGES}/{provider}", form | {"vouchesForMfa": "on",
                                                        "mfaAuthnContextClassRefs": "\r\n"})
    assert empty.status_code == 400
    assert 'id="mfaAuthnContextClassRefs-error"' in empty.text
    saved = console.post(f"{PAGES}/{provider}", form | {
        "vouchesForMfa": "on", "mfaAuthnContextClassRefs": f"{MULTI_FACTOR}\r\n"})
    assert saved.status_code == 200, saved.text
    api = console.http.get(f"/api/v2/identityproviders/generic/{provider}",
                           headers=headers).json()
    assert (api["vouchesForMfa"], api["mfaAuthnContextClassRefs"]) == (True, [MULTI_FACTOR])
    issued = _trade(console.http, client, "auditor@example.com",
                    authn_context_class=MULTI_FACTOR)
    assert issued.status_code == 200, issued.text
    assert console.http.get("/api/v2/users/me", headers=bearer(
        issued.json()["access_token"])).json()["id"] == admin.id
