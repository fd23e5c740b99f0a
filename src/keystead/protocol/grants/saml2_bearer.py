"""RFC 7522 §2.1: a client trades a SAML 2.0 bearer assertion for a user's access token.

The assertion is verified by ``protocol.saml2_bearer`` (signature, issuer, audience, recipient,
times, replay); its NameID names a Keystead user: a persistent one by external id, any other by
e-mail. Any failure is
``invalid_grant`` with one public description; the reason goes to the audit log only.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.authorizations import AuthorizationStore, Person
from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidGrantError, InvalidRequestError
from keystead.protocol.grants.base import TokenRequest
from keystead.protocol.grants.client_credentials import narrow_scope
from keystead.protocol.grants.user_tokens import Grant, UserTokens
from keystead.protocol.saml2_bearer import PUBLIC_DESCRIPTION, SamlBearerVerifier, SamlSubject
from keystead.protocol.tokens import IssuedToken


class PeopleByNameId(Protocol):
    async def person_named(self, name_id: str, name_id_format: str | None) -> Person | None:
        """The user a NameID of this format names (external id if persistent, else e-mail)."""


class SamlExchange(Protocol):
    """What one exchange needs, over one transaction."""

    @property
    def verifier(self) -> SamlBearerVerifier: ...
    @property
    def authorizations(self) -> AuthorizationStore: ...
    @property
    def people(self) -> PeopleByNameId: ...


@dataclass(frozen=True, slots=True)
class Saml2BearerGrant:
    grant_type: ClassVar[str] = "urn:ietf:params:oauth:grant-type:saml2-bearer"
    client_grant: ClassVar[str] = "SAML2-BEARER"
    exchanges: Callable[[], AbstractAsyncContextManager[SamlExchange]]
    user_tokens: UserTokens
    record: Callable[[AuditEvent], Awaitable[None]]
    clock: Callable[[], datetime]

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken:
        """Raises: InvalidRequestError, InvalidScopeError, InvalidGrantError (audited)."""
        assertion = request.form.get("assertion")
        if not assertion:
            raise InvalidRequestError("assertion is required")
        scope = narrow_scope(client, request.scope)
        try:
            async with self.exchanges() as work:
                subject = await work.verifier.verify(assertion)
                person = await work.people.person_named(subject.name_id,
                                                        subject.name_id_format)
                if person is None or person.state != "active":
                    raise InvalidGrantError(PUBLIC_DESCRIPTION,
                                            detail="no active user has the assertion's NameID")
                family_id = str(uuid.uuid4())
                await work.authorizations.start_family(family_id, client_id=client.id,
                                                       user_id=person.id, now=self.clock())
                # RFC 7522 §5: no refresh token; the client asks again with a new assertion.
                return await self.user_tokens.issue(
                    work.authorizations, client,
                    Grant(person, scope, family_id, _auth_time(subject, self.clock()),
                          ("saml",)), with_refresh=False)
        except InvalidGrantError as exc:
            await self._audit_refusal(client, exc.detail or exc.error)
            raise

    async def _audit_refusal(self, client: ClientRecord, reason: str) -> None:
        await self.record(AuditEvent(
            timestamp=self.clock(), actor_kind="client", actor_id=client.id,
            actor_name=client.name, action="saml2-bearer", entity_type="OAuthClient",
            entity_id=client.id, entity_name=client.name, result=Result.failure,
            details={"reason": reason}, actor_divisions=client.divisions))


def _auth_time(subject: SamlSubject, now: datetime) -> datetime:
    return subject.authn_instant or now
