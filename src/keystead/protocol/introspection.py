"""RFC 7662 token introspection: any authenticated client may ask; inactive says nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keystead.protocol.client_auth import ClientAuthenticator, read_credentials
from keystead.protocol.errors import InvalidRequestError, InvalidTokenError
from keystead.protocol.params import parse_form
from keystead.protocol.tokens import TokenService


@dataclass(frozen=True, slots=True)
class IntrospectionEndpoint:
    authenticator: ClientAuthenticator
    tokens: TokenService

    async def handle(self, body: bytes, *, authorization: str | None,
                     remote_ip: str) -> dict[str, Any]:
        form = parse_form(body)
        await self.authenticator.authenticate(read_credentials(authorization, form),
                                              remote_ip=remote_ip, endpoint="introspect")
        if "token" not in form:
            raise InvalidRequestError("token is required")  # RFC 7662 §2.1
        try:
            active = await self.tokens.validate(form["token"])
        except InvalidTokenError:
            return {"active": False}  # RFC 7662 §2.2: no further detail for inactive tokens
        record = active.record
        return {
            "active": True,
            "scope": " ".join(s for s in record.scope.split() if s in active.scopes),
            "client_id": record.client_id,
            "sub": record.subject_id or record.client_id,
            "token_type": "Bearer",
            "exp": int(record.expires_at.timestamp()),
            "iat": int(record.issued_at.timestamp()),
            "iss": self.tokens.issuer,
            "aud": list(record.audience),  # decided at issuance (domain/audiences.py)
            "roles": [{"roleId": r, "divisionId": d} for r, d in record.roles],
        }
