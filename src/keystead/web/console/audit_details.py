"""An audit entry's details as people read them: each recorded change as "Field: old → new"
with the console's own field names, every other detail as "Field: value".

Audit details never hold secret material (the use cases record markers such as "changed" for
a password, never the value); this only formats what is there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from keystead.domain.audit import JSONValue
from keystead.domain.audit_subjects import ID

# The names the console's pages give these fields (client, user, scope, division, policy).
FIELD_LABELS = {
    "name": "Name", "description": "Description", "grantTypes": "Grant types",
    "scopes": "Scopes", "redirectUris": "Redirect URIs", "roleDivisions": "Roles (role@division)",
    "roleId": "Role", "divisionId": "Division",
    "accessTokenValiditySeconds": "Token duration (seconds)", "state": "State",
    "dateToDelete": "Deleted on", "tokenFormat": "Token format", "requirePkce": "PKCE required",
    "clientType": "Client type", "tokenEndpointAuthMethod": "Client authentication",
    "ownerContact": "Owner contact", "ownerId": "Owner", "tags": "Tags",
    "environment": "Environment", "email": "E-mail", "password": "Password",
    "externalId": "External id", "reason": "Reason", "clientId": "Client",
    "count": "Times", "format": "Format", "filters": "Filters", "events": "Events",
    "throughSeq": "Through entry", "permissions": "Permissions", "audience": "Audience",
    "requestId": "Request id",
}
NOTHING = "(none)"
_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class Change:
    """One changed field; ``old`` is None when only the fact of the change was recorded."""

    label: str
    old: str | None
    new: str


@dataclass(frozen=True, slots=True)
class Detail:
    """A detail and its value, or (a recorded object, such as a new client's settings) its
    parts, one per field."""

    label: str
    value: str
    parts: list[Detail] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Readable:
    changes: list[Change]
    others: list[Detail]


def label(key: str) -> str:
    """The console's name for a field, else its key as words ("throughSeq" → "Through seq")."""
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    words = _WORD.sub(" ", key).replace("_", " ").strip().lower()
    return words[:1].upper() + words[1:] if words else key


def text(value: JSONValue, names: Mapping[str, str] | None = None) -> str:
    """A recorded value as text: lists joined by commas, yes/no, (none) for nothing, each id
    ``names`` knows as its name."""
    if value is None or value == "" or value == [] or value == {}:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(text(v, names) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{label(k)}: {text(v, names)}" for k, v in value.items())
    if isinstance(value, str) and names:
        return ID.sub(lambda found: names.get(found.group(0), found.group(0)), value)
    return str(value)


def _detail(key: str, value: JSONValue, names: Mapping[str, str] | None) -> Detail:
    if isinstance(value, dict) and value:
        return Detail(label(key), "", [_detail(k, v, names) for k, v in value.items()])
    return Detail(label(key), text(value, names))


def readable(details: Mapping[str, JSONValue],
             names: Mapping[str, str] | None = None) -> Readable:
    """The details' ``propertyChanges`` as changes, in the recorded order, the rest as
    key: value; ids ``names`` knows (roles, divisions, people, clients) by their names."""
    changes: list[Change] = []
    recorded = details.get("propertyChanges")
    if isinstance(recorded, dict):
        for key, change in recorded.items():
            if isinstance(change, dict) and set(change) == {"old", "new"}:
                changes.append(Change(label(key), text(change["old"], names),
                                      text(change["new"], names)))
            else:  # recorded without values (a password: only that it changed)
                changes.append(Change(label(key), None, text(change, names)))
    others = [_detail(key, value, names) for key, value in details.items()
              if not (key == "propertyChanges" and isinstance(recorded, dict))]
    return Readable(changes, others)
