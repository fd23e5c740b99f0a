"""Trusted SAML identity providers (RFC 7522 issuers): the entity, its rules, ports, use cases.

An identity provider is trusted to vouch for users: its certificates verify the assertions a
client trades for tokens (``protocol/saml2_bearer.py``). Registering one is therefore a powerful
act, guarded by the ``sso:provider:*`` permissions and audited like every client change. The
audit records certificates only by their SHA-256 fingerprints: a PEM body is long and adds
nothing an auditor needs.

Two settings bound what a provider may assert (issue 9): it vouches only for the users linked to
it (``domain/identity_links.py``), and for a user who holds any permission only when
``vouches_for_mfa`` is set and the assertion's ``AuthnContextClassRef`` is one of its
``mfa_authn_context_classes`` (``administrative_refusal`` below).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from keystead.domain.audit import Auditor, Entity, JSONValue, property_changes
from keystead.domain.clock import Clock
from keystead.domain.errors import (
    ConflictError,
    InvalidInputError,
    Problem,
    require_found,
)
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

ENTITY = "IdentityProvider"
MAX_NAME = 128
MAX_URI = 1024
MAX_CERTIFICATES = 10  # a current and a next key during a rotation need two; ten is plenty
MAX_PEM = 16_384
MIN_RSA_BITS = 2048
PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
PEM_END = "-----END CERTIFICATE-----"
MAX_CONTEXT_CLASSES = 20
# AuthnContextClassRef values that, by their definition, mean a second factor was used: SAML
# authn-context §3.4 (the two MobileTwoFactor classes, TimeSyncToken), the REFEDS MFA profile,
# and what Microsoft Entra ID / AD FS send after MFA. The admin may narrow or extend the list.
DEFAULT_MFA_CONTEXT_CLASSES = (
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
    "https://refeds.org/profile/mfa",
    "http://schemas.microsoft.com/claims/multipleauthn",
)


class NameIdFormat(StrEnum):
    """SAML core §8.3: the NameID formats a provider may name its users by."""

    email = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    unspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


@dataclass(frozen=True, slots=True)
class IdentityProviderSettings:
    """Everything an admin sets on a provider; validated by :func:`check_identity_provider`.

    ``certificates`` are PEM X.509 certificates; an assertion signed by the key of any one of
    them is accepted (several allow a key rotation without an outage).
    """

    name: str
    issuer_uri: str
    certificates: tuple[str, ...]
    relying_party_identifier: str
    name_identifier_format: NameIdFormat = NameIdFormat.unspecified
    disabled: bool = False
    # Off by default: the provider's word alone never lets an administrator in.
    vouches_for_mfa: bool = False
    mfa_authn_context_classes: tuple[str, ...] = DEFAULT_MFA_CONTEXT_CLASSES


@dataclass(frozen=True, slots=True)
class IdentityProvider:
    id: str
    settings: IdentityProviderSettings
    date_created: datetime
    date_modified: datetime


def normalise_certificate(text: str) -> str:
    """The PEM form of ``text``: a PEM certificate as given, or a bare base64 DER body wrapped.

    Genesys tools send either; the store keeps PEM.
    """
    body = text.strip()
    if body.startswith(PEM_BEGIN) or not body:
        return body
    flat = "".join(body.split())
    lines = "\n".join(flat[i:i + 64] for i in range(0, len(flat), 64))
    return f"{PEM_BEGIN}\n{lines}\n{PEM_END}"


def fingerprint(pem: str) -> str:
    """``sha256:<hex>`` of the certificate's DER encoding (what the audit records).

    A stored certificate this library no longer reads is fingerprinted by its text instead.
    """
    try:
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    except ValueError:
        return "sha256-pem:" + hashlib.sha256(pem.encode()).hexdigest()
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _certificate_problem(pem: str) -> str | None:
    """Why ``pem`` is not an acceptable signing certificate, or None."""
    if len(pem) > MAX_PEM:
        return f"a certificate must be at most {MAX_PEM} characters"
    # One certificate per entry: load_pem_x509_certificate would quietly ignore a second one.
    if not pem.startswith(PEM_BEGIN) or pem.count(PEM_BEGIN) != 1 or not pem.endswith(PEM_END):
        return "must be one PEM X.509 certificate (-----BEGIN CERTIFICATE----- ...)"
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
        key = certificate.public_key()
    except ValueError:
        return "is not a readable PEM X.509 certificate"
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return (f"an RSA key must have at least {MIN_RSA_BITS} bits "
                    f"(this one has {key.key_size})")
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return None
    return "the key must be RSA or elliptic-curve (ECDSA)"


def check_identity_provider(settings: IdentityProviderSettings) -> list[Problem]:
    """Every rule a provider's settings must meet; an empty list means valid."""
    problems: list[Problem] = []
    if not 1 <= len(settings.name) <= MAX_NAME:
        problems.append(Problem("name", "length", f"name is required, 1 to {MAX_NAME} characters"))
    elif any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in settings.name):
        problems.append(Problem("name", "invalid.character",
                                "name must be one line without control characters"))
    for field, value in (("issuerURI", settings.issuer_uri),
                         ("relyingPartyIdentifier", settings.relying_party_identifier)):
        if not 1 <= len(value) <= MAX_URI:
            problems.append(Problem(field, "length",
                                    f"{field} is required, 1 to {MAX_URI} characters"))
        elif any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
            problems.append(Problem(field, "invalid.character",
                                    f"{field} must not contain spaces or control characters"))
    if not settings.certificates:
        problems.append(Problem("certificates", "required",
                                "at least one certificate is required: the one whose key signs "
                                "the provider's assertions"))
    elif len(settings.certificates) > MAX_CERTIFICATES:
        problems.append(Problem("certificates", "out.of.range",
                                f"at most {MAX_CERTIFICATES} certificates"))
    else:
        for index, pem in enumerate(settings.certificates):
            if reason := _certificate_problem(pem):
                problems.append(Problem(f"certificates[{index}]", "invalid.certificate",
                                        f"certificates[{index}] {reason}"))
        if len(set(settings.certificates)) != len(settings.certificates):
            problems.append(Problem("certificates", "duplicate", "a certificate is listed twice"))
    if settings.name_identifier_format not in set(NameIdFormat):
        problems.append(Problem("nameIdentifierFormat", "invalid.value",
                                f"nameIdentifierFormat must be one of {', '.join(NameIdFormat)}"))
    problems += _context_class_problems(settings)
    return problems


def _context_class_problems(settings: IdentityProviderSettings) -> list[Problem]:
    field = "mfaAuthnContextClassRefs"
    classes = settings.mfa_authn_context_classes
    if len(classes) > MAX_CONTEXT_CLASSES:
        return [Problem(field, "out.of.range", f"at most {MAX_CONTEXT_CLASSES} values")]
    if settings.vouches_for_mfa and not classes:
        return [Problem(field, "required",
                        f"{field} must name at least one AuthnContextClassRef when "
                        "vouchesForMfa is true (the classes the provider sends after MFA)")]
    for index, value in enumerate(classes):
        if not 1 <= len(value) <= MAX_URI or any(ord(ch) <= 0x20 or ord(ch) == 0x7F
                                                  for ch in value):
            return [Problem(f"{field}[{index}]", "invalid.value",
                            f"{field}[{index}] must be a URI of 1 to {MAX_URI} characters "
                            "without spaces or control characters")]
    if len(set(classes)) != len(classes):
        return [Problem(field, "duplicate", "a class is listed twice")]
    return []


def counts_as_mfa(provider: IdentityProviderSettings, context_classes: Sequence[str]) -> bool:
    """True when the provider is trusted to vouch for MFA (``vouches_for_mfa``) and one of the
    assertion's signed ``AuthnContextClassRef`` values is one of its
    ``mfa_authn_context_classes`` (exact string match)."""
    return provider.vouches_for_mfa and bool(
        set(context_classes) & set(provider.mfa_authn_context_classes))


def administrative_refusal(*, holds_permissions: bool, vouches_for_mfa: bool,
                           mfa: bool) -> str | None:
    """Why a provider may not vouch for this user alone, or None when it may.

    A user who holds any permission is an administrator: every permission in the catalogue
    administers something, and the console's MFA rule (``users.needs_mfa``) draws the same line.
    Keystead cannot run its own TOTP check in a SAML2 bearer exchange, so an administrator's
    token needs the provider to have done MFA and to be trusted to say so
    (:func:`counts_as_mfa`, with ``mfa`` its answer for the assertion).
    """
    if not holds_permissions or mfa:
        return None
    if not vouches_for_mfa:
        return ("the user holds administrative permissions and the identity provider is not "
                "trusted to vouch for MFA (vouchesForMfa is false)")
    return ("the user holds administrative permissions and the assertion's "
            "AuthnContextClassRef is not one the identity provider counts as MFA")


class IdentityProviderStore(Protocol):
    async def add(self, provider: IdentityProvider) -> None: ...
    async def find(self, provider_id: str) -> IdentityProvider | None: ...
    async def by_issuer(self, issuer_uri: str) -> IdentityProvider | None: ...
    async def list(self, page: Page) -> tuple[Sequence[IdentityProvider], int]:
        """One page, oldest first (the first is the organisation's "generic" provider)."""

    async def replace(self, provider: IdentityProvider) -> None: ...
    async def delete(self, provider_id: str) -> None: ...


class AssertionLedger(Protocol):
    async def first_use(self, digest: str, *, expires_at: datetime) -> bool:
        """Record ``digest`` until ``expires_at``; False if it was already recorded (a replay)."""


@dataclass(slots=True)
class IdentityProviderManagement:
    """Create, change, delete and read trusted identity providers; each change audited."""

    providers: IdentityProviderStore
    auditor: Auditor
    clock: Clock

    async def create(self, caller: Caller, settings: IdentityProviderSettings
                     ) -> IdentityProvider:
        """Register a provider.

        Raises:
            ForbiddenError: the caller lacks ``sso:provider:add``.
            InvalidInputError: a rule is broken (each problem names its field).
            ConflictError: another provider has the same issuerURI.
        """
        caller.require(Permission.SSO_PROVIDER_ADD)
        settings = _normalised(settings)
        await self._check(settings, provider_id=None)
        now = self.clock()
        provider = IdentityProvider(str(uuid.uuid4()), settings, now, now)
        await self.providers.add(provider)
        await self.auditor.record(caller, "create", _entity(provider),
                                  {"settings": describe(settings)})
        return provider

    async def update(self, caller: Caller, provider_id: str, settings: IdentityProviderSettings
                     ) -> IdentityProvider:
        """Replace a provider's settings.

        Raises:
            ForbiddenError, NotFoundError, InvalidInputError, ConflictError.
        """
        existing = await self.find(caller, provider_id, permission=Permission.SSO_PROVIDER_EDIT)
        settings = _normalised(settings)
        await self._check(settings, provider_id=existing.id)
        updated = replace(existing, settings=settings, date_modified=self.clock())
        await self.providers.replace(updated)
        if changes := property_changes(describe(existing.settings), describe(settings)):
            await self.auditor.record(caller, "update", _entity(updated),
                                      {"propertyChanges": changes})
        return updated

    async def put_first(self, caller: Caller, read_settings: Callable[[], IdentityProviderSettings]
                        ) -> IdentityProvider:
        """Update the organisation's first provider, or create it when there is none (Genesys's
        ``PUT /identityproviders/generic``).

        ``read_settings`` is called only after the permission check (``edit`` to change,
        ``add`` to create), so a refused caller learns nothing of the input rules.

        Raises:
            ForbiddenError, InvalidInputError, ConflictError.
        """
        current = await self._first()
        caller.require(Permission.SSO_PROVIDER_ADD if current is None
                       else Permission.SSO_PROVIDER_EDIT)
        settings = read_settings()
        if current is None:
            return await self.create(caller, settings)
        return await self.update(caller, current.id, settings)

    async def delete(self, caller: Caller, provider_id: str) -> None:
        """Delete for good: its assertions stop being accepted at once; the audit stays.

        Raises:
            ForbiddenError, NotFoundError.
        """
        provider = await self.find(caller, provider_id, permission=Permission.SSO_PROVIDER_DELETE)
        await self.providers.delete(provider.id)
        await self.auditor.record(caller, "delete", _entity(provider), {})

    async def find(self, caller: Caller, provider_id: str, *,
                   permission: Permission = Permission.SSO_PROVIDER_VIEW) -> IdentityProvider:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require(permission)
        return require_found(await self.providers.find(provider_id),
                             f"no identity provider with id {provider_id}")

    async def first(self, caller: Caller, *, permission: Permission = Permission.SSO_PROVIDER_VIEW
                    ) -> IdentityProvider:
        """The organisation's first (oldest) provider: Genesys's single "generic" one.

        Raises:
            ForbiddenError, NotFoundError: there is none.
        """
        caller.require(permission)
        return require_found(await self._first(), "no generic identity provider is configured")

    async def list(self, caller: Caller, page: Page) -> tuple[Sequence[IdentityProvider], int]:
        caller.require(Permission.SSO_PROVIDER_VIEW)
        return await self.providers.list(page)

    async def _first(self) -> IdentityProvider | None:
        found, _ = await self.providers.list(Page(1, 1))
        return found[0] if found else None

    async def _check(self, settings: IdentityProviderSettings, *,
                     provider_id: str | None) -> None:
        if problems := check_identity_provider(settings):
            raise InvalidInputError(problems)
        holder = await self.providers.by_issuer(settings.issuer_uri)
        if holder is not None and holder.id != provider_id:
            raise ConflictError(f"issuerURI: the identity provider {holder.settings.name!r} "
                                f"already has the issuer {settings.issuer_uri!r}")


def _normalised(settings: IdentityProviderSettings) -> IdentityProviderSettings:
    return replace(settings, name=settings.name.strip(), issuer_uri=settings.issuer_uri.strip(),
                   relying_party_identifier=settings.relying_party_identifier.strip(),
                   certificates=tuple(normalise_certificate(c) for c in settings.certificates),
                   mfa_authn_context_classes=tuple(
                       c.strip() for c in settings.mfa_authn_context_classes))


def describe(settings: IdentityProviderSettings) -> dict[str, JSONValue]:
    """The settings as audit values; certificates by fingerprint only (valid settings only)."""
    return {
        "name": settings.name,
        "issuerURI": settings.issuer_uri,
        "certificates": [fingerprint(pem) for pem in settings.certificates],
        "relyingPartyIdentifier": settings.relying_party_identifier,
        "nameIdentifierFormat": str(settings.name_identifier_format),
        "disabled": settings.disabled,
        "vouchesForMfa": settings.vouches_for_mfa,
        "mfaAuthnContextClassRefs": list(settings.mfa_authn_context_classes),
    }



def _entity(provider: IdentityProvider) -> Entity:
    return Entity(ENTITY, provider.id, provider.settings.name)
