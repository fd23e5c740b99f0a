"""RFC 7009 token revocation: a client revokes its own tokens; unknown tokens are not an error.

Revoking a refresh token revokes its whole grant family, the access tokens issued with it too
(§2.1: "SHOULD"). Public clients identify themselves by client_id (§2.1, §5).

``token_type_hint`` is only a hint: every token type this server issues is searched whatever it
says, so an unknown hint is ignored (§2.1: "If the server is unable to locate the token using the
given hint, it MUST extend its search across all of its supported token types"; an unsupported
hint names no type to search first). ``unsupported_token_type`` (§2.2.1) is never needed: every
token Keystead issues can be revoked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from keystead.domain.secrets import Digester
from keystead.protocol.client_auth import ClientAuthenticator, Endpoint
from keystead.protocol.errors import InvalidRequestError
from keystead.protocol.grants.user_tokens import Authorizations
from keystead.protocol.params import parse_form
from keystead.protocol.tokens import TokenService


@dataclass(frozen=True, slots=True)
class RevocationEndpoint:
    authenticator: ClientAuthenticator
    tokens: TokenService
    authorizations: Authorizations
    digester: Digester
    clock: Callable[[], datetime]

    async def handle(self, body: bytes, *, authorization: str | None, remote_ip: str) -> None:
        form = parse_form(body)
        client = await self.authenticator.identify(form, authorization, endpoint=Endpoint.revoke,
                                                   remote_ip=remote_ip)
        if "token" not in form:
            raise InvalidRequestError("token is required")  # RFC 7009 §2.1
        # §2.1: only the client the token was issued to may revoke it; for anyone else (or an
        # unknown token) the answer is the same 200, revealing nothing.
        token = form["token"]
        if self.tokens.claims_of(token) is not None:
            await self.tokens.revoke(token, client_id=client.id)
            return
        async with self.authorizations() as store:
            digest = self.digester.grant(token)
            grant = None if digest is None else await store.refresh_tokens.find(digest)
            if grant is not None and grant.client_id == client.id:
                await store.families.revoke(grant.family_id, now=self.clock())
