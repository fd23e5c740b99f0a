"""Evaluate the alert rules and keep one open alert per rule, client and subject; acknowledge
and resolve them (the API, console and scheduled loop call this).

One evaluation reads every client's evidence by day and its failed authentications in the
window, the failures per source, and the audit entries written since the last evaluation (a
cursor kept with the alerts, so each entry is counted once). A new alert is audited and told
(``AlertNotices``); a further occurrence only adds to its count.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from keystead.domain.audit import Auditor, Entity, JSONValue
from keystead.domain.clients import Actor, Client, ClientStore
from keystead.domain.clock import Clock
from keystead.domain.errors import InvalidInputError, require_found
from keystead.domain.governance.alert_rules import (
    CHANGE_ACTIONS,
    CLIENT_ENTITY,
    EVENT_ACTIONS,
    ClientWindow,
    detect_client,
    event_alerts,
    source_spikes,
    unusual_change,
)
from keystead.domain.governance.alerts import (
    Alert,
    AlertFilter,
    AlertRule,
    AlertState,
    AlertStore,
    AuditFeed,
    Raised,
)
from keystead.domain.governance.evidence import DailyEvidence, Evidence
from keystead.domain.governance.finding_engine import client_batches
from keystead.domain.governance.findings import SEVERITY_RANK
from keystead.domain.governance.policy import Policy, PolicyStore
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

BATCH = 200  # clients read, and their evidence asked for, at a time
MAX_EVENTS = 5_000  # audit entries read per evaluation; the rest wait for the next one
EVALUATION = Entity("GovernanceAlert", "*", "Alerts")
SYSTEM = Caller(Actor("system", "alerts", "alerts engine"), frozenset(),
                frozenset({Permission.GOVERNANCE_ALERT_EDIT}))


def alert_entity(alert: Alert) -> Entity:
    return Entity("GovernanceAlert", alert.id, f"{alert.rule} {alert.subject}".strip())


class AlertNotices(Protocol):
    async def raised(self, alert: Alert, owner_id: str | None) -> None:
        """``alert`` is new: tell the owner of its client, else those who act on alerts."""


@dataclass(frozen=True, slots=True)
class AlertRun:
    raised: int  # new alerts
    counted: int  # further occurrences added to open or acknowledged ones


@dataclass(slots=True)
class AlertsManagement:
    alerts: AlertStore
    clients: ClientStore
    evidence: DailyEvidence
    feed: AuditFeed
    policies: PolicyStore
    auditor: Auditor
    clock: Clock
    notices: AlertNotices | None = None

    async def evaluate(self, caller: Caller, *, scheduled: bool = False) -> AlertRun:
        """Evaluate every rule now. Audited, except a scheduled run that changed nothing.

        Raises:
            ForbiddenError: without ``governance:alert:edit``.
        """
        caller.require(Permission.GOVERNANCE_ALERT_EDIT)
        now = self.clock()
        policy = await self.policies.find()
        owners: dict[str, str | None] = {}
        names: dict[str, str] = {}
        raised: list[Raised] = []
        async for batch in client_batches(self.clients, BATCH):
            owners.update({c.id: c.settings.owner_id for c in batch})
            names.update({c.id: c.settings.name for c in batch})
            raised += await self._client_rules(batch, policy, now)
        raised += await self._source_rules(policy, now)
        raised += await self._event_rules(policy, now)
        done = await self._merge(raised, owners, names, now)
        if not scheduled or done.raised or done.counted:
            await self.auditor.record(caller, "evaluate", EVALUATION, {
                "raised": done.raised, "counted": done.counted})
        return done

    async def _client_rules(self, batch: list[Client], policy: Policy, now: datetime
                            ) -> list[Raised]:
        ids = [c.id for c in batch]
        since = now.date() - timedelta(days=policy.alert_baseline_days + 1)
        days = await self.evidence.by_day(ids, since)
        recent: Counter[str] = Counter()
        for span in await self.feed.failures(
                now - timedelta(minutes=policy.alert_window_minutes), now, client_ids=ids):
            recent[span.client_id] += span.count
        found: list[Raised] = []
        for client in batch:
            daily = days.get(client.id, {})
            window = ClientWindow(client.id, client.date_created,
                                  today=daily.get(now.date(), Evidence()),
                                  days=daily, recent_failures=recent[client.id])
            found += detect_client(window, policy, now)
        return found

    async def _source_rules(self, policy: Policy, now: datetime) -> list[Raised]:
        start = now - timedelta(minutes=policy.alert_window_minutes)
        per_source: Counter[str] = Counter()
        tried: defaultdict[str, set[str]] = defaultdict(set)
        for span in await self.feed.failures(start, now):
            per_source[span.source] += span.count
            tried[span.source].add(span.client_id)
        heavy = {s: (n, frozenset(tried[s])) for s, n in per_source.items()
                 if s and n >= policy.alert_source_failure_minimum}
        if not heavy:
            return []
        earlier: Counter[str] = Counter()
        for span in await self.feed.failures(
                start - timedelta(days=policy.alert_baseline_days), start, sources=list(heavy)):
            earlier[span.source] += span.count
        return source_spikes(heavy, earlier, policy)

    async def _event_rules(self, policy: Policy, now: datetime) -> list[Raised]:
        cursor = await self.alerts.cursor()
        # The first evaluation ever reads only the last window: an upgrade must not alert on
        # years of history.
        events = await self.feed.after(
            cursor or 0, EVENT_ACTIONS, limit=MAX_EVENTS, since=None if cursor is not None
            else now - timedelta(minutes=policy.alert_window_minutes))
        found: list[Raised] = []
        for _seq, event in events:
            if (event.action in CHANGE_ACTIONS and event.entity_type == CLIENT_ENTITY
                    and event.actor_kind != "system"):
                prior = await self.feed.actions_by(
                    event.actor_id, CHANGE_ACTIONS,
                    event.timestamp - timedelta(days=policy.alert_baseline_days),
                    event.timestamp, entity_type=CLIENT_ENTITY)
                found += unusual_change(event, prior, policy)
            else:
                found += event_alerts(event)
        last = events[-1][0] if events else (await self.feed.head() if cursor is None else None)
        if last is not None:
            await self.alerts.move_cursor(last, now=now)
        return found

    async def _merge(self, raised: list[Raised], owners: dict[str, str | None],
                     names: dict[str, str], now: datetime) -> AlertRun:
        merged: dict[tuple[AlertRule, str | None, str], Raised] = {}
        for item in raised:
            if item.client_id is not None and item.client_id not in owners:
                # No such client (an unknown id tried, or one deleted since): the alert is
                # about its source, or the organisation, and still names the id.
                item = replace(item, client_id=None, subject=item.subject_without_client,
                               evidence={**item.evidence, "clientId": item.client_id})
            old = merged.get(item.key)
            merged[item.key] = item if old is None else replace(item, events=old.events
                                                                 + item.events)
        unresolved = {a.key: a for a in await self.alerts.unresolved()}
        opened = counted = 0
        for key, item in merged.items():
            alert = unresolved.get(key)
            if alert is None:
                alert = Alert(
                    str(uuid.uuid4()), item.rule, item.client_id, item.subject, item.severity,
                    AlertState.open, max(item.events, 1), item.summary, item.evidence,
                    first_seen=now, last_seen=now, firing=not item.events,
                    signature=item.signature,
                    client_name=names.get(item.client_id or "", ""))
                opened += 1
                await self.alerts.save(alert)
                await self.auditor.record(SYSTEM, "raise", alert_entity(alert), {
                    "rule": str(alert.rule), "clientId": alert.client_id,
                    "severity": str(alert.severity), "summary": alert.summary})
                if self.notices is not None:
                    await self.notices.raised(alert, owners.get(item.client_id or ""))
                continue
            more = item.events or int(not alert.firing or alert.signature != item.signature)
            counted += more
            worse = SEVERITY_RANK[item.severity] > SEVERITY_RANK[alert.severity]
            await self.alerts.save(replace(
                alert, count=alert.count + more, summary=item.summary, evidence=item.evidence,
                severity=item.severity if worse else alert.severity, last_seen=now,
                firing=not item.events, signature=item.signature))
        for key, alert in unresolved.items():
            if key not in merged and alert.firing:
                await self.alerts.save(replace(alert, firing=False))
        return AlertRun(opened, counted)

    async def search(self, caller: Caller, flt: AlertFilter, page: Page
                     ) -> tuple[list[Alert], int]:
        caller.require(Permission.GOVERNANCE_ALERT_VIEW)
        return await self.alerts.search(flt, page)

    async def find(self, caller: Caller, alert_id: str, *,
                   permission: Permission = Permission.GOVERNANCE_ALERT_VIEW) -> Alert:
        """Raises: ForbiddenError, NotFoundError."""
        caller.require(permission)
        return require_found(await self.alerts.find(alert_id), f"no alert with id {alert_id}")

    async def acknowledge(self, caller: Caller, alert_id: str) -> Alert:
        """Say someone is on an open alert; audited.

        Raises:
            ForbiddenError, NotFoundError; InvalidInputError: the alert is not open.
        """
        alert = await self.find(caller, alert_id, permission=Permission.GOVERNANCE_ALERT_EDIT)
        if alert.state is not AlertState.open:
            raise InvalidInputError.one("state", "not.open", f"the alert is {alert.state}; "
                                        "only an open alert can be acknowledged")
        done = replace(alert, state=AlertState.acknowledged, acknowledged_by=caller.actor,
                       acknowledged_at=self.clock())
        await self.alerts.save(done)
        await self.auditor.record(caller, "acknowledge", alert_entity(alert),
                                  {"clientId": alert.client_id, "rule": str(alert.rule)})
        return done

    async def resolve(self, caller: Caller, alert_id: str) -> Alert:
        """Close an open or acknowledged alert (a next occurrence opens a new one); audited.

        Raises:
            ForbiddenError, NotFoundError; InvalidInputError: the alert is resolved already.
        """
        alert = await self.find(caller, alert_id, permission=Permission.GOVERNANCE_ALERT_EDIT)
        if alert.state is AlertState.resolved:
            raise InvalidInputError.one("state", "resolved", "the alert is resolved already")
        done = replace(alert, state=AlertState.resolved, resolved_by=caller.actor,
                       resolved_at=self.clock(), firing=False)
        await self.alerts.save(done)
        await self.auditor.record(caller, "resolve", alert_entity(alert),
                                  {"clientId": alert.client_id, "rule": str(alert.rule),
                                   "count": alert.count})
        return done


def describe_run(done: AlertRun) -> dict[str, JSONValue]:
    return {"raised": done.raised, "counted": done.counted}
