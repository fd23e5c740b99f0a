"""RFC 7662 token introspection: any authenticated client may ask; inactive says nothing more.

Access tokens are answered for any asker. A refresh token is answered truthfully to the client
it was issued to (RFC 7662 §2.2: active while it can still be used, so not once rotated, past
its family's deadline, or revoked); to any other client it is ``{"active": false}`` (§4: the
server may refuse to say more to a client that has no business with the token).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from keystead.domain.audit import JSONValue
from keystead.domain.secrets import Digester
from keystead.domain.tokens import ClientRecord
from keystead.protocol.client_auth import ClientAuthenticator, Endpoint
from keystead.protocol.errors import InvalidRequestError, InvalidTokenError
from keystead.protocol.grants.user_tokens import Authorizations, still_allowed
from keystead.protocol.params import parse_form
from keystead.protocol.tokens import TokenService

INACTIVE: dict[str, JSONValue] = {"active": False}
# What user_tokens mints: 32 random bytes (secrets.token_urlsafe), after the id of the server
# key it is digested under (absent before the key ring). Anything else is not looked up.
_REFRESH_SHAPE = re.compile(r"(?:[A-Za-z0-9]{1,16}\.)?[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class IntrospectionEndpoint:
    authenticator: ClientAuthenticator
    tokens: TokenService
    authorizations: Authorizations
    digester: Digester
    clock: Callable[[], datetime]

    async def handle(self, body: bytes, *, authorization: str | None,
                     remote_ip: str) -> dict[str, JSONValue]:
        form = parse_form(body)
        client = await self.authenticator.identify(form, authorization,
                                                   endpoint=Endpoint.introspect,
                                                   remote_ip=remote_ip)
        if "token" not in form:
            raise InvalidRequestError("token is required")  # RFC 7662 §2.1
        try:
            active = await self.tokens.validate(form["token"])
        except InvalidTokenError:
            # The shape test first: it costs nothing, and no access token has that shape.
            if _REFRESH_SHAPE.fullmatch(form["token"]) and self.tokens.claims_of(
                    form["token"]) is None:
                return await self._refresh_token(form["token"], client)
            return INACTIVE  # RFC 7662 §2.2: no further detail for inactive tokens
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

    async def _refresh_token(self, value: str, client: ClientRecord) -> dict[str, JSONValue]:
        """The refresh token as its own client would find it at the token endpoint now."""
        digest = self.digester.grant(value)
        if digest is None:  # made under a key no longer in the server key ring
            return INACTIVE
        async with self.authorizations() as store:
            # Without rotate, use_refresh only reads: the token stays usable.
            grant = await store.refresh_tokens.use(digest, now=self.clock(), rotate=False)
            if grant is None or grant.client_id != client.id:
                return INACTIVE
            person = await store.people.find(grant.user_id)
        if person is None or person.state != "active":
            return INACTIVE
        return {
            "active": True,
            "scope": " ".join(still_allowed(client, tuple(grant.scope.split()))),
            "client_id": grant.client_id,
            "sub": grant.user_id,
            "exp": int(grant.expires_at.timestamp()),
            "iat": int(grant.issued_at.timestamp()),
            "iss": self.tokens.issuer,
        }
