"""A SAML 2.0 identity provider for tests: its own key and self-signed certificate, assertions
built with lxml and signed with signxml the way a real IdP sends them to an RFC 7522 token
endpoint (enveloped RSA-SHA256 signature over the Assertion, exclusive canonicalisation)."""

from __future__ import annotations

import base64
import copy
import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import SignatureConstructionMethod
from signxml.signer import XMLSigner

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
HOLDER_OF_KEY = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
EXCLUSIVE_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
TOKEN_ENDPOINT = "http://testserver/oauth/token"
AUDIENCE = "https://keystead.example.com/saml"  # the provider's relyingPartyIdentifier
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MULTI_FACTOR = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def saml(tag: str) -> str:
    return f"{{{SAML}}}{tag}"


def ds(tag: str) -> str:
    return f"{{{DS}}}{tag}"


def found(parent: etree._Element, path: str) -> etree._Element:
    """The element at ``path`` under ``parent``, which the test's document has."""
    element = parent.find(path)
    assert element is not None, path
    return element


def id_of(element: etree._Element) -> str:
    value = element.get("ID")
    assert value is not None
    return value


def instant(value: datetime) -> str:
    """SAML core §1.3.3: xs:dateTime in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@functools.cache
def rsa_key(_label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """One key per label for the whole run: generating RSA keys is the slow part."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def ec_key(_label: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def self_signed(key: PrivateKey, *, common_name: str = "Test IdP",
                not_before: datetime | None = None,
                not_after: datetime | None = None) -> str:
    """A PEM certificate for ``key``, valid from a day ago for a year unless told otherwise."""
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


class LegacySha1Signer(XMLSigner):
    """An outdated IdP still signing with SHA-1 (signxml refuses to, unless told)."""

    def check_deprecated_methods(self) -> None:
        return None


def encode(document: etree._Element | bytes, *, urlsafe: bool = True,
           padding: bool = False) -> str:
    """The ``assertion`` form parameter: base64url without padding, as RFC 7522 §2.1 says."""
    raw = document if isinstance(document, bytes) else etree.tostring(document)
    text = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    return text if padding else text.rstrip("=")


def new_id() -> str:
    # SAML core §1.3.4: an xs:ID starts with a letter or underscore.
    return "_" + uuid.uuid4().hex


@dataclass(frozen=True)
class SamlIdp:
    issuer: str
    key: PrivateKey
    certificate: str  # PEM

    @classmethod
    def create(cls, issuer: str = "https://idp.example.com", *, label: str = "idp",
               **certificate: Any) -> SamlIdp:
        key = rsa_key(label)
        return cls(issuer, key, self_signed(key, **certificate))

    @classmethod
    def create_ec(cls, issuer: str = "https://ec-idp.example.com") -> SamlIdp:
        key = ec_key(issuer)
        return cls(issuer, key, self_signed(key))

    def assertion(self, now: datetime, *, name_id: str = "ada@example.com",
                  name_id_format: str | None = EMAIL, assertion_id: str | None = None,
                  issuer: str | None = None, audiences: tuple[str, ...] = (AUDIENCE,),
                  recipient: str = TOKEN_ENDPOINT, method: str = BEARER,
                  not_before: datetime | None = None,
                  not_on_or_after: datetime | None = None,
                  confirmation_not_on_or_after: datetime | None = None,
                  conditions: bool = True, issue_instant: datetime | None = None,
                  authn_context_class: str | None = PASSWORD_PROTECTED) -> etree._Element:
        """An unsigned assertion valid for five minutes from ``now``; keywords change a part
        (``issue_instant`` None keeps ``now``; ``authn_context_class`` None leaves no class)."""
        expires = now + timedelta(minutes=5)
        root = etree.Element(saml("Assertion"), nsmap={"saml2": SAML}, ID=assertion_id or new_id(),
                             Version="2.0", IssueInstant=instant(issue_instant or now))
        etree.SubElement(root, saml("Issuer")).text = issuer or self.issuer
        subject = etree.SubElement(root, saml("Subject"))
        name = etree.SubElement(subject, saml("NameID"))
        name.text = name_id
        if name_id_format is not None:
            name.set("Format", name_id_format)
        confirmation = etree.SubElement(subject, saml("SubjectConfirmation"), Method=method)
        etree.SubElement(confirmation, saml("SubjectConfirmationData"), Recipient=recipient,
                         NotOnOrAfter=instant(confirmation_not_on_or_after or expires))
        if conditions:
            window = etree.SubElement(root, saml("Conditions"),
                                      NotBefore=instant(not_before or now),
                                      NotOnOrAfter=instant(not_on_or_after or expires))
            restriction = etree.SubElement(window, saml("AudienceRestriction"))
            for audience in audiences:
                etree.SubElement(restriction, saml("Audience")).text = audience
        statement = etree.SubElement(root, saml("AuthnStatement"), AuthnInstant=instant(now),
                                     SessionIndex=new_id())
        context = etree.SubElement(statement, saml("AuthnContext"))
        if authn_context_class is not None:
            etree.SubElement(context, saml("AuthnContextClassRef")).text = authn_context_class
        return root

    def sign(self, assertion: etree._Element, *, signer: XMLSigner | None = None
             ) -> etree._Element:
        """Sign a copy of ``assertion``: the Signature goes after the Issuer (SAML core §5.4)."""
        document = copy.deepcopy(assertion)
        placeholder = etree.Element(ds("Signature"), nsmap={"ds": DS}, Id="placeholder")
        document.insert(1, placeholder)
        signer = signer or XMLSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm="rsa-sha256" if isinstance(self.key, rsa.RSAPrivateKey)
            else "ecdsa-sha256", digest_algorithm="sha256", c14n_algorithm=EXCLUSIVE_C14N)
        signed: etree._Element = signer.sign(document, key=self.key, cert=self.certificate)
        return signed

    def issue(self, now: datetime, **parts: Any) -> str:
        """A signed, encoded assertion, ready for the ``assertion`` parameter."""
        return encode(self.sign(self.assertion(now, **parts)))
