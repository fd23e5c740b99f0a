"""RFC 8414 authorization server metadata and OpenID Connect Discovery 1.0 §3."""

from __future__ import annotations

from keystead.domain.audit import JSONValue
from keystead.domain.scopes import BUILTIN_SCOPES, OIDC_SCOPES
from keystead.protocol.client_auth import PUBLIC_METHOD, SECRET_METHODS
from keystead.protocol.keys import ALG


def server_metadata(issuer: str, *, scopes: list[str] | None = None) -> dict[str, JSONValue]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "jwks_uri": f"{issuer}/oauth/jwks",
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  "urn:ietf:params:oauth:grant-type:saml2-bearer"],
        # Implicit ("token") still works for legacy clients, but is not advertised.
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment"],
        "code_challenge_methods_supported": ["S256"],
        # Each client registers one of these (its tokenEndpointAuthMethod) and may use only it.
        "token_endpoint_auth_methods_supported": [*SECRET_METHODS, PUBLIC_METHOD],
        # Introspection is for confidential resource servers: a public client cannot ask.
        "introspection_endpoint_auth_methods_supported": list(SECRET_METHODS),
        "revocation_endpoint_auth_methods_supported": [*SECRET_METHODS, PUBLIC_METHOD],
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "scopes_supported": [*(scopes if scopes is not None else list(BUILTIN_SCOPES)),
                             *OIDC_SCOPES],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALG],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr",
                             "azp", "name", "email", "email_verified"],
        "prompt_values_supported": ["none", "login", "consent"],
    }
