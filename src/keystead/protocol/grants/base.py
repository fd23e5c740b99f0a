"""What every grant shares: the request it receives and the shape it must have."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from keystead.domain.tokens import ClientRecord
from keystead.protocol.tokens import IssuedToken


@dataclass(frozen=True, slots=True)
class TokenRequest:
    grant_type: str
    form: dict[str, str]
    scope: tuple[str, ...] | None  # None: the client did not ask for a scope
    remote_ip: str = ""  # for audit entries


class TokenGrant(Protocol):
    grant_type: ClassVar[str]
    # The Genesys grant name a client must carry to use this grant.
    client_grant: ClassVar[str]

    async def exchange(self, request: TokenRequest, client: ClientRecord) -> IssuedToken: ...
