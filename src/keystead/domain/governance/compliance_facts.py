"""Gathering the compliance report's facts, live, for a caller who may see it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
        detected: dict[FindingKind, list[Named]] = {}
        async for client, found in self.findings.current():
            for finding in found:
                named = Named(client.id, client.settings.name)
                if named not in detected.setdefault(finding.kind, []):
                    detected[finding.kind].append(named)
        admins = await self.records.admins()
        keys = await self.records.secret_keys()
        return judge(ComplianceFacts(
            now=self.clock(), policy=policy, deployment=self.deployment,
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
