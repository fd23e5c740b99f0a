"""The ComplianceRecords port: admins and their MFA, the audit chain, secrets and their keys,
documented rotations, schedules and reviews, as stored now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select

from keystead.domain.governance.compliance import AuditCheck, Named
from keystead.store.audit import SqlAuditLog
from keystead.store.audit_verify import check_chain
from keystead.store.governance_tables import review_campaigns, secret_destinations
from keystead.store.sql_store import SqlStore
from keystead.store.tables import (
    ORG_ID,
    audit_events,
    client_secrets,
    clients,
    roles,
    user_grants,
    users,
)
from keystead.store.webhook_tables import webhook_endpoints

# A secret and the audit entry of its making are written in one transaction, a moment apart.
DOCUMENTED_WITHIN = timedelta(minutes=1)
MADE_BY = ("create", "secret.regenerate")


class SqlComplianceRecords(SqlStore):
    async def admins(self) -> Sequence[tuple[Named, bool]]:
        powerful = {r.id for r in await self.conn.execute(select(roles.c.id, roles.c.permissions))
                    if r.permissions}
        rows = await self.conn.execute(
            select(users.c.id, users.c.email, users.c.mfa_secret, user_grants.c.role_id)
            .join(user_grants, user_grants.c.user_id == users.c.id)
            .where(users.c.organization_id == ORG_ID, users.c.state == "active"))
        found: dict[str, tuple[Named, bool]] = {}
        for r in rows:
            if r.role_id in powerful:
                found[r.id] = (Named(r.id, r.email), r.mfa_secret is not None)
        return sorted(found.values(), key=lambda pair: pair[0].name)

    async def audit(self) -> AuditCheck:
        walked = await check_chain(SqlAuditLog(self.conn))
        return AuditCheck(walked.checked, tuple(walked.problems))

    async def secret_keys(self) -> Sequence[tuple[Named, str | None]]:
        rows = await self.conn.execute(
            select(clients.c.id, clients.c.name, client_secrets.c.key_id)
            .join(client_secrets, client_secrets.c.client_id == clients.c.id)
            .order_by(clients.c.name))
        return [(Named(r.id, r.name), r.key_id) for r in rows]

    async def undocumented_rotations(self) -> Sequence[Named]:
        oldest = (await self.conn.execute(select(func.min(audit_events.c.timestamp)).where(
            audit_events.c.organization_id == ORG_ID))).scalar_one_or_none()
        if oldest is None:
            return []
        secrets = list(await self.conn.execute(
            select(clients.c.id, clients.c.name, client_secrets.c.date_created)
            .join(client_secrets, client_secrets.c.client_id == clients.c.id)
            .where(client_secrets.c.current.is_(True), client_secrets.c.date_created >= oldest)))
        made: dict[str, list[datetime]] = {}
        for r in await self.conn.execute(
                select(audit_events.c.entity_id, audit_events.c.timestamp).where(
                    audit_events.c.organization_id == ORG_ID,
                    audit_events.c.action.in_(MADE_BY), audit_events.c.timestamp >= oldest,
                    audit_events.c.entity_id.in_([s.id for s in secrets]))):
            made.setdefault(r.entity_id, []).append(r.timestamp)
        return [Named(s.id, s.name) for s in secrets if not any(
            s.date_created <= at <= s.date_created + DOCUMENTED_WITHIN
            for at in made.get(s.id, ()))]

    async def scheduled_rotations(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(
            secret_destinations).where(secret_destinations.c.rotate_every_days.is_not(None)))
        ).scalar_one())

    async def confidential_clients(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(clients).where(
            clients.c.organization_id == ORG_ID, clients.c.client_type == "confidential"))
        ).scalar_one())

    async def webhook_endpoints(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(
            webhook_endpoints).where(webhook_endpoints.c.enabled.is_(True)))).scalar_one())

    async def last_review_closed(self) -> datetime | None:
        closed: datetime | None = (await self.conn.execute(
            select(func.max(review_campaigns.c.closed_at)).where(
                review_campaigns.c.organization_id == ORG_ID))).scalar_one_or_none()
        return closed
