"""Response shapes of the main entities, for the OpenAPI document only.

The presenters (``web/presenters.py``) build the bodies; these models describe them, and the
schemathesis test checks every response against them, so a presenter that drifts fails there.
Fields a presenter leaves out when empty are optional here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Open):
    errorCode: str  # noqa: N815
    fieldName: str  # noqa: N815


class ErrorBody(_Open):
    """The Genesys ``ErrorBody`` every /api/v2 error answers."""

    message: str
    code: str
    status: int
    messageWithParams: str  # noqa: N815
    messageParams: dict[str, str]  # noqa: N815
    contextId: str  # noqa: N815
    details: list[ErrorDetail]
    errors: list[dict[str, object]]


class Ref(_Open):
    id: str
    name: str | None = None
    selfUri: str | None = None  # noqa: N815


class RoleDivisionOut(_Open):
    roleId: str  # noqa: N815
    divisionId: str  # noqa: N815


class SecretMetadata(_Open):
    id: str
    dateCreated: str  # noqa: N815
    dateExpires: str | None = None  # noqa: N815
    dateLastUsed: str | None = None  # noqa: N815
    current: bool


class OAuthClient(_Open):
    """The Genesys ``OAuthClient`` and Keystead's extensions; ``secret`` only when just issued."""

    id: str
    name: str
    description: str | None = None
    accessTokenValiditySeconds: int  # noqa: N815
    registeredRedirectUri: list[str]  # noqa: N815
    roleIds: list[str]  # noqa: N815
    authorizedGrantType: str | None = None  # noqa: N815
    authorizedGrantTypes: list[str]  # noqa: N815
    scope: list[str]
    roleDivisions: list[RoleDivisionOut]  # noqa: N815
    state: str
    dateToDelete: str | None = None  # noqa: N815
    dateCreated: str  # noqa: N815
    dateModified: str | None = None  # noqa: N815
    createdBy: Ref | None = None  # noqa: N815
    modifiedBy: Ref | None = None  # noqa: N815
    owner: Ref | None = None
    ownerContact: str | None = None  # noqa: N815
    orphaned: bool | None = None
    tags: list[str]
    environment: str | None = None
    requirePkce: bool  # noqa: N815
    clientType: str  # noqa: N815
    tokenEndpointAuthMethod: str  # noqa: N815
    tokenFormat: str  # noqa: N815
    dateLastUsed: str | None = None  # noqa: N815
    secrets: list[SecretMetadata]
    secret: str | None = None
    selfUri: str  # noqa: N815


class Listing(_Open):
    """A Genesys entity listing: a page of ``entities`` and the paging fields."""

    entities: list[dict[str, object]]
    pageSize: int  # noqa: N815
    pageNumber: int  # noqa: N815
    total: int
    pageCount: int  # noqa: N815
    firstUri: str  # noqa: N815
    selfUri: str  # noqa: N815
    lastUri: str  # noqa: N815
    nextUri: str | None = None  # noqa: N815
    previousUri: str | None = None  # noqa: N815


class EntityList(_Open):
    """A whole list at once (no paging): ``entities`` and their ``total``."""

    entities: list[dict[str, object]]
    total: int


class ClientListing(Listing):
    entities: list[OAuthClient]  # type: ignore[assignment]


class UsageExecution(_Open):
    """``UsageExecutionResult``: poll ``resultsUri`` for the counts."""

    executionId: str  # noqa: N815
    resultsUri: str  # noqa: N815


class Grant(_Open):
    subjectId: str  # noqa: N815
    division: Ref
    role: Ref


class AuthorizationSubject(_Open):
    """``AuthzSubject``: a subject and each role it holds, by division."""

    id: str
    name: str
    grants: list[Grant]
    version: int
    selfUri: str  # noqa: N815


class UserAuthorization(_Open):
    """``UserAuthorization``: the roles a user holds and the permissions they give."""

    roles: list[Ref]
    unusedRoles: list[Ref]  # noqa: N815
    permissions: list[str]
    permissionPolicies: list[dict[str, object]]  # noqa: N815
