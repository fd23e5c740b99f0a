"""Domain objects as Genesys-shaped JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from keystead.domain.audit_trail import StoredEvent
from keystead.domain.clients import Actor, Client, RoleDivision
from keystead.domain.governance.deactivation import Planned
from keystead.domain.governance.ownership import Owner, is_orphaned
from keystead.domain.organization import Division, Role, Scope
from keystead.domain.permissions import CATALOGUE
from keystead.domain.secret_delivery import Delivery
from keystead.domain.users import User

T = TypeVar("T")


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def listing(items: Sequence[T], present: Callable[[T], dict[str, Any]], *, total: int,
            page_number: int, page_size: int, uri: str) -> dict[str, Any]:
    """A Genesys entity listing with paging fields and URIs."""
    page_count = math.ceil(total / page_size) if page_size else 0
    page_uri = f"{uri}?pageSize={page_size}&pageNumber="
    body: dict[str, Any] = {
        "entities": [present(item) for item in items], "pageSize": page_size,
        "pageNumber": page_number, "total": total, "pageCount": page_count,
        "firstUri": f"{page_uri}1", "selfUri": f"{page_uri}{page_number}",
        "lastUri": f"{page_uri}{max(page_count, 1)}",
    }
    if page_number < page_count:
        body["nextUri"] = f"{page_uri}{page_number + 1}"
    if page_number > 1:
        body["previousUri"] = f"{page_uri}{page_number - 1}"
    return body


def actor_ref(actor: Actor) -> dict[str, Any]:
    path = {"user": "users", "client": "oauth/clients"}.get(actor.kind)
    ref: dict[str, Any] = {"id": actor.id, "name": actor.name or actor.id}
    if path:
        ref["selfUri"] = f"/api/v2/{path}/{actor.id}"
    return ref


def client_json(client: Client, *, secret: str | None = None,
                owners: Mapping[str, Owner] | None = None) -> dict[str, Any]:
    """The ``OAuthClient``; with ``owners`` (from ``ClientManagement.owners_of``) the owner's
    name and whether the client is orphaned (its owner deactivated or deleted)."""
    s = client.settings
    body: dict[str, Any] = {
        "id": client.id,
        "name": s.name,
        "description": s.description,
        "accessTokenValiditySeconds": s.token_ttl_seconds,
        "registeredRedirectUri": list(s.redirect_uris),
        "roleIds": sorted({rd.role_id for rd in s.role_divisions}),
        "authorizedGrantType": str(client.primary_grant_type) if s.grant_types else None,
        "authorizedGrantTypes": [str(g) for g in s.grant_types],
        "scope": list(s.scopes),
        "roleDivisions": [{"roleId": rd.role_id, "divisionId": rd.division_id}
                          for rd in s.role_divisions],
        "state": str(s.state),
        "dateToDelete": iso(s.date_to_delete),
        "dateCreated": iso(client.date_created),
        "dateModified": iso(client.date_modified),
        "createdBy": actor_ref(client.created_by),
        "modifiedBy": actor_ref(client.modified_by),
        "ownerContact": s.owner_contact,
        "owner": _owner_ref(s.owner_id, owners),
        "orphaned": None if owners is None else is_orphaned(client, owners),
        "tags": list(s.tags),
        "environment": None if s.environment is None else str(s.environment),
        "requirePkce": s.require_pkce,
        "clientType": str(s.client_type),
        "tokenEndpointAuthMethod": str(s.token_endpoint_auth_method),
        "tokenFormat": str(s.token_format),
        "dateLastUsed": iso(client.date_last_used),
        "secrets": [{"id": x.id, "dateCreated": iso(x.date_created),
                     "dateExpires": iso(x.date_expires), "dateLastUsed": iso(x.date_last_used),
                     "current": x.current} for x in client.secrets],
        "selfUri": f"/api/v2/oauth/clients/{client.id}",
    }
    if secret is not None:
        body["secret"] = secret
    return {key: value for key, value in body.items() if value is not None}


def _owner_ref(owner_id: str | None, owners: Mapping[str, Owner] | None
               ) -> dict[str, Any] | None:
    if owner_id is None:
        return None
    owner = (owners or {}).get(owner_id)
    ref: dict[str, Any] = {"id": owner_id, "selfUri": f"/api/v2/users/{owner_id}"}
    if owner is not None:
        ref["name"] = owner.name
    return ref


def division_json(division: Division) -> dict[str, Any]:
    return {"id": division.id, "name": division.name, "description": division.description,
            "homeDivision": division.home,
            "selfUri": f"/api/v2/authorization/divisions/{division.id}"}


def role_json(role: Role, *, user_count: int = 0) -> dict[str, Any]:
    return {
        "id": role.id, "name": role.name, "description": role.description,
        "permissions": list(role.permissions),
        "permissionPolicies": [_policy(p) for p in role.permissions],
        "default": role.builtin, "base": role.builtin, "userCount": user_count,
        "selfUri": f"/api/v2/authorization/roles/{role.id}",
    }


def _policy(permission: str) -> dict[str, Any]:
    domain, entity, action = permission.split(":")
    return {"domain": domain, "entityName": entity, "actionSet": [action],
            "allowConditions": False}


def scope_json(scope: Scope) -> dict[str, Any]:
    return {"id": scope.id, "description": scope.description, "builtin": scope.builtin,
            "resourceServer": scope.resource_server,
            "selfUri": f"/api/v2/oauth/scopes/{scope.id}"}


def permission_catalogue() -> list[dict[str, Any]]:
    return [
        {"id": domain, "domain": domain, "permissionMap": {
            entity: [{"domain": domain, "entityType": entity, "action": action,
                      "label": f"{domain}:{entity}:{action}"} for action in actions]
            for entity, actions in entities.items()}}
        for domain, entities in CATALOGUE.items()
    ]


def audit_json(stored: StoredEvent) -> dict[str, Any]:
    e = stored.event
    changes = e.details.get("propertyChanges")
    return {
        "id": stored.id,
        "user": {"id": e.actor_id, "name": e.actor_name} if e.actor_kind == "user" else None,
        "client": {"id": e.actor_id} if e.actor_kind == "client" else None,
        "remoteIp": [e.remote_ip] if e.remote_ip else [],
        "serviceName": "OAuth",
        "level": "SYSTEM" if e.actor_kind == "system" else "USER",
        "eventDate": iso(e.timestamp),
        "action": e.action,
        "entity": {"id": e.entity_id, "name": e.entity_name},
        "entityType": e.entity_type,
        "status": e.result.upper(),
        "application": "keystead",
        "propertyChanges": [
            {"property": prop, "oldValues": [_text(change.get("old"))],
             "newValues": [_text(change.get("new"))]} if isinstance(change, dict) else
            # A change recorded without values (a password: only that it changed).
            {"property": prop, "oldValues": [], "newValues": [_text(change)]}
            for prop, change in changes.items()
        ] if isinstance(changes, dict) else [],
        "context": {"actorKind": e.actor_kind, "actorId": e.actor_id,
                    "actorName": e.actor_name, "sequence": str(stored.seq),
                    "hash": stored.hash} | (
            {"requestId": e.request_id} if e.request_id else {}) | {
            key: _text(value) for key, value in e.details.items() if key != "propertyChanges"},
        # The ININ-Correlation-Id of the request that caused it ("" for the CLI, loops).
        "requestId": e.request_id,
        # The divisions the actor's roles are scoped to, as Genesys division references.
        "actorDivisions": [{"id": d, "selfUri": f"/api/v2/authorization/divisions/{d}"}
                           for d in e.actor_divisions],
    }


def _text(value: object) -> str:
    """An audit detail as the Genesys shape's string: a list of plain values space-separated, a
    nested one (an actor, a list of objects) as JSON, never as Python writes it."""
    if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict | list) for v in value)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def user_json(user: User) -> dict[str, Any]:
    """A Genesys ``User`` (the fields Keystead keeps) plus ``mfaEnrolled``; never a password.

    Keystead keeps no edit counter, so ``version`` is always 1 (the SDK's models need one).
    """
    body: dict[str, Any] = {
        "id": user.id, "name": user.name, "email": user.email, "state": str(user.state),
        "dateLastLogin": iso(user.date_last_login), "version": 1,
        "mfaEnrolled": user.mfa_enrolled, "externalId": user.external_id,
        "selfUri": f"/api/v2/users/{user.id}",
    }
    return {key: value for key, value in body.items() if value is not None}


def subject_json(subject_id: str, name: str, grants: Sequence[RoleDivision], *,
                 role_names: dict[str, str], division_names: dict[str, str]) -> dict[str, Any]:
    """A Genesys ``AuthzSubject``: the user (or client) and each role it holds, by division."""
    return {
        "id": subject_id, "name": name,
        "grants": [{
            "subjectId": subject_id,
            "division": {"id": g.division_id, "name": division_names.get(g.division_id, ""),
                         "selfUri": f"/api/v2/authorization/divisions/{g.division_id}"},
            "role": {"id": g.role_id, "name": role_names.get(g.role_id, ""),
                     "selfUri": f"/api/v2/authorization/roles/{g.role_id}"},
        } for g in grants],
        "version": 1, "selfUri": f"/api/v2/authorization/subjects/{subject_id}",
    }


def keep_filters(body: dict[str, Any], **filters: str | None) -> dict[str, Any]:
    """Carry a listing's filters into its paging URIs, so following ``nextUri`` keeps them."""
    if query := urlencode({name: value for name, value in filters.items() if value}):
        for key in ("firstUri", "selfUri", "lastUri", "nextUri", "previousUri"):
            if key in body:
                body[key] += f"&{query}"
    return body


def planned_json(planned: Planned) -> dict[str, Any]:
    """A planned deactivation (``/api/v2/governance/deactivations``)."""
    plan = planned.plan
    body: dict[str, Any] = {
        "id": plan.client_id,
        "client": {"id": plan.client_id, "name": planned.client_name,
                   "selfUri": f"/api/v2/oauth/clients/{plan.client_id}"},
        "date": iso(plan.date), "reason": plan.reason,
        "state": "disabled" if plan.disabled_at is not None else "scheduled",
        "plannedBy": actor_ref(plan.planned_by), "datePlanned": iso(plan.planned_at),
        "reminderDate": iso(planned.reminder_at), "dateReminded": iso(plan.reminded_at),
        "dateDisabled": iso(plan.disabled_at), "deletionDate": iso(planned.deletion_at),
        "selfUri": f"/api/v2/governance/deactivations/{plan.client_id}"}
    if plan.replacement_id is not None:
        body["replacementClient"] = {
            "id": plan.replacement_id, "name": planned.replacement_name or "",
            "selfUri": f"/api/v2/oauth/clients/{plan.replacement_id}"}
    return body


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """A client's secret destination and rotation schedule (never a secret or credential)."""
    schedule = delivery.schedule
    return {
        "clientId": delivery.client_id, "kind": delivery.kind,
        "settings": dict(delivery.settings),
        "rotation": None if schedule is None else {
            "everyDays": schedule.every_days, "dualUseSeconds": schedule.dual_use_seconds},
        "nextRotationDate": iso(delivery.next_rotation_at),
        "dateLastDelivered": iso(delivery.last_delivered_at),
        "dateConfigured": iso(delivery.configured_at),
        "configuredBy": actor_ref(delivery.configured_by),
        "selfUri": f"/api/v2/oauth/clients/{delivery.client_id}/secret/destination"}
