"""RFC 6749 §6 with RFC 9700 §4.14: refresh tokens bound to the client, scope only narrowing
(and narrowed again to what the client still holds); public clients' refresh tokens rotate, and
a rotated one presented again by its client after the racing grace revokes its family (audited).
No refresh token outlives its family's absolute deadline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from keystead.domain.authorizations import RefreshGrant
from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidGrantError, InvalidScopeError
from keystead.protocol.grants.base import RESOURCE, TokenRequest
from keystead.protocol.grants.single_use import SingleUseGrant
from keystead.protocol.tokens import IssuedToken


@dataclass(frozen=True, slots=True)
class RefreshTokenGrant(SingleUseGrant):
    grant_type: ClassVar[str] = "refresh_token"
    client_grant: ClassVar[str] = "CODE"
    params: ClassVar[frozenset[str]] = frozenset({"refresh_token", RESOURCE})
    artifact: ClassVar[str] = "refresh token"
    invalid: ClassVar[str] = "the refresh token is invalid, expired or revoked"
    reuse_action: ClassVar[str] = "refresh_token.reuse"

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken:
        """Raises: InvalidRequestError, InvalidGrantError, InvalidScopeError."""
        value = request.required("refresh_token")
        digest = self.digest(value)
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
                user_grant = await self.user_grant(
                    store, user_id=grant.user_id, family_id=grant.family_id, scope=scope,
                    auth_time=grant.auth_time, amr=grant.amr)
                # user_tokens narrows both to what the client still holds.
                return await self.user_tokens.issue(
                    store, client, user_grant,
                    # Confidential clients keep their refresh token; public ones get a new one.
                    refresh_token=None if client.is_public else value, refresh_scope=granted,
                    resource=request.params.get(RESOURCE))
        # Out of the transaction, so the revocation above has committed (see single_use).
        await self.refuse(client, request, replayed=replayed,
                          detail="rotated refresh token reused: family revoked" if replayed
                          else "refresh token unknown, expired, revoked or a racing duplicate")
