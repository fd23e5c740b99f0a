"""Filling the identity provider form from SAML metadata: pasted or uploaded, the IdP's entity
ID and signing certificates land in the form for review and nothing is saved; saved through the
usual button, the provider accepts that IdP's assertions at the token endpoint. Hostile or wrong
metadata comes back beside the metadata field, what was typed kept, nothing written."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from keystead.protocol.saml_metadata import MAX_METADATA_BYTES
from tests.people import Console, create_user, sign_in
from tests.saml_idp import AUDIENCE, EMAIL, SamlIdp, rsa_key, self_signed
from tests.support.clients import CLIENTS, Registered
from tests.support.saml_metadata import idp_metadata
from tests.support.tokens import bearer

PAGES = "/admin/identity-providers"
API = "/api/v2/identityproviders"
GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
IDP = SamlIdp.create("https://sso.example.com/realms/corp", label="import-current")
NEXT = SamlIdp.create("https://sso.example.com/realms/corp", label="import-next")
ENCRYPTION = self_signed(rsa_key("import-encryption"), common_name="Encryption key")
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
METADATA = idp_metadata(IDP.issuer, signing=(IDP.certificate, NEXT.certificate),
                        encryption=ENCRYPTION)


def _import(console: Console, path: str, *, metadata: str = "",
            file: bytes | None = None, **fields: str) -> tuple[int, str]:
    files = {"metadataFile": ("idp-metadata.xml", file, "application/xml")} if file else None
    # As a browser sends the form: the select always carries its choice.
    response = console.http.post(path, data={
        "metadata": metadata, "csrf_token": console.csrf(), "nameIdentifierFormat": UNSPECIFIED,
        **fields}, files=files)
    return response.status_code, response.text


def _value(page: str, field: str) -> str:
    found = re.search(rf'id="{field}" name="{field}" type="text" value="([^"]*)"', page)
    assert found, field
    return html.unescape(found.group(1))


def _textarea(page: str, field: str) -> str:
    found = re.search(rf'<textarea id="{field}" name="{field}"[^>]*>(.*?)</textarea>', page,
                      re.S)
    assert found, field
    return html.unescape(found.group(1))


def _selected_format(page: str) -> str:
    found = re.search(r'<option value="([^"]+)" selected>', page)
    assert found
    return found.group(1)


def _error(page: str) -> str:
    found = re.search(r'<p class="field-error" id="metadata-error">([^<]*)</p>', page)
    assert found, "no error next to the metadata field"
    return html.unescape(found.group(1))


def _total(http: TestClient, headers: dict[str, str]) -> int:
    return int(http.get(API, headers=headers).json()["total"])


def _pems(text: str) -> list[str]:
    return re.findall(r"-----BEGIN CERTIFICATE-----\n(.*?)\n-----END", text, re.S)


def _flat(pem: str) -> str:
    return "".join(pem.strip().splitlines()[1:-1])


def test_pasted_metadata_fills_the_form_for_review_and_saves_nothing(
        console: Console, headers: dict[str, str]) -> None:
    status, page = _import(console, f"{PAGES}/new/import", metadata=METADATA,
                           relyingPartyIdentifier=AUDIENCE)
    assert status == 200, page
    assert _value(page, "issuerURI") == IDP.issuer
    assert _value(page, "name") == "Example Corp SSO"
    assert _value(page, "relyingPartyIdentifier") == AUDIENCE  # what was typed is kept
    # The two signing certificates, not the encryption one.
    assert ["".join(p.split()) for p in _pems(_textarea(page, "certificates"))] == [
        _flat(IDP.certificate), _flat(NEXT.certificate)]
    # Several NameID formats offered: which one the IdP sends is its setting, so the form's
    # choice stays, and the admin is told.
    assert _selected_format(page) == UNSPECIFIED
    summary = html.unescape(re.search(r'id="metadata-summary">(.*?)</div>', page, re.S)
                            .group(1))  # type: ignore[union-attr]
    assert "2 signing certificates" in summary
    assert "https://sso.example.com/realms/corp/protocol/saml</code> (HTTP-Redirect)" in summary
    assert "https://sso.example.com/realms/corp/protocol/saml/post</code> (HTTP-POST)" in summary
    assert "several Name-ID formats" in summary
    assert _total(console.http, headers) == 0


def test_provider_saved_from_imported_metadata_accepts_that_idps_assertions(
        console: Console, headers: dict[str, str]) -> None:
    metadata = idp_metadata(IDP.issuer, signing=(IDP.certificate, NEXT.certificate),
                            formats=(EMAIL,))
    status, page = _import(console, f"{PAGES}/new/import", file=metadata.encode(),
                           name="Corporate SSO")
    assert status == 200, page
    assert _value(page, "name") == "Corporate SSO"  # a typed name wins over the metadata's
    assert _selected_format(page) == EMAIL  # the one format it offers
    saved = console.post(f"{PAGES}/new", {
        "name": _value(page, "name"), "issuerURI": _value(page, "issuerURI"),
        "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": _selected_format(page),
        "certificates": _textarea(page, "certificates"),
        "mfaAuthnContextClassRefs": _textarea(page, "mfaAuthnContextClassRefs")})
    assert saved.status_code == 200, saved.text
    assert "Identity provider added." in saved.text
    [provider] = console.http.get(API, headers=headers).json()["entities"]
    assert provider["issuerURI"] == IDP.issuer
    ada = create_user(console.http, "ada@example.com")
    linked = console.http.put(f"/api/v2/users/{ada.id}/identityproviders/{provider['id']}",
                              headers=headers, json={"nameId": "ada@example.com"})
    assert linked.status_code == 200, linked.text
    made = console.http.post(CLIENTS, headers=headers, json={
        "name": "sso app", "authorizedGrantType": "SAML2-BEARER", "scope": ["users:readonly"]})
    client = Registered(made.json()["id"], made.json()["secret"])
    for idp in (IDP, NEXT):  # the current key and the next one both sign
        traded = console.http.post("/oauth/token", auth=client.basic_auth, data={
            "grant_type": GRANT, "assertion": idp.issue(datetime.now(UTC))})
        assert traded.status_code == 200, traded.text
        me = console.http.get("/api/v2/users/me", headers=bearer(traded.json()["access_token"]))
        assert me.json()["email"] == "ada@example.com"


def test_metadata_fills_the_edit_form_and_changes_nothing_until_saved(
        console: Console, headers: dict[str, str]) -> None:
    old = SamlIdp.create(IDP.issuer, label="import-old")
    created = console.post(f"{PAGES}/new", {
        "name": "Corporate SSO", "issuerURI": IDP.issuer, "relyingPartyIdentifier": AUDIENCE,
        "nameIdentifierFormat": EMAIL, "certificates": old.certificate})
    provider_id = created.url.path.removeprefix(PAGES + "/")
    status, page = _import(console, f"{PAGES}/{provider_id}/import", metadata=METADATA,
                           name="Corporate SSO", relyingPartyIdentifier=AUDIENCE,
                           nameIdentifierFormat=EMAIL, certificates=old.certificate)
    assert status == 200, page
    assert _value(page, "name") == "Corporate SSO"
    assert _selected_format(page) == EMAIL
    assert len(_pems(_textarea(page, "certificates"))) == 2
    served = console.http.get(f"{API}/generic/{provider_id}", headers=headers).json()
    assert [_flat(pem) for pem in served["certificates"]] == [_flat(old.certificate)]


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol2;"/>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>"""
SP = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
  entityID="https://app.example.com/sp"><md:SPSSODescriptor
  protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"""


@pytest.mark.parametrize(("metadata", "says"), [
    pytest.param(BOMB, "document type declaration", id="billion-laughs"),
    pytest.param(XXE, "document type declaration", id="xxe"),
    pytest.param('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>',
                 "not SAML 2.0 metadata", id="not-metadata"),
    pytest.param(SP, "no IDPSSODescriptor", id="service-provider-metadata"),
    pytest.param(idp_metadata(IDP.issuer, signing=(), encryption=ENCRYPTION),
                 "no signing certificate", id="no-signing-certificate"),
    pytest.param("", "No metadata was given", id="nothing"),
])
def test_bad_metadata_is_refused_beside_its_field_and_nothing_is_saved(
        console: Console, headers: dict[str, str], metadata: str, says: str) -> None:
    status, page = _import(console, f"{PAGES}/new/import", metadata=metadata,
                           name="Partner IdP", relyingPartyIdentifier=AUDIENCE)
    assert status == 400, page
    assert says in _error(page)
    assert 'aria-describedby="metadata-hint metadata-error"' in page
    assert 'href="#metadata"' in page  # the error summary leads to the field
    assert _value(page, "name") == "Partner IdP"
    assert "root:" not in page  # no file was read into the page
    assert _total(console.http, headers) == 0


def test_oversized_metadata_file_is_refused_naming_the_limit(
        console: Console, headers: dict[str, str]) -> None:
    big = METADATA.encode() + b"<!--" + b"x" * MAX_METADATA_BYTES + b"-->"
    status, page = _import(console, f"{PAGES}/new/import", file=big)
    assert status == 400, page
    assert "larger than 256 KiB" in _error(page)
    assert _total(console.http, headers) == 0


def test_import_is_refused_without_the_permission_to_add(
        console: Console) -> None:
    console.http.cookies.clear()
    viewer = create_user(console.http, "viewer@example.com")
    sign_in(console.http, viewer)
    status, _ = _import(Console(console.http, viewer), f"{PAGES}/new/import", metadata=METADATA)
    assert status == 403
