"""Reading an identity provider's SAML 2.0 metadata: what real IdPs publish gives the entity ID,
the signing certificates (not the encryption one), the browser SSO endpoints and the NameID
formats; hostile or wrong documents (DTDs, entity bombs, external entities, other XML, a service
provider's metadata, no certificate, too large) are refused with a message naming the problem."""

from __future__ import annotations

import pytest
from cryptography import x509

from keystead.protocol.saml_metadata import (
    MAX_METADATA_BYTES,
    MetadataError,
    SingleSignOn,
    read_idp_metadata,
)
from tests.saml_idp import EMAIL, PERSISTENT, SamlIdp, rsa_key, self_signed
from tests.support.saml_metadata import idp_metadata

CURRENT = SamlIdp.create("https://sso.example.com/realms/corp", label="metadata-current")
NEXT = SamlIdp.create("https://sso.example.com/realms/corp", label="metadata-next")
ENCRYPTION = self_signed(rsa_key("metadata-encryption"), common_name="Encryption")


def _der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).tbs_certificate_bytes


def test_metadata_as_idps_publish_it_gives_issuer_signing_keys_and_sso_endpoints() -> None:
    raw = idp_metadata(CURRENT.issuer, signing=(CURRENT.certificate, NEXT.certificate),
                       encryption=ENCRYPTION).encode()
    read = read_idp_metadata(raw)
    assert read.entity_id == "https://sso.example.com/realms/corp"
    # Both signing keys, in order, as PEM that loads to the very same certificates; the
    # encryption key is left out (it signs nothing).
    assert [_der(pem) for pem in read.certificates] == [_der(CURRENT.certificate),
                                                        _der(NEXT.certificate)]
    assert read.single_sign_on == (
        SingleSignOn("HTTP-Redirect", "https://sso.example.com/realms/corp/protocol/saml"),
        SingleSignOn("HTTP-POST", "https://sso.example.com/realms/corp/protocol/saml/post"))
    assert read.name_id_formats[:2] == (EMAIL, PERSISTENT)
    assert read.display_name == "Example Corp SSO"


def test_key_without_use_is_a_signing_key_and_a_repeated_key_is_taken_once() -> None:
    raw = idp_metadata("https://adfs.example.com/adfs/services/trust",
                       signing=(CURRENT.certificate,), unmarked=CURRENT.certificate).encode()
    assert len(read_idp_metadata(raw).certificates) == 1
    only_unmarked = idp_metadata("https://adfs.example.com/adfs/services/trust", signing=(),
                                 unmarked=NEXT.certificate).encode()
    [pem] = read_idp_metadata(only_unmarked).certificates
    assert _der(pem) == _der(NEXT.certificate)


def test_one_idp_inside_an_entities_descriptor_is_read() -> None:
    inner = idp_metadata(CURRENT.issuer, signing=(CURRENT.certificate,))
    inner = inner.split("?>", 1)[1]
    raw = ('<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">'
           f"{inner}</md:EntitiesDescriptor>").encode()
    assert read_idp_metadata(raw).entity_id == CURRENT.issuer


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol3;"/>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE md SYSTEM "http://attacker.example/evil.dtd">
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>"""
SP_METADATA = b"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
  entityID="https://app.example.com/sp"><md:SPSSODescriptor
  protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"""


@pytest.mark.parametrize(("raw", "says"), [
    pytest.param(BILLION_LAUGHS, "document type declaration", id="billion-laughs"),
    pytest.param(XXE, "document type declaration", id="xxe"),
    pytest.param(EXTERNAL_DTD, "document type declaration", id="external-dtd"),
    pytest.param(b"<html><body>Sign in</body></html>", "root element is html, not an "
                 "EntityDescriptor", id="html"),
    pytest.param(b'<EntityDescriptor entityID="x"/>', "not SAML 2.0 metadata",
                 id="no-namespace"),
    pytest.param(b"<md:EntityDescriptor", "not well-formed XML (line 1", id="truncated"),
    pytest.param(b"   ", "No metadata was given", id="empty"),
    pytest.param(SP_METADATA, "no IDPSSODescriptor: it is a service provider's", id="sp"),
    pytest.param(idp_metadata("https://idp.example.com", signing=()).encode(),
                 "no signing certificate", id="no-certificate"),
    pytest.param(idp_metadata("https://idp.example.com", signing=(),
                              encryption=ENCRYPTION).encode(),
                 "no signing certificate", id="only-encryption-key"),
    pytest.param(idp_metadata("", signing=(CURRENT.certificate,)).encode(), "no entityID",
                 id="no-entity-id"),
    pytest.param(idp_metadata("https://idp.example.com", signing=("-----BEGIN CERTIFICATE-----"
                                                                 "\n%%%\n-----END "
                                                                 "CERTIFICATE-----",)).encode(),
                 "KeyDescriptor 1: its X509Certificate is not base64", id="broken-base64"),
    pytest.param(b"<md:EntitiesDescriptor xmlns:md='urn:oasis:names:tc:SAML:2.0:metadata'/>",
                 "lists no identity providers", id="empty-federation"),
    *(pytest.param(f'<?xml version="1.0" encoding="{name}"?>'.encode()
                   + idp_metadata("https://idp.example.com",
                                  signing=(CURRENT.certificate,)).encode(),
                   "declares an encoding Keystead cannot read", id=f"encoding-{name}")
      for name in ("cp932", "utf-7", "x-bogus")),  # expat: multi-byte or unknown (was a 500)
])
def test_bad_metadata_is_refused_with_what_is_wrong(raw: bytes, says: str) -> None:
    with pytest.raises(MetadataError) as refused:
        read_idp_metadata(raw)
    assert says in refused.value.message


def test_metadata_over_the_size_cap_is_refused_before_parsing() -> None:
    padding = b"<!-- " + b"x" * MAX_METADATA_BYTES + b" -->"
    raw = idp_metadata(CURRENT.issuer, signing=(CURRENT.certificate,)).encode() + padding
    with pytest.raises(MetadataError) as refused:
        read_idp_metadata(raw)
    assert "larger than 256 KiB" in refused.value.message
