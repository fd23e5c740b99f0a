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
from urllib.parse import urlsplit

from keystead.domain.errors import Problem
from keystead.domain.redirect_uris import is_loopback
from keystead.domain.scopes import BUILTIN_SCOPES

MANAGEMENT_API_PATH = "/api/v2"
MAX_RESOURCE_SERVER_LENGTH = 512
RESOURCE_SERVER_FIELD = "resourceServer"


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


def check_resource_server(value: str) -> list[Problem]:
    """A resource server identifier: an absolute URI (RFC 8707 §2) Keystead can compare exactly.

    ``https://`` with a host (``http://`` only for localhost, 127.0.0.1 and [::1]) or a ``urn:``
    name; no fragment (RFC 8707 §2: MUST NOT), no query, no user information, no spaces.
    """
    problem = _resource_server_problem(value)
    return [] if problem is None else [Problem(RESOURCE_SERVER_FIELD, "invalid.uri", problem)]


def _resource_server_problem(value: str) -> str | None:
    if not 1 <= len(value) <= MAX_RESOURCE_SERVER_LENGTH:
        return f"resourceServer is 1 to {MAX_RESOURCE_SERVER_LENGTH} characters"
    if not value.isascii() or any(ch <= " " or ch == "\x7f" for ch in value):
        return "resourceServer must be an absolute URI without spaces (RFC 8707 §2)"
    if "#" in value or "?" in value:
        return "resourceServer must not have a fragment or a query (RFC 8707 §2)"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "resourceServer is not a valid URI"
    if parts.scheme == "urn":
        return None if ":" in parts.path and not parts.path.startswith(":") else (
            "a urn: resourceServer needs a namespace and a name, e.g. urn:example:billing")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "resourceServer must be an https:// URL with a host, or a urn: name"
    if parts.username is not None or parts.password is not None:
        return "resourceServer must not contain user information"
    if parts.scheme == "http" and not is_loopback(value):
        return "resourceServer must use https (http only for localhost, 127.0.0.1 and [::1])"
    return None
