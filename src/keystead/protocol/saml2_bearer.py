"""RFC 7522 §3: a SAML 2.0 bearer assertion, verified before a word of it is trusted.

The checks run in this order; any failure raises ``InvalidGrantError`` with one fixed public
description, its private ``detail`` naming the reason for the log (steps 1-2 are
``saml_document``'s, step 5 ``saml_signature``'s):

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

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from lxml import etree

from keystead.domain.identity_providers import (
    AssertionLedger,
    IdentityProvider,
    NameIdFormat,
    counts_as_mfa,
)
from keystead.protocol.saml_document import (
    NS,
    SAML,
    decode_assertion,
    instant,
    parse_assertion,
    refused,
    text,
)
from keystead.protocol.saml_signature import signed_assertion

BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
CLOCK_SKEW = timedelta(seconds=60)
DEFAULT_MAX_LIFETIME = timedelta(seconds=600)


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
            raise refused("the root element is not a SAML 2.0 Assertion")
        if root.get("Version") != "2.0":
            raise refused("the assertion's Version is not 2.0")
        assertion_id = root.get("ID")
        if not assertion_id:
            raise refused("the assertion has no ID")
        # The unsigned Issuer only chooses whose keys to try; the signed one must say the same.
        issuer = text(root.find("saml:Issuer", NS))
        if not issuer:
            raise refused("the assertion has no Issuer")
        provider = await self.providers.by_issuer(issuer)
        if provider is None:
            raise refused("unknown issuer: no identity provider is registered for it")
        if provider.settings.disabled:
            raise refused("the identity provider is disabled")
        now = self.clock()
        signed = signed_assertion(root, provider, now=now)
        if text(signed.find("saml:Issuer", NS)) != issuer:
            raise refused("the signed Issuer differs")
        conditions_expiry = self._check_conditions(signed, provider, now=now)
        name_id, name_id_format = _name_id(signed, provider)
        confirmation_expiry = self._check_confirmation(signed, now=now)
        expires = min(filter(None, (conditions_expiry, confirmation_expiry)))
        self._check_lifetime(signed, max(filter(None, (conditions_expiry, confirmation_expiry))),
                             now=now)
        authn = signed.find("saml:AuthnStatement", NS)
        authn_instant = instant(authn, "AuthnInstant") if authn is not None else None
        classes = tuple(c for c in (text(ref) for ref in signed.iterfind(
            "saml:AuthnStatement/saml:AuthnContext/saml:AuthnContextClassRef", NS)) if c)
        # RFC 7522 §3: the server MAY keep "the set of used ID values for the length of time
        # for which the Assertion would be considered valid": until expiry plus the skew.
        if not await self.ledger.first_use(assertion_digest(issuer, assertion_id),
                                           expires_at=expires + CLOCK_SKEW):
            raise refused("assertion replayed: its ID was already redeemed")
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
        issued = instant(signed, "IssueInstant")
        if issued is None:
            raise refused("the assertion has no IssueInstant")
        if issued > now + CLOCK_SKEW:
            raise refused("the assertion's IssueInstant is in the future")
        if latest_expiry - issued > self.max_lifetime:
            raise refused(
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
            raise refused("the assertion has no Conditions")
        not_before = instant(conditions, "NotBefore")
        if not_before is not None and now + CLOCK_SKEW < not_before:
            raise refused("the assertion is not yet valid (Conditions NotBefore)")
        not_on_or_after = instant(conditions, "NotOnOrAfter")
        if not_on_or_after is not None and now - CLOCK_SKEW >= not_on_or_after:
            raise refused("the assertion expired (Conditions NotOnOrAfter)")
        restrictions = conditions.findall("saml:AudienceRestriction", NS)
        if not restrictions:
            raise refused("audience mismatch: the assertion has no AudienceRestriction")
        # SAML core §2.5.1.4: several AudienceRestriction elements "MUST be evaluated
        # independently": the relying party must be named in each.
        wanted = provider.settings.relying_party_identifier
        for restriction in restrictions:
            if wanted not in {text(a) for a in restriction.findall("saml:Audience", NS)}:
                raise refused("audience mismatch: the relyingPartyIdentifier is not an Audience")
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
            not_before = instant(data, "NotBefore")
            not_on_or_after = instant(data, "NotOnOrAfter")
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
        raise refused(reasons[0] if reasons else "no bearer SubjectConfirmation")


def _name_id(signed: etree._Element, provider: IdentityProvider) -> tuple[str, str | None]:
    element = signed.find("saml:Subject/saml:NameID", NS)
    if element is None:
        raise refused("the assertion's Subject has no NameID")
    # Text only: a comment or child element could cut the value short when read.
    if len(element):
        raise refused("the NameID holds more than text")
    name_id = text(element)
    if not name_id:
        raise refused("the NameID is empty")
    name_id_format = element.get("Format")
    expected = provider.settings.name_identifier_format
    if name_id_format is not None and expected is not NameIdFormat.unspecified and (
            name_id_format != expected):
        raise refused("NameID format mismatch: not the provider's nameIdentifierFormat")
    # The admin's setting decides how the NameID names a user; the assertion only where the
    # provider's format is unspecified.
    if expected is not NameIdFormat.unspecified:
        return name_id, str(expected)
    return name_id, name_id_format
