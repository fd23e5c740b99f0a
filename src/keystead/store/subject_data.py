"""What Keystead holds about one user, read out (right of access) or removed (erasure).

Erasure deletes the user's row (their grants, sessions, codes, tokens, consents and links go
with it by cascade), deletes their notices and every outbox message that names them, then
walks every other table's text and JSON columns and replaces their id, e-mail and name by the
pseudonym: new tables are covered without a change here (the test scans every table). Audit
entries are rewritten in their personal part only and marked (domain/audit.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import JSON, ColumnElement, Text, cast, delete, or_, select, update
from sqlalchemy.sql.type_api import TypeEngine

from keystead.domain.audit import AuditEvent, JSONValue
from keystead.domain.subject_rights import ERASE_ACTION, Subject
from keystead.domain.users import ENTITY
from keystead.store.audit import stored_event
from keystead.store.governance_tables import notices, outbox
from keystead.store.sql_store import SqlStore
from keystead.store.tables import (
    ORG_ID,
    audit_events,
    audit_head,
    clients,
    consents,
    divisions,
    grant_families,
    metadata,
    roles,
    sessions,
    user_grants,
    user_identity_links,
    users,
)

# Handled apart: the user row is deleted, the audit log rewritten field by field, messages
# naming the user deleted rather than sent to a pseudonym. (Their own notices are deleted
# first; others' notices that name them are scrubbed like any table.)
_APART = frozenset({users.name, audit_events.name, audit_head.name, outbox.name})
SHORTEST_SUBSTRING = 4  # a shorter name is replaced only where it is a whole value


def _iso(value: Any) -> JSONValue:
    return value.isoformat() if value is not None else None


def _needles(subject: Subject) -> list[str]:
    # JSON stores non-ASCII characters escaped: look for both spellings.
    found = {text for text in subject.identifiers() for text in (text, json.dumps(text)[1:-1])}
    return sorted(found)


def _replace(value: str, subject: Subject, pseudonym: str) -> str:
    for text in subject.identifiers():
        if value == text:
            return pseudonym
        if len(text) >= SHORTEST_SUBSTRING:
            value = value.replace(text, pseudonym)
    return value


def scrub(value: JSONValue, subject: Subject, pseudonym: str) -> JSONValue:
    """``value`` with the subject's identifiers replaced in every string it holds."""
    if isinstance(value, str):
        return _replace(value, subject, pseudonym)
    if isinstance(value, list):
        return [scrub(item, subject, pseudonym) for item in value]
    if isinstance(value, dict):
        return {_replace(key, subject, pseudonym): scrub(item, subject, pseudonym)
                for key, item in value.items()}
    return value


def _fit(column: Any, value: JSONValue) -> JSONValue:
    """A scrubbed string cut to its column's length (a pseudonym may be longer than a name)."""
    length = getattr(column.type, "length", None)
    return value[:length] if isinstance(value, str) and length else value


def _is_text(kind: TypeEngine[Any]) -> bool:
    return isinstance(kind, JSON) or getattr(kind, "python_type", None) is str


class SqlSubjectRecords(SqlStore):
    """The SubjectRecords port on SQLAlchemy Core; never commits."""

    async def export(self, subject: Subject) -> dict[str, JSONValue]:
        uid = subject.id
        row = (await self.conn.execute(select(users).where(users.c.id == uid))).one()
        profile: dict[str, JSONValue] = {
            "id": row.id, "name": row.name, "email": row.email, "state": row.state,
            "externalId": row.external_id, "mfaEnrolled": row.mfa_secret is not None,
            "dateCreated": _iso(row.date_created), "dateModified": _iso(row.date_modified),
            "dateLastLogin": _iso(row.date_last_login)}
        grants = await self.conn.execute(
            select(roles.c.id, roles.c.name, divisions.c.id.label("division_id"),
                   divisions.c.name.label("division_name"))
            .select_from(user_grants.join(roles, roles.c.id == user_grants.c.role_id)
                         .join(divisions, divisions.c.id == user_grants.c.division_id))
            .where(user_grants.c.user_id == uid).order_by(roles.c.name, divisions.c.name))
        console = await self.conn.execute(select(sessions).where(sessions.c.user_id == uid)
                                          .order_by(sessions.c.created_at))
        families = await self.conn.execute(
            select(grant_families).where(grant_families.c.user_id == uid)
            .order_by(grant_families.c.created_at))
        consented = await self.conn.execute(select(consents).where(consents.c.user_id == uid)
                                            .order_by(consents.c.granted_at))
        owned = await self.conn.execute(select(clients.c.id, clients.c.name, clients.c.state)
                                        .where(clients.c.owner_id == uid)
                                        .order_by(clients.c.name))
        links = await self.conn.execute(select(user_identity_links).where(
            user_identity_links.c.user_id == uid))
        entries = await self.conn.execute(
            select(audit_events).where(audit_events.c.organization_id == ORG_ID, or_(
                audit_events.c.actor_id == uid, audit_events.c.entity_id == uid))
            .order_by(audit_events.c.seq))
        return {
            "profile": profile,
            "roles": [{"roleId": r.id, "roleName": r.name, "divisionId": r.division_id,
                       "divisionName": r.division_name} for r in grants],
            # Sessions by their times only: the stored digest is a credential's.
            "sessions": [{"stage": s.stage, "amr": s.amr, "createdAt": _iso(s.created_at),
                          "lastSeenAt": _iso(s.last_seen_at), "expiresAt": _iso(s.expires_at)}
                         for s in console],
            "authorizations": {
                "grants": [{"id": f.id, "clientId": f.client_id, "createdAt": _iso(f.created_at),
                            "expiresAt": _iso(f.expires_at), "revokedAt": _iso(f.revoked_at)}
                           for f in families],
                "consents": [{"clientId": c.client_id, "scopes": c.scopes,
                              "grantedAt": _iso(c.granted_at)} for c in consented]},
            "ownedClients": [{"id": c.id, "name": c.name, "state": c.state} for c in owned],
            "identityLinks": [{"identityProviderId": link.identity_provider_id,
                               "nameId": link.name_id} for link in links],
            "auditEntries": [_entry(stored_event(r)) for r in entries],
        }

    async def active_role_holders(self) -> dict[str, list[str]]:
        rows = await self.conn.execute(
            select(users.c.id, user_grants.c.role_id)
            .select_from(users.join(user_grants, user_grants.c.user_id == users.c.id))
            .where(users.c.organization_id == ORG_ID, users.c.state == "active"))
        holders: dict[str, list[str]] = {}
        for row in rows:
            holders.setdefault(row.id, []).append(row.role_id)
        return holders

    async def erase(self, subject: Subject, *, pseudonym: str,
                    erasure_id: str) -> list[tuple[int, str, AuditEvent]]:
        """Remove the subject; return the audit entries newly marked with ``erasure_id``
        (sequence, hash, event as rewritten)."""
        subject = replace(subject, aliases=await self._former_identifiers(subject))
        await self.conn.execute(delete(users).where(users.c.id == subject.id))
        await self.conn.execute(delete(notices).where(notices.c.recipient_id == subject.id))
        await self.conn.execute(delete(outbox).where(self._mentions(outbox.c.payload, subject)))
        for table in metadata.sorted_tables:
            if table.name not in _APART:
                await self._scrub_table(table.name, subject, pseudonym)
        return await self._erase_entries(subject, pseudonym, erasure_id)

    def _mentions(self, column: Any, subject: Subject) -> ColumnElement[bool]:
        text = cast(column, Text) if isinstance(column.type, JSON) else column
        return or_(*(text.contains(needle, autoescape=True) for needle in _needles(subject)))

    async def _former_identifiers(self, subject: Subject) -> tuple[str, ...]:
        """The names, e-mails and external ids the user's audit entries show they had."""
        rows = await self.conn.execute(select(audit_events.c.entity_name, audit_events.c.details)
                                       .where(audit_events.c.entity_type == ENTITY,
                                              audit_events.c.entity_id == subject.id))
        found: list[object] = []
        for row in rows:
            found.append(row.entity_name)
            details = row.details if isinstance(row.details, dict) else {}
            changes = details.get("propertyChanges")
            for key in ("name", "email", "externalId"):
                found.append(details.get(key))
                if isinstance(changes, dict) and isinstance(change := changes.get(key), dict):
                    found += [change.get("old"), change.get("new")]
        return tuple(sorted({t for t in found if isinstance(t, str) and t}))

    async def _scrub_table(self, name: str, subject: Subject, pseudonym: str) -> None:
        table = metadata.tables[name]
        columns = [c for c in table.columns if _is_text(c.type)]
        if not columns:
            return
        keys = list(table.primary_key.columns)
        rows = await self.conn.execute(select(table).where(
            or_(*(self._mentions(c, subject) for c in columns))))
        for row in list(rows):
            changes = {c.name: _fit(c, scrub(getattr(row, c.name), subject, pseudonym))
                       for c in columns if getattr(row, c.name) is not None}
            await self.conn.execute(update(table).where(
                *(k == getattr(row, k.name) for k in keys)).values(changes))

    async def _erase_entries(self, subject: Subject, pseudonym: str,
                             erasure_id: str) -> list[tuple[int, str, AuditEvent]]:
        columns = [audit_events.c[n] for n in (
            "actor_id", "actor_name", "entity_id", "entity_name", "details")]
        rows = await self.conn.execute(select(audit_events).where(
            audit_events.c.organization_id == ORG_ID,
            or_(*(self._mentions(c, subject) for c in columns))).order_by(audit_events.c.seq))
        marked: list[tuple[int, str, AuditEvent]] = []
        for row in list(rows):
            stored = stored_event(row)
            acted = row.actor_id == subject.id
            # An erasure's own details (its id, counts, digest) name no one and must stay as
            # they were hashed.
            values: dict[str, Any] = {
                c.name: _fit(c, scrub(getattr(row, c.name), subject, pseudonym)) for c in columns
                if not (c.name == "details" and row.action == ERASE_ACTION)}
            values["personal_salt"] = None  # the kept digest can no longer confirm a guess
            if acted:
                values["remote_ip"] = ""  # where they were is theirs too
            if row.erased_by is None:
                values["erased_by"] = erasure_id
            await self.conn.execute(update(audit_events).where(
                audit_events.c.organization_id == ORG_ID, audit_events.c.seq == row.seq)
                .values(values))
            if row.erased_by is None:
                marked.append((row.seq, row.hash, stored.event))
        return marked


def _entry(stored: Any) -> dict[str, JSONValue]:
    event = stored.event
    return {"id": stored.id, "sequence": stored.seq,
            "timestamp": event.timestamp.isoformat(), "action": event.action,
            "result": str(event.result),
            "actor": {"kind": event.actor_kind, "id": event.actor_id, "name": event.actor_name},
            "entity": {"type": event.entity_type, "id": event.entity_id,
                       "name": event.entity_name},
            "remoteIp": event.remote_ip, "details": event.details}
