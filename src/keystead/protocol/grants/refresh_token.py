"""RFC 6749 §6 with RFC 9700 §4.14: refresh tokens bound to the client, scope only narrowing
(and narrowed again to what the client still holds); public clients' refresh tokens rotate, and
a rotated one presented again by its client after the racing grace revokes its family (audited).
No refresh token outlives its family's absolute deadline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from keystead.domain.authorizations import RefreshGrant
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from keystead.protocol.grants.base import TokenRequest
from keystead.protocol.grants.reuse import ReusePolicy
from keystead.protocol.grants.user_tokens import Authorizations, Grant, UserTokens
from keystead.protocol.tokens import IssuedToken

REUSE_ACTION = "refresh_token.reuse"


@dataclass(frozen=True, slots=True)
class RefreshTokenGrant:
    grant_type: ClassVar[str] = "refresh_token"
    client_grant: ClassVar[str] = "CODE"
    authorizations: Authorizations
    user_tokens: UserTokens
    digester: Digester
    clock: Callable[[], datetime]
    reuse: ReusePolicy

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken:
        """Raises: InvalidRequestError, InvalidGrantError, InvalidScopeError."""
        value = request.form.get("refresh_token")
        if not value:
            raise InvalidRequestError("refresh_token is required")
        digest = self.digester.grant(value)
        if digest is None:
            raise InvalidGrantError("the refresh token is invalid, expired or revoked",
                                    detail="the token names a key no longer in the server key ring")
        replayed: RefreshGrant | None = None
        async with self.authorizations() as store:
            known = await store.refresh_tokens.find(digest)
            if known is not None and known.client_id != client.id:
                # Another client's token: refused, and it revokes nothing (§7.5.2).
                raise InvalidGrantError("the refresh token was not issued to this client")
            grant = await store.refresh_tokens.use(digest, now=self.clock(),
                                                   rotate=client.is_public)
            if grant is None:
                if (known is not None and known.used_at is not None
                        and not self.reuse.is_racing_duplicate(known.used_at)):
                    # A rotated token came back: someone holds a copy. Stop the whole family.
                    await store.families.revoke(known.family_id, now=self.clock())
                    replayed = known
            else:
                granted = tuple(grant.scope.split())
                scope = granted
                if request.scope is not None:
                    if widened := [s for s in request.scope if s not in granted]:
                        raise InvalidScopeError(
                            f"a refresh may only narrow the scope: {' '.join(widened)}")
                    scope = tuple(dict.fromkeys(request.scope))
                person = await store.people.find(grant.user_id)
                if person is None:
                    raise InvalidGrantError("the refresh token's user no longer exists")
                deadline = await store.families.expires_at(grant.family_id)
                if deadline is None:
                    raise InvalidGrantError("the refresh token's authorization is gone")
                # user_tokens narrows both to what the client still holds.
                return await self.user_tokens.issue(
                    store, client, Grant(person, scope, grant.family_id, grant.auth_time,
                                         grant.amr, deadline),
                    # Confidential clients keep their refresh token; public ones get a new one.
                    refresh_token=None if client.is_public else value, refresh_scope=granted,
                    resource=request.form.get("resource"))
        if replayed is not None:
            await self.reuse.audit_replay(REUSE_ACTION, client, family_id=replayed.family_id,
                                          user_id=replayed.user_id, remote_ip=request.remote_ip)
        raise InvalidGrantError("the refresh token is invalid, expired or revoked",
                                detail="rotated refresh token reused: family revoked" if replayed
                                else "refresh token unknown, expired, revoked or a racing "
                                     "duplicate")
