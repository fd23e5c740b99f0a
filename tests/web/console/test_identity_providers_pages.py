"""Console pages for trusted SAML identity providers: a provider added, changed, disabled and
deleted through the pages is what the token endpoint trusts; bad input is refused next to its
field with nothing written; every change is audited with the user as actor and certificates only
by fingerprint; the sso:provider permissions and the CSRF token are enforced."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.testclient import TestClient

from tests.people import Console, Person, create_user, csrf_of, sign_in
from tests.saml_idp import AUDIENCE, EMAIL, SamlIdp, rsa_key, self_signed
from tests.support.clients import CLIENTS, Registered
from tests.support.management import audit_events
from tests.support.tokens import bearer

PAGES = "/admin/identity-providers"
API = "/api/v2/identityproviders"
GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
IDP = SamlIdp.create(label="console-idp")
NEXT = SamlIdp.create(label="console-next")
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRUNCATED = IDP.certificate.strip()[:200] + "\n-----END CERTIFICATE-----"


def _form(**fields: str) -> dict[str, str | list[str]]:
    """The add/edit form filled in as an admin does; ``fields`` replace or add."""
    form: dict[str, str | list[str]] = {
        "name": "Corporate IdP", "issuerURI": IDP.issuer, "relyingPartyIdentifier": AUDIENCE,
        "nameIdentifierFormat": EMAIL, "certificates": IDP.certificate}
    return form | fields


def _add(console: Console, **fields: str) -> str:
    """Add a provider through the page; its id, from the page the form redirected to."""
    response = console.post(f"{PAGES}/new", _form(**fields))
    assert response.status_code == 200, response.text
    assert response.url.path.startswith(PAGES + "/"), response.url
    return str(response.url.path.removeprefix(PAGES + "/"))


def _api(http: TestClient, headers: dict[str, str], provider_id: str) -> Any:
    return http.get(f"{API}/generic/{provider_id}", headers=headers)


def _total(http: TestClient, headers: dict[str, str]) -> int:
    response = http.get(API, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def _table(page: str, table_id: str) -> str:
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table #{table_id}"
    return found.group(1)


def _events(http: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The identity-provider audit events, oldest first."""
    return sorted((e for e in audit_events(http, headers)
                   if e["entityType"] == "IdentityProvider"),
                  key=lambda e: int(e["context"]["sequence"]))


def _fingerprint(pem: str) -> str:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def _error(page: str, field: str) -> str:
    """The error shown next to ``field``."""
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert found, f"no error next to #{field}"
    return html.unescape(found.group(1))


def _sso_client(http: TestClient, headers: dict[str, str]) -> Registered:
    """The user Ada linked to every registered provider (issue 9: a provider asserts only the
    users linked to it), and a client holding SAML2-BEARER (made through the API)."""
    ada = create_user(http, "ada@example.com")
    for provider in http.get(API, headers=headers).json()["entities"]:
        linked = http.put(f"/api/v2/users/{ada.id}/identityproviders/{provider['id']}",
                          headers=headers, json={"nameId": "ada@example.com"})
        assert linked.status_code == 200, linked.text
    made = http.post(CLIENTS, headers=headers, json={
        "name": "sso app", "authorizedGrantType": "SAML2-BEARER", "scope": ["users:readonly"]})
    assert made.status_code == 200, made.text
    return Registered(made.json()["id"], made.json()["secret"])


def _trade(http: TestClient, client: Registered, idp: SamlIdp = IDP) -> Any:
    return http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": GRANT, "assertion": idp.issue(datetime.now(UTC))})


def _switch_to(http: TestClient, person: Person) -> None:
    http.cookies.clear()
    sign_in(http, person)


# -- add, list, use


def test_identity_provider_added_through_the_page_is_listed_and_served_by_the_api(
        console: Console, headers: dict[str, str]) -> None:
    form = console.http.get(f"{PAGES}/new").text
    for field in ("name", "issuerURI", "relyingPartyIdentifier", "nameIdentifierFormat",
                  "certificates", "disabled", "save"):
        assert f'id="{field}"' in form, field
    # The admin is told what Keystead expects as Recipient, with this server's own URL.
    hint = re.search(r'id="relyingPartyIdentifier-hint">([^<]*)<', form)
    assert hint
    assert "Audience" in hint.group(1)
    assert "http://testserver/oauth/token" in hint.group(1)
    assert re.search(r"Persistent[^<]*</option>", html.unescape(form))
    # Issue 9: the admin is told a NameID names a user only through a link.
    assert "linked to this provider" in html.unescape(form)
    assert 'id="vouchesForMfa"' in form
    assert 'id="mfaAuthnContextClassRefs"' in form

    provider_id = _add(console)
    page = console.http.get(f"{PAGES}/{provider_id}?notice=identity-provider-created").text
    assert "Identity provider added." in page
    listing = console.http.get(PAGES).text
    assert 'id="add-identity-provider"' in listing
    row = _table(listing, "identity-providers")
    assert f'<a href="{PAGES}/{provider_id}">Corporate IdP</a>' in row
    assert f"<code>{IDP.issuer}</code>" in row
    assert "e-mail address" in row
    short = ":".join(re.findall("..", _fingerprint(IDP.certificate)[:16])).upper()
    assert re.search(rf"<td>1\s*<ul[^>]*><li><code[^>]*>SHA-256 {short}…</code>", row)
    assert '<span class="badge active">enabled</span>' in row
    served = _api(console.http, headers, provider_id).json()
    assert (served["name"], served["issuerURI"], served["relyingPartyIdentifier"],
            served["nameIdentifierFormat"], served["certificates"], served["disabled"]) == (
        "Corporate IdP", IDP.issuer, AUDIENCE, EMAIL, [IDP.certificate.strip()], False)
    [created] = _events(console.http, headers)
    assert (created["action"], created["user"]["id"]) == ("create", console.person.id)


def test_saml_grant_accepts_an_assertion_from_a_provider_added_through_the_page(
        console: Console, headers: dict[str, str]) -> None:
    # Line breaks as a browser sends a textarea: CRLF.
    _add(console, certificates=IDP.certificate.replace("\n", "\r\n"))
    response = _trade(console.http, _sso_client(console.http, headers))
    assert response.status_code == 200, response.text
    me = console.http.get("/api/v2/users/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["email"] == "ada@example.com"


def test_identity_provider_takes_several_pasted_certificates_and_bare_base64(
        console: Console, headers: dict[str, str]) -> None:
    body = "".join(NEXT.certificate.strip().splitlines()[1:-1])  # base64 DER, no PEM lines
    provider_id = _add(console, certificates=IDP.certificate + "\n" + body)
    served = _api(console.http, headers, provider_id).json()["certificates"]
    assert [_fingerprint(pem) for pem in served] == [_fingerprint(IDP.certificate),
                                                     _fingerprint(NEXT.certificate)]
    row = _table(console.http.get(PAGES).text, "identity-providers")
    assert re.search(r"<td>2\s*<ul", row)
    # The assertion may be signed by the key of either certificate.
    client = _sso_client(console.http, headers)
    assert _trade(console.http, client, NEXT).status_code == 200


# -- bad input: the error next to its field, typed values kept, nothing written


@pytest.mark.parametrize(("fields", "field", "says"), [
    pytest.param({"certificates": "not a certificate"}, "certificates",
                 "Certificate 1 of 1: is not a readable", id="garbage"),
    pytest.param({"certificates": IDP.certificate + TRUNCATED}, "certificates",
                 "Certificate 2 of 2: is not a readable", id="second-truncated"),
    pytest.param({"certificates": NEXT.certificate + "-----BEGIN CERTIFICATE-----\nMIIB"},
                 "certificates", "Certificate 2 of 2: must be one PEM", id="second-without-end"),
    pytest.param({"certificates": self_signed(rsa_key("console-weak", 1024))}, "certificates",
                 "Certificate 1 of 1: an RSA key must have at least 2048 bits", id="rsa-1024"),
    pytest.param({"certificates": IDP.certificate + IDP.certificate}, "certificates",
                 "listed twice", id="same-twice"),
    pytest.param({"certificates": "  \r\n "}, "certificates", "At least one certificate",
                 id="no-certificate"),
    pytest.param({"name": "   "}, "name", "Name is required", id="blank-name"),
    pytest.param({"issuerURI": "https://idp.example.com/ x"}, "issuerURI", "spaces",
                 id="issuer-with-a-space"),
    pytest.param({"relyingPartyIdentifier": "a\x00b"}, "relyingPartyIdentifier",
                 "control characters", id="relying-party-nul"),
    pytest.param({"nameIdentifierFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"},
                 "nameIdentifierFormat", "Choose one of the listed formats", id="transient"),
])
def test_identity_provider_form_refuses_bad_input_next_to_the_field(
        console: Console, headers: dict[str, str], fields: dict[str, str], field: str,
        says: str) -> None:
    response = console.post(f"{PAGES}/new", _form(**{"name": "Partner IdP"} | fields))
    assert response.status_code == 400, response.text
    assert says in _error(response.text, field)
    assert f'aria-describedby="{field}-hint {field}-error"' in response.text
    assert 'role="alert" tabindex="-1" id="error-summary"' in response.text
    if field != "name":  # what was typed is kept
        assert 'value="Partner IdP"' in response.text
    if field != "issuerURI":
        assert f'value="{IDP.issuer}"' in response.text
    assert _total(console.http, headers) == 0
    assert _events(console.http, headers) == []


def test_identity_provider_with_a_taken_issuer_is_refused_next_to_the_issuer(
        console: Console, headers: dict[str, str]) -> None:
    first = _add(console)
    response = console.post(f"{PAGES}/new", _form(name="Copy"))
    assert response.status_code == 409
    assert "Corporate IdP" in _error(response.text, "issuerURI")
    assert 'value="Copy"' in response.text
    other = _add(console, name="Partner", issuerURI="https://partner.example.com",
                 certificates=NEXT.certificate)
    moved = console.post(f"{PAGES}/{other}", _form(name="Partner", certificates=NEXT.certificate))
    assert moved.status_code == 409
    assert "Corporate IdP" in _error(moved.text, "issuerURI")
    assert _total(console.http, headers) == 2
    assert _api(console.http, headers, other).json()["issuerURI"] == "https://partner.example.com"
    assert _api(console.http, headers, first).json()["name"] == "Corporate IdP"


# -- change, disable, delete


def test_identity_provider_edited_through_the_page_is_audited_without_pem(
        console: Console, headers: dict[str, str]) -> None:
    provider_id = _add(console)
    edited = console.post(f"{PAGES}/{provider_id}", _form(
        name="Corporate SSO", relyingPartyIdentifier="https://keystead.example.com/sp",
        nameIdentifierFormat=PERSISTENT, certificates=IDP.certificate + NEXT.certificate))
    assert edited.status_code == 200, edited.text
    assert "Changes saved." in edited.text
    assert 'value="Corporate SSO"' in edited.text
    current = _table(edited.text, "current-certificates")
    assert _fingerprint(IDP.certificate) in current
    assert _fingerprint(NEXT.certificate) in current
    served = _api(console.http, headers, provider_id).json()
    assert (served["name"], served["relyingPartyIdentifier"], served["nameIdentifierFormat"],
            len(served["certificates"])) == (
        "Corporate SSO", "https://keystead.example.com/sp", PERSISTENT, 2)
    events = _events(console.http, headers)
    assert [(e["action"], e["user"]["id"]) for e in events] == [
        ("create", console.person.id), ("update", console.person.id)]
    changes = {c["property"]: (c["oldValues"], c["newValues"])
               for c in events[1]["propertyChanges"]}
    assert set(changes) == {"name", "relyingPartyIdentifier", "nameIdentifierFormat",
                            "certificates"}
    old, new = (" ".join(values).split() for values in changes["certificates"])
    assert (old, new) == ([f"sha256:{_fingerprint(IDP.certificate)}"],
                          [f"sha256:{_fingerprint(IDP.certificate)}",
                           f"sha256:{_fingerprint(NEXT.certificate)}"])
    text = str(events)
    assert "BEGIN CERTIFICATE" not in text
    for pem in (IDP.certificate, NEXT.certificate):
        assert pem.splitlines()[5] not in text  # not even a line of the body
    log = console.http.get("/admin/audit", params={"action": "update"}).text
    assert "Corporate SSO" in log


def test_identity_provider_form_saved_unchanged_records_no_change(
        console: Console, headers: dict[str, str]) -> None:
    provider_id = _add(console, certificates=IDP.certificate + NEXT.certificate)
    page = console.http.get(f"{PAGES}/{provider_id}").text
    shown = re.search(r'<textarea id="certificates"[^>]*>([^<]*)</textarea>', page)
    assert shown
    saved = console.post(f"{PAGES}/{provider_id}", _form(
        certificates=html.unescape(shown.group(1)).replace("\n", "\r\n")))
    assert saved.status_code == 200, saved.text
    assert [e["action"] for e in _events(console.http, headers)] == ["create"]


def test_disabled_identity_provider_assertions_are_refused(
        console: Console, headers: dict[str, str]) -> None:
    provider_id = _add(console)
    client = _sso_client(console.http, headers)
    assert _trade(console.http, client).status_code == 200
    console.post(f"{PAGES}/{provider_id}", _form(disabled="on"))
    row = _table(console.http.get(PAGES).text, "identity-providers")
    assert '<span class="badge disabled">disabled</span>' in row
    refused = _trade(console.http, client)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    console.post(f"{PAGES}/{provider_id}", _form())  # the box unticked: enabled again
    assert _trade(console.http, client).status_code == 200


def test_identity_provider_deleted_through_the_page_is_gone(
        console: Console, headers: dict[str, str]) -> None:
    provider_id = _add(console)
    client = _sso_client(console.http, headers)
    page = console.http.get(f"{PAGES}/{provider_id}").text
    assert re.search(rf'<form method="post" action="{PAGES}/{provider_id}/delete" '
                     r'data-confirm="[^"]+">', page)
    assert 'id="delete-identity-provider"' in page
    deleted = console.post(f"{PAGES}/{provider_id}/delete")
    assert deleted.url.path == PAGES
    assert "Identity provider deleted." in deleted.text
    assert "Corporate IdP" not in _table(deleted.text, "identity-providers")
    assert console.http.get(f"{PAGES}/{provider_id}").status_code == 404
    assert _api(console.http, headers, provider_id).status_code == 404
    assert (_trade(console.http, client).json()["error"]) == "invalid_grant"
    assert [(e["action"], e["user"]["id"]) for e in _events(console.http, headers)][-1] == (
        "delete", console.person.id)


# -- permissions, CSRF, unknown ids


def test_identity_provider_pages_refuse_a_user_without_sso_provider_view(
        http: TestClient, headers: dict[str, str]) -> None:
    made = http.post(f"{API}/generic", headers=headers, json={
        "name": "Corporate IdP", "issuerURI": IDP.issuer, "certificates": [IDP.certificate],
        "relyingPartyIdentifier": AUDIENCE})
    assert made.status_code == 200, made.text
    provider_id = made.json()["id"]
    oauth_admin = create_user(http, "oauthadmin@example.com", roles=("OAuth Admin",))
    _switch_to(http, oauth_admin)
    assert f'href="{PAGES}"' not in http.get("/admin").text
    for path in (PAGES, f"{PAGES}/{provider_id}"):
        response = http.get(path)
        assert response.status_code == 403, path
        assert "sso:provider:view" in response.text
    assert "sso:provider:add" in http.get(f"{PAGES}/new").text
    token = csrf_of(http.get("/admin").text)
    created = http.post(f"{PAGES}/new", data={**_form(name="Mallory", issuerURI="https://m.example"),
                                               "csrf_token": token})
    assert created.status_code == 403
    assert "sso:provider:add" in created.text
    changed = http.post(f"{PAGES}/{provider_id}", data={**_form(name="Mallory"),
                                                        "csrf_token": token})
    assert changed.status_code == 403
    assert http.post(f"{PAGES}/{provider_id}/delete",
                     data={"csrf_token": token}).status_code == 403
    assert _total(http, headers) == 1
    assert _api(http, headers, provider_id).json()["name"] == "Corporate IdP"
    refusals = [e["context"]["reason"] for e in audit_events(http, headers, action="access.denied")
                if e["context"]["actorId"] == oauth_admin.id]
    assert sorted(refusals) == sorted(f"missing permission sso:provider:{action}" for action in (
        "view", "view", "add", "add", "edit", "delete"))


def test_identity_provider_viewer_sees_a_read_only_page(http: TestClient,
                                                       headers: dict[str, str]) -> None:
    made = http.post(f"{API}/generic", headers=headers, json={
        "name": "Corporate IdP", "issuerURI": IDP.issuer, "certificates": [IDP.certificate],
        "relyingPartyIdentifier": AUDIENCE})
    provider_id = made.json()["id"]
    role = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "SSO Viewer", "permissions": ["sso:provider:view"]})
    assert role.status_code == 200, role.text
    _switch_to(http, create_user(http, "viewer@example.com", roles=("SSO Viewer",)))
    listing = http.get(PAGES).text
    assert f'href="{PAGES}"' in listing  # the nav item
    assert "Corporate IdP" in _table(listing, "identity-providers")
    assert 'id="add-identity-provider"' not in listing
    page = http.get(f"{PAGES}/{provider_id}").text
    assert re.search(r'<input id="name"[^>]*\bdisabled\b', page)
    assert 'id="save"' not in page
    assert 'id="delete-identity-provider"' not in page
    refused = http.post(f"{PAGES}/{provider_id}", data={**_form(name="Renamed"),
                                                        "csrf_token": csrf_of(page)})
    assert refused.status_code == 403
    assert "sso:provider:edit" in refused.text
    assert _api(http, headers, provider_id).json()["name"] == "Corporate IdP"


def test_identity_provider_forms_refuse_a_post_without_the_csrf_token(
        console: Console, headers: dict[str, str]) -> None:
    provider_id = _add(console)
    forged = [console.http.post(f"{PAGES}/new", data=_form(issuerURI="https://forged.example")),
              console.http.post(f"{PAGES}/{provider_id}", data=_form(name="Forged", disabled="on")),
              console.http.post(f"{PAGES}/{provider_id}/delete",
                                data={"csrf_token": "not-the-token"})]
    assert [r.status_code for r in forged] == [403, 403, 403]
    served = _api(console.http, headers, provider_id).json()
    assert (served["name"], served["disabled"]) == ("Corporate IdP", False)
    assert _total(console.http, headers) == 1
    assert [e["action"] for e in _events(console.http, headers)] == ["create"]


def test_identity_provider_pages_answer_404_for_unknown_or_nul_ids(console: Console) -> None:
    for path in (f"{PAGES}/nope", f"{PAGES}/%00"):
        assert console.http.get(path).status_code == 404, path
    assert console.post(f"{PAGES}/nope", _form()).status_code == 404
    assert console.post(f"{PAGES}/nope/delete").status_code == 404
