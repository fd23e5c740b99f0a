"""RFC 6749 §4.1.3 with PKCE (RFC 7636) and RFC 9700 §2.1, §4.5: a code for the user's tokens.

Codes are single-use and bound to the client, the redirect URI, the PKCE challenge, the user and
the scope. A second redemption fails and revokes every token issued from the code (§4.1.2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord
from keystead.protocol import pkce
from keystead.protocol.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from keystead.protocol.grants.base import TokenRequest
from keystead.protocol.grants.user_tokens import Authorizations, Grant, UserTokens
from keystead.protocol.tokens import IssuedToken


@dataclass(frozen=True, slots=True)
class AuthorizationCodeGrant:
    grant_type: ClassVar[str] = "authorization_code"
    client_grant: ClassVar[str] = "CODE"
    authorizations: Authorizations
    user_tokens: UserTokens
    digester: Digester
    clock: Callable[[], datetime]

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
        replayed = False
        async with self.authorizations() as store:
            code = await store.consume_code(digest, now=self.clock())
            if code is None:
                used = await store.find_consumed_code(digest)
                if used is not None:
                    # §4.1.2: a code used twice revokes what it was exchanged for.
                    await store.revoke_family(used.family_id, now=self.clock())
                    replayed = True
            else:
                if code.client_id != client.id:
                    raise InvalidGrantError("the code was not issued to this client")
                # §4.1.3: redirect_uri must be identical to the authorization request's, if that
                # request had one (the code stores "" when it did not).
                if code.redirect_uri and request.form.get("redirect_uri") != code.redirect_uri:
                    raise InvalidGrantError("redirect_uri does not match the authorization request")
                pkce.verify(code.code_challenge, request.form.get("code_verifier"))
                person = await store.person(code.user_id)
                if person is None:
                    raise InvalidGrantError("the code's user no longer exists")
                return await self.user_tokens.issue(store, client, Grant(
                    person, tuple(code.scope.split()), code.family_id, code.auth_time, code.amr,
                    code.nonce))
        raise InvalidGrantError("the code is invalid, expired or already used",
                                detail="code replayed: its tokens are revoked" if replayed
                                else "code unknown or expired")
