"""What the authorization endpoint issues once the person has signed in and consented: the code
(RFC 6749 §4.1.2, with OIDC Core §3.1.2.5's nonce and auth_time) or, for legacy clients, the
implicit token (§4.2.2).

Each answer starts a grant family (one person's authorization of one client), which revocation
and replay detection end. The consent the person just gave is saved in the same transaction as
the family and the code, so neither exists without the other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.authorizations import (
    AuthorizationCode,
    CodeStore,
    Consent,
    GrantFamilyStore,
    RegisteredClient,
)
from keystead.domain.clock import Clock
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord
from keystead.protocol.authorize import AuthorizationRequest
from keystead.protocol.tokens import IssuedToken, TokenService


class IssuanceStores(Protocol):
    """What issuance writes, over the caller's transaction."""

    @property
    def codes(self) -> CodeStore: ...
    @property
    def families(self) -> GrantFamilyStore: ...
    async def save_consent(self, user_id: str, client_id: str, consent: Consent) -> None: ...


@dataclass(frozen=True, slots=True)
class Authorizer:
    """The person answering, as their console session knows them."""

    user_id: str
    auth_time: datetime  # when they signed in: a session keeps its start through id rotation
    amr: tuple[str, ...]
    session_digest: str  # signing out (or the session timing out) kills an unredeemed code


@dataclass(frozen=True, slots=True)
class Started:
    family_id: str
    code: str | None  # the code to send back; None for an implicit request


@dataclass(frozen=True, slots=True)
class AuthorizationIssuance:
    digester: Digester
    tokens: TokenService
    clock: Clock
    code_ttl: timedelta
    family_lifetime: timedelta
    implicit_ttl_seconds: int  # legacy implicit tokens are short-lived and never refreshed

    async def start(self, stores: IssuanceStores, client: RegisteredClient,
                    request: AuthorizationRequest, person: Authorizer, *,
                    consent: Consent | None = None) -> Started:
        """Save ``consent`` (when the person just gave it), start the grant family and, for
        ``response_type=code``, mint the code; all in ``stores``' one transaction."""
        now = self.clock()
        if consent is not None:
            await stores.save_consent(person.user_id, client.id, consent)
        family_id = str(uuid.uuid4())
        await stores.families.start(family_id, client_id=client.id, user_id=person.user_id,
                                    now=now, expires_at=now + self.family_lifetime)
        if request.response_type != "code":
            return Started(family_id, None)
        code, digest = self.digester.new_grant()
        await stores.codes.add(AuthorizationCode(
            digest, family_id, client.id, person.user_id,
            # Empty when the request left redirect_uri out: the token request may too.
            request.redirect_uri if request.redirect_uri_sent else "",
            " ".join(request.scope), request.code_challenge, request.nonce, person.auth_time,
            person.amr, now + self.code_ttl, session_digest=person.session_digest))
        return Started(family_id, code)

    async def implicit_token(self, record: ClientRecord, request: AuthorizationRequest,
                             person: Authorizer, started: Started) -> IssuedToken:
        """The legacy implicit token of a started family, after its transaction committed (the
        token service writes nothing, but the family must exist before the token is used)."""
        return await self.tokens.issue(
            record, scope=request.scope, subject_id=person.user_id, family_id=started.family_id,
            ttl_seconds=min(self.implicit_ttl_seconds, record.token_ttl_seconds), implicit=True)
