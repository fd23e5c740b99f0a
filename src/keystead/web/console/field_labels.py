"""The console's words for what the domain names as the API does (issue 14).

The domain's messages are written for API callers: ``ownerContact must be at most 320
characters``, ``choose at least one grant type: CLIENT-CREDENTIALS, CODE or SAML2-BEARER``. On a
console form the same message must use the labels the form shows ("Owner contact", "Client
Credentials"). ``in_words`` rewrites a message with ``LABELS``, the one place those names are
kept; ``forms.sentence`` and the client form's ``Errors`` pass every message through it.
"""

from __future__ import annotations

import re

# Wire name (or a phrase around one) -> the label the console's forms show for it. A phrase
# wins over the wire name it contains (longer entries are matched first).
LABELS: dict[str, str] = {
    # Clients (clients/_fields.html, clients/detail.html)
    "accessTokenValiditySeconds": "Token duration",
    "tokenTtlSeconds": "Token duration",
    "registeredRedirectUri": "Authorized redirect URIs",
    "redirectUris": "Authorized redirect URIs",
    "authorizedGrantTypes": "Grant types",
    "authorizedGrantType": "Grant types",
    "tokenEndpointAuthMethod": "Client authentication",
    "requirePkce must be true": "PKCE must be required",
    "requirePkce": "PKCE",
    "roleDivisions": "Roles",
    "roleIds": "Roles",
    "clientType": "Client type",
    "ownerContact": "Owner contact",
    "dateToDelete": "Delete on",
    "dualUseSeconds": "the time the old secret keeps working",
    # Grant types as the grant checkboxes name them (clients/catalogue.py GRANT_LABELS)
    "CLIENT-CREDENTIALS": "Client Credentials",
    "CODE with PKCE": "Authorization Code with PKCE",
    "CODE": "Authorization Code with PKCE",
    "SAML2-BEARER": "SAML2 Bearer",
    "the implicit grant (TOKEN)": "the implicit grant",
    "TOKEN": "Implicit grant (legacy)",
    # Identity providers (identity_providers/form.html)
    "issuerURI": "Issuer URI",
    "relyingPartyIdentifier": "Relying party identifier",
    "nameIdentifierFormat": "Name-ID format",
    "mfaAuthnContextClassRefs": "Classes that mean multi-factor",
    "vouchesForMfa is true": "“Trust this provider to vouch for multi-factor sign-in” is ticked",
    "vouchesForMfa": "Trust this provider to vouch for multi-factor sign-in",
}
_NAMES = re.compile("|".join(
    rf"(?<![\w-]){re.escape(name)}(?![\w-])"
    for name in sorted(LABELS, key=len, reverse=True)))
# What the person typed, quoted by the domain ('...' or "..."): never rewritten.
_QUOTED = re.compile(r"('[^']*'|\"[^\"]*\")")


def in_words(message: str) -> str:
    """``message`` with each wire name replaced by its label, quoted values left as typed."""
    parts = _QUOTED.split(message)
    return "".join(part if index % 2 else _NAMES.sub(lambda m: LABELS[m.group(0)], part)
                   for index, part in enumerate(parts))
