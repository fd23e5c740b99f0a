"""The webhook events: one declared table, event type -> what its ``data`` holds.

The README's event table is this one (``tests/domain/test_webhook_events.py`` holds the two in
step), and every notice kind is an event of the same name. A payload never holds a secret or a
token: a secret rotation says that it happened, by whom, never the secret.

Every delivery's body is the Standard Webhooks envelope ``{"type", "timestamp", "data"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from keystead.domain.audit import AuditEvent, JSONValue, Result
from keystead.domain.governance.notices import Message, NoticeKind

CLIENT_ENTITY = "OAuthClient"  # the audit's entity type of client changes (client_management)


@dataclass(frozen=True, slots=True)
class EventSpec:
    summary: str
    fields: Mapping[str, str]  # data field -> what it holds


_CLIENT = {"clientId": "the client's id", "clientName": "its name",
           "actor": "who did it: {kind, id, name}"}
_NOTICE = {"clientId": "the client it is about, or null", "subject": "the notice's subject",
           "text": "the notice's text (names, ids, dates, reasons; never a secret)"}

# Client lifecycle events come from the audit entries of client changes.
CLIENT_EVENTS: Mapping[str, EventSpec] = {
    "client.created": EventSpec("an OAuth client was created", _CLIENT),
    "client.updated": EventSpec(
        "an OAuth client's settings changed",
        {**_CLIENT, "changed": "the names of the properties that changed"}),
    "client.state.changed": EventSpec(
        "an OAuth client was enabled or disabled", {**_CLIENT, "state": "its new state"}),
    "client.secret.regenerated": EventSpec(
        "an OAuth client's secret was rotated (the event carries no secret)",
        {**_CLIENT, "dualUseSeconds": "how long the previous secret still works"}),
    "client.deleted": EventSpec("an OAuth client was deleted", _CLIENT),
}
_AUDIT_ACTIONS = {"create": "client.created", "update": "client.updated",
                  "state.change": "client.state.changed",
                  "secret.regenerate": "client.secret.regenerated", "delete": "client.deleted"}

_NOTICE_SUMMARIES: Mapping[NoticeKind, str] = {
    NoticeKind.deletion_requested: "a client's deletion waits for a second admin",
    NoticeKind.deletion_approved: "a deletion request was approved",
    NoticeKind.deletion_rejected: "a deletion request was rejected",
    NoticeKind.deactivation_scheduled: "a client's deactivation was planned",
    NoticeKind.deactivation_cancelled: "a planned deactivation was cancelled",
    NoticeKind.deactivation_soon: "a planned deactivation is near",
    NoticeKind.deactivation_done: "a client was deactivated as planned",
    NoticeKind.review_assigned: "a reviewer was given clients to review",
    NoticeKind.review_due: "an access review is due soon",
    NoticeKind.review_escalated: "an access review ended with clients undecided",
    NoticeKind.finding_opened: "a high or critical finding opened on a client",
    NoticeKind.rotation_due: "a client's secret is due for rotation",
    NoticeKind.webhook_disabled: "a webhook endpoint was disabled after persistent failure",
    NoticeKind.alert_raised: "an alert was raised: unusual activity (README \"Alerts\")",
}

EVENTS: Mapping[str, EventSpec] = {
    **CLIENT_EVENTS,
    **{str(kind): EventSpec(summary, _NOTICE) for kind, summary in _NOTICE_SUMMARIES.items()},
}


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    client_id: str | None
    data: dict[str, JSONValue]

    def body(self, at: datetime) -> dict[str, JSONValue]:
        """The Standard Webhooks envelope."""
        return {"type": self.type, "timestamp": at.isoformat().replace("+00:00", "Z"),
                "data": self.data}


def notice_event(message: Message) -> Event:
    return Event(str(message.kind), message.client_id,
                 {"clientId": message.client_id, "subject": message.subject,
                  "text": message.body})


def audit_event(entry: AuditEvent) -> Event | None:
    """The client lifecycle event an audit entry stands for, or None."""
    kind = _AUDIT_ACTIONS.get(entry.action)
    if entry.entity_type != CLIENT_ENTITY or kind is None or entry.result is not Result.success:
        return None
    data: dict[str, JSONValue] = {
        "clientId": entry.entity_id, "clientName": entry.entity_name,
        "actor": {"kind": entry.actor_kind, "id": entry.actor_id, "name": entry.actor_name}}
    changes = entry.details.get("propertyChanges")
    if kind == "client.updated":
        changed: list[JSONValue] = [*sorted(changes)] if isinstance(changes, dict) else []
        data["changed"] = changed
    elif kind == "client.state.changed":
        state = changes.get("state") if isinstance(changes, dict) else None
        data["state"] = state.get("new") if isinstance(state, dict) else None
    elif kind == "client.secret.regenerated":
        data["dualUseSeconds"] = entry.details.get("dualUseSeconds")
    return Event(kind, entry.entity_id, data)
