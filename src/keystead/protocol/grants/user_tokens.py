"""Tokens for a user (code, refresh and SAML2 bearer grants): access, refresh and ID token."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from keystead.domain.authorizations import AuthorizationStore, Person, RefreshGrant
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidGrantError
from keystead.protocol.oidc import IdTokens
from keystead.protocol.tokens import IssuedToken, TokenService

# The grants' unit of work: one transaction over the authorization store.
Authorizations = Callable[[], AbstractAsyncContextManager[AuthorizationStore]]


@dataclass(frozen=True, slots=True)
class Grant:
    """What a user authorized, as the token being issued must carry it."""

    person: Person
    scope: tuple[str, ...]
    family_id: str
    auth_time: datetime
    amr: tuple[str, ...]
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class UserTokens:
    tokens: TokenService
    id_tokens: IdTokens
    digester: Digester
    clock: Callable[[], datetime]
    refresh_ttl_seconds: int

    async def issue(self, store: AuthorizationStore, client: ClientRecord, grant: Grant, *,
                    refresh_token: str | None = None, with_refresh: bool = True,
                    refresh_scope: tuple[str, ...] | None = None) -> IssuedToken:
        """Access token, refresh token (a new one unless ``refresh_token`` is kept, none without
        ``with_refresh``), ID token.

        Raises:
            InvalidGrantError: the user is no longer active.
        """
        if grant.person.state != "active":
            raise InvalidGrantError("the user cannot sign in", detail="user is not active")
        now = self.clock()
        access = await self.tokens.issue(client, scope=grant.scope, subject_id=grant.person.id,
                                         family_id=grant.family_id)
        if refresh_token is None and with_refresh:
            refresh_token, digest = self.digester.new_grant()
            await store.add_refresh(RefreshGrant(
                digest, grant.family_id, client.id, grant.person.id,
                # RFC 6749 §6: a rotated refresh token keeps the scope granted, however
                # narrow the access token asked for.
                " ".join(refresh_scope or grant.scope), grant.auth_time, grant.amr, now,
                now + timedelta(seconds=self.refresh_ttl_seconds), None))
        id_token = None
        if "openid" in grant.scope:
            id_token = self.id_tokens.sign(
                client_id=client.id, person=grant.person, scope=grant.scope,
                auth_time=grant.auth_time, amr=grant.amr, nonce=grant.nonce, now=now)
        return replace(access, refresh_token=refresh_token, id_token=id_token)
