"""The authorization endpoint's rules (RFC 6749 §3.1, §4.1.1-4.1.2; RFC 9700 §2.1; RFC 8252 §7.3;
RFC 9207; OpenID Connect Core §3.1.2; OAuth 2.0 Multiple Response Type Encoding Practices §2.1).

Problems with the client or the redirect URI are shown to the user and never redirected
(``UnsafeAuthorizationRequest``); every other problem is sent back to the validated redirect URI
with ``error``, ``state`` and ``iss``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

from keystead.domain.authorizations import RegisteredClient
from keystead.domain.redirect_uris import LOOPBACK_HOSTS, check_redirect_uri
from keystead.domain.scopes import OIDC_SCOPES, is_scope_token
from keystead.protocol.errors import (
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from keystead.protocol.pkce import check_challenge

RESPONSE_GRANTS = {"code": "CODE", "token": "TOKEN"}
# Multiple Response Types §2.1: where the answer's parameters go. form_post is not offered.
RESPONSE_MODES = frozenset({"query", "fragment"})
DEFAULT_RESPONSE_MODE = {"code": "query", "token": "fragment"}
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
MAX_STATE = 2048
MAX_NONCE = 512


class UnsafeAuthorizationRequest(Exception):  # noqa: N818 - a page, not an OAuth error code
    """The client or redirect URI cannot be trusted: show this to the user, never redirect."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_type: str
    scope: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    nonce: str | None
    prompt: frozenset[str]
    # RFC 6749 §4.1.3: the token request must repeat redirect_uri only if this one sent it.
    redirect_uri_sent: bool = True
    max_age: int | None = None  # OIDC Core §3.1.2.1: seconds since the user last signed in
    response_mode: str = "query"

    @property
    def in_fragment(self) -> bool:
        return self.response_mode == "fragment"


def error_in_fragment(params: Mapping[str, str]) -> bool:
    """Where an error about ``params`` goes: the asked response_mode when it is valid for the
    response_type, else the response_type's default (implicit answers in the fragment, §4.2.2.1).

    Never raises: it decides where to send the error that ``validate`` raised.
    """
    response_type, mode = params.get("response_type"), params.get("response_mode")
    if mode == "fragment":
        return True
    if mode == "query" and response_type != "token":
        return False
    return response_type == "token"


def redirect_uri_matches(registered: str, requested: str, *, any_loopback_port: bool) -> bool:
    """Exact, case-sensitive string equality; with ``any_loopback_port`` (public native apps
    only), a loopback URI also matches on any port.

    RFC 8252 §7.3: the authorization server "MUST allow any port to be specified at the time
    of the request for loopback IP redirect URIs" - a rule for native apps, which cannot know
    which port is free. A confidential (web) client's server has a fixed address, so its
    loopback URI matches exactly, port included.
    """
    if registered == requested:
        return True
    if not any_loopback_port:
        return False
    try:
        a, b = urlsplit(registered), urlsplit(requested)
    except ValueError:  # e.g. "http://[::1" : not a URI at all
        return False
    if a.scheme != "http" or b.scheme != "http" or "@" in a.netloc or "@" in b.netloc:
        return False
    host = _host(a)
    # The requested authority is exactly that host, with or without a port: nothing else.
    return (host in LOOPBACK_HOSTS and _valid_port(b)
            and b.netloc in (host, f"{host}:{b.port}")
            and a.path == b.path and a.query == b.query and not a.fragment and not b.fragment)


def _host(parts: SplitResult) -> str:
    netloc = parts.netloc
    if netloc.startswith("["):
        return netloc[: netloc.find("]") + 1]
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


def _valid_port(parts: SplitResult) -> bool:
    try:
        return parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return False


def redirect_target(client: RegisteredClient | None,
                    requested: str | None) -> tuple[RegisteredClient, str]:
    """The client and the redirect URI to answer at, validated before anything is sent there.

    Raises:
        UnsafeAuthorizationRequest: unknown or inactive client, or an unregistered URI.
    """
    if client is None or not client.active:
        raise UnsafeAuthorizationRequest(
            "This application is not registered, or it has been disabled. Tell its developer.")
    # A URI registered before a rule tightened (a private-use scheme without a dot, say) is
    # never redirected to; editing the client then asks for a valid one.
    registered = [uri for uri in client.redirect_uris if check_redirect_uri(uri) is None]
    if requested is None:
        if len(client.redirect_uris) == 1 and registered:
            return client, registered[0]
        raise UnsafeAuthorizationRequest(
            "The application did not say where to return you (redirect_uri is missing).")
    if any(redirect_uri_matches(uri, requested, any_loopback_port=client.is_public)
           for uri in registered):
        return client, requested
    raise UnsafeAuthorizationRequest(
        "The application asked to return you to an address it has not registered, so Keystead "
        "will not send you there.")


def validate(params: Mapping[str, str], client: RegisteredClient,
             redirect_uri: str, *, policy_requires_pkce: bool = False) -> AuthorizationRequest:
    """Check everything else of the request (the redirect URI is already validated).

    ``policy_requires_pkce``: the organisation's policy (``pkceRequired``) asks PKCE of every
    code client, whatever the client's own ``requirePkce`` says.

    Raises:
        OAuthError: to be sent to ``redirect_uri``.
    """
    response_type = params.get("response_type")
    if response_type is None:
        raise InvalidRequestError("response_type is required")
    if response_type not in RESPONSE_GRANTS:
        # Fixed text: error_description may carry only a safe charset, never the input.
        raise UnsupportedResponseTypeError("response_type must be code")
    if RESPONSE_GRANTS[response_type] not in client.grant_types:
        raise UnauthorizedClientError("this client may not use this response_type")
    response_mode = _response_mode(params.get("response_mode"), response_type)
    state = params.get("state")
    nonce = params.get("nonce")
    if state is not None and len(state) > MAX_STATE:
        raise InvalidRequestError("state is too long")
    if nonce is not None and len(nonce) > MAX_NONCE:
        raise InvalidRequestError("nonce is too long")
    prompt = frozenset(params.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise InvalidRequestError("prompt must be none, or any of login, consent, select_account")
    max_age = params.get("max_age")
    if max_age is not None and not (max_age.isascii() and max_age.isdigit() and len(max_age) < 10):
        raise InvalidRequestError("max_age must be a whole number of seconds")
    scope = _scope(params.get("scope"), client)
    challenge = None
    if response_type == "code":
        own_rule = client.is_public or client.require_pkce
        if (policy_requires_pkce and not own_rule and "code_challenge" not in params
                and "code_challenge_method" not in params):
            # Named, so the developer of a client that sends no PKCE (the Genesys SDK's code
            # helper) knows it is the organisation's switch, not the client's setting.
            raise InvalidRequestError(
                "PKCE is required by the organisation policy (pkceRequired): send "
                "code_challenge with code_challenge_method S256")
        challenge = check_challenge(params.get("code_challenge"),
                                    params.get("code_challenge_method"),
                                    required=own_rule or policy_requires_pkce)
    return AuthorizationRequest(client.id, redirect_uri, response_type, scope, state,
                                challenge, nonce, prompt, "redirect_uri" in params,
                                int(max_age) if max_age is not None else None, response_mode)


def _response_mode(requested: str | None, response_type: str) -> str:
    """The response_mode to answer with.

    Raises:
        InvalidRequestError: an unknown mode, or query for a response carrying a token.
    """
    if requested is None:
        return DEFAULT_RESPONSE_MODE[response_type]
    if requested not in RESPONSE_MODES:
        raise InvalidRequestError("response_mode must be query or fragment")
    if requested == "query" and response_type == "token":
        # Multiple Response Types §2.1: the query mode MUST NOT be used for a response that
        # carries an access token (it would land in logs and Referer headers).
        raise InvalidRequestError("response_mode query cannot carry a token; use fragment")
    return requested


def _scope(requested: str | None, client: RegisteredClient) -> tuple[str, ...]:
    if requested is None or not requested.strip():
        return client.scopes
    tokens = tuple(dict.fromkeys(requested.split()))
    if not all(is_scope_token(t) for t in tokens):
        raise InvalidScopeError("scope must be space-separated scope tokens")
    allowed = set(client.scopes) | set(OIDC_SCOPES)
    if unknown := [t for t in tokens if t not in allowed]:
        # A fixed description: caller input never decides what an error says (the log has it).
        raise InvalidScopeError("a requested scope is not allowed for this client",
                                detail=f"scopes not allowed: {' '.join(unknown)}")
    return tokens


def answer(redirect_uri: str, params: Mapping[str, str | None], *, fragment: bool) -> str:
    """``redirect_uri`` with ``params`` added to its query (or its fragment, for implicit)."""
    parts = urlsplit(redirect_uri)
    encoded = urlencode({k: v for k, v in params.items() if v is not None})
    if fragment:
        return urlunsplit(parts._replace(fragment=encoded))
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit(parts._replace(query=query))


def error_answer(redirect_uri: str, error: OAuthError, *, state: str | None, issuer: str,
                 fragment: bool = False) -> str:
    """§4.1.2.1 error response, with ``iss`` (RFC 9207)."""
    return answer(redirect_uri, {"error": error.error, "error_description": error.description,
                                 "state": state, "iss": issuer}, fragment=fragment)
