"""The client wizard and edit form speak the form's language (issue 14): an error from the domain
names the field by the label on the form ("Client authentication", "Owner contact", "Client
Credentials"), not by its API name (``tokenEndpointAuthMethod``, ``ownerContact``,
``CLIENT-CREDENTIALS``); and the wizard tells a CODE client that openid, profile and email are
there for it without ticking anything."""

from __future__ import annotations

import re

import pytest

from keystead.web.console.field_labels import LABELS, in_words
from tests.people import Console
from tests.support.clients import Registered
from tests.web.console.test_clients_pages import (
    OAUTH,
    app_client,  # noqa: F401 (a fixture)
    error_of,
    page_of,
    start_wizard,
    step_of,
    submit,
)

API_NAMES = re.compile(r"tokenEndpointAuthMethod|ownerContact|accessTokenValiditySeconds|"
                       r"registeredRedirectUri|CLIENT-CREDENTIALS|SAML2-BEARER|\bCODE\b|"
                       r"\bTOKEN\b|requirePkce|authorizedGrantType")


def _shown_errors(html: str) -> str:
    """The words of every error on the page: beside the fields and in the summary."""
    summary = " ".join(re.findall(r'<div class="error-summary".*?</div>', html, re.S))
    return " ".join(re.findall(r'class="field-error"[^>]*>([^<]*)<', html)) + re.sub(
        r"<[^>]+>", " ", summary)


@pytest.mark.parametrize(("message", "words"), [
    ("ownerContact must be at most 320 characters",
     "Owner contact must be at most 320 characters"),
    ("choose at least one grant type: CLIENT-CREDENTIALS, CODE or SAML2-BEARER",
     "choose at least one grant type: Client Credentials, Authorization Code with PKCE or "
     "SAML2 Bearer"),
    ("the implicit grant (TOKEN) cannot be selected after 2026-03-01: it leaks tokens through "
     "the browser; use CODE with PKCE instead",
     "the implicit grant cannot be selected after 2026-03-01: it leaks tokens through the "
     "browser; use Authorization Code with PKCE instead"),
    ("a public client always uses PKCE; requirePkce must be true",
     "a public client always uses PKCE; PKCE must be required"),
    ("mfaAuthnContextClassRefs must name at least one AuthnContextClassRef when vouchesForMfa "
     "is true", "Classes that mean multi-factor must name at least one AuthnContextClassRef "
     "when “Trust this provider to vouch for multi-factor sign-in” is ticked"),
    # What the person typed stays as typed, even when it spells a wire name.
    ("unknown scope 'CODE'; tags are lower-case", "unknown scope 'CODE'; tags are lower-case"),
    ("a CODEX-style ACCESS_CODE", "a CODEX-style ACCESS_CODE"),
])
def test_wire_names_become_the_forms_labels(message: str, words: str) -> None:
    assert in_words(message) == words


def test_every_label_is_a_name_the_console_shows() -> None:
    assert all(label and label != name for name, label in LABELS.items())


def test_wizard_names_fields_by_their_labels_in_its_errors(console: Console) -> None:
    step2 = submit(console, start_wizard(console), "next", name="Mobile notes",
                   grantTypes=["CODE", "CLIENT-CREDENTIALS"])
    assert step_of(step2) == "2", step2.text
    refused = submit(console, step2, "next", clientType="public",
                     tokenEndpointAuthMethod="client_secret_basic",
                     redirectUris="com.example.notes:/cb", scopes=["oauth:readonly"])
    assert refused.status_code == 400
    assert "cannot use Client Credentials" in error_of(refused, "clientType")
    assert ("its Client authentication must be none"
            in error_of(refused, "tokenEndpointAuthMethod"))
    assert not API_NAMES.search(_shown_errors(refused.text)), _shown_errors(refused.text)

    no_grant = submit(console, start_wizard(console), "next", name="Nothing", grantTypes=[])
    assert ("Client Credentials, Authorization Code with PKCE or SAML2 Bearer"
            in error_of(no_grant, "grantTypes"))
    assert not API_NAMES.search(_shown_errors(no_grant.text))


def test_edit_form_names_fields_by_their_labels_in_its_errors(
        console: Console, app_client: Registered) -> None:  # noqa: F811 (the fixture)
    form = console.http.get(f"{OAUTH}/{app_client.id}/edit")
    refused = submit(console, form, "save", ownerContact="x" * 400,
                     redirectUris="https://x.example/cb")
    assert refused.status_code == 400
    assert error_of(refused, "ownerContact").startswith(
        "Owner contact must be at most 320 characters")
    assert ("apply only to Authorization Code with PKCE and Implicit grant (legacy) clients"
            in error_of(refused, "redirectUris"))
    assert not API_NAMES.search(_shown_errors(refused.text)), _shown_errors(refused.text)


def test_wizard_tells_a_code_client_about_the_openid_connect_scopes(console: Console) -> None:
    code = submit(console, start_wizard(console), "next", name="Web Portal",
                  grantTypes=["CODE"])
    note = page_of(code).text["oidc-scopes"]
    for scope in ("openid", "profile", "email"):
        assert scope in note
    assert "ID token" in note
    assert "/oauth/userinfo" in note
    service = submit(console, start_wizard(console), "next", name="Nightly sync",
                     grantTypes=["CLIENT-CREDENTIALS"])
    assert step_of(service) == "2"
    assert 'id="oidc-scopes"' not in service.text
