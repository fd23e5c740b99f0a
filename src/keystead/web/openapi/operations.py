"""Every /api/v2 operation, declared once: path, method, tag, scope, permission, body, response.

The OpenAPI document (``document.py``) and the console's API Explorer are built from this table,
and ``tests/web/test_openapi.py`` fails when a /api/v2 route has no entry here (or an entry no
route), so the description cannot drift from the routes. ``scope`` is the narrowest scope that
passes (a ``:readonly`` scope's full form passes too); ``permission`` is what the use case
checks (``None``: none beyond the scope).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from keystead.web.api.governance.deletion_requests import RejectRequest
from keystead.web.api.governance.findings import ArchiveRequest, EvaluateRequest
from keystead.web.api.governance.policy import PolicyRequest
from keystead.web.api.governance.reviews import CampaignRequest, DecisionRequest
from keystead.web.api.governance.webhooks import WebhookCreate
from keystead.web.api.identity_links import IdentityLinkRequest
from keystead.web.api.identity_providers import GenericSamlRequest
from keystead.web.api.secret_delivery import DestinationRequest
from keystead.web.openapi.responses import (
    AuthorizationSubject,
    ClientListing,
    EntityList,
    Listing,
    OAuthClient,
    UsageExecution,
    UserAuthorization,
)
from keystead.web.schemas import (
    AuditQueryRequest,
    ClientRequest,
    DeactivationRequest,
    DivisionRequest,
    RoleRequest,
    ScopeRequest,
    SecretRequest,
    UsageQueryRequest,
    UserCreate,
    UserUpdate,
)

PAGED = ("pageNumber", "pageSize")


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    tag: str
    summary: str
    scope: str | None  # None: any valid token for the management API
    permission: str | None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None  # None: a JSON object (or no body for 202/204)
    status: int = 200
    query: tuple[str, ...] = ()
    # False: the operation is about a token itself (or a token's user), so only a bearer token
    # reaches it, never the console session the API Explorer sends.
    session: bool = True

    @property
    def operation_id(self) -> str:
        words = self.summary.replace("'", "").replace("-", " ").split()
        return words[0].lower() + "".join(w.capitalize() for w in words[1:])


def _op(method: str, path: str, tag: str, summary: str, scope: str | None,
        permission: str | None, **more: object) -> Operation:
    return Operation(method, path, tag, summary, scope, permission, **more)  # type: ignore[arg-type]


C = "/api/v2/oauth/clients"
A = "/api/v2/authorization"
G = "/api/v2/governance"
IDP = "/api/v2/identityproviders"
GRANT = A + "/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}"

OPERATIONS: tuple[Operation, ...] = (
    # OAuth clients
    _op("GET", C, "OAuth", "List OAuth clients", "oauth:readonly", "oauth:client:view",
        response=ClientListing,
        query=(*PAGED, "name", "state", "grantType", "owner", "tag", "environment")),
    _op("POST", C, "OAuth", "Create an OAuth client", "oauth", "oauth:client:add",
        body=ClientRequest, response=OAuthClient),
    _op("GET", C + "/{id}", "OAuth", "Get an OAuth client", "oauth:readonly",
        "oauth:client:view", response=OAuthClient),
    _op("PUT", C + "/{id}", "OAuth", "Replace an OAuth client", "oauth", "oauth:client:edit",
        body=ClientRequest, response=OAuthClient),
    _op("DELETE", C + "/{id}", "OAuth", "Delete an OAuth client", "oauth", "oauth:client:delete",
        status=204),
    _op("POST", C + "/{id}/secret", "OAuth", "Regenerate a client secret", "oauth",
        "oauth:client:edit", body=SecretRequest, response=OAuthClient),
    _op("POST", C + "/{id}/secret/expire-previous", "OAuth", "Expire the previous secret",
        "oauth", "oauth:client:edit", response=OAuthClient),
    _op("GET", C + "/{id}/secret/destination", "OAuth", "Get a secret destination",
        "oauth:readonly", "oauth:client:view"),
    _op("PUT", C + "/{id}/secret/destination", "OAuth", "Set a secret destination", "oauth",
        "oauth:client:edit", body=DestinationRequest),
    _op("DELETE", C + "/{id}/secret/destination", "OAuth", "Remove a secret destination",
        "oauth", "oauth:client:edit", status=204),
    _op("GET", C + "/{id}/usage/summary", "OAuth", "Start a usage summary", "oauth:readonly",
        "oauth:client:view", response=UsageExecution, query=("days",)),
    _op("POST", C + "/{id}/usage/query", "OAuth", "Start a usage query", "oauth:readonly",
        "oauth:client:view", body=UsageQueryRequest, response=UsageExecution, status=202),
    _op("GET", C + "/{id}/usage/query/results/{execution}", "OAuth", "Get usage query results",
        "oauth:readonly", "oauth:client:view"),
    _op("GET", "/api/v2/oauth/scopes", "OAuth", "List scopes", "oauth:readonly",
        "oauth:scope:view", response=EntityList),
    _op("POST", "/api/v2/oauth/scopes", "OAuth", "Create a scope", "oauth", "oauth:scope:add",
        body=ScopeRequest),
    _op("GET", "/api/v2/oauth/scopes/{id}", "OAuth", "Get a scope", "oauth:readonly",
        "oauth:scope:view"),
    _op("PUT", "/api/v2/oauth/scopes/{id}", "OAuth", "Replace a scope", "oauth",
        "oauth:scope:edit", body=ScopeRequest),
    _op("DELETE", "/api/v2/oauth/scopes/{id}", "OAuth", "Delete a scope", "oauth",
        "oauth:scope:delete", status=204),
    _op("GET", "/api/v2/oauth/authorizations", "OAuth", "List my authorized apps", None, None,
        response=Listing, query=PAGED, session=False),
    _op("GET", "/api/v2/oauth/authorizations/{clientId}", "OAuth", "Get my authorized app",
        None, None, session=False),
    _op("DELETE", "/api/v2/oauth/authorizations/{clientId}", "OAuth",
        "Withdraw my authorized app", None, None, status=204, session=False),
    # Authorization
    _op("GET", A + "/divisions", "Authorization", "List divisions", "authorization:readonly",
        "authorization:division:view", response=Listing, query=PAGED),
    _op("POST", A + "/divisions", "Authorization", "Create a division", "authorization",
        "authorization:division:add", body=DivisionRequest),
    _op("GET", A + "/divisions/home", "Authorization", "Get the home division",
        "authorization:readonly", "authorization:division:view"),
    _op("GET", A + "/divisions/{id}", "Authorization", "Get a division",
        "authorization:readonly", "authorization:division:view"),
    _op("PUT", A + "/divisions/{id}", "Authorization", "Replace a division", "authorization",
        "authorization:division:edit", body=DivisionRequest),
    _op("DELETE", A + "/divisions/{id}", "Authorization", "Delete a division", "authorization",
        "authorization:division:delete", status=204),
    _op("GET", A + "/roles", "Authorization", "List roles", "authorization:readonly",
        "authorization:role:view", response=Listing, query=PAGED),
    _op("POST", A + "/roles", "Authorization", "Create a role", "authorization",
        "authorization:role:add", body=RoleRequest),
    _op("GET", A + "/roles/{id}", "Authorization", "Get a role", "authorization:readonly",
        "authorization:role:view"),
    _op("PUT", A + "/roles/{id}", "Authorization", "Replace a role", "authorization",
        "authorization:role:edit", body=RoleRequest),
    _op("DELETE", A + "/roles/{id}", "Authorization", "Delete a role", "authorization",
        "authorization:role:delete", status=204),
    _op("GET", A + "/permissions", "Authorization", "List permissions",
        "authorization:readonly", None),
    _op("GET", A + "/subjects/me", "Authorization", "Get my grants", "authorization:readonly",
        None, response=AuthorizationSubject),
    _op("GET", A + "/subjects/{subjectId}", "Authorization", "Get a user's grants",
        "authorization:readonly", "authorization:grant:view", response=AuthorizationSubject),
    _op("POST", GRANT, "Authorization", "Grant a role", "authorization",
        "authorization:grant:add", status=204),
    _op("DELETE", GRANT, "Authorization", "Take back a role", "authorization",
        "authorization:grant:delete", status=204),
    _op("POST", "/api/v2/audits/query/realtime", "Audit", "Query the audit log",
        "audits:readonly", "audits:audit:view", body=AuditQueryRequest),
    _op("GET", "/api/v2/tokens/me", "Tokens", "Inspect my token", None, None, session=False),
    _op("DELETE", "/api/v2/tokens/me", "Tokens", "Revoke my token", None, None, status=204,
        session=False),
    # Users
    _op("GET", "/api/v2/users", "Users", "List users", "users:readonly", "directory:user:view",
        response=Listing, query=PAGED),
    _op("POST", "/api/v2/users", "Users", "Create a user", "users", "directory:user:add",
        body=UserCreate),
    _op("GET", "/api/v2/users/me", "Users", "Get me", "users:readonly", None),
    _op("GET", "/api/v2/users/{id}", "Users", "Get a user", "users:readonly",
        "directory:user:view"),
    _op("PATCH", "/api/v2/users/{id}", "Users", "Update a user", "users", "directory:user:edit",
        body=UserUpdate),
    _op("DELETE", "/api/v2/users/{id}", "Users", "Delete a user", "users",
        "directory:user:delete", status=204),
    _op("POST", "/api/v2/users/{id}/mfa/reset", "Users", "Reset a user's two-step verification",
        "users", "directory:user:edit"),
    _op("GET", "/api/v2/users/{subjectId}/roles", "Users", "Get a user's roles",
        "authorization:readonly", "authorization:grant:view", response=UserAuthorization),
    _op("GET", "/api/v2/users/{user_id}/identityproviders", "Users",
        "List a user's identity providers", "users:readonly", "directory:user:view"),
    _op("PUT", "/api/v2/users/{user_id}/identityproviders/{provider_id}", "Users",
        "Link an identity provider", "users", "directory:user:edit", body=IdentityLinkRequest),
    _op("DELETE", "/api/v2/users/{user_id}/identityproviders/{provider_id}", "Users",
        "Unlink an identity provider", "users", "directory:user:edit", status=204),
    # Identity providers
    _op("GET", IDP, "Identity providers", "List identity providers",
        "identity-providers:readonly", "sso:provider:view"),
    _op("GET", IDP + "/generic", "Identity providers", "Get the generic provider",
        "identity-providers:readonly", "sso:provider:view"),
    _op("PUT", IDP + "/generic", "Identity providers", "Replace the generic provider",
        "identity-providers", "sso:provider:edit", body=GenericSamlRequest),
    _op("DELETE", IDP + "/generic", "Identity providers", "Delete the generic provider",
        "identity-providers", "sso:provider:delete", status=204),
    _op("POST", IDP + "/generic", "Identity providers", "Add an identity provider",
        "identity-providers", "sso:provider:add", body=GenericSamlRequest),
    _op("GET", IDP + "/generic/{id}", "Identity providers", "Get an identity provider",
        "identity-providers:readonly", "sso:provider:view"),
    _op("PUT", IDP + "/generic/{id}", "Identity providers", "Replace an identity provider",
        "identity-providers", "sso:provider:edit", body=GenericSamlRequest),
    _op("DELETE", IDP + "/generic/{id}", "Identity providers", "Delete an identity provider",
        "identity-providers", "sso:provider:delete", status=204),
    # Governance
    _op("GET", G + "/policy", "Governance", "Get the policy", "governance:readonly",
        "governance:policy:view"),
    _op("PUT", G + "/policy", "Governance", "Replace the policy", "governance",
        "governance:policy:edit", body=PolicyRequest),
    _op("GET", G + "/deactivations", "Governance", "List planned deactivations",
        "governance:readonly", "oauth:client:view", response=EntityList),
    _op("POST", G + "/deactivations", "Governance", "Plan a deactivation", "governance",
        "oauth:client:edit", body=DeactivationRequest, status=201),
    _op("GET", G + "/deactivations/{id}", "Governance", "Get a planned deactivation",
        "governance:readonly", "oauth:client:view"),
    _op("PUT", G + "/deactivations/{id}", "Governance", "Replace a planned deactivation",
        "governance", "oauth:client:edit", body=DeactivationRequest),
    _op("DELETE", G + "/deactivations/{id}", "Governance", "Cancel a planned deactivation",
        "governance", "oauth:client:edit", status=204),
    _op("GET", G + "/notices", "Governance", "List my notices", "governance:readonly", None,
        response=Listing, query=PAGED),
    _op("POST", G + "/notices/{id}/read", "Governance", "Mark a notice read", "governance",
        None),
    _op("GET", G + "/deletion-requests", "Governance", "List deletion requests",
        "governance:readonly", "oauth:client:view", response=Listing, query=PAGED),
    _op("GET", G + "/deletion-requests/{id}", "Governance", "Get a deletion request",
        "governance:readonly", "oauth:client:view"),
    _op("POST", G + "/deletion-requests/{id}/approve", "Governance",
        "Approve a deletion request", "governance", "oauth:client:delete"),
    _op("POST", G + "/deletion-requests/{id}/reject", "Governance", "Reject a deletion request",
        "governance", "oauth:client:delete", body=RejectRequest),
    _op("GET", G + "/reviews", "Governance", "List access reviews", "governance:readonly",
        "governance:review:view", response=Listing, query=PAGED),
    _op("POST", G + "/reviews", "Governance", "Start an access review", "governance",
        "governance:review:add", body=CampaignRequest),
    _op("GET", G + "/reviews/assigned", "Governance", "List my review items",
        "governance:readonly", None),
    _op("GET", G + "/reviews/{id}", "Governance", "Get an access review",
        "governance:readonly", "governance:review:view"),
    _op("POST", G + "/reviews/{id}/close", "Governance", "Close an access review",
        "governance", "governance:review:edit"),
    _op("GET", G + "/reviews/{id}/report", "Governance", "Get an access review report",
        "governance:readonly", "governance:review:view"),
    _op("POST", G + "/reviews/{id}/items/{item}/decision", "Governance", "Decide a review item",
        "governance", None, body=DecisionRequest),
    _op("GET", G + "/findings", "Governance", "List findings", "governance:readonly",
        "governance:finding:view", response=Listing, query=PAGED),
    _op("POST", G + "/findings/evaluate", "Governance", "Evaluate findings", "governance",
        "governance:finding:edit", body=EvaluateRequest),
    _op("GET", G + "/findings/{id}", "Governance", "Get a finding", "governance:readonly",
        "governance:finding:view"),
    _op("POST", G + "/findings/{id}/archive", "Governance", "Archive a finding", "governance",
        "governance:finding:edit", body=ArchiveRequest),
    _op("POST", G + "/findings/{id}/unarchive", "Governance", "Unarchive a finding",
        "governance", "governance:finding:edit"),
    _op("POST", G + "/findings/{id}/remedy", "Governance", "Apply a finding's remedy",
        "governance", "governance:finding:edit"),
    _op("GET", G + "/webhooks", "Webhooks", "List webhook endpoints", "governance:readonly",
        "governance:webhook:view", response=Listing, query=PAGED),
    _op("POST", G + "/webhooks", "Webhooks", "Create a webhook endpoint", "governance",
        "governance:webhook:add", body=WebhookCreate, status=201),
    _op("GET", G + "/webhooks/eventtypes", "Webhooks", "List webhook event types",
        "governance:readonly", None),
    _op("GET", G + "/webhooks/{id}", "Webhooks", "Get a webhook endpoint",
        "governance:readonly", "governance:webhook:view"),
    _op("DELETE", G + "/webhooks/{id}", "Webhooks", "Delete a webhook endpoint", "governance",
        "governance:webhook:delete", status=204),
    _op("POST", G + "/webhooks/{id}/enable", "Webhooks", "Enable a webhook endpoint",
        "governance", "governance:webhook:edit"),
    _op("POST", G + "/webhooks/{id}/recover", "Webhooks", "Recover a webhook endpoint's events",
        "governance", "governance:webhook:edit", status=202),
    _op("GET", G + "/webhooks/{id}/deliveries", "Webhooks", "List webhook deliveries",
        "governance:readonly", "governance:webhook:view", response=Listing, query=PAGED),
    _op("POST", G + "/webhooks/{id}/deliveries/{delivery_id}/redeliver", "Webhooks",
        "Redeliver a webhook event", "governance", "governance:webhook:edit", status=202),
    # ?format=csv answers text/csv; the document describes the JSON form.
    _op("GET", G + "/compliance", "Governance", "Get the compliance report",
        "governance:readonly", "governance:compliance:view"),
)
