"""/api/v2/identityproviders: trusted SAML identity providers registered, read, changed and
deleted in the Genesys GenericSAML shape; bad input refused naming the field, nothing half
written; scope and permission enforced; every change audited, certificates by fingerprint."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.testclient import TestClient

from keystead.domain.identity_providers import DEFAULT_MFA_CONTEXT_CLASSES
from tests.saml_idp import AUDIENCE, EMAIL, SamlIdp, rsa_key, self_signed
from tests.support.clients import Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.management import audit_events
from tests.support.tokens import bearer, challenge, token

BASE = "/api/v2/identityproviders"
GENERIC = f"{BASE}/generic"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
IDP = SamlIdp.create()
NEXT = SamlIdp.create(label="next")


def _body(**fields: Any) -> dict[str, Any]:
    """A GenericSAML body that passes every rule; ``fields`` replace or add."""
    return {"name": "Corporate IdP", "issuerURI": IDP.issuer, "certificates": [IDP.certificate],
            "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": EMAIL} | fields


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _problems(response: Any) -> dict[str, str]:
    """Field name -> error code of a 400 ErrorBody."""
    assert response.status_code == 400, response.text
    return {d["fieldName"]: d["errorCode"] for d in response.json()["details"]}


def _create(http: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    return _ok(http.post(GENERIC, json=_body(**fields), headers=headers))


def _total(http: TestClient, headers: dict[str, str]) -> int:
    return int(_ok(http.get(BASE, headers=headers))["total"])


def _fingerprint(pem: str) -> str:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _events(http: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The identity-provider audit events, oldest first."""
    return sorted((e for e in audit_events(http, headers)
                   if e["entityType"] == "IdentityProvider"),
                  key=lambda e: int(e["context"]["sequence"]))


# -- create, read, change, delete


def test_identity_provider_create_answers_generic_saml(http: TestClient,
                                                       headers: dict[str, str]) -> None:
    created = _create(http, headers)
    assert created == {
        "id": created["id"], "name": "Corporate IdP", "issuerURI": IDP.issuer,
        "certificates": [IDP.certificate.strip()], "relyingPartyIdentifier": AUDIENCE,
        "nameIdentifierFormat": EMAIL, "disabled": False,
        "vouchesForMfa": False, "mfaAuthnContextClassRefs": list(DEFAULT_MFA_CONTEXT_CLASSES),
        "selfUri": f"{GENERIC}/{created['id']}"}
    assert _ok(http.get(f"{GENERIC}/{created['id']}", headers=headers)) == created
    assert _ok(http.get(GENERIC, headers=headers)) == created


def test_identity_providers_list_pages_in_a_genesys_listing(
        http: TestClient, headers: dict[str, str], clock: ManualClock) -> None:
    first = _create(http, headers)
    clock.advance(1)  # listed by creation time: the app's clock stands still otherwise
    second = _create(http, headers, name="Partner IdP", issuerURI="https://partner.example.com",
                     certificates=[NEXT.certificate])
    listing = _ok(http.get(BASE, params={"pageSize": 1}, headers=headers))
    assert (listing["total"], listing["pageSize"], listing["pageNumber"]) == (2, 1, 1)
    assert listing["entities"] == [first]
    assert listing["selfUri"] == f"{BASE}?pageSize=1&pageNumber=1"
    page_two = _ok(http.get(listing["nextUri"], headers=headers))
    assert page_two["entities"] == [second]
    # /generic is the organisation's first provider, as in Genesys.
    assert _ok(http.get(GENERIC, headers=headers))["id"] == first["id"]


def test_identity_provider_update_replaces_its_settings(http: TestClient,
                                                        headers: dict[str, str]) -> None:
    created = _create(http, headers)
    # What an admin's tool does: GET, change, PUT back (id and selfUri come back too).
    changed = created | {"name": "Corporate IdP (rotating)", "disabled": True,
                         "certificates": [IDP.certificate, NEXT.certificate]}
    updated = _ok(http.put(f"{GENERIC}/{created['id']}", json=changed, headers=headers))
    assert updated == changed | {"certificates": [IDP.certificate.strip(),
                                                  NEXT.certificate.strip()]}
    assert _ok(http.get(f"{GENERIC}/{created['id']}", headers=headers)) == updated


def test_identity_provider_delete_removes_it(http: TestClient, headers: dict[str, str]) -> None:
    created = _create(http, headers)
    assert http.delete(f"{GENERIC}/{created['id']}", headers=headers).status_code == 204
    assert http.get(f"{GENERIC}/{created['id']}", headers=headers).status_code == 404
    assert http.get(GENERIC, headers=headers).status_code == 404
    assert _total(http, headers) == 0


def test_identity_provider_put_generic_creates_then_updates(http: TestClient,
                                                            headers: dict[str, str]) -> None:
    missing = http.get(GENERIC, headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "not.found")
    created = _ok(http.put(GENERIC, json=_body(), headers=headers))
    assert _ok(http.get(GENERIC, headers=headers)) == created
    updated = _ok(http.put(GENERIC, json=_body(name="Renamed IdP", disabled=True),
                           headers=headers))
    assert (updated["id"], updated["name"], updated["disabled"]) == (
        created["id"], "Renamed IdP", True)
    assert _total(http, headers) == 1
    assert http.delete(GENERIC, headers=headers).status_code == 204
    assert http.get(GENERIC, headers=headers).status_code == 404
    assert http.delete(GENERIC, headers=headers).status_code == 404


@pytest.mark.parametrize(("method", "path"), [
    pytest.param("GET", "/{id}", id="get"),
    pytest.param("PUT", "/{id}", id="put"),
    pytest.param("DELETE", "/{id}", id="delete"),
])
def test_identity_provider_unknown_id_is_404_naming_it(http: TestClient, headers: dict[str, str],
                                                       method: str, path: str) -> None:
    response = http.request(method, GENERIC + path.format(id="no-such-idp"), json=_body(),
                            headers=headers)
    assert response.status_code == 404, response.text
    assert "no-such-idp" in response.json()["message"]
    assert _total(http, headers) == 0


def test_identity_provider_takes_a_bare_base64_certificate_and_genesys_certificate_field(
        http: TestClient, headers: dict[str, str]) -> None:
    body = "".join(IDP.certificate.strip().splitlines()[1:-1])
    created = _create(http, headers, certificates=[body], certificate=NEXT.certificate)
    assert created["certificates"] == [IDP.certificate.strip(), NEXT.certificate.strip()]


def test_identity_provider_defaults_to_the_unspecified_name_id_format(
        http: TestClient, headers: dict[str, str]) -> None:
    body = _body()
    del body["nameIdentifierFormat"]
    assert _ok(http.post(GENERIC, json=body, headers=headers))["nameIdentifierFormat"] == (
        UNSPECIFIED)


# -- bad input: refused naming the field, nothing written


TRUNCATED = IDP.certificate.strip()[:200] + "\n-----END CERTIFICATE-----"


@pytest.mark.parametrize(("fields", "problems"), [
    pytest.param({"certificates": ["not a certificate"]},
                 {"certificates[0]": "invalid.certificate"}, id="garbage-certificate"),
    pytest.param({"certificates": [IDP.certificate, TRUNCATED]},
                 {"certificates[1]": "invalid.certificate"}, id="truncated-certificate"),
    pytest.param({"certificates": [IDP.certificate + NEXT.certificate]},
                 {"certificates[0]": "invalid.certificate"}, id="two-certificates-in-one"),
    pytest.param({"certificates": [self_signed(rsa_key("weak", 1024))]},
                 {"certificates[0]": "invalid.certificate"}, id="rsa-1024-key"),
    pytest.param({"certificates": []}, {"certificates": "required"}, id="no-certificate"),
    pytest.param({"certificates": [IDP.certificate, IDP.certificate]},
                 {"certificates": "duplicate"}, id="same-certificate-twice"),
    pytest.param({"certificates": "PEM"}, {"certificates": "list.type"}, id="not-a-list"),
    pytest.param({"name": ""}, {"name": "length"}, id="empty-name"),
    pytest.param({"name": "x" * 129}, {"name": "length"}, id="long-name"),
    pytest.param({"issuerURI": ""}, {"issuerURI": "length"}, id="no-issuer"),
    pytest.param({"issuerURI": "https://idp.example.com/ x"},
                 {"issuerURI": "invalid.character"}, id="issuer-with-a-space"),
    pytest.param({"relyingPartyIdentifier": ""}, {"relyingPartyIdentifier": "length"},
                 id="no-relying-party"),
    pytest.param({"nameIdentifierFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"},
                 {"nameIdentifierFormat": "enum"}, id="unsupported-name-id-format"),
    pytest.param({"disabled": "maybe"}, {"disabled": "bool.parsing"}, id="disabled-not-bool"),
    pytest.param({"issuerUri": "https://typo.example.com"}, {"issuerUri": "extra.forbidden"},
                 id="unknown-field"),
    pytest.param({"vouchesForMfa": True, "mfaAuthnContextClassRefs": []},
                 {"mfaAuthnContextClassRefs": "required"}, id="vouching-without-mfa-classes"),
    pytest.param({"mfaAuthnContextClassRefs": ["urn:x:mfa", "urn:x:has space"]},
                 {"mfaAuthnContextClassRefs[1]": "invalid.value"}, id="mfa-class-with-a-space"),
    pytest.param({"mfaAuthnContextClassRefs": [""]},
                 {"mfaAuthnContextClassRefs[0]": "invalid.value"}, id="empty-mfa-class"),
    pytest.param({"mfaAuthnContextClassRefs": ["urn:x:mfa", "urn:x:mfa"]},
                 {"mfaAuthnContextClassRefs": "duplicate"}, id="mfa-class-twice"),
    pytest.param({"mfaAuthnContextClassRefs": [f"urn:x:{n}" for n in range(21)]},
                 {"mfaAuthnContextClassRefs": "out.of.range"}, id="too-many-mfa-classes"),
    pytest.param({"vouchesForMfa": "maybe"}, {"vouchesForMfa": "bool.parsing"},
                 id="vouches-not-bool"),
])
def test_identity_provider_create_refuses_bad_input_naming_the_field(
        http: TestClient, headers: dict[str, str], fields: dict[str, Any],
        problems: dict[str, str]) -> None:
    response = http.post(GENERIC, json=_body(**fields), headers=headers)
    assert _problems(response) == problems
    assert _total(http, headers) == 0
    assert _events(http, headers) == []


def test_identity_provider_update_refuses_bad_input_and_changes_nothing(
        http: TestClient, headers: dict[str, str]) -> None:
    created = _create(http, headers)
    bad_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
    assert _problems(http.put(f"{GENERIC}/{created['id']}", headers=headers,
                              json=_body(name="New name", certificates=[bad_pem]))) == {
        "certificates[0]": "invalid.certificate"}
    assert _problems(http.put(GENERIC, headers=headers, json=_body(name="", disabled=True))) == {
        "name": "length"}
    assert _problems(http.put(GENERIC, headers=headers, json=_body(surplus=1))) == {
        "surplus": "extra.forbidden"}
    assert _ok(http.get(f"{GENERIC}/{created['id']}", headers=headers)) == created
    assert [e["action"] for e in _events(http, headers)] == ["create"]


@pytest.mark.parametrize("body", [
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"[]", id="not-an-object"),
])
def test_identity_provider_refuses_a_body_that_is_not_an_object(
        http: TestClient, headers: dict[str, str], body: bytes) -> None:
    response = http.post(GENERIC, content=body, headers=headers | {
        "content-type": "application/json"})
    assert set(_problems(response)) == {"body"}


def test_identity_provider_issuer_is_unique(http: TestClient, headers: dict[str, str]) -> None:
    first = _create(http, headers)
    other = _create(http, headers, issuerURI="https://partner.example.com", name="Partner")
    duplicate = http.post(GENERIC, json=_body(name="Copy"), headers=headers)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "conflict")
    assert "issuerURI" in duplicate.json()["message"]
    moved = http.put(f"{GENERIC}/{other['id']}", json=other | {"issuerURI": IDP.issuer},
                     headers=headers)
    assert moved.status_code == 409, moved.text
    assert _total(http, headers) == 2
    # Keeping one's own issuer is no conflict.
    assert _ok(http.put(f"{GENERIC}/{first['id']}", json=first | {"name": "Same issuer"},
                        headers=headers))["name"] == "Same issuer"


# -- scope and permission


@pytest.mark.parametrize(("scope", "method", "path"), [
    pytest.param("oauth", "GET", BASE, id="oauth-cannot-list"),
    pytest.param("oauth", "GET", GENERIC, id="oauth-cannot-read"),
    pytest.param("identity-providers:readonly", "POST", GENERIC, id="readonly-cannot-create"),
    pytest.param("identity-providers:readonly", "PUT", GENERIC, id="readonly-cannot-put"),
    pytest.param("identity-providers:readonly", "PUT", GENERIC + "/{id}",
                 id="readonly-cannot-update"),
    pytest.param("identity-providers:readonly", "DELETE", GENERIC + "/{id}",
                 id="readonly-cannot-delete"),
])
def test_identity_providers_api_needs_the_scope(http: TestClient, admin: Registered,
                                                headers: dict[str, str], scope: str,
                                                method: str, path: str) -> None:
    created = _create(http, headers)
    narrow = bearer(token(http, admin, scope=scope))
    response = http.request(method, path.format(id=created["id"]), headers=narrow,
                            json=_body(name="Mallory's IdP"))
    assert response.status_code == 403, response.text
    assert challenge(response)["error"] == "insufficient_scope"
    assert _ok(http.get(BASE, headers=headers))["entities"] == [created]


def test_identity_providers_readonly_scope_can_read(http: TestClient, admin: Registered,
                                                    headers: dict[str, str]) -> None:
    created = _create(http, headers)
    readonly = bearer(token(http, admin, scope="identity-providers:readonly"))
    assert _ok(http.get(BASE, headers=readonly))["entities"] == [created]
    assert _ok(http.get(f"{GENERIC}/{created['id']}", headers=readonly)) == created


@pytest.mark.parametrize(("method", "path", "permission"), [
    pytest.param("GET", BASE, "sso:provider:view", id="list"),
    pytest.param("GET", GENERIC + "/{id}", "sso:provider:view", id="read"),
    pytest.param("POST", GENERIC, "sso:provider:add", id="create"),
    pytest.param("PUT", GENERIC, "sso:provider:edit", id="put-generic"),
    pytest.param("PUT", GENERIC + "/{id}", "sso:provider:edit", id="update"),
    pytest.param("DELETE", GENERIC + "/{id}", "sso:provider:delete", id="delete"),
])
def test_identity_providers_api_refuses_an_oauth_admin_naming_the_missing_permission(
        http: TestClient, headers: dict[str, str], method: str, path: str,
        permission: str) -> None:
    created = _create(http, headers)
    oauth_admin = bootstrap(http, name="oauth admin", roles=["OAuth Admin"])
    # A body that breaks every rule: the refusal comes before the input is read.
    response = http.request(method, path.format(id=created["id"]),
                            headers=bearer(token(http, oauth_admin)),
                            json={"certificates": ["junk"], "surplus": True})
    assert response.status_code == 403, response.text
    assert (response.json()["code"], response.json()["message"]) == (
        "missing.permissions", f"missing permission {permission}")
    assert _ok(http.get(BASE, headers=headers))["entities"] == [created]
    [denied] = audit_events(http, headers, action="access.denied")
    assert (denied["context"]["actorId"], denied["context"]["reason"]) == (
        oauth_admin.id, f"missing permission {permission}")


# -- audit


def test_identity_provider_changes_are_audited_with_fingerprints_never_pem(
        http: TestClient, headers: dict[str, str], admin: Registered) -> None:
    created = _create(http, headers)
    _ok(http.put(f"{GENERIC}/{created['id']}", headers=headers,
                 json=created | {"certificates": [NEXT.certificate], "disabled": True}))
    assert http.delete(f"{GENERIC}/{created['id']}", headers=headers).status_code == 204
    events = _events(http, headers)
    assert [(e["action"], e["entity"]["id"], e["status"]) for e in events] == [
        ("create", created["id"], "SUCCESS"), ("update", created["id"], "SUCCESS"),
        ("delete", created["id"], "SUCCESS")]
    assert {e["context"]["actorId"] for e in events} == {admin.id}
    changes = {c["property"]: (c["oldValues"], c["newValues"])
               for c in events[1]["propertyChanges"]}
    assert changes == {
        "certificates": ([_fingerprint(IDP.certificate)], [_fingerprint(NEXT.certificate)]),
        "disabled": (["False"], ["True"])}
    assert _fingerprint(IDP.certificate) in events[0]["context"]["settings"]
    text = str(events)
    for pem in (IDP.certificate, NEXT.certificate):
        assert "BEGIN CERTIFICATE" not in text
        assert pem.splitlines()[5] not in text  # not even a line of the body


def test_identity_provider_mfa_vouching_is_set_and_audited(http: TestClient,
                                                          headers: dict[str, str]) -> None:
    created = _create(http, headers)
    assert created["vouchesForMfa"] is False  # off unless an admin turns it on
    changed = _ok(http.put(f"{GENERIC}/{created['id']}", headers=headers, json=created | {
        "vouchesForMfa": True, "mfaAuthnContextClassRefs": ["https://refeds.org/profile/mfa"]}))
    assert (changed["vouchesForMfa"], changed["mfaAuthnContextClassRefs"]) == (
        True, ["https://refeds.org/profile/mfa"])
    assert _ok(http.get(f"{GENERIC}/{created['id']}", headers=headers)) == changed
    update = _events(http, headers)[1]
    changes = {c["property"]: (c["oldValues"], c["newValues"]) for c in update["propertyChanges"]}
    assert changes["vouchesForMfa"] == (["False"], ["True"])
    assert "mfaAuthnContextClassRefs" in changes


def test_identity_provider_unchanged_put_is_not_audited(http: TestClient,
                                                        headers: dict[str, str]) -> None:
    created = _create(http, headers)
    _ok(http.put(f"{GENERIC}/{created['id']}", json=created, headers=headers))
    assert [e["action"] for e in _events(http, headers)] == ["create"]


def test_permission_catalogue_lists_the_sso_provider_permissions(
        http: TestClient, headers: dict[str, str]) -> None:
    entries = _ok(http.get("/api/v2/authorization/permissions", headers=headers))["entities"]
    [sso] = [entry for entry in entries if entry["domain"] == "sso"]
    assert [p["action"] for p in sso["permissionMap"]["provider"]] == [
        "add", "view", "edit", "delete"]
