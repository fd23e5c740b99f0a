"""RFC 6749 §4.1.3 with PKCE (RFC 7636) and RFC 9700 §2.1, §4.5: a code for the user's tokens.

Codes are single-use and bound to the client, the redirect URI, the PKCE challenge, the user,
the scope and the console session they were minted in (a code dies with its session). A second
redemption by the same client with valid parameters, after the racing grace, revokes every
token issued from the code (§4.1.2); see ``reuse`` for what else a second redemption is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from keystead.domain.authorizations import AuthorizationCode, AuthorizationStore
from keystead.domain.tokens import ClientRecord
from keystead.protocol import pkce
from keystead.protocol.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from keystead.protocol.grants.base import RESOURCE, TokenRequest
from keystead.protocol.grants.single_use import SingleUseGrant
from keystead.protocol.tokens import IssuedToken


@dataclass(frozen=True, slots=True)
class AuthorizationCodeGrant(SingleUseGrant):
    grant_type: ClassVar[str] = "authorization_code"
    client_grant: ClassVar[str] = "CODE"
    params: ClassVar[frozenset[str]] = frozenset({"code", "redirect_uri", "code_verifier",
                                                  RESOURCE})
    artifact: ClassVar[str] = "code"
    invalid: ClassVar[str] = "the code is invalid, expired or already used"
    reuse_action: ClassVar[str] = "authorization_code.reuse"
    session_idle: timedelta  # a console session not seen for this long has ended

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken:
        """Raises: InvalidRequestError, InvalidGrantError, InvalidScopeError."""
        code_value = request.required("code")
        if request.scope is not None:
            raise InvalidScopeError("scope is fixed by the authorization request")
        digest = self.digest(code_value)
        replayed: AuthorizationCode | None = None
        async with self.authorizations() as store:
            now = self.clock()
            code = await store.codes.consume(digest, now=now,
                                            sessions_seen_after=now - self.session_idle)
            if code is not None:
                # Any refusal below rolls the transaction back: the code stays unused.
                return await self._redeem(store, request, client, code)
            used = await store.codes.find_consumed(digest)
            if used is not None and self._is_replay(request, client, used):
                # §4.1.2: a code used twice revokes what it was exchanged for.
                await store.families.revoke(used.family_id, now=now)
                replayed = used
        # Out of the transaction, so the revocation above has committed (see single_use).
        await self.refuse(client, request, replayed=replayed,
                          detail="code replayed: its tokens are revoked" if replayed
                          else "code unknown, expired, dead with its session, or a duplicate "
                               "that revokes nothing")

    async def _redeem(self, store: AuthorizationStore, request: TokenRequest,
                      client: ClientRecord, code: AuthorizationCode) -> IssuedToken:
        """Raises: InvalidRequestError, InvalidGrantError, InvalidScopeError."""
        self._check_binding(request, client, code)
        grant = await self.user_grant(store, user_id=code.user_id, family_id=code.family_id,
                                      scope=tuple(code.scope.split()), auth_time=code.auth_time,
                                      amr=code.amr, nonce=code.nonce)
        return await self.user_tokens.issue(store, client, grant,
                                            resource=request.params.get(RESOURCE))

    @staticmethod
    def _check_binding(request: TokenRequest, client: ClientRecord,
                       code: AuthorizationCode) -> None:
        """The code was issued to this client, for this redirect URI and PKCE verifier.

        Raises:
            InvalidGrantError, InvalidRequestError (a verifier for a code without PKCE).
        """
        if code.client_id != client.id:
            raise InvalidGrantError("the code was not issued to this client")
        # §4.1.3: redirect_uri must be identical to the authorization request's, if that
        # request had one (the code stores "" when it did not).
        if code.redirect_uri and request.params.get("redirect_uri") != code.redirect_uri:
            raise InvalidGrantError("redirect_uri does not match the authorization request")
        pkce.verify(code.code_challenge, request.params.get("code_verifier"))

    def _is_replay(self, request: TokenRequest, client: ClientRecord,
                   used: AuthorizationCode) -> bool:
        """OAuth 2.1 §7.5.2: only the code's own client, with valid parameters, replays it;
        and not within the grace after the first use (a racing duplicate)."""
        try:
            self._check_binding(request, client, used)
        except (InvalidGrantError, InvalidRequestError):
            return False
        return used.consumed_at is not None and not self.reuse.is_racing_duplicate(
            used.consumed_at)
