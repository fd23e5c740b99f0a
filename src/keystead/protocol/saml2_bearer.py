"""RFC 7522 §3: a SAML 2.0 bearer assertion, verified before a word of it is trusted.

The checks run in this order; any failure raises ``InvalidGrantError`` with one fixed public
description, its private ``detail`` naming the reason for the log:

1. Transport: base64url (standard base64 and padding accepted), at most 256 KiB decoded.
2. XML safety: UTF-8 only, parsed with no DTD loading, no entity expansion and no network; a
   document with a document type declaration, an internal subset or an entity is refused
   before it is parsed (billion laughs, external entities).
3. SAML core §2.3.3: the root is a ``saml:Assertion``, ``Version="2.0"``, with an ``ID``.
4. SAML core §2.2.5, RFC 7522 §3: its ``Issuer`` is a registered, enabled identity provider.
5. SAML core §5.4.1-5.4.4, RFC 7522 §3: an enveloped signature, a child of the root, with one
   reference and only the enveloped-signature and canonicalisation transforms, by the key of one
   of the provider's certificates; RSA, RSA-PSS or ECDSA with SHA-256 or stronger.
   From then on only the element the signature covers (signxml's ``signed_xml``) is read, and it
   must be the root assertion itself (same ``ID``): a wrapped or injected assertion (XML
   signature wrapping) is never read.
6. SAML core §2.5.1.2: ``Conditions`` ``NotBefore``/``NotOnOrAfter``, with 60 s of clock skew;
   §2.5.1.4 and RFC 7522 §3: every ``AudienceRestriction`` names the provider's
   relyingPartyIdentifier.
7. SAML core §2.4.1.1-2.4.1.2, RFC 7522 §3: a bearer ``SubjectConfirmation`` whose data names
   the token endpoint as ``Recipient`` and has a ``NotOnOrAfter`` not yet passed.
8. SAML core §2.4.1, §8.3: a ``NameID`` (plain text), in the provider's format.
9. SAML core §2.3.3: an ``IssueInstant`` no later than now (plus the skew), and no more than
   ``max_lifetime`` (``KEYSTEAD_SAML_ASSERTION_MAX_LIFETIME_SECONDS``, default 600 s) between it
   and the latest ``NotOnOrAfter`` (of the Conditions and the bearer confirmation): a bearer
   assertion valid for a year is a year-long credential, and the replay ledger would have to
   keep it for a year.
10. RFC 7522 §3, SAML core §1.3.4: an assertion is redeemed once; its issuer and ``ID`` are
    remembered until it expires (at most ``max_lifetime`` plus the skew after it was issued).

The subject also carries the ``AuthnContextClassRef`` of each signed ``AuthnStatement``: the
grant decides with them whether the provider vouched for MFA.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import (
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignXMLException,
)
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from keystead.domain.identity_providers import (
    AssertionLedger,
    IdentityProvider,
    NameIdFormat,
    counts_as_mfa,
)
from keystead.protocol.errors import InvalidGrantError

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"saml": SAML, "ds": DS}
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
PUBLIC_DESCRIPTION = "the assertion is not valid"
MAX_ASSERTION_BYTES = 256 * 1024
MAX_ENCODED_CHARS = (MAX_ASSERTION_BYTES + 2) // 3 * 4 + 2
CLOCK_SKEW = timedelta(seconds=60)
DEFAULT_MAX_LIFETIME = timedelta(seconds=600)
SIGNATURE_METHODS = frozenset({
    SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512,
    SignatureMethod.SHA256_RSA_MGF1, SignatureMethod.SHA384_RSA_MGF1,
    SignatureMethod.SHA512_RSA_MGF1,
    SignatureMethod.ECDSA_SHA256, SignatureMethod.ECDSA_SHA384, SignatureMethod.ECDSA_SHA512,
})
DIGEST_ALGORITHMS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384,
                               DigestAlgorithm.SHA512})
# SAML core §5.4.4: "Signatures in SAML messages SHOULD NOT contain transforms other than the
# enveloped signature transform ... or the exclusive canonicalization transforms".
TRANSFORMS = frozenset({SignatureConstructionMethod.enveloped.value,
                        *(method.value for method in CanonicalizationMethod)})
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_URL_SAFE = str.maketrans("-_", "+/")
# SAML core §1.3.3: xs:dateTime in UTC.
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                      r"(Z|[+-][0-9]{2}:[0-9]{2})?")


class IssuerDirectory(Protocol):
    """What the verifier needs of the IdentityProviderStore port."""

    async def by_issuer(self, issuer_uri: str) -> IdentityProvider | None: ...


@dataclass(frozen=True, slots=True)
class SamlSubject:
    """Who a verified assertion vouches for, and by whom."""

    provider_id: str
    issuer: str
    name_id: str
    name_id_format: str | None
    assertion_id: str
    not_on_or_after: datetime
    authn_instant: datetime | None = None
    authn_context_classes: tuple[str, ...] = ()
    vouches_for_mfa: bool = False  # the provider's setting
    mfa: bool = False  # the provider vouches for MFA and this assertion's class says so


def _refused(detail: str) -> InvalidGrantError:
    return InvalidGrantError(PUBLIC_DESCRIPTION, detail=detail)


def assertion_digest(issuer: str, assertion_id: str) -> str:
    """The ledger's key for an assertion: IDs are unique per issuer (SAML core §1.3.4)."""
    return hashlib.sha256(f"{issuer}\0{assertion_id}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SamlBearerVerifier:
    """Verify an RFC 7522 assertion for the token endpoint ``token_endpoint``."""

    providers: IssuerDirectory
    ledger: AssertionLedger
    clock: Callable[[], datetime]
    token_endpoint: str
    max_lifetime: timedelta = DEFAULT_MAX_LIFETIME

    async def verify(self, assertion_b64: str) -> SamlSubject:
        """Check every rule in the module docstring and redeem the assertion.

        Raises:
            InvalidGrantError: any rule is broken; ``detail`` says which.
        """
        root = parse_assertion(decode_assertion(assertion_b64))
        if root.tag != f"{{{SAML}}}Assertion":
            raise _refused("the root element is not a SAML 2.0 Assertion")
        if root.get("Version") != "2.0":
            raise _refused("the assertion's Version is not 2.0")
        assertion_id = root.get("ID")
        if not assertion_id:
            raise _refused("the assertion has no ID")
        # The unsigned Issuer only chooses whose keys to try; the signed one must say the same.
        issuer = _text(root.find("saml:Issuer", NS))
        if not issuer:
            raise _refused("the assertion has no Issuer")
        provider = await self.providers.by_issuer(issuer)
        if provider is None:
            raise _refused("unknown issuer: no identity provider is registered for it")
        if provider.settings.disabled:
            raise _refused("the identity provider is disabled")
        now = self.clock()
        signed = _signed_assertion(root, provider, now=now)
        if _text(signed.find("saml:Issuer", NS)) != issuer:
            raise _refused("the signed Issuer differs")
        conditions_expiry = self._check_conditions(signed, provider, now=now)
        name_id, name_id_format = _name_id(signed, provider)
        confirmation_expiry = self._check_confirmation(signed, now=now)
        expires = min(filter(None, (conditions_expiry, confirmation_expiry)))
        self._check_lifetime(signed, max(filter(None, (conditions_expiry, confirmation_expiry))),
                             now=now)
        authn = signed.find("saml:AuthnStatement", NS)
        authn_instant = _instant(authn, "AuthnInstant") if authn is not None else None
        classes = tuple(c for c in (_text(ref) for ref in signed.iterfind(
            "saml:AuthnStatement/saml:AuthnContext/saml:AuthnContextClassRef", NS)) if c)
        # RFC 7522 §3: the server MAY keep "the set of used ID values for the length of time
        # for which the Assertion would be considered valid": until expiry plus the skew.
        if not await self.ledger.first_use(assertion_digest(issuer, assertion_id),
                                           expires_at=expires + CLOCK_SKEW):
            raise _refused("assertion replayed: its ID was already redeemed")
        return SamlSubject(provider_id=provider.id, issuer=issuer, name_id=name_id,
                           name_id_format=name_id_format, assertion_id=assertion_id,
                           not_on_or_after=expires, authn_instant=authn_instant,
                           authn_context_classes=classes,
                           vouches_for_mfa=provider.settings.vouches_for_mfa,
                           mfa=counts_as_mfa(provider.settings, classes))

    def _check_lifetime(self, signed: etree._Element, latest_expiry: datetime, *,
                        now: datetime) -> None:
        """An issue instant not in the future, and a lifetime of at most ``max_lifetime``."""
        # SAML core §2.3.3: IssueInstant "[Required] The time instant of issue in UTC".
        issued = _instant(signed, "IssueInstant")
        if issued is None:
            raise _refused("the assertion has no IssueInstant")
        if issued > now + CLOCK_SKEW:
            raise _refused("the assertion's IssueInstant is in the future")
        if latest_expiry - issued > self.max_lifetime:
            raise _refused(
                f"the assertion lives longer than the allowed maximum of "
                f"{int(self.max_lifetime.total_seconds())} s (IssueInstant to NotOnOrAfter)")

    def _check_conditions(self, signed: etree._Element, provider: IdentityProvider, *,
                          now: datetime) -> datetime | None:
        """The Conditions' validity window and audiences; returns its NotOnOrAfter, if any."""
        conditions = signed.find("saml:Conditions", NS)
        # RFC 7522 §3: "The Assertion MUST contain a <Conditions> element with an
        # <AudienceRestriction> element with an <Audience> element that identifies the
        # authorization server as an intended audience."
        if conditions is None:
            raise _refused("the assertion has no Conditions")
        not_before = _instant(conditions, "NotBefore")
        if not_before is not None and now + CLOCK_SKEW < not_before:
            raise _refused("the assertion is not yet valid (Conditions NotBefore)")
        not_on_or_after = _instant(conditions, "NotOnOrAfter")
        if not_on_or_after is not None and now - CLOCK_SKEW >= not_on_or_after:
            raise _refused("the assertion expired (Conditions NotOnOrAfter)")
        restrictions = conditions.findall("saml:AudienceRestriction", NS)
        if not restrictions:
            raise _refused("audience mismatch: the assertion has no AudienceRestriction")
        # SAML core §2.5.1.4: several AudienceRestriction elements "MUST be evaluated
        # independently": the relying party must be named in each.
        wanted = provider.settings.relying_party_identifier
        for restriction in restrictions:
            if wanted not in {_text(a) for a in restriction.findall("saml:Audience", NS)}:
                raise _refused("audience mismatch: the relyingPartyIdentifier is not an Audience")
        return not_on_or_after

    def _check_confirmation(self, signed: etree._Element, *, now: datetime) -> datetime:
        """A bearer SubjectConfirmation meant for this token endpoint and still valid.

        Returns its NotOnOrAfter.
        """
        reasons: list[str] = []
        for confirmation in signed.iterfind("saml:Subject/saml:SubjectConfirmation", NS):
            if confirmation.get("Method") != BEARER:
                continue
            data = confirmation.find("saml:SubjectConfirmationData", NS)
            if data is None:
                reasons.append("the bearer SubjectConfirmation has no SubjectConfirmationData")
                continue
            # RFC 7522 §3: "The authorization server MUST verify that the value of the
            # Recipient attribute matches the token endpoint URL".
            if data.get("Recipient") != self.token_endpoint:
                reasons.append("recipient mismatch: the Recipient is not the token endpoint")
                continue
            not_before = _instant(data, "NotBefore")
            not_on_or_after = _instant(data, "NotOnOrAfter")
            # RFC 7522 §3: "The <SubjectConfirmationData> element MUST have a NotOnOrAfter
            # attribute that limits the window during which the Assertion can be confirmed."
            if not_on_or_after is None:
                reasons.append("the SubjectConfirmationData has no NotOnOrAfter")
            elif now - CLOCK_SKEW >= not_on_or_after:
                reasons.append("the subject confirmation expired (NotOnOrAfter)")
            elif not_before is not None and now + CLOCK_SKEW < not_before:
                reasons.append("the subject confirmation is not yet valid (NotBefore)")
            else:
                return not_on_or_after
        raise _refused(reasons[0] if reasons else "no bearer SubjectConfirmation")


def decode_assertion(assertion_b64: str) -> bytes:
    """The assertion's bytes from base64url (RFC 7522 §2.1), or standard base64; padding optional.

    Raises:
        InvalidGrantError: not base64, or larger than 256 KiB.
    """
    text = assertion_b64.strip()
    if len(text) > MAX_ENCODED_CHARS:
        raise _refused("the assertion is larger than 256 KiB")
    if not _BASE64.fullmatch(text):
        raise _refused("the assertion is not base64url")
    text = text.rstrip("=").translate(_URL_SAFE)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise _refused("the assertion is not base64url") from exc
    if len(raw) > MAX_ASSERTION_BYTES:
        raise _refused("the assertion is larger than 256 KiB")
    return raw


def _parser() -> etree.XMLParser:
    # One per document: lxml parsers keep state and are not safe to share between threads.
    # UTF-8 is imposed, whatever the XML declaration says, so the byte check below sees every
    # declaration as it is spelled.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, dtd_validation=False, encoding="utf-8")


def parse_assertion(raw: bytes) -> etree._Element:
    """Parse ``raw`` safely: UTF-8 only, no DTD, no entities, no network.

    Raises:
        InvalidGrantError: not UTF-8, not well-formed, or with a document type declaration or
            entity.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refused("the assertion is not UTF-8") from exc
    if b"\x00" in raw:
        raise _refused("the assertion is not UTF-8")
    # Refused before the parser reads a declaration (billion laughs, external entities); the
    # parser would not expand or fetch one anyway, and the parsed document is checked again.
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise _refused("a document type declaration or entity is not allowed")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise _refused("the assertion is not well-formed XML") from exc
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None or (
            info.system_url is not None):
        raise _refused("a document type declaration or entity is not allowed")
    if next(root.iter(etree.Entity), None) is not None:
        raise _refused("a document type declaration or entity is not allowed")
    return root


def _signed_assertion(root: etree._Element, provider: IdentityProvider, *,
                      now: datetime) -> etree._Element:
    """The assertion as its signature covers it, verified against the provider's certificates.

    Raises:
        InvalidGrantError: unsigned, signed by another key, altered, a forbidden algorithm or
            transform, or the signature covers something other than the root assertion.
    """
    signature = root.find("ds:Signature", NS)
    if signature is None:
        raise _refused("the assertion is not signed (no enveloped Signature)")
    config = SignatureConfiguration(
        location="./", expect_references=1, signature_methods=SIGNATURE_METHODS,
        digest_algorithms=DIGEST_ALGORITHMS, verification_time=now)
    failures: list[str] = []
    result: VerifyResult | None = None
    for pem in provider.settings.certificates:
        try:
            verified = XMLVerifier().verify(root, x509_cert=pem, parser=_parser(),
                                            id_attribute="ID", expect_config=config)
        except InvalidDigest:
            failures.append("digest mismatch: the assertion was changed after it was signed")
        except InvalidCertificate:
            failures.append("the identity provider's certificate is expired or not yet valid")
        except InvalidSignature:
            failures.append("signature by an untrusted key")
        except InvalidInput as exc:
            failures.append("signature algorithm not allowed" if "forbidden" in str(exc)
                            else f"malformed signature: {exc}")
        # A signature that breaks the XML-DSig schema, or holds values signxml cannot decode.
        except (SignXMLException, etree.LxmlError, ValueError, TypeError) as exc:
            failures.append(f"malformed signature: {type(exc).__name__}")
        else:
            result = verified if isinstance(verified, VerifyResult) else None
            break
    if result is None:
        # A key that verified the signature tells more than the keys that did not.
        specific = [f for f in failures if f != "signature by an untrusted key"]
        raise _refused((specific or failures or ["signature by an untrusted key"])[0])
    signed = result.signed_xml
    # SAML core §5.4.2: the reference is "to the ID attribute value of the root element".
    if signed is None or signed.tag != f"{{{SAML}}}Assertion" or (
            signed.get("ID") != root.get("ID")):
        raise _refused("signature wrapping: the signed element is not the root assertion")
    for transform in result.signature_xml.iterfind(
            "ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform", NS):
        if transform.get("Algorithm") not in TRANSFORMS:
            raise _refused("signature transform not allowed")
    # Whatever sits inside ds:Signature is outside the signed data: SAML content there is a
    # wrapping attempt aimed at readers that search the whole document.
    if signature.find(".//saml:*", NS) is not None or signature.find("ds:Object", NS) is not None:
        raise _refused("signature wrapping: unsigned content inside the Signature")
    return signed


def _name_id(signed: etree._Element, provider: IdentityProvider) -> tuple[str, str | None]:
    element = signed.find("saml:Subject/saml:NameID", NS)
    if element is None:
        raise _refused("the assertion's Subject has no NameID")
    # Text only: a comment or child element could cut the value short when read.
    if len(element):
        raise _refused("the NameID holds more than text")
    name_id = _text(element)
    if not name_id:
        raise _refused("the NameID is empty")
    name_id_format = element.get("Format")
    expected = provider.settings.name_identifier_format
    if name_id_format is not None and expected is not NameIdFormat.unspecified and (
            name_id_format != expected):
        raise _refused("NameID format mismatch: not the provider's nameIdentifierFormat")
    # The admin's setting decides how the NameID names a user; the assertion only where the
    # provider's format is unspecified.
    if expected is not NameIdFormat.unspecified:
        return name_id, str(expected)
    return name_id, name_id_format


def _text(element: etree._Element | None) -> str:
    return "" if element is None or element.text is None else str(element.text).strip()


def _instant(element: etree._Element, attribute: str) -> datetime | None:
    """An xs:dateTime attribute as aware UTC (SAML core §1.3.3), or None when absent.

    Raises:
        InvalidGrantError: present but not a date and time.
    """
    value = element.get(attribute)
    if value is None:
        return None
    if not _INSTANT.fullmatch(value):
        raise _refused(f"malformed {attribute}: not an xs:dateTime")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _refused(f"malformed {attribute}: not an xs:dateTime") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
