"""An admin adds an identity provider in Chromium from its metadata file: chooses the file,
presses "Fill the form from the metadata", reviews what was filled in, types the relying party
identifier and saves; the provider then holds the IdP's issuer and both signing keys."""

from __future__ import annotations

from pathlib import Path

from tests.browser.console import Admin, Server
from tests.saml_idp import AUDIENCE, SamlIdp
from tests.support.saml_metadata import idp_metadata

IDP = SamlIdp.create("https://login.example.com/adfs/services/trust", label="browser-import")
NEXT = SamlIdp.create("https://login.example.com/adfs/services/trust", label="browser-next")


def test_admin_adds_an_identity_provider_from_its_metadata_file(
        server: Server, root: Admin, tmp_path: Path) -> None:
    metadata = tmp_path / "FederationMetadata.xml"
    metadata.write_text(idp_metadata(IDP.issuer, signing=(IDP.certificate, NEXT.certificate)),
                        encoding="utf-8")
    page = root.page
    root.goto("/admin/identity-providers/new")
    page.set_input_files("#metadataFile", str(metadata))
    root.submit("#import-metadata")
    assert root.status == 200
    assert page.input_value("#issuerURI") == IDP.issuer
    assert page.input_value("#name") == "Example Corp SSO"
    assert page.input_value("#certificates").count("BEGIN CERTIFICATE") == 2
    assert "2 signing certificates" in root.text("#metadata-summary")
    root.screenshot("identity-provider-from-metadata.png")
    assert server.http.get("/api/v2/identityproviders",
                           headers=server.headers()).json()["total"] == 0  # nothing saved yet

    page.fill("#relyingPartyIdentifier", AUDIENCE)
    root.submit("#save")
    assert "Identity provider added." in root.text("main")
    [provider] = server.http.get("/api/v2/identityproviders",
                                 headers=server.headers()).json()["entities"]
    assert provider["issuerURI"] == IDP.issuer
    assert len(provider["certificates"]) == 2
