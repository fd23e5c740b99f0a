"""What every grant shares: the request it receives and the shape it must have.

Each grant declares the form parameters it reads (``params``, an allow-list as node-oidc-provider
keeps one per grant) and is handed only those: ``grant_type``, ``scope`` and the client's
credentials are the token endpoint's, and anything else a client sends is not seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

from keystead.domain.tokens import ClientRecord
from keystead.protocol.errors import InvalidRequestError
from keystead.protocol.tokens import IssuedToken

# RFC 8707 §2: every grant may name the resource its access token is for.
RESOURCE = "resource"


@dataclass(frozen=True, slots=True)
class TokenRequest:
    grant_type: str
    params: Mapping[str, str]  # of the grant's ``params``, those sent (never empty: RFC 6749 §3.2)
    scope: tuple[str, ...] | None  # None: the client did not ask for a scope
    remote_ip: str = ""  # for audit entries

    def required(self, name: str) -> str:
        """The value of a parameter the grant cannot do without.

        Raises:
            InvalidRequestError: it was not sent (RFC 6749 §5.2).
        """
        value = self.params.get(name)
        if value is None:
            raise InvalidRequestError(f"{name} is required")
        return value


class TokenGrant(Protocol):
    grant_type: ClassVar[str]
    # The Genesys grant name a client must carry to use this grant.
    client_grant: ClassVar[str]
    # The form parameters ``exchange`` reads; the endpoint passes these and no others.
    params: ClassVar[frozenset[str]]

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken: ...
