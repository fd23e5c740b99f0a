"""Stored alerts (the AlertStore port), the cursor of evaluations, and the audit log as the
alert rules read it (the AuditFeed port)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.governance.alerts import (
    Alert,
    AlertFilter,
    AlertRule,
    AlertState,
    FailureSpan,
)
from keystead.domain.governance.findings import Severity
from keystead.domain.paging import Page
from keystead.store import actors
from keystead.store.audit import stored_event
from keystead.store.governance_tables import alert_cursors, alerts
from keystead.store.rows import equal_to, page_of, replace_row
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, audit_events, clients

ALERTS_LOCK = 0x6B73_616C  # the advisory lock id a scheduled alert evaluation runs under
_STATE_ORDER = case({str(AlertState.open): 0, str(AlertState.acknowledged): 1},
                    value=alerts.c.state, else_=2)
_UNRESOLVED = alerts.c.state != str(AlertState.resolved)


def _alert(row: Any) -> Alert:
    return Alert(
        id=row.id, rule=AlertRule(row.rule), client_id=row.client_id, subject=row.subject,
        severity=Severity(row.severity), state=AlertState(row.state), count=row.count,
        summary=row.summary, evidence=dict(row.evidence), first_seen=row.first_seen,
        last_seen=row.last_seen, firing=bool(row.firing), signature=row.signature,
        acknowledged_by=actors.from_json_or_none(row.acknowledged_by),
        acknowledged_at=row.acknowledged_at,
        resolved_by=actors.from_json_or_none(row.resolved_by), resolved_at=row.resolved_at,
        client_name=row.client_name or "")


def _row(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id, "organization_id": ORG_ID, "rule": str(alert.rule),
        "client_id": alert.client_id, "subject": alert.subject[:256],
        "severity": str(alert.severity), "state": str(alert.state), "count": alert.count,
        "summary": alert.summary[:512], "evidence": dict(alert.evidence),
        "first_seen": alert.first_seen, "last_seen": alert.last_seen, "firing": alert.firing,
        "signature": alert.signature[:512],
        "acknowledged_by": actors.to_json_or_none(alert.acknowledged_by),
        "acknowledged_at": alert.acknowledged_at,
        "resolved_by": actors.to_json_or_none(alert.resolved_by), "resolved_at": alert.resolved_at,
    }


_SELECT = select(alerts, clients.c.name.label("client_name")).outerjoin(
    clients, clients.c.id == alerts.c.client_id)


class SqlAlertStore(SqlStore):
    async def unresolved(self) -> list[Alert]:
        return [_alert(r) for r in await self.conn.execute(_SELECT.where(_UNRESOLVED))]

    async def find(self, alert_id: str) -> Alert | None:
        row = (await self.conn.execute(_SELECT.where(alerts.c.id == alert_id))).first()
        return None if row is None else _alert(row)

    async def save(self, alert: Alert) -> None:
        await replace_row(self.conn, alerts, _row(alert))

    async def search(self, flt: AlertFilter, page: Page) -> tuple[list[Alert], int]:
        where = [alerts.c.organization_id == ORG_ID, *equal_to(
            [(alerts.c.client_id, flt.client_id), (alerts.c.rule, flt.rule),
             (alerts.c.state, flt.state)])]
        rows, total = await page_of(
            self.conn, alerts,
            _SELECT.order_by(_STATE_ORDER, alerts.c.last_seen.desc(), alerts.c.id), where, page)
        return [_alert(r) for r in rows], total

    async def cursor(self) -> int | None:
        # FOR UPDATE (PostgreSQL): an evaluation asked for through the API and the scheduled
        # one read the cursor in turn, so no audit entry is counted twice.
        return (await self.conn.execute(select(alert_cursors.c.audit_seq).where(
            alert_cursors.c.organization_id == ORG_ID).with_for_update())).scalar_one_or_none()

    async def move_cursor(self, seq: int, *, now: datetime) -> None:
        moved = await self.conn.execute(update(alert_cursors).where(
            alert_cursors.c.organization_id == ORG_ID).values(audit_seq=seq, evaluated_at=now))
        if not moved.rowcount:
            await self.conn.execute(insert(alert_cursors).values(
                organization_id=ORG_ID, audit_seq=seq, evaluated_at=now))

    async def purge_resolved(self, *, before: datetime) -> int:
        """Forget alerts resolved before ``before`` (their raising and closing stay audited)."""
        result = await self.conn.execute(delete(alerts).where(
            alerts.c.state == str(AlertState.resolved), alerts.c.resolved_at < before))
        return result.rowcount or 0


class SqlAuditFeed(SqlStore):
    async def after(self, seq: int, actions: Sequence[str], *, limit: int,
                    since: datetime | None = None) -> list[tuple[int, AuditEvent]]:
        conditions = [audit_events.c.organization_id == ORG_ID, audit_events.c.seq > seq,
                      audit_events.c.action.in_(actions)]
        if since is not None:
            conditions.append(audit_events.c.timestamp >= since)
        rows = await self.conn.execute(
            select(audit_events).where(*conditions).order_by(audit_events.c.seq).limit(limit))
        return [(int(r.seq), stored_event(r).event) for r in rows]

    async def head(self) -> int:
        return int((await self.conn.execute(select(func.coalesce(func.max(
            audit_events.c.seq), 0)).where(audit_events.c.organization_id == ORG_ID)
        )).scalar_one())

    async def failures(self, start: datetime, end: datetime, *, client_ids: Sequence[str] = (),
                       sources: Sequence[str] = ()) -> list[FailureSpan]:
        conditions = [audit_events.c.organization_id == ORG_ID,
                      audit_events.c.action == "authenticate",
                      audit_events.c.result == str(Result.failure),
                      audit_events.c.timestamp > start, audit_events.c.timestamp <= end]
        if client_ids:
            conditions.append(audit_events.c.entity_id.in_(client_ids))
        if sources:
            conditions.append(audit_events.c.remote_ip.in_(sources))
        # The count sits in the JSON details (aggregated entries): summed here, per key.
        counts: Counter[tuple[str, str]] = Counter()
        rows = await self.conn.execute(select(audit_events.c.entity_id, audit_events.c.remote_ip,
                                              audit_events.c.details).where(*conditions))
        for entity_id, remote_ip, details in rows:
            count = details.get("count") if isinstance(details, dict) else None
            counts[entity_id, remote_ip] += count if isinstance(count, int) else 1
        return [FailureSpan(c, s, n) for (c, s), n in counts.items()]

    async def actions_by(self, actor_id: str, actions: Sequence[str], start: datetime,
                         end: datetime, *, entity_type: str) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(audit_events).where(
            audit_events.c.organization_id == ORG_ID, audit_events.c.actor_id == actor_id,
            audit_events.c.entity_type == entity_type,
            audit_events.c.action.in_(actions), audit_events.c.timestamp >= start,
            audit_events.c.timestamp < end))).scalar_one())
