"""RFC 7522 §2.1: a client trades a SAML 2.0 bearer assertion for a user's access token.

The assertion is verified by ``protocol.saml2_bearer`` (signature, issuer, audience, recipient,
times, lifetime, replay). Its subject is the pair (provider, NameID): it names a Keystead user
only through a link an admin made (``domain/identity_links.py``), never by e-mail or external id.
A user who holds any permission gets a token only when the provider vouches for MFA and the
assertion's AuthnContextClassRef says MFA was done (``identity_providers.administrative_refusal``).
Any failure is ``invalid_grant`` with one public description; the reason goes to the audit log
only.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from keystead.domain.audit import AuditEvent, JSONValue, Result
from keystead.domain.authorizations import AuthorizationStore, Person
from keystead.domain.identity_providers import administrative_refusal
from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidGrantError
from keystead.protocol.grants.base import RESOURCE, TokenRequest
from keystead.protocol.grants.client_credentials import narrow_scope
from keystead.protocol.grants.user_tokens import Grant, UserTokens
from keystead.protocol.saml2_bearer import SamlBearerVerifier, SamlSubject
from keystead.protocol.saml_document import PUBLIC_DESCRIPTION
from keystead.protocol.tokens import IssuedToken


@dataclass(frozen=True, slots=True)
class AssertedPerson:
    person: Person
    holds_permissions: bool  # any permission at all, through any role


class LinkedPeople(Protocol):
    async def person_linked(self, provider_id: str, name_id: str) -> AssertedPerson | None:
        """The user linked to the provider under exactly this NameID, or None."""


class SamlExchange(Protocol):
    """What one exchange needs, over one transaction."""

    @property
    def verifier(self) -> SamlBearerVerifier: ...
    @property
    def authorizations(self) -> AuthorizationStore: ...
    @property
    def people(self) -> LinkedPeople: ...


@dataclass(frozen=True, slots=True)
class Saml2BearerGrant:
    grant_type: ClassVar[str] = "urn:ietf:params:oauth:grant-type:saml2-bearer"
    client_grant: ClassVar[str] = "SAML2-BEARER"
    params: ClassVar[frozenset[str]] = frozenset({"assertion", RESOURCE})
    exchanges: Callable[[], AbstractAsyncContextManager[SamlExchange]]
    user_tokens: UserTokens
    record: Callable[[AuditEvent], Awaitable[None]]
    clock: Callable[[], datetime]

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken:
        """Raises: InvalidRequestError, InvalidScopeError, InvalidGrantError (audited)."""
        assertion = request.required("assertion")
        scope = narrow_scope(client, request.scope)
        subject: SamlSubject | None = None
        try:
            async with self.exchanges() as work:
                subject = await work.verifier.verify(assertion)
                asserted = await work.people.person_linked(subject.provider_id,
                                                           subject.name_id)
                if asserted is None or asserted.person.state != "active":
                    raise InvalidGrantError(
                        PUBLIC_DESCRIPTION,
                        detail="no active user is linked to the identity provider under the "
                               "assertion's NameID")
                if reason := administrative_refusal(
                        holds_permissions=asserted.holds_permissions,
                        vouches_for_mfa=subject.vouches_for_mfa, mfa=subject.mfa):
                    raise InvalidGrantError(PUBLIC_DESCRIPTION, detail=reason)
                person = asserted.person
                family_id, now = str(uuid.uuid4()), self.clock()
                deadline = self.user_tokens.family_deadline(now)
                await work.authorizations.families.start(family_id, client_id=client.id,
                                                       user_id=person.id, now=now,
                                                       expires_at=deadline)
                # RFC 7522 §5: no refresh token; the client asks again with a new assertion.
                return await self.user_tokens.issue(
                    work.authorizations, client,
                    Grant(person, scope, family_id, _auth_time(subject, now), ("saml",),
                          deadline), with_refresh=False, resource=request.params.get(RESOURCE))
        except InvalidGrantError as exc:
            await self._audit_refusal(client, exc.detail or exc.error, subject)
            raise

    async def _audit_refusal(self, client: ClientRecord, reason: str,
                             subject: SamlSubject | None) -> None:
        details: dict[str, JSONValue] = {"reason": reason}
        if subject is not None:
            # Who the verified assertion named: what an admin needs to fix a missing link.
            details |= {"identityProviderId": subject.provider_id, "nameId": subject.name_id,
                        "authnContextClassRefs": list(subject.authn_context_classes)}
        await self.record(AuditEvent(
            timestamp=self.clock(), actor_kind="client", actor_id=client.id,
            actor_name=client.name, action="saml2-bearer", entity_type="OAuthClient",
            entity_id=client.id, entity_name=client.name, result=Result.failure,
            details=details, actor_divisions=client.divisions))


def _auth_time(subject: SamlSubject, now: datetime) -> datetime:
    return subject.authn_instant or now
