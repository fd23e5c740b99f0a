"""The token endpoint (RFC 6749 §3.2, §5), read top-down in one function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from keystead.domain.audit import JSONValue
from keystead.domain.governance.evidence import NO_EVIDENCE, EvidenceRecorder
from keystead.domain.scopes import is_scope_token
from keystead.protocol.client_auth import ClientAuthenticator, Endpoint
from keystead.protocol.errors import (
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from keystead.protocol.grants.base import TokenGrant, TokenRequest
from keystead.protocol.params import parse_form
from keystead.protocol.sunset import sunset_headers
from keystead.request_context import note_headers

PUBLIC_CLIENT_GRANTS = frozenset({"authorization_code", "refresh_token"})


def _uncounted(_grant_type: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class TokenEndpoint:
    authenticator: ClientAuthenticator
    grants: Mapping[str, TokenGrant]
    # Told the grant type of every token issued (metrics); must cost a microsecond at most.
    issued: Callable[[str], None] = _uncounted
    # Told every token issued and grant refused, per client (governance evidence).
    evidence: EvidenceRecorder = NO_EVIDENCE

    async def handle(self, body: bytes, *, authorization: str | None,
                     remote_ip: str) -> dict[str, JSONValue]:
        """Return the RFC 6749 §5.1 response body.

        Raises:
            OAuthError: the §5.2 error to send.
        """
        form = parse_form(body)
        if "grant_type" not in form:
            raise InvalidRequestError("grant_type is required")
        client = await self.authenticator.identify(form, authorization, endpoint=Endpoint.token,
                                                   remote_ip=remote_ip)
        grant = self.grants.get(form["grant_type"])
        if grant is None:
            # Fixed text: the caller's value may hold characters error_description cannot carry.
            raise UnsupportedGrantTypeError("this grant_type is not supported")
        if client.is_public and grant.grant_type not in PUBLIC_CLIENT_GRANTS:
            raise UnauthorizedClientError(f"a public client may not use {grant.grant_type}")
        if grant.client_grant not in client.grant_types:
            raise UnauthorizedClientError(f"this client may not use {grant.grant_type}")
        scope = None
        if "scope" in form:
            scope = tuple(form["scope"].split(" "))
            if not all(is_scope_token(s) for s in scope):
                raise InvalidScopeError("scope must be space-separated scope tokens")
        params = {name: form[name] for name in grant.params if name in form}
        try:
            issued = await grant.exchange(
                TokenRequest(grant.grant_type, params, scope, remote_ip), client)
        except OAuthError as refused:
            self.evidence.failure(client.id, refused.error, remote_ip)
            raise
        self.issued(grant.grant_type)
        if client.sunset_at is not None:
            note_headers(sunset_headers(client.deprecated_at, client.sunset_at))
        self.evidence.token(client.id, grant.grant_type, issued.scope, remote_ip)
        answer: dict[str, JSONValue] = {
            "access_token": issued.access_token, "token_type": "Bearer",
            "expires_in": issued.expires_in, "scope": issued.scope}
        if issued.refresh_token is not None:
            answer["refresh_token"] = issued.refresh_token
        if issued.id_token is not None:
            answer["id_token"] = issued.id_token
        return answer
