"""RFC 6749 §4.1.3 with PKCE (RFC 7636) and RFC 9700 §2.1, §4.5: a code for the user's tokens.

Codes are single-use and bound to the client, the redirect URI, the PKCE challenge, the user,
the scope and the console session they were minted in (a code dies with its session). A second
redemption by the same client with valid parameters, after the racing grace, revokes every
token issued from the code (§4.1.2); see ``reuse`` for what else a second redemption is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from keystead.domain.authorizations import AuthorizationCode, AuthorizationStore
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord
from keystead.protocol import pkce
from keystead.protocol.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from keystead.protocol.grants.base import TokenRequest
from keystead.protocol.grants.reuse import ReusePolicy
from keystead.protocol.grants.user_tokens import Authorizations, Grant, UserTokens
from keystead.protocol.tokens import IssuedToken

REUSE_ACTION = "authorization_code.reuse"


@dataclass(frozen=True, slots=True)
class AuthorizationCodeGrant:
    grant_type: ClassVar[str] = "authorization_code"
    client_grant: ClassVar[str] = "CODE"
    authorizations: Authorizations
    user_tokens: UserTokens
    digester: Digester
    clock: Callable[[], datetime]
    reuse: ReusePolicy
    session_idle: timedelta  # a console session not seen for this long has ended

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken:
        """Raises: InvalidRequestError, InvalidGrantError, InvalidScopeError."""
        code_value = request.form.get("code")
        if not code_value:
            raise InvalidRequestError("code is required")
        if request.scope is not None:
            raise InvalidScopeError("scope is fixed by the authorization request")
        digest = self.digester.grant(code_value)
        if digest is None:
            raise InvalidGrantError("the code is invalid, expired or already used",
                                    detail="the code names a key no longer in the server key ring")
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
        if replayed is not None:
            await self.reuse.audit_replay(REUSE_ACTION, client, family_id=replayed.family_id,
                                          user_id=replayed.user_id, remote_ip=request.remote_ip)
        raise InvalidGrantError("the code is invalid, expired or already used",
                                detail="code replayed: its tokens are revoked" if replayed
                                else "code unknown, expired, dead with its session, or a "
                                     "duplicate that revokes nothing")

    async def _redeem(self, store: AuthorizationStore, request: TokenRequest,
                      client: ClientRecord, code: AuthorizationCode) -> IssuedToken:
        """Raises: InvalidRequestError, InvalidGrantError, InvalidScopeError."""
        self._check_binding(request, client, code)
        person = await store.people.find(code.user_id)
        if person is None:
            raise InvalidGrantError("the code's user no longer exists")
        deadline = await store.families.expires_at(code.family_id)
        if deadline is None:
            raise InvalidGrantError("the code's authorization no longer exists")
        return await self.user_tokens.issue(store, client, Grant(
            person, tuple(code.scope.split()), code.family_id, code.auth_time, code.amr,
            deadline, code.nonce), resource=request.form.get("resource"))

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
        if code.redirect_uri and request.form.get("redirect_uri") != code.redirect_uri:
            raise InvalidGrantError("redirect_uri does not match the authorization request")
        pkce.verify(code.code_challenge, request.form.get("code_verifier"))

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
