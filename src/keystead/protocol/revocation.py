"""RFC 7009 token revocation: a client revokes its own tokens; unknown tokens are not an error."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.protocol.client_auth import ClientAuthenticator, read_credentials
from keystead.protocol.errors import InvalidRequestError, UnsupportedTokenTypeError
from keystead.protocol.params import parse_form
from keystead.protocol.tokens import TokenService

KNOWN_HINTS = frozenset({"access_token", "refresh_token"})


@dataclass(frozen=True, slots=True)
class RevocationEndpoint:
    authenticator: ClientAuthenticator
    tokens: TokenService

    async def handle(self, body: bytes, *, authorization: str | None, remote_ip: str) -> None:
        form = parse_form(body)
        client = await self.authenticator.authenticate(read_credentials(authorization, form),
                                                       remote_ip=remote_ip, endpoint="revoke")
        if "token" not in form:
            raise InvalidRequestError("token is required")  # RFC 7009 §2.1
        hint = form.get("token_type_hint")
        if hint is not None and hint not in KNOWN_HINTS:
            raise UnsupportedTokenTypeError(f"token_type_hint {hint} is not supported")
        # RFC 7009 §2.1: only the client the token was issued to may revoke it; for anyone
        # else (or an unknown token) the answer is the same 200, revealing nothing.
        await self.tokens.revoke(form["token"], client_id=client.id)
