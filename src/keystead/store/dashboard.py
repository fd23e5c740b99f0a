"""The dashboard's read queries: one statement per figure or list, never a query per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from keystead.domain.audit import Result
from keystead.domain.clients import ClientState
from keystead.domain.dashboard import ClientAge, DayUse, ImplicitUse, Listed
from keystead.domain.governance.evidence import Kind
from keystead.store.audit import StoredEvent, stored_event
from keystead.store.governance_tables import client_evidence
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, audit_events, client_secrets, clients

# Attempts to prove an identity; everything else that succeeds changed something.
AUTHENTICATIONS = ("authenticate", "user.login")


IMPLICIT_USE = "grant.implicit.use"


class SqlDashboard(SqlStore):
    async def clients_by_state(self) -> dict[str, int]:
        """How many clients are in each state (every state present, zero if none)."""
        counts = dict.fromkeys((str(s) for s in ClientState), 0)
        rows = await self.conn.execute(
            select(clients.c.state, func.count()).where(clients.c.organization_id == ORG_ID)
            .group_by(clients.c.state))
        for state, count in rows:
            counts[str(state)] = int(count)
        return counts

    async def stale_secrets(self, *, created_before: datetime, limit: int) -> Listed:
        """Clients whose current secret was created before ``created_before``, oldest first."""
        where = (clients.c.organization_id == ORG_ID, client_secrets.c.current.is_(True),
                 client_secrets.c.date_created < created_before)
        joined = clients.join(client_secrets, client_secrets.c.client_id == clients.c.id)
        total = (await self.conn.execute(
            select(func.count()).select_from(joined).where(*where))).scalar_one()
        rows = await self.conn.execute(
            select(clients.c.id, clients.c.name, clients.c.state, clients.c.date_created,
                   client_secrets.c.date_created.label("since"))
            .select_from(joined).where(*where)
            .order_by(client_secrets.c.date_created, clients.c.name).limit(limit))
        return Listed([_age(r) for r in rows], int(total))

    async def unused_clients(self, *, idle_since: datetime, limit: int) -> Listed:
        """Active clients last used before ``idle_since``, or never used and created before it."""
        where = (clients.c.organization_id == ORG_ID, clients.c.state == str(ClientState.active),
                 or_(clients.c.date_last_used < idle_since,
                     and_(clients.c.date_last_used.is_(None),
                          clients.c.date_created < idle_since)))
        total = (await self.conn.execute(
            select(func.count()).select_from(clients).where(*where))).scalar_one()
        rows = await self.conn.execute(
            select(clients.c.id, clients.c.name, clients.c.state, clients.c.date_created,
                   clients.c.date_last_used.label("since"))
            .where(*where)
            .order_by(func.coalesce(clients.c.date_last_used, clients.c.date_created),
                      clients.c.name).limit(limit))
        return Listed([_age(r) for r in rows], int(total))

    async def failed_authentications(self, *, limit: int) -> list[StoredEvent]:
        """The newest failed client authentications and user sign-ins."""
        return await self._newest_events(audit_events.c.action.in_(AUTHENTICATIONS),
                                         Result.failure, limit=limit)

    async def recent_changes(self, *, limit: int) -> list[StoredEvent]:
        """The newest successful events other than authentications."""
        return await self._newest_events(audit_events.c.action.not_in(AUTHENTICATIONS),
                                         Result.success, limit=limit)

    async def _newest_events(self, actions: ColumnElement[bool], result: Result, *,
                             limit: int) -> list[StoredEvent]:
        rows = await self.conn.execute(
            select(audit_events).where(
                audit_events.c.organization_id == ORG_ID, actions,
                audit_events.c.result == str(result))
            .order_by(audit_events.c.seq.desc()).limit(limit))
        return [stored_event(r) for r in rows]

    async def implicit_use(self, *, since: datetime, limit: int) -> list[ImplicitUse]:
        """Clients that used the deprecated implicit grant since ``since``, most uses first."""
        uses = func.count().label("uses")
        rows = await self.conn.execute(
            select(audit_events.c.entity_id, func.max(audit_events.c.entity_name).label("name"),
                   uses, func.max(audit_events.c.timestamp).label("last"))
            .where(audit_events.c.organization_id == ORG_ID,
                   audit_events.c.action == IMPLICIT_USE, audit_events.c.timestamp >= since)
            .group_by(audit_events.c.entity_id).order_by(uses.desc()).limit(limit))
        return [ImplicitUse(r.entity_id, r.name, int(r.uses), r.last) for r in rows]

    async def daily_use(self, since: date) -> Mapping[date, DayUse]:
        """Tokens (evidence of kind ``grant``) and refusals (``failure``) per day from
        ``since``, summed over every client."""
        rows = await self.conn.execute(
            select(client_evidence.c.day, client_evidence.c.kind,
                   func.sum(client_evidence.c.count))
            .where(client_evidence.c.day >= since,
                   client_evidence.c.kind.in_((Kind.grant.value, Kind.failure.value)))
            .group_by(client_evidence.c.day, client_evidence.c.kind))
        sums: dict[date, dict[str, int]] = defaultdict(dict)
        for day, kind, count in rows:
            sums[day][kind] = int(count)
        return {day: DayUse(tokens=found.get(Kind.grant.value, 0),
                            failures=found.get(Kind.failure.value, 0))
                for day, found in sums.items()}


def _age(row: Any) -> ClientAge:
    return ClientAge(id=row.id, name=row.name, state=row.state, since=row.since,
                     date_created=row.date_created)
