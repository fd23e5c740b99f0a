"""Gathering the compliance report's facts, live, for a caller who may see it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from keystead.domain.clock import Clock
from keystead.domain.governance.compliance import (
    AuditCheck,
    ComplianceFacts,
    ComplianceReport,
    Deployment,
    Named,
    judge,
)
from keystead.domain.governance.finding_engine import FindingsManagement
from keystead.domain.governance.findings import FindingKind
from keystead.domain.governance.policy import Policy, PolicyStore
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller


class ComplianceRecords(Protocol):
    """What the store knows that the report needs."""

    async def admins(self) -> Sequence[tuple[Named, bool]]:
        """Active users holding any permission, each with whether they enrolled MFA."""

    async def audit(self) -> AuditCheck: ...

    async def secret_keys(self) -> Sequence[tuple[Named, str | None]]:
        """Each stored secret's client and the key id its digest is keyed with."""

    async def undocumented_rotations(self) -> Sequence[Named]:
        """Clients whose current secret, made since the audit log begins, has no audit entry
        of its making (``create`` or ``secret.regenerate``)."""

    async def scheduled_rotations(self) -> int: ...

    async def confidential_clients(self) -> int: ...

    async def last_review_closed(self) -> datetime | None: ...

    async def webhook_endpoints(self) -> int:
        """How many webhook endpoints are enabled (a route for alerts and notices)."""


# Policy fields holding a retention in days (None: kept without limit), by the name the report
# shows; the data-subject work adds the audit log's and others'.
RetentionFields = Callable[[Policy], dict[str, int | None]]


def no_retention_fields(_policy: Policy) -> dict[str, int | None]:
    return {}


@dataclass(slots=True)
class ComplianceReporting:
    records: ComplianceRecords
    policies: PolicyStore
    findings: FindingsManagement
    deployment: Deployment
    key_known: Callable[[str | None], bool]
    clock: Clock
    retention_fields: RetentionFields = no_retention_fields

    async def report(self, caller: Caller) -> ComplianceReport:
        """Judge every control now.

        Raises:
            ForbiddenError: without ``governance:compliance:view``.
        """
        caller.require(Permission.GOVERNANCE_COMPLIANCE_VIEW)
        policy = await self.policies.find()
        # Per kind, each client once (a client may have several unused scopes), in order found.
        detected: dict[FindingKind, dict[Named, None]] = {}
        async for client, found in self.findings.current():
            for finding in found:
                detected.setdefault(finding.kind, {})[Named(client.id, client.settings.name)] = None
        admins = await self.records.admins()
        keys = await self.records.secret_keys()
        deployment = self.deployment
        if await self.records.webhook_endpoints():
            deployment = replace(deployment, alert_routes=(*deployment.alert_routes, "webhooks"))
        return judge(ComplianceFacts(
            now=self.clock(), policy=policy, deployment=deployment,
            admins_without_mfa=tuple(user for user, enrolled in admins if not enrolled),
            admins=len(admins), audit=await self.records.audit(), secrets_stored=len(keys),
            secrets_unverifiable=tuple(dict.fromkeys(
                client for client, kid in keys if not self.key_known(kid))),
            undocumented_rotations=tuple(await self.records.undocumented_rotations()),
            scheduled_rotations=await self.records.scheduled_rotations(),
            confidential_clients=await self.records.confidential_clients(),
            last_review_closed=await self.records.last_review_closed(),
            detected={kind: tuple(named) for kind, named in detected.items()},
            retention_days=self.retention_fields(policy)))
