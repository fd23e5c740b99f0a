"""OAuth clients: the entity, its settings and every registration rule of the seed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from keystead.domain.errors import Problem
from keystead.domain.paging import Page
from keystead.domain.redirect_uris import check_redirect_uris
from keystead.domain.scopes import SCIM_SCOPE


class GrantType(StrEnum):
    """Genesys grant-type names; ``PASSWORD`` is known only to be refused."""

    client_credentials = "CLIENT-CREDENTIALS"
    code = "CODE"
    token = "TOKEN"  # noqa: S105 - the implicit grant's name, not a credential
    saml2_bearer = "SAML2-BEARER"


class ClientState(StrEnum):
    active = "active"
    disabled = "disabled"
    inactive = "inactive"


class ClientType(StrEnum):
    """RFC 6749 §2.1: a confidential client keeps a secret; a public one (SPA, mobile, native
    app) cannot, so it gets none and must use PKCE (RFC 9700 §2.1.1)."""

    confidential = "confidential"
    public = "public"


PUBLIC_GRANTS = frozenset({"CODE", "TOKEN"})


class TokenEndpointAuthMethod(StrEnum):
    """How a client authenticates at the token, introspection and revocation endpoints
    (RFC 7591 §2 names; RFC 6749 §2.3.1 for the two secret methods)."""

    client_secret_basic = "client_secret_basic"  # noqa: S105 - a method's name, not a secret
    client_secret_post = "client_secret_post"  # noqa: S105
    none = "none"


def default_auth_method(client_type: ClientType) -> TokenEndpointAuthMethod:
    """RFC 7591 §2: ``client_secret_basic`` when unspecified; a public client has no secret."""
    return (TokenEndpointAuthMethod.none if client_type is ClientType.public
            else TokenEndpointAuthMethod.client_secret_basic)


class Environment(StrEnum):
    """Where a client runs: production clients are held to the strictest rules."""

    production = "production"
    staging = "staging"
    development = "development"


class TokenFormat(StrEnum):
    opaque = "opaque"
    jwt = "jwt"


REFUSED_GRANTS = {"PASSWORD": "the resource owner password grant was removed by OAuth 2.1; "
                              "use CODE with PKCE for users or CLIENT-CREDENTIALS for services"}
# Seed: "Cannot select Implicit after March 2026".
IMPLICIT_CUTOFF = datetime(2026, 3, 1, tzinfo=UTC)
MIN_TOKEN_TTL = 300
MAX_TOKEN_TTL = 172_800
MAX_SCIM_TOKEN_TTL = 450 * 86_400
DEFAULT_TOKEN_TTL = 3_600
MAX_NAME = 128
MAX_DESCRIPTION = 512
MAX_OWNER_CONTACT = 320
MAX_TAGS = 20
TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9._:-]{0,63}")
REDIRECT_GRANTS = frozenset({GrantType.code, GrantType.token})


@dataclass(frozen=True, slots=True)
class RoleDivision:
    role_id: str
    division_id: str


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything an admin sets on a client; validated by :func:`check_settings`."""

    name: str
    description: str = ""
    grant_types: tuple[GrantType, ...] = ()
    scopes: tuple[str, ...] = ()
    redirect_uris: tuple[str, ...] = ()
    role_divisions: tuple[RoleDivision, ...] = ()
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL
    state: ClientState = ClientState.active
    date_to_delete: datetime | None = None
    token_format: TokenFormat = TokenFormat.opaque
    require_pkce: bool = True
    owner_contact: str = ""
    owner_id: str | None = None  # the user answerable for it; see governance for orphans
    tags: tuple[str, ...] = ()
    environment: Environment | None = None
    client_type: ClientType = ClientType.confidential
    token_endpoint_auth_method: TokenEndpointAuthMethod = (
        TokenEndpointAuthMethod.client_secret_basic)

    @property
    def is_public(self) -> bool:
        return self.client_type is ClientType.public

    def switched(self, state: ClientState) -> ClientSettings:
        """The settings after an admin disables or enables the client: a deletion date
        scheduled before goes (scheduling deletion is its own change)."""
        return replace(self, state=state, date_to_delete=None)


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What may be shown of a secret: never its value, nor its digest."""

    id: str
    date_created: datetime
    date_expires: datetime | None
    date_last_used: datetime | None
    current: bool
    # The first 8 hex characters of the secret's SHA-256 (``secrets.fingerprint``); None for a
    # secret made before fingerprints were kept.
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: a user, a client (its token), or the operator's CLI."""

    kind: str  # "user" | "client" | "cli" | "system"
    id: str
    name: str = ""

    def as_json(self) -> dict[str, str]:
        """As audit details and the stores' JSON columns keep it."""
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    settings: ClientSettings
    date_created: datetime
    date_modified: datetime
    created_by: Actor
    modified_by: Actor
    date_last_used: datetime | None = None
    secrets: tuple[SecretInfo, ...] = field(default=())

    @property
    def primary_grant_type(self) -> GrantType | None:
        return self.settings.grant_types[0] if self.settings.grant_types else None

    def allows_grant(self, grant: GrantType) -> bool:
        return grant in self.settings.grant_types


def max_token_ttl(settings: ClientSettings, *, scim_role_ids: frozenset[str]) -> int:
    is_scim = SCIM_SCOPE in settings.scopes or any(
        rd.role_id in scim_role_ids for rd in settings.role_divisions
    )
    return MAX_SCIM_TOKEN_TTL if is_scim else MAX_TOKEN_TTL


def check_settings(
    settings: ClientSettings,
    *,
    known_scopes: frozenset[str],
    scim_role_ids: frozenset[str],
    previous_grants: frozenset[GrantType],
    now: datetime,
) -> list[Problem]:
    """Every rule a client's settings must meet; an empty list means valid.

    ``previous_grants`` are the grants the client already had (empty when creating): a client
    that carried ``TOKEN`` before the cut-off keeps it, nobody can add it afterwards.
    """
    problems: list[Problem] = []
    if not 1 <= len(settings.name) <= MAX_NAME:
        problems.append(Problem("name", "length", f"name is required, 1 to {MAX_NAME} characters"))
    if len(settings.description) > MAX_DESCRIPTION:
        problems.append(Problem("description", "length",
                                f"description must be at most {MAX_DESCRIPTION} characters"))
    problems.extend(_check_ownership(settings))
    grants = settings.grant_types
    if not grants:
        problems.append(Problem("authorizedGrantTypes", "required",
                                "choose at least one grant type: CLIENT-CREDENTIALS, CODE or "
                                "SAML2-BEARER"))
    if len(set(grants)) != len(grants):
        problems.append(Problem("authorizedGrantTypes", "duplicate", "a grant type is repeated"))
    if GrantType.token in grants and GrantType.token not in previous_grants and (
        now >= IMPLICIT_CUTOFF
    ):
        problems.append(Problem(
            "authorizedGrantType", "deprecated",
            "the implicit grant (TOKEN) cannot be selected after 2026-03-01: it leaks tokens "
            "through the browser; use CODE with PKCE instead"))
    ceiling = max_token_ttl(settings, scim_role_ids=scim_role_ids)
    if not MIN_TOKEN_TTL <= settings.token_ttl_seconds <= ceiling:
        problems.append(Problem(
            "accessTokenValiditySeconds", "out.of.range",
            f"token duration must be between {MIN_TOKEN_TTL} and {ceiling} seconds"))
    if not settings.scopes:
        problems.append(Problem("scope", "required",
                                "at least one scope is required (least privilege: pick the "
                                "fewest the application needs)"))
    for scope in settings.scopes:
        if scope not in known_scopes:
            problems.append(Problem("scope", "unknown.scope",
                                    f"unknown scope {scope!r}; see GET /api/v2/oauth/scopes"))
    if len(set(settings.scopes)) != len(settings.scopes):
        problems.append(Problem("scope", "duplicate", "a scope is listed twice"))
    if GrantType.client_credentials in grants and not settings.role_divisions:
        problems.append(Problem("roleDivisions", "required",
                                "client credentials clients need at least one role"))
    if REDIRECT_GRANTS & set(grants):
        problems.extend(check_redirect_uris(list(settings.redirect_uris)))
    elif settings.redirect_uris:
        problems.append(Problem("registeredRedirectUri", "not.applicable",
                                "redirect URIs apply only to CODE and TOKEN clients"))
    if settings.is_public:
        if user_only := [g for g in grants if g not in PUBLIC_GRANTS]:
            problems.append(Problem(
                "clientType", "public.grant",
                f"a public client has no secret, so it cannot use {', '.join(user_only)}; "
                "use a confidential client for that"))
        if not settings.require_pkce:
            problems.append(Problem("requirePkce", "public.pkce",
                                    "a public client always uses PKCE; requirePkce must be true"))
    problems.extend(_check_auth_method(settings))
    if settings.state is ClientState.inactive and settings.date_to_delete is None:
        problems.append(Problem("dateToDelete", "required",
                                "an inactive client needs the date it will be deleted"))
    if settings.date_to_delete is not None and settings.state is not ClientState.inactive:
        problems.append(Problem("dateToDelete", "not.applicable",
                                "dateToDelete applies only to inactive clients"))
    if settings.date_to_delete is not None and settings.date_to_delete <= now:
        problems.append(Problem("dateToDelete", "in.past", "dateToDelete must be in the future"))
    return problems


def _check_ownership(settings: ClientSettings) -> list[Problem]:
    problems: list[Problem] = []
    if len(settings.owner_contact) > MAX_OWNER_CONTACT:
        problems.append(Problem("ownerContact", "length",
                                f"ownerContact must be at most {MAX_OWNER_CONTACT} characters"))
    if len(settings.tags) > MAX_TAGS:
        problems.append(Problem("tags", "too.many", f"at most {MAX_TAGS} tags"))
    problems += check_tags(settings.tags)
    if len(set(settings.tags)) != len(settings.tags):
        problems.append(Problem("tags", "duplicate", "a tag is listed twice"))
    return problems


def check_tags(tags: Sequence[str]) -> list[Problem]:
    """Each tag against the tag rule (the bulk "Add tag" asks before changing any client)."""
    if bad := [t for t in tags if not TAG_PATTERN.fullmatch(t)]:
        return [Problem("tags", "invalid.tag",
                        f"tags are lower-case letters, digits and . _ : - (1 to 64, "
                        f"starting with a letter or digit); not: {', '.join(bad)}")]
    return []


def _check_auth_method(settings: ClientSettings) -> list[Problem]:
    """A public client authenticates with ``none`` and nothing else; a confidential client
    with one of the secret methods, never ``none`` (it would then need no secret at all)."""
    method = settings.token_endpoint_auth_method
    if settings.is_public and method is not TokenEndpointAuthMethod.none:
        return [Problem("tokenEndpointAuthMethod", "public.method",
                        "a public client has no secret, so its tokenEndpointAuthMethod must be "
                        "none")]
    if not settings.is_public and method is TokenEndpointAuthMethod.none:
        return [Problem("tokenEndpointAuthMethod", "confidential.method",
                        "a confidential client authenticates with its secret: use "
                        "client_secret_basic (HTTP Basic) or client_secret_post (form body)")]
    return []


# -- ports


class ClientSort(StrEnum):
    """Orders of a client listing: by name, newest first, or most recently used first."""

    name = "name"
    created = "created"
    last_used = "last-used"


@dataclass(frozen=True, slots=True)
class ClientFilter:
    name: str | None = None
    state: ClientState | None = None
    grant_type: GrantType | None = None
    sort: ClientSort = ClientSort.name
    owner_id: str | None = None
    tag: str | None = None
    environment: Environment | None = None
    # The console's search box: the name, the client id or a tag contains it (any case).
    text: str | None = None


class ClientStore(Protocol):
    async def add(self, client: Client, *, secret_id: str | None,
                  secret_digest: str | None, key_id: str,
                  fingerprint: str | None) -> None:
        """Store a new client with its first secret (none for a public client)."""

    async def find(self, client_id: str) -> Client | None: ...
    async def replace(self, client: Client) -> None: ...
    async def delete(self, client_id: str) -> None: ...
    async def search(self, flt: ClientFilter, page: Page) -> tuple[Sequence[Client], int]: ...
    async def due_for_deletion(self, now: datetime) -> Sequence[Client]: ...


class SecretStore(Protocol):
    async def rotate(self, client_id: str, *, secret_id: str, digest: str, now: datetime,
                     previous_expires: datetime | None, key_id: str,
                     fingerprint: str | None) -> None:
        """Make a new secret current; the previous current one expires at ``previous_expires``
        (None: it keeps working until ``start_window`` or ``restore_previous``)."""

    async def start_window(self, client_id: str, *, expires: datetime) -> None:
        """Give the previous secret held by a rotation (no expiry yet) its end."""

    async def restore_previous(self, client_id: str, *, staged_id: str) -> None:
        """Undo a rotation: delete secret ``staged_id``; the previous one is current again."""

    async def expire_previous(self, client_id: str, *, now: datetime) -> int:
        """End every non-current secret's dual-use window now; return how many were cut short."""


class TokenRevoker(Protocol):
    async def revoke_client_tokens(self, client_id: str, *, now: datetime) -> None:
        """Revoke every token the client was issued up to ``now``."""
