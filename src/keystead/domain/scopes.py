"""OAuth scopes: the built-in catalogue, request-scope grammar, and the custom-scope use cases.

The management API and the admin console call the same use cases, so both enforce the same
rules and leave the same audit trail; each runs inside the caller's transaction.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from keystead.domain.audit import Auditor, Entity, property_changes
from keystead.domain.errors import (
    ConflictError,
    InvalidInputError,
    Problem,
    require_found,
)
from keystead.domain.organization import MAX_NAME, Scope, check_description
from keystead.domain.permissions import Permission
from keystead.domain.redirect_uris import is_loopback, split_uri

if TYPE_CHECKING:  # principal -> clients -> this module (SCIM_SCOPE)
    from keystead.domain.principal import Caller

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
    "governance": "Act on governance: policy, findings, reviews, deactivations, approvals",
    "governance:readonly": "View governance: policy, findings, reviews and notices",
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
    "governance:readonly": "governance",
}
# A client holding this scope is a SCIM integration and may have long-lived tokens.
SCIM_SCOPE = "scim"

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def is_scope_token(value: str) -> bool:
    return bool(_SCOPE_TOKEN.fullmatch(value))  # "$" would let a trailing newline through


def has_scope(granted: frozenset[str], needed: str) -> bool:
    return needed in granted or IMPLIED_BY.get(needed, "\0") in granted


# -- a custom scope's rules

ENTITY = "OAuthScope"
MAX_RESOURCE_SERVER_LENGTH = 512
RESOURCE_SERVER_FIELD = "resourceServer"


def check_scope(scope_id: str, description: str) -> list[Problem]:
    problems = check_description(description)
    # "\n" too: the scope-token pattern's "$" would let one trailing newline through.
    if not 1 <= len(scope_id) <= MAX_NAME or not is_scope_token(scope_id) or "\n" in scope_id:
        problems.append(Problem("id", "invalid.scope",
                                "a scope is 1 to 128 printable characters without spaces, "
                                "quotes or backslashes (RFC 6749 §3.3)"))
    return problems


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
    if (parts := split_uri(value)) is None:
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


class Unchanged(enum.Enum):
    """A property an update leaves as it is (its field was left out of the request)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


# -- ports and use cases


class ScopeStore(Protocol):
    async def list(self) -> Sequence[Scope]:
        """Every scope, by id."""

    async def find(self, scope_id: str) -> Scope | None: ...
    async def add(self, scope: Scope) -> None: ...
    async def update(self, scope_id: str, *, description: str,
                     resource_server: str | None) -> None: ...
    async def delete(self, scope_id: str) -> None: ...


class ScopeHolders(Protocol):
    """How many clients hold a scope (SqlClientStore implements it)."""

    async def count_holding_scope(self, scope_id: str) -> int: ...


def _check_declared(reserved: frozenset[str], value: str | None) -> list[Problem]:
    """The rules of a resource server a custom scope declares (None: none declared)."""
    if value is None:
        return []
    if value in reserved:
        return [Problem(RESOURCE_SERVER_FIELD, "reserved",
                        "resourceServer cannot be Keystead's own management API")]
    return check_resource_server(value)


def _entity(scope_id: str) -> Entity:
    return Entity(ENTITY, scope_id, scope_id)


@dataclass(slots=True)
class ScopeManagement:
    scopes: ScopeStore
    holders: ScopeHolders
    auditor: Auditor
    # Audiences a custom scope cannot declare: Keystead's own management API.
    reserved_audiences: frozenset[str] = field(default_factory=frozenset)

    async def list(self, caller: Caller) -> Sequence[Scope]:
        caller.require(Permission.OAUTH_SCOPE_VIEW)
        return await self.scopes.list()

    async def find(self, caller: Caller, scope_id: str) -> Scope:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require(Permission.OAUTH_SCOPE_VIEW)
        return require_found(await self.scopes.find(scope_id), f"no scope {scope_id!r}")

    async def count_holders(self, caller: Caller, scope_id: str) -> int:
        """How many clients hold the scope (those deleted no longer count)."""
        caller.require(Permission.OAUTH_SCOPE_VIEW)
        return await self.holders.count_holding_scope(scope_id)

    async def create(self, caller: Caller, *, scope_id: str, description: str,
                     resource_server: str | None = None) -> Scope:
        """A custom scope, for ``resource_server`` (its tokens' audience) or for the issuer.

        Raises: ForbiddenError, InvalidInputError, ConflictError (the scope exists).
        """
        caller.require(Permission.OAUTH_SCOPE_ADD)
        scope_id, description = scope_id.strip(), description.strip()
        problems = check_scope(scope_id, description) + _check_declared(
            self.reserved_audiences, resource_server)
        if problems:
            raise InvalidInputError(problems)
        if await self.scopes.find(scope_id) is not None:
            raise ConflictError(f"the scope {scope_id!r} already exists")
        scope = Scope(scope_id, description, False, resource_server)
        await self.scopes.add(scope)
        await self.auditor.record(caller, "create", _entity(scope.id), {
            "description": scope.description, "resourceServer": scope.resource_server})
        return scope

    async def update(self, caller: Caller, scope_id: str, *, description: str,
                     resource_server: str | Unchanged | None = UNCHANGED) -> Scope:
        """Change a scope's description and resource server (its id is what clients ask for:
        it never changes). A new resource server is the audience of tokens issued from now on;
        tokens already issued keep theirs.

        Raises:
            ForbiddenError, InvalidInputError (a built-in scope is for the management API and
            declares no resource server), NotFoundError.
        """
        caller.require(Permission.OAUTH_SCOPE_EDIT)
        description = description.strip()
        problems = check_description(description)
        if resource_server is not UNCHANGED:
            problems += _check_declared(self.reserved_audiences, resource_server)
        if problems:
            raise InvalidInputError(problems)
        old = await self.find(caller, scope_id)
        new_server = old.resource_server if resource_server is UNCHANGED else resource_server
        if old.builtin and new_server is not None:
            raise InvalidInputError.one(RESOURCE_SERVER_FIELD, "builtin",
                                        "a built-in scope is for the management API: leave "
                                        "resourceServer out")
        await self.scopes.update(scope_id, description=description, resource_server=new_server)
        await self.auditor.record(caller, "update", _entity(scope_id), {
            "propertyChanges": property_changes(
                {"description": old.description, "resourceServer": old.resource_server},
                {"description": description, "resourceServer": new_server})})
        return replace(old, description=description, resource_server=new_server)

    async def delete(self, caller: Caller, scope_id: str) -> None:
        """Raises: ForbiddenError, NotFoundError, ConflictError (built-in, or held by a client)."""
        caller.require(Permission.OAUTH_SCOPE_DELETE)
        found = await self.find(caller, scope_id)
        if found.builtin:
            raise ConflictError(f"the built-in scope {scope_id!r} cannot be deleted")
        if holders := await self.holders.count_holding_scope(scope_id):
            raise ConflictError(f"the scope is held by {holders} client(s); "
                                "remove it from them first")
        await self.scopes.delete(scope_id)
        await self.auditor.record(caller, "delete", _entity(scope_id), {})
