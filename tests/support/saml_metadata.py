"""SAML 2.0 metadata as identity providers publish it, for the import tests: prefixed
namespaces, an mdui display name, the organisation, a current and a next signing key, an
encryption key (which signs nothing), both browser bindings plus artifact and logout services,
and several NameID formats. Shaped after what Keycloak, Okta and AD FS serve."""

from __future__ import annotations

from tests.saml_idp import EMAIL, PERSISTENT


def body(pem: str) -> str:
    """A certificate's base64 as metadata carries it: no PEM lines, wrapped at 76."""
    flat = "".join(pem.strip().splitlines()[1:-1])
    return "\n".join(flat[i:i + 76] for i in range(0, len(flat), 76))


def idp_metadata(entity_id: str, *, signing: tuple[str, ...], encryption: str = "",
                 formats: tuple[str, ...] = (EMAIL, PERSISTENT,
                                             "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"),
                 unmarked: str = "", display_name: str = "Example Corp SSO") -> str:
    """An IdP's EntityDescriptor; ``unmarked`` adds a KeyDescriptor with no ``use``."""
    keys = [f"""
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:KeyName>key-{n}</ds:KeyName>
        <ds:X509Data><ds:X509Certificate>{body(pem)}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>""" for n, pem in enumerate(signing)]
    if encryption:
        keys.append(f"""
    <md:KeyDescriptor use="encryption">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{body(encryption)}</ds:X509Certificate>
      </ds:X509Data></ds:KeyInfo>
      <md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep"/>
    </md:KeyDescriptor>""")
    if unmarked:
        keys.append(f"""
    <md:KeyDescriptor>
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{body(unmarked)}</ds:X509Certificate>
      </ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>""")
    name_ids = "".join(f"\n    <md:NameIDFormat>{f}</md:NameIDFormat>" for f in formats)
    base = entity_id.rstrip("/")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
    xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui"
    ID="_e3b0c44298fc1c149afbf4c8996fb924" validUntil="2036-01-01T00:00:00Z"
    entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:Extensions>
      <mdui:UIInfo><mdui:DisplayName xml:lang="en">{display_name}</mdui:DisplayName></mdui:UIInfo>
    </md:Extensions>{"".join(keys)}
    <md:ArtifactResolutionService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
        Location="{base}/protocol/saml/resolve" index="0"/>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{base}/protocol/saml/logout"/>{name_ids}
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{base}/protocol/saml"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="{base}/protocol/saml/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
        Location="{base}/protocol/saml/artifact"/>
  </md:IDPSSODescriptor>
  <md:Organization>
    <md:OrganizationName xml:lang="en">example-corp</md:OrganizationName>
    <md:OrganizationDisplayName xml:lang="en">Example Corp</md:OrganizationDisplayName>
    <md:OrganizationURL xml:lang="en">https://example.com/</md:OrganizationURL>
  </md:Organization>
  <md:ContactPerson contactType="technical">
    <md:EmailAddress>mailto:it@example.com</md:EmailAddress>
  </md:ContactPerson>
</md:EntityDescriptor>
"""
