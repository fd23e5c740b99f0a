"""The token endpoint (RFC 6749 §3.2, §5), read top-down in one function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keystead.domain.scopes import is_scope_token
from keystead.protocol.client_auth import ClientAuthenticator, read_credentials
from keystead.protocol.errors import (
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from keystead.protocol.grants.base import TokenGrant, TokenRequest
from keystead.protocol.params import parse_form


@dataclass(frozen=True, slots=True)
class TokenEndpoint:
    authenticator: ClientAuthenticator
    grants: Mapping[str, TokenGrant]

    async def handle(self, body: bytes, *, authorization: str | None,
                     remote_ip: str) -> dict[str, Any]:
        """Return the RFC 6749 §5.1 response body.

        Raises:
            OAuthError: the §5.2 error to send.
        """
        form = parse_form(body)
        if "grant_type" not in form:
            raise InvalidRequestError("grant_type is required")
        credentials = read_credentials(authorization, form)
        client = await self.authenticator.authenticate(credentials, remote_ip=remote_ip,
                                                       endpoint="token")
        grant = self.grants.get(form["grant_type"])
        if grant is None:
            raise UnsupportedGrantTypeError(f"grant_type {form['grant_type']} is not supported")
        if grant.client_grant not in client.grant_types:
            raise UnauthorizedClientError(f"this client may not use {grant.grant_type}")
        scope = None
        if "scope" in form:
            scope = tuple(form["scope"].split(" "))
            if not all(is_scope_token(s) for s in scope):
                raise InvalidScopeError("scope must be space-separated scope tokens")
        issued = await grant.exchange(TokenRequest(form["grant_type"], form, scope), client)
        return {"access_token": issued.access_token, "token_type": "Bearer",
                "expires_in": issued.expires_in, "scope": issued.scope}
