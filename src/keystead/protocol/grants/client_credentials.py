"""RFC 6749 §4.4: a confidential client trades its own credentials for an access token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidScopeError
from keystead.protocol.grants.base import RESOURCE, TokenRequest
from keystead.protocol.tokens import IssuedToken, TokenService


def narrow_scope(client: ClientRecord, requested: tuple[str, ...] | None) -> tuple[str, ...]:
    """RFC 6749 §3.3: the requested scope, which must be within the client's; all when omitted.

    Raises:
        InvalidScopeError: a requested scope the client does not have.
    """
    if requested is None:
        return client.scopes
    if unknown := [s for s in requested if s not in client.scopes]:
        # A fixed description: caller input never decides what an error says (the log has it).
        raise InvalidScopeError("a requested scope is not allowed for this client",
                                detail=f"scopes not allowed: {' '.join(unknown)}")
    return tuple(dict.fromkeys(requested))


@dataclass(frozen=True, slots=True)
class ClientCredentialsGrant:
    grant_type: ClassVar[str] = "client_credentials"
    client_grant: ClassVar[str] = "CLIENT-CREDENTIALS"
    params: ClassVar[frozenset[str]] = frozenset({RESOURCE})
    tokens: TokenService

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken:
        return await self.tokens.issue(client, scope=narrow_scope(client, request.scope),
                                       resource=request.params.get(RESOURCE))
