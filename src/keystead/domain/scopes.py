"""OAuth scopes: the built-in catalogue for Keystead's own APIs, and request-scope grammar."""

from __future__ import annotations

import re

BUILTIN_SCOPES: dict[str, str] = {
    "oauth": "Manage OAuth clients, scopes and secrets",
    "oauth:readonly": "View OAuth clients and scopes",
    "authorization": "Manage roles, divisions and grants",
    "authorization:readonly": "View roles, divisions, permissions and grants",
    "audits:readonly": "Read the audit log",
    "users": "Manage users",
    "users:readonly": "View users",
    "identity-providers": "Manage trusted SAML identity providers",
    "identity-providers:readonly": "View trusted SAML identity providers",
}
# OpenID Connect's scopes: any client using the code grant may ask for them (users consent).
OIDC_SCOPES: dict[str, str] = {
    "openid": "Sign you in and know who you are",
    "profile": "Your name",
    "email": "Your e-mail address",
}
# Holding a scope that manages also allows reading.
IMPLIED_BY: dict[str, str] = {
    "oauth:readonly": "oauth",
    "authorization:readonly": "authorization",
    "users:readonly": "users",
    "identity-providers:readonly": "identity-providers",
}
# A client holding this scope is a SCIM integration and may have long-lived tokens.
SCIM_SCOPE = "scim"

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def is_scope_token(value: str) -> bool:
    return bool(_SCOPE_TOKEN.fullmatch(value))  # "$" would let a trailing newline through


def has_scope(granted: frozenset[str], needed: str) -> bool:
    return needed in granted or IMPLIED_BY.get(needed, "\0") in granted
