"""Redirect-URI registration rules (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §4.1)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from keystead.domain.errors import Problem

MAX_REDIRECT_URIS = 125
MAX_URI_LENGTH = 2048
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
UNSAFE_SCHEMES = frozenset(
    {"javascript", "data", "file", "vbscript", "blob", "about", "ftp", "ws", "wss", "mailto"}
)


def split_uri(uri: str) -> SplitResult | None:
    """``uri``'s parts; None when it does not parse, a malformed port included."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    return parts


def is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and _bracketed_host(parts.netloc) in LOOPBACK_HOSTS


def _bracketed_host(netloc: str) -> str:
    host = netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.split(":", 1)[0]


def check_redirect_uri(uri: str) -> str | None:
    """Return why ``uri`` cannot be registered, or None when it can."""
    if not uri or uri != uri.strip():
        return "must be a non-empty absolute URI without surrounding spaces"
    if len(uri) > MAX_URI_LENGTH:
        return f"must be at most {MAX_URI_LENGTH} characters"
    if "*" in uri:
        return "wildcards are not allowed; register each URI exactly"
    if (parts := split_uri(uri)) is None:
        return "is not a valid URI"
    if not parts.scheme:
        return "must be absolute (include the scheme, e.g. https://)"
    if "#" in uri:
        return "must not contain a fragment (RFC 6749 §3.1.2)"
    if parts.username is not None or parts.password is not None:
        return "must not contain user information"
    if parts.scheme == "https":
        return None if parts.hostname else "https URIs need a host"
    if parts.scheme == "http":
        if _bracketed_host(parts.netloc) in LOOPBACK_HOSTS:
            return None
        return "must use https (http is allowed only for localhost, 127.0.0.1 and [::1])"
    # RFC 8252 §7.1: any other scheme is an app's private-use scheme (com.example.app:/).
    if parts.scheme in UNSAFE_SCHEMES:
        return f"the {parts.scheme}: scheme is not allowed"
    # RFC 8252 §7.1: apps "MUST use a URI scheme based on a domain name under their control,
    # expressed in reverse order": a bare word such as myapp: is claimable by any other app.
    if "." not in parts.scheme:
        return (f"uses the private-use scheme {parts.scheme}:, which must be a reverse domain "
                "name the app's owner controls, such as com.example.app:/cb (RFC 8252 §7.1)")
    return None


def check_redirect_uris(uris: list[str], *, field: str = "registeredRedirectUri") -> list[Problem]:
    """Check a whole registration: 1-125 URIs, each valid, no duplicates."""
    if not uris:
        return [Problem(field, "required", "at least one redirect URI is required for this grant")]
    if len(uris) > MAX_REDIRECT_URIS:
        return [Problem(field, "too.many", f"at most {MAX_REDIRECT_URIS} redirect URIs")]
    problems = []
    seen: set[str] = set()
    for index, uri in enumerate(uris):
        if (why := check_redirect_uri(uri)) is not None:
            problems.append(Problem(f"{field}[{index}]", "invalid.uri", f"{uri!r} {why}"))
        elif uri in seen:
            problems.append(Problem(f"{field}[{index}]", "duplicate", f"{uri!r} is listed twice"))
        seen.add(uri)
    return problems
