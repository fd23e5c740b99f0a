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

from keystead.domain.permissions import Permission
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


@dataclass(frozen=True, slots=True)
class _Permissions:
    view: str
    add: str
    edit: str
    delete: str


def _crud(path: str, tag: str, *, many: str, one: str, scope: str, permissions: _Permissions,
          body: type[BaseModel], entity: type[BaseModel] | None = None,
          listing: type[BaseModel] = Listing, query: tuple[str, ...] = PAGED,
          ) -> tuple[Operation, ...]:
    """A collection's list and create, and its members' get, replace and delete (``/{id}``):
    reads need ``scope``'s readonly form and ``view``, changes ``scope`` and their own."""
    read, p = f"{scope}:readonly", permissions
    return (
        _op("GET", path, tag, f"List {many}", read, p.view, response=listing, query=query),
        _op("POST", path, tag, f"Create {one}", scope, p.add, body=body, response=entity),
        _op("GET", path + "/{id}", tag, f"Get {one}", read, p.view, response=entity),
        _op("PUT", path + "/{id}", tag, f"Replace {one}", scope, p.edit, body=body,
            response=entity),
        _op("DELETE", path + "/{id}", tag, f"Delete {one}", scope, p.delete, status=204),
    )


P = Permission  # short, for the table below
C = "/api/v2/oauth/clients"
A = "/api/v2/authorization"
G = "/api/v2/governance"
IDP = "/api/v2/identityproviders"
GRANT = A + "/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}"

OPERATIONS: tuple[Operation, ...] = (
    # OAuth clients
    *_crud(C, "OAuth", many="OAuth clients", one="an OAuth client", scope="oauth",
           permissions=_Permissions(P.OAUTH_CLIENT_VIEW, P.OAUTH_CLIENT_ADD,
                                    P.OAUTH_CLIENT_EDIT, P.OAUTH_CLIENT_DELETE),
           body=ClientRequest, entity=OAuthClient, listing=ClientListing,
           query=(*PAGED, "name", "state", "grantType", "owner", "tag", "environment")),
    _op("POST", C + "/{id}/secret", "OAuth", "Regenerate a client secret", "oauth",
        P.OAUTH_CLIENT_EDIT, body=SecretRequest, response=OAuthClient),
    _op("POST", C + "/{id}/secret/expire-previous", "OAuth", "Expire the previous secret",
        "oauth", P.OAUTH_CLIENT_EDIT, response=OAuthClient),
    _op("GET", C + "/{id}/secret/destination", "OAuth", "Get a secret destination",
        "oauth:readonly", P.OAUTH_CLIENT_VIEW),
    _op("PUT", C + "/{id}/secret/destination", "OAuth", "Set a secret destination", "oauth",
        P.OAUTH_CLIENT_EDIT, body=DestinationRequest),
    _op("DELETE", C + "/{id}/secret/destination", "OAuth", "Remove a secret destination",
        "oauth", P.OAUTH_CLIENT_EDIT, status=204),
    _op("GET", C + "/{id}/usage/summary", "OAuth", "Start a usage summary", "oauth:readonly",
        P.OAUTH_CLIENT_VIEW, response=UsageExecution, query=("days",)),
    _op("POST", C + "/{id}/usage/query", "OAuth", "Start a usage query", "oauth:readonly",
        P.OAUTH_CLIENT_VIEW, body=UsageQueryRequest, response=UsageExecution, status=202),
    _op("GET", C + "/{id}/usage/query/results/{execution}", "OAuth", "Get usage query results",
        "oauth:readonly", P.OAUTH_CLIENT_VIEW),
    *_crud("/api/v2/oauth/scopes", "OAuth", many="scopes", one="a scope", scope="oauth",
           permissions=_Permissions(P.OAUTH_SCOPE_VIEW, P.OAUTH_SCOPE_ADD, P.OAUTH_SCOPE_EDIT,
                                    P.OAUTH_SCOPE_DELETE),
           body=ScopeRequest, listing=EntityList, query=()),
    _op("GET", "/api/v2/oauth/authorizations", "OAuth", "List my authorized apps", None, None,
        response=Listing, query=PAGED, session=False),
    _op("GET", "/api/v2/oauth/authorizations/{clientId}", "OAuth", "Get my authorized app",
        None, None, session=False),
    _op("DELETE", "/api/v2/oauth/authorizations/{clientId}", "OAuth",
        "Withdraw my authorized app", None, None, status=204, session=False),
    # Authorization
    _op("GET", A + "/divisions", "Authorization", "List divisions", "authorization:readonly",
        P.AUTHORIZATION_DIVISION_VIEW, response=Listing, query=PAGED),
    _op("POST", A + "/divisions", "Authorization", "Create a division", "authorization",
        P.AUTHORIZATION_DIVISION_ADD, body=DivisionRequest),
    _op("GET", A + "/divisions/home", "Authorization", "Get the home division",
        "authorization:readonly", P.AUTHORIZATION_DIVISION_VIEW),
    _op("GET", A + "/divisions/{id}", "Authorization", "Get a division",
        "authorization:readonly", P.AUTHORIZATION_DIVISION_VIEW),
    _op("PUT", A + "/divisions/{id}", "Authorization", "Replace a division", "authorization",
        P.AUTHORIZATION_DIVISION_EDIT, body=DivisionRequest),
    _op("DELETE", A + "/divisions/{id}", "Authorization", "Delete a division", "authorization",
        P.AUTHORIZATION_DIVISION_DELETE, status=204),
    *_crud(A + "/roles", "Authorization", many="roles", one="a role", scope="authorization",
           permissions=_Permissions(P.AUTHORIZATION_ROLE_VIEW, P.AUTHORIZATION_ROLE_ADD,
                                    P.AUTHORIZATION_ROLE_EDIT, P.AUTHORIZATION_ROLE_DELETE),
           body=RoleRequest),
    _op("GET", A + "/permissions", "Authorization", "List permissions",
        "authorization:readonly", None),
    _op("GET", A + "/subjects/me", "Authorization", "Get my grants", "authorization:readonly",
        None, response=AuthorizationSubject),
    _op("GET", A + "/subjects/{subjectId}", "Authorization", "Get a user's grants",
        "authorization:readonly", P.AUTHORIZATION_GRANT_VIEW, response=AuthorizationSubject),
    _op("POST", GRANT, "Authorization", "Grant a role", "authorization",
        P.AUTHORIZATION_GRANT_ADD, status=204),
    _op("DELETE", GRANT, "Authorization", "Take back a role", "authorization",
        P.AUTHORIZATION_GRANT_DELETE, status=204),
    _op("POST", "/api/v2/audits/query/realtime", "Audit", "Query the audit log",
        "audits:readonly", P.AUDITS_AUDIT_VIEW, body=AuditQueryRequest),
    _op("GET", "/api/v2/tokens/me", "Tokens", "Inspect my token", None, None, session=False),
    _op("DELETE", "/api/v2/tokens/me", "Tokens", "Revoke my token", None, None, status=204,
        session=False),
    # Users
    _op("GET", "/api/v2/users", "Users", "List users", "users:readonly", P.DIRECTORY_USER_VIEW,
        response=Listing, query=PAGED),
    _op("POST", "/api/v2/users", "Users", "Create a user", "users", P.DIRECTORY_USER_ADD,
        body=UserCreate),
    _op("GET", "/api/v2/users/me", "Users", "Get me", "users:readonly", None),
    _op("GET", "/api/v2/users/{id}", "Users", "Get a user", "users:readonly",
        P.DIRECTORY_USER_VIEW),
    _op("PATCH", "/api/v2/users/{id}", "Users", "Update a user", "users", P.DIRECTORY_USER_EDIT,
        body=UserUpdate),
    _op("DELETE", "/api/v2/users/{id}", "Users", "Delete a user", "users",
        P.DIRECTORY_USER_DELETE, status=204),
    _op("GET", "/api/v2/users/{userId}/export", "Users", "Export a user's data", "users:readonly",
        P.DIRECTORY_USER_EXPORT),
    _op("POST", "/api/v2/users/{userId}/erase", "Users", "Erase a user's data", "users",
        P.DIRECTORY_USER_ERASE),
    _op("POST", "/api/v2/users/{id}/mfa/reset", "Users", "Reset a user's two-step verification",
        "users", P.DIRECTORY_USER_EDIT),
    _op("GET", "/api/v2/users/{subjectId}/roles", "Users", "Get a user's roles",
        "authorization:readonly", P.AUTHORIZATION_GRANT_VIEW, response=UserAuthorization),
    _op("GET", "/api/v2/users/{user_id}/identityproviders", "Users",
        "List a user's identity providers", "users:readonly", P.DIRECTORY_USER_VIEW),
    _op("PUT", "/api/v2/users/{user_id}/identityproviders/{provider_id}", "Users",
        "Link an identity provider", "users", P.DIRECTORY_USER_EDIT, body=IdentityLinkRequest),
    _op("DELETE", "/api/v2/users/{user_id}/identityproviders/{provider_id}", "Users",
        "Unlink an identity provider", "users", P.DIRECTORY_USER_EDIT, status=204),
    # Identity providers
    _op("GET", IDP, "Identity providers", "List identity providers",
        "identity-providers:readonly", P.SSO_PROVIDER_VIEW),
    _op("GET", IDP + "/generic", "Identity providers", "Get the generic provider",
        "identity-providers:readonly", P.SSO_PROVIDER_VIEW),
    _op("PUT", IDP + "/generic", "Identity providers", "Replace the generic provider",
        "identity-providers", P.SSO_PROVIDER_EDIT, body=GenericSamlRequest),
    _op("DELETE", IDP + "/generic", "Identity providers", "Delete the generic provider",
        "identity-providers", P.SSO_PROVIDER_DELETE, status=204),
    _op("POST", IDP + "/generic", "Identity providers", "Add an identity provider",
        "identity-providers", P.SSO_PROVIDER_ADD, body=GenericSamlRequest),
    _op("GET", IDP + "/generic/{id}", "Identity providers", "Get an identity provider",
        "identity-providers:readonly", P.SSO_PROVIDER_VIEW),
    _op("PUT", IDP + "/generic/{id}", "Identity providers", "Replace an identity provider",
        "identity-providers", P.SSO_PROVIDER_EDIT, body=GenericSamlRequest),
    _op("DELETE", IDP + "/generic/{id}", "Identity providers", "Delete an identity provider",
        "identity-providers", P.SSO_PROVIDER_DELETE, status=204),
    # Governance
    _op("GET", G + "/policy", "Governance", "Get the policy", "governance:readonly",
        P.GOVERNANCE_POLICY_VIEW),
    _op("PUT", G + "/policy", "Governance", "Replace the policy", "governance",
        P.GOVERNANCE_POLICY_EDIT, body=PolicyRequest),
    _op("GET", G + "/deactivations", "Governance", "List planned deactivations",
        "governance:readonly", P.OAUTH_CLIENT_VIEW, response=EntityList),
    _op("POST", G + "/deactivations", "Governance", "Plan a deactivation", "governance",
        P.OAUTH_CLIENT_EDIT, body=DeactivationRequest, status=201),
    _op("GET", G + "/deactivations/{id}", "Governance", "Get a planned deactivation",
        "governance:readonly", P.OAUTH_CLIENT_VIEW),
    _op("PUT", G + "/deactivations/{id}", "Governance", "Replace a planned deactivation",
        "governance", P.OAUTH_CLIENT_EDIT, body=DeactivationRequest),
    _op("DELETE", G + "/deactivations/{id}", "Governance", "Cancel a planned deactivation",
        "governance", P.OAUTH_CLIENT_EDIT, status=204),
    _op("GET", G + "/notices", "Governance", "List my notices", "governance:readonly", None,
        response=Listing, query=PAGED),
    _op("POST", G + "/notices/{id}/read", "Governance", "Mark a notice read", "governance",
        None),
    _op("GET", G + "/deletion-requests", "Governance", "List deletion requests",
        "governance:readonly", P.OAUTH_CLIENT_VIEW, response=Listing, query=PAGED),
    _op("GET", G + "/deletion-requests/{id}", "Governance", "Get a deletion request",
        "governance:readonly", P.OAUTH_CLIENT_VIEW),
    _op("POST", G + "/deletion-requests/{id}/approve", "Governance",
        "Approve a deletion request", "governance", P.OAUTH_CLIENT_DELETE),
    _op("POST", G + "/deletion-requests/{id}/reject", "Governance", "Reject a deletion request",
        "governance", P.OAUTH_CLIENT_DELETE, body=RejectRequest),
    _op("GET", G + "/reviews", "Governance", "List access reviews", "governance:readonly",
        P.GOVERNANCE_REVIEW_VIEW, response=Listing, query=PAGED),
    _op("POST", G + "/reviews", "Governance", "Start an access review", "governance",
        P.GOVERNANCE_REVIEW_ADD, body=CampaignRequest),
    _op("GET", G + "/reviews/assigned", "Governance", "List my review items",
        "governance:readonly", None),
    _op("GET", G + "/reviews/{id}", "Governance", "Get an access review",
        "governance:readonly", P.GOVERNANCE_REVIEW_VIEW),
    _op("POST", G + "/reviews/{id}/close", "Governance", "Close an access review",
        "governance", P.GOVERNANCE_REVIEW_EDIT),
    _op("GET", G + "/reviews/{id}/report", "Governance", "Get an access review report",
        "governance:readonly", P.GOVERNANCE_REVIEW_VIEW),
    _op("POST", G + "/reviews/{id}/items/{item}/decision", "Governance", "Decide a review item",
        "governance", None, body=DecisionRequest),
    _op("GET", G + "/findings", "Governance", "List findings", "governance:readonly",
        P.GOVERNANCE_FINDING_VIEW, response=Listing, query=PAGED),
    _op("POST", G + "/findings/evaluate", "Governance", "Evaluate findings", "governance",
        P.GOVERNANCE_FINDING_EDIT, body=EvaluateRequest),
    _op("GET", G + "/findings/{id}", "Governance", "Get a finding", "governance:readonly",
        P.GOVERNANCE_FINDING_VIEW),
    _op("POST", G + "/findings/{id}/archive", "Governance", "Archive a finding", "governance",
        P.GOVERNANCE_FINDING_EDIT, body=ArchiveRequest),
    _op("POST", G + "/findings/{id}/unarchive", "Governance", "Unarchive a finding",
        "governance", P.GOVERNANCE_FINDING_EDIT),
    _op("POST", G + "/findings/{id}/remedy", "Governance", "Apply a finding's remedy",
        "governance", P.GOVERNANCE_FINDING_EDIT),
    _op("GET", G + "/alerts", "Governance", "List alerts", "governance:readonly",
        P.GOVERNANCE_ALERT_VIEW, response=Listing, query=PAGED),
    _op("POST", G + "/alerts/evaluate", "Governance", "Evaluate alerts", "governance",
        P.GOVERNANCE_ALERT_EDIT),
    _op("GET", G + "/alerts/{id}", "Governance", "Get an alert", "governance:readonly",
        P.GOVERNANCE_ALERT_VIEW),
    _op("POST", G + "/alerts/{id}/acknowledge", "Governance", "Acknowledge an alert",
        "governance", P.GOVERNANCE_ALERT_EDIT),
    _op("POST", G + "/alerts/{id}/resolve", "Governance", "Resolve an alert", "governance",
        P.GOVERNANCE_ALERT_EDIT),
    _op("GET", G + "/webhooks", "Webhooks", "List webhook endpoints", "governance:readonly",
        P.GOVERNANCE_WEBHOOK_VIEW, response=Listing, query=PAGED),
    _op("POST", G + "/webhooks", "Webhooks", "Create a webhook endpoint", "governance",
        P.GOVERNANCE_WEBHOOK_ADD, body=WebhookCreate, status=201),
    _op("GET", G + "/webhooks/eventtypes", "Webhooks", "List webhook event types",
        "governance:readonly", None),
    _op("GET", G + "/webhooks/{id}", "Webhooks", "Get a webhook endpoint",
        "governance:readonly", P.GOVERNANCE_WEBHOOK_VIEW),
    _op("DELETE", G + "/webhooks/{id}", "Webhooks", "Delete a webhook endpoint", "governance",
        P.GOVERNANCE_WEBHOOK_DELETE, status=204),
    _op("POST", G + "/webhooks/{id}/enable", "Webhooks", "Enable a webhook endpoint",
        "governance", P.GOVERNANCE_WEBHOOK_EDIT),
    _op("POST", G + "/webhooks/{id}/recover", "Webhooks", "Recover a webhook endpoint's events",
        "governance", P.GOVERNANCE_WEBHOOK_EDIT, status=202),
    _op("GET", G + "/webhooks/{id}/deliveries", "Webhooks", "List webhook deliveries",
        "governance:readonly", P.GOVERNANCE_WEBHOOK_VIEW, response=Listing, query=PAGED),
    _op("POST", G + "/webhooks/{id}/deliveries/{delivery_id}/redeliver", "Webhooks",
        "Redeliver a webhook event", "governance", P.GOVERNANCE_WEBHOOK_EDIT, status=202),
    # ?format=csv answers text/csv; the document describes the JSON form.
    _op("GET", G + "/compliance", "Governance", "Get the compliance report",
        "governance:readonly", P.GOVERNANCE_COMPLIANCE_VIEW),
)
