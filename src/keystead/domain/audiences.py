"""Who a token is for (its ``aud``): the management API, the issuer, or a declared resource server.

A token's audience is decided when it is issued, from its scopes, and never changes:

- Keystead's built-in scopes (``oauth``, ``users:readonly`` …) are for the management API,
  whose identifier is ``{issuer}/api/v2``;
- the OpenID Connect scopes are for the issuer itself (userinfo);
- a custom scope is for the resource server an admin declared on it, or, when none was
  declared, for the issuer: the audience every token carried before audiences existed, so a
  resource server that checks ``aud == issuer`` keeps working.

A token whose scopes span several audiences names them all (RFC 7519 §4.1.3 allows a list); a
client that wants a token for one resource server asks for that server's scopes alone, or names
it in the RFC 8707 ``resource`` parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from keystead.domain.scopes import BUILTIN_SCOPES

MANAGEMENT_API_PATH = "/api/v2"


def management_api(issuer: str) -> str:
    """The management API's audience identifier."""
    return issuer.rstrip("/") + MANAGEMENT_API_PATH


def audience_of(scope: Iterable[str], *, issuer: str, resource_servers: Mapping[str, str],
                implicit: bool = False) -> tuple[str, ...]:
    """The audiences a token for ``scope`` carries, sorted, never empty.

    ``resource_servers`` maps each custom scope that declares one to its resource server. An
    implicit token never has the management API among its audiences: it travelled in a URL.
    """
    found: set[str] = set()
    builtin = False
    for s in scope:
        if s in BUILTIN_SCOPES:
            builtin = True
        else:
            found.add(resource_servers.get(s, issuer))
    if builtin and not implicit:
        found.add(management_api(issuer))
    return tuple(sorted(found)) if found else (issuer,)


def is_for_management_api(audience: tuple[str, ...], *, issuer: str, implicit: bool) -> bool:
    """Whether the management API may accept a token: never an implicit one, whatever its scope."""
    return not implicit and management_api(issuer) in audience
