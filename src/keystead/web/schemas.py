"""Request bodies of the management API (Genesys field names), validated by pydantic.

Validation errors become an ``InvalidInputError`` naming each field, so a bad body always gets a
400 that says which field broke which rule.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from keystead.domain.clients import (
    DEFAULT_TOKEN_TTL,
    REFUSED_GRANTS,
    ClientSettings,
    ClientState,
    ClientType,
    Environment,
    GrantType,
    RoleDivision,
    TokenEndpointAuthMethod,
    TokenFormat,
    default_auth_method,
)
from keystead.domain.errors import InvalidInputError, Problem
from keystead.domain.users import UserState

Model = TypeVar("Model", bound=BaseModel)
# Fields of a fetched OAuthClient that may come back in a PUT after a GET; they are read-only.
READ_ONLY_CLIENT_FIELDS = frozenset({
    "id", "secret", "dateCreated", "dateModified", "createdBy", "modifiedBy", "selfUri",
    "secrets", "dateLastUsed", "orphaned",
})


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RoleDivisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roleId: str = Field(min_length=1, max_length=64)  # noqa: N815 - Genesys wire name
    divisionId: str | None = Field(default=None, max_length=64)  # noqa: N815


class OwnerRef(BaseModel):
    """``{"id": ...}``; the ``name`` and ``selfUri`` a GET returned may come back and are
    ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    id: str = Field(min_length=1, max_length=36)


# Keystead's extensions a tool that does not know them (the Genesys SDK) leaves out of a PUT:
# absent, they keep their value; null (or []) clears them.
KEPT_WHEN_ABSENT = frozenset({"owner", "ownerContact", "tags", "environment"})


class ClientRequest(BaseModel):
    """``OAuthClientRequest`` plus Keystead's extensions."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(max_length=10_000)
    description: str | None = None
    accessTokenValiditySeconds: int | None = None  # noqa: N815
    registeredRedirectUri: list[str] | None = None  # noqa: N815
    roleIds: list[str] | None = None  # noqa: N815
    authorizedGrantType: str | None = None  # noqa: N815
    authorizedGrantTypes: list[str] | None = None  # noqa: N815
    scope: list[str] | None = None
    roleDivisions: list[RoleDivisionIn] | None = None  # noqa: N815
    state: ClientState | None = None
    dateToDelete: datetime | None = None  # noqa: N815
    ownerContact: str | None = Field(default=None, max_length=320)  # noqa: N815
    # Keystead governance extensions: the owning user, free-form tags, the environment label.
    owner: OwnerRef | None = None
    tags: list[str] | None = None
    environment: Environment | None = None
    requirePkce: bool | None = None  # noqa: N815
    tokenFormat: TokenFormat | None = None  # noqa: N815
    # Keystead extension: "public" for SPA, mobile and native apps (no secret; fixed at creation).
    clientType: ClientType | None = None  # noqa: N815
    # Keystead extension (RFC 7591 §2 token_endpoint_auth_method): client_secret_basic (the
    # default), client_secret_post, or none for a public client. Absent in a PUT: kept.
    tokenEndpointAuthMethod: TokenEndpointAuthMethod | None = None  # noqa: N815

    @field_validator("dateToDelete")
    @classmethod
    def _naive_means_utc(cls, value: datetime | None) -> datetime | None:
        try:
            return _utc(value)
        except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-14:00 is past year 9999 in UTC
            raise ValueError("the date is out of range") from exc

    def grant_types(self) -> tuple[GrantType, ...]:
        names = list(self.authorizedGrantTypes or [])
        if self.authorizedGrantType and self.authorizedGrantType not in names:
            names.insert(0, self.authorizedGrantType)
        problems, grants = [], []
        for name in names:
            upper = name.upper()
            if upper in REFUSED_GRANTS:
                problems.append(Problem("authorizedGrantType", "unsupported.grant",
                                        f"{upper}: {REFUSED_GRANTS[upper]}"))
            elif upper not in GrantType._value2member_map_:
                problems.append(Problem("authorizedGrantType", "invalid.value",
                                        f"{name!r} is not a grant type; use "
                                        "CLIENT-CREDENTIALS, CODE, TOKEN or SAML2-BEARER"))
            else:
                grants.append(GrantType(upper))
        if problems:
            raise InvalidInputError(problems)
        return tuple(grants)

    def to_settings(self) -> ClientSettings:
        pairs = [RoleDivision(rd.roleId, rd.divisionId or "") for rd in self.roleDivisions or []]
        pairs += [RoleDivision(role_id, "") for role_id in self.roleIds or []
                  if all(p.role_id != role_id for p in pairs)]
        return ClientSettings(
            name=self.name, description=self.description or "",
            grant_types=self.grant_types(), scopes=tuple(self.scope or ()),
            redirect_uris=tuple(self.registeredRedirectUri or ()),
            role_divisions=tuple(pairs),
            token_ttl_seconds=(DEFAULT_TOKEN_TTL if self.accessTokenValiditySeconds is None
                               else self.accessTokenValiditySeconds),
            state=self.state or ClientState.active, date_to_delete=self.dateToDelete,
            token_format=self.tokenFormat or TokenFormat.opaque,
            require_pkce=True if self.requirePkce is None else self.requirePkce,
            owner_contact=self.ownerContact or "",
            owner_id=self.owner.id if self.owner else None,
            tags=tuple(self.tags or ()), environment=self.environment,
            client_type=self.clientType or ClientType.confidential,
            token_endpoint_auth_method=self.tokenEndpointAuthMethod or default_auth_method(
                self.clientType or ClientType.confidential))


class DeactivationRequest(BaseModel):
    """A planned deactivation: ``clientId`` on POST (the path names it on PUT)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    clientId: str | None = Field(default=None, max_length=64)  # noqa: N815
    date: datetime
    reason: str = Field(max_length=10_000)
    replacementClientId: str | None = Field(default=None, max_length=64)  # noqa: N815

    @field_validator("date")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError as exc:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
            raise ValueError("the date is out of range") from exc


class SecretRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dualUseSeconds: int | None = None  # noqa: N815
    deliver: bool = False  # to the client's secret destination, not in the response


class DivisionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    name: str
    description: str | None = None


class RoleRequest(BaseModel):
    """``DomainOrganizationRoleCreate``/``Update``: permissions as ``permissionPolicies`` or
    ``permissions`` (Keystead accepts either)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    name: str
    description: str | None = None
    permissions: list[str] | None = None
    permissionPolicies: list[dict[str, Any]] | None = None  # noqa: N815

    def permission_list(self) -> list[str]:
        listed = list(self.permissions or [])
        for policy in self.permissionPolicies or []:
            domain, entity = policy.get("domain", ""), policy.get("entityName", "")
            for action in policy.get("actionSet", []) or ["*"]:
                listed.append(f"{domain}:{entity}:{action}")
        return list(dict.fromkeys(listed))


class ScopeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str
    description: str | None = None
    # Left out of a PUT: unchanged; null: none (tokens for the scope are for the issuer).
    resourceServer: str | None = None  # noqa: N815 - the API's camelCase field name


class AuditFilter(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    property: str
    value: str


class AuditQueryRequest(BaseModel):
    """``AuditRealtimeQueryRequest``: ``interval`` is ISO-8601 ``start/end``."""

    model_config = ConfigDict(extra="ignore")
    interval: str
    serviceName: str | None = None  # noqa: N815
    filters: list[AuditFilter] | None = None
    sort: list[dict[str, str]] | None = None
    pageNumber: int = Field(default=1, ge=1, le=1_000_000)  # noqa: N815 - as GET listings
    pageSize: int = Field(default=25, ge=1, le=500)  # noqa: N815


class UsageQueryRequest(BaseModel):
    """``ApiUsageClientQuery``: ``interval`` is ISO-8601 ``start/end``; the counts come per
    client and UTC day whatever ``granularity``, ``metrics`` or ``groupBy`` ask."""

    model_config = ConfigDict(extra="ignore")
    interval: str = Field(max_length=200)
    granularity: str | None = None
    metrics: list[str] | None = None
    groupBy: list[str] | None = None  # noqa: N815 - Genesys wire name


def parse_body(model: type[Model], raw: bytes, *, allow_null: bool = False,
               ignore: frozenset[str] = frozenset()) -> Model:
    """Parse a JSON body into ``model``.

    Raises:
        InvalidInputError: not JSON, not an object, or fields that break the model's rules.
    """
    try:
        data = json.loads(raw) if raw.strip() else None
        nul_fields = _nul_fields(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError.one("body", "invalid.json",
                                    f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInputError.one("body", "invalid.json", "body is nested too deeply") from exc
    if nul_fields:
        # Neither database can store NUL or an unpaired surrogate, and no Keystead field needs
        # them: refuse, never 500.
        raise InvalidInputError([Problem(f, "invalid.character", "text must not contain NUL "
                                         "or unpaired UTF-16 surrogates") for f in nul_fields])
    if data is None and allow_null:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInputError.one("body", "invalid.json", "body must be a JSON object")
    data = {key: value for key, value in data.items() if key not in ignore}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError([
            Problem(_field_path(error["loc"]),
                    str(error["type"]).replace("_", "."), error["msg"])
            for error in exc.errors()]) from exc


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800" from a JSON escape
        return True
    return False


def _nul_fields(value: object, path: str = "") -> list[str]:
    """The fields of a parsed JSON body whose text no database can store (NUL, surrogates)."""
    if isinstance(value, str):
        return [path or "body"] if _unstorable(value) else []
    if isinstance(value, dict):
        return [found for key, item in value.items()
                for found in _nul_fields(item, f"{path}.{key}".lstrip("."))] + (
            [path or "body"] if any(_unstorable(key) for key in value) else [])
    if isinstance(value, list):
        return [found for index, item in enumerate(value)
                for found in _nul_fields(item, f"{path}[{index}]")]
    return []


def _field_path(loc: tuple[int | str, ...]) -> str:
    """``roleDivisions[0].roleId``: the same spelling the domain rules use for a field."""
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return path.lstrip(".") or "body"


def _encodable(value: str | None) -> str | None:
    """Refuse a lone surrogate (JSON allows ``\\ud800``): neither database, nor argon2, can
    encode it, so it would otherwise end as a 500."""
    if value is not None:
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode (it holds a lone surrogate)") from exc
    return value


class UserCreate(BaseModel):
    """``CreateUser``: name, e-mail and an optional password; other fields are refused.

    Nothing is stripped here: the use case trims the name and e-mail, and a password is kept
    exactly as typed.
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    email: str
    password: str | None = None
    externalId: str | None = None  # noqa: N815 - Keystead extension (not used by SAML)

    refuse_surrogates = field_validator("name", "email", "password")(_encodable)


class UserUpdate(BaseModel):
    """``UpdateUser`` as a partial change: an absent (or null) field keeps its value.

    ``password`` is Keystead's extension. ``version`` is accepted because the SDK always sends
    it; Keystead keeps no edit counter, so it is not compared.
    """

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    email: str | None = None
    state: UserState | None = None
    password: str | None = None
    externalId: str | None = None  # noqa: N815 - "" clears it
    # Needed when users change their own password or e-mail (a user's token alone is not enough).
    currentPassword: str | None = None  # noqa: N815
    version: int | None = Field(default=None, ge=1)

    refuse_surrogates = field_validator("name", "email", "password")(_encodable)
