"""/api/v2/users/{userId}/identityproviders: linking a user to the identity providers that may
assert them is ruled like taking over the account (directory:user:edit, every permission the
user holds, never your own), refused input names the field and writes nothing, and every link and
unlink is audited on the user."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.domain.clients import Actor
from keystead.domain.errors import ForbiddenError
from keystead.domain.permissions import SUPER_ADMIN
from keystead.domain.principal import Caller
from keystead.store.identity_providers import SqlIdentityLinkStore
from keystead.web.runtime import Runtime
from tests.people import create_user
from tests.saml_idp import AUDIENCE, EMAIL, SamlIdp
from tests.support.apps import run
from tests.support.clients import bootstrap
from tests.support.management import audit_events
from tests.support.tokens import bearer, token

IDP = SamlIdp.create("https://idp.links.test", label="links")
OTHER = SamlIdp.create("https://other.links.test", label="links-other")


def _provider(http: TestClient, headers: dict[str, str], idp: SamlIdp = IDP) -> str:
    made = http.post("/api/v2/identityproviders/generic", headers=headers, json={
        "name": idp.issuer, "issuerURI": idp.issuer, "certificates": [idp.certificate],
        "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": EMAIL})
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


def _url(user_id: str, provider_id: str | None = None) -> str:
    base = f"/api/v2/users/{user_id}/identityproviders"
    return base if provider_id is None else f"{base}/{provider_id}"


def _link_events(http: TestClient, headers: dict[str, str], user_id: str) -> list[Any]:
    events = [e for e in audit_events(http, headers, entity_id=user_id)
              if e["action"].startswith("identityprovider.")]
    return sorted(events, key=lambda e: int(e["context"]["sequence"]))


def _holder(http: TestClient, provider_id: str, name_id: str) -> Any:
    async def work(runtime: Runtime) -> Any:
        async with runtime.transaction() as conn:
            return await SqlIdentityLinkStore(conn).holder(provider_id, name_id)

    return run(http, work)


def test_identity_link_put_list_and_delete(http: TestClient, headers: dict[str, str]) -> None:
    provider = _provider(http, headers)
    ada = create_user(http, "ada@example.com")
    linked = http.put(_url(ada.id, provider), headers=headers, json={"nameId": "Ada@Example.com"})
    assert linked.status_code == 200, linked.text
    assert linked.json() == {
        "identityProvider": {"id": provider, "name": IDP.issuer,
                             "selfUri": f"/api/v2/identityproviders/generic/{provider}"},
        "nameId": "Ada@Example.com",  # kept exactly as given: matching is exact
        "dateCreated": linked.json()["dateCreated"], "selfUri": _url(ada.id, provider)}
    listed = http.get(_url(ada.id), headers=headers)
    assert listed.status_code == 200
    assert listed.json()["entities"] == [linked.json()]
    assert listed.json()["total"] == 1
    assert http.delete(_url(ada.id, provider), headers=headers).status_code == 204
    assert http.get(_url(ada.id), headers=headers).json()["entities"] == []
    again = http.delete(_url(ada.id, provider), headers=headers)
    assert again.status_code == 404


def test_identity_link_changes_are_audited_on_the_user(http: TestClient, headers: dict[str, str],
                                                       admin: Any) -> None:
    provider = _provider(http, headers)
    ada = create_user(http, "ada@example.com")
    for name_id in ("ada@example.com", "ada@example.com", "E-1042"):  # the repeat changes nothing
        assert http.put(_url(ada.id, provider), headers=headers,
                        json={"nameId": name_id}).status_code == 200
    assert http.delete(_url(ada.id, provider), headers=headers).status_code == 204
    events = _link_events(http, headers, ada.id)
    assert [(e["action"], e["status"], e["entityType"], e["entity"]["name"])
            for e in events] == [
        ("identityprovider.link", "SUCCESS", "User", "ada@example.com"),
        ("identityprovider.link", "SUCCESS", "User", "ada@example.com"),
        ("identityprovider.unlink", "SUCCESS", "User", "ada@example.com")]
    assert {e["context"]["actorId"] for e in events} == {admin.id}
    assert events[0]["context"]["nameId"] == "ada@example.com"
    assert events[0]["context"]["providerId"] == provider
    assert events[1]["context"]["previousNameId"] == "ada@example.com"
    assert events[1]["context"]["nameId"] == "E-1042"


def test_identity_link_one_name_id_per_provider_names_one_user(http: TestClient,
                                                              headers: dict[str, str]) -> None:
    provider, other = _provider(http, headers), _provider(http, headers, OTHER)
    ada = create_user(http, "ada@example.com")
    bob = create_user(http, "bob@example.com")
    assert http.put(_url(ada.id, provider), headers=headers,
                    json={"nameId": "shared"}).status_code == 200
    taken = http.put(_url(bob.id, provider), headers=headers, json={"nameId": "shared"})
    assert taken.status_code == 409
    # The same NameID at another provider is another subject.
    assert http.put(_url(bob.id, other), headers=headers,
                    json={"nameId": "shared"}).status_code == 200
    assert _holder(http, provider, "shared").user_id == ada.id
    assert _holder(http, other, "shared").user_id == bob.id


@pytest.mark.parametrize(("body", "field", "code"), [
    pytest.param({"nameId": ""}, "nameId", "invalid.value", id="empty"),
    pytest.param({"nameId": " ada"}, "nameId", "invalid.value", id="leading-space"),
    pytest.param({"nameId": "a\tb"}, "nameId", "invalid.value", id="control-character"),
    pytest.param({"nameId": "x" * 513}, "nameId", "invalid.value", id="too-long"),
    pytest.param({}, "nameId", "missing", id="missing"),
    pytest.param({"nameId": "ada", "format": "x"}, "format", "extra.forbidden",
                 id="unknown-field"),
])
def test_identity_link_refuses_bad_input_naming_the_field(
        http: TestClient, headers: dict[str, str], body: dict[str, Any], field: str,
        code: str) -> None:
    provider = _provider(http, headers)
    ada = create_user(http, "ada@example.com")
    response = http.put(_url(ada.id, provider), headers=headers, json=body)
    assert response.status_code == 400, response.text
    assert {d["fieldName"]: d["errorCode"] for d in response.json()["details"]} == {field: code}
    assert http.get(_url(ada.id), headers=headers).json()["entities"] == []
    assert _link_events(http, headers, ada.id) == []


def test_identity_link_unknown_user_or_provider_is_404(http: TestClient,
                                                      headers: dict[str, str]) -> None:
    provider = _provider(http, headers)
    ada = create_user(http, "ada@example.com")
    missing = "00000000-0000-0000-0000-000000000000"
    for url in (_url(missing, provider), _url(ada.id, missing)):
        assert http.put(url, headers=headers, json={"nameId": "ada"}).status_code == 404
        assert http.delete(url, headers=headers).status_code == 404


def test_identity_link_needs_directory_user_edit(http: TestClient,
                                                headers: dict[str, str]) -> None:
    provider = _provider(http, headers)
    ada = create_user(http, "ada@example.com")
    oauth_admin = bearer(token(http, bootstrap(http, name="oauth", roles=["OAuth Admin"])))
    refused = http.put(_url(ada.id, provider), headers=oauth_admin, json={"nameId": "ada"})
    assert refused.status_code == 403
    assert http.get(_url(ada.id), headers=headers).json()["entities"] == []


def test_identity_link_needs_every_permission_the_user_holds(http: TestClient,
                                                            headers: dict[str, str]) -> None:
    provider = _provider(http, headers)
    role = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "User Editor", "permissionPolicies": [
            {"domain": "directory", "entityName": "user", "actionSet": ["view", "edit"]}]})
    assert role.status_code == 200, role.text
    editor = bearer(token(http, bootstrap(http, name="editor", roles=["User Editor"])))
    root = create_user(http, "root@example.com", roles=(SUPER_ADMIN,))
    # Linking an IdP to a stronger admin would hand that IdP their account.
    refused = http.put(_url(root.id, provider), headers=editor, json={"nameId": "root"})
    assert refused.status_code == 403
    ada = create_user(http, "ada@example.com")
    assert http.put(_url(ada.id, provider), headers=editor,
                    json={"nameId": "ada"}).status_code == 200


def test_identity_link_needs_the_users_scope(http: TestClient, headers: dict[str, str]) -> None:
    provider = _provider(http, headers)
    ada = create_user(http, "ada@example.com")
    reader = bearer(token(http, bootstrap(http, name="reader", roles=[SUPER_ADMIN],
                                          scopes=["users:readonly"])))
    assert http.get(_url(ada.id), headers=reader).status_code == 200
    refused = http.put(_url(ada.id, provider), headers=reader, json={"nameId": "ada"})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]


def test_identity_link_nobody_links_their_own_account(http: TestClient,
                                                     headers: dict[str, str]) -> None:
    provider = _provider(http, headers)
    root = create_user(http, "root@example.com", roles=(SUPER_ADMIN,))
    me = Caller(actor=Actor("user", root.id, root.email), role_divisions=frozenset(),
                permissions=frozenset({"*:*:*"}))

    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await runtime.identity_links(conn).link(me, root.id, provider, "root")

    with pytest.raises(ForbiddenError):
        run(http, work)
    assert _holder(http, provider, "root") is None


def test_identity_link_goes_with_the_user(http: TestClient, headers: dict[str, str]) -> None:
    provider = _provider(http, headers)
    ada = create_user(http, "ada@example.com")
    assert http.put(_url(ada.id, provider), headers=headers,
                    json={"nameId": "ada"}).status_code == 200
    assert http.delete(f"/api/v2/users/{ada.id}", headers=headers).status_code == 204
    assert _holder(http, provider, "ada") is None


def test_identity_link_a_user_without_permissions_cannot_unlink_themselves(
        http: TestClient, headers: dict[str, str]) -> None:
    provider = _provider(http, headers)
    ada = create_user(http, "ada@example.com")
    assert http.put(_url(ada.id, provider), headers=headers,
                    json={"nameId": "ada@example.com"}).status_code == 200
    made = http.post("/api/v2/oauth/clients", headers=headers, json={
        "name": "sso app", "authorizedGrantType": "SAML2-BEARER",
        "scope": ["users", "users:readonly"]})
    assert made.status_code == 200, made.text
    issued = http.post("/oauth/token", auth=(made.json()["id"], made.json()["secret"]), data={
        "grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer",
        "assertion": IDP.issue(datetime.now(UTC), name_id="ada@example.com")})
    assert issued.status_code == 200, issued.text
    as_ada = bearer(issued.json()["access_token"])
    assert http.get(_url(ada.id), headers=as_ada).status_code == 200  # her own: readable
    assert http.delete(_url(ada.id, provider), headers=as_ada).status_code == 403
    assert http.put(_url(ada.id, provider), headers=as_ada,
                    json={"nameId": "other"}).status_code == 403
    assert _holder(http, provider, "ada@example.com").user_id == ada.id
