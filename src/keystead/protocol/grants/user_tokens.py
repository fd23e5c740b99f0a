"""Tokens for a user (code, refresh and SAML2 bearer grants): access, refresh and ID token."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from keystead.domain.authorizations import AuthorizationStore, Person, RefreshGrant
from keystead.domain.scopes import OIDC_SCOPES
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidGrantError, InvalidScopeError
from keystead.protocol.oidc import IdTokens
from keystead.protocol.tokens import IssuedToken, TokenService

# The grants' unit of work: one transaction over the authorization store.
Authorizations = Callable[[], AbstractAsyncContextManager[AuthorizationStore]]


def still_allowed(client: ClientRecord, scope: tuple[str, ...]) -> tuple[str, ...]:
    """``scope`` less what the client no longer holds (read now, not when the user agreed).

    RFC 6749 §6: a refresh "MUST NOT include any scope not originally granted"; a scope an
    admin has since taken from the client is no longer granted. OpenID Connect scopes are
    the user's, which clients never hold, so they stay.
    """
    return tuple(s for s in scope if s in client.scopes or s in OIDC_SCOPES)


@dataclass(frozen=True, slots=True)
class Grant:
    """What a user authorized, as the token being issued must carry it."""

    person: Person
    scope: tuple[str, ...]
    family_id: str
    auth_time: datetime
    amr: tuple[str, ...]
    family_expires_at: datetime  # the family's absolute deadline: nothing issued outlives it
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class UserTokens:
    tokens: TokenService
    id_tokens: IdTokens
    digester: Digester
    clock: Callable[[], datetime]
    refresh_ttl_seconds: int
    family_max_lifetime_seconds: int

    def family_deadline(self, now: datetime) -> datetime:
        """The absolute deadline of a family started ``now``."""
        return now + timedelta(seconds=self.family_max_lifetime_seconds)

    async def issue(self, store: AuthorizationStore, client: ClientRecord, grant: Grant, *,
                    refresh_token: str | None = None, with_refresh: bool = True,
                    refresh_scope: tuple[str, ...] | None = None,
                    resource: str | None = None) -> IssuedToken:
        """Access token (for ``resource`` only, when named: RFC 8707 §2.2), refresh token (a new
        one unless ``refresh_token`` is kept, none without ``with_refresh``), ID token.

        Raises:
            InvalidGrantError: the user is no longer active, or the family is past its deadline.
            InvalidTargetError: no scope of the grant is for ``resource``.
        """
        if grant.person.state != "active":
            raise InvalidGrantError("the user cannot sign in", detail="user is not active")
        scope = still_allowed(client, grant.scope)
        if grant.scope and not scope:
            raise InvalidScopeError("none of the authorized scopes is still allowed for this "
                                    "client")
        now = self.clock()
        # Neither the access token nor a rotated refresh token may outlive the family.
        left = int((grant.family_expires_at - now).total_seconds())
        if left <= 0:
            raise InvalidGrantError("the authorization has expired",
                                    detail="grant family past its absolute deadline")
        access = await self.tokens.issue(client, scope=scope, subject_id=grant.person.id,
                                         family_id=grant.family_id,
                                         ttl_seconds=min(client.token_ttl_seconds, left),
                                         resource=resource)
        if refresh_token is None and with_refresh:
            refresh_token, digest = self.digester.new_grant()
            await store.refresh_tokens.add(RefreshGrant(
                digest, grant.family_id, client.id, grant.person.id,
                # RFC 6749 §6: a rotated refresh token keeps the scope granted, however
                # narrow the access token asked for.
                " ".join(still_allowed(client, refresh_scope or grant.scope)), grant.auth_time,
                grant.amr, now,
                min(now + timedelta(seconds=self.refresh_ttl_seconds), grant.family_expires_at),
                None))
        id_token = None
        if "openid" in scope:
            id_token = self.id_tokens.sign(
                client_id=client.id, person=grant.person, scope=scope,
                auth_time=grant.auth_time, amr=grant.amr, nonce=grant.nonce, now=now)
        return replace(access, refresh_token=refresh_token, id_token=id_token)
