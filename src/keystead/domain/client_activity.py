"""A client's activity: the latest audit entries about it, for a caller who may read the log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keystead.domain.audit import AuditEvent
from keystead.domain.audit_trail import AuditQuery, AuditTrail
from keystead.domain.client_management import ClientManagement
from keystead.domain.principal import Caller

RECENT = 20  # entries the client's page shows; the audit log, filtered to it, has the rest


@dataclass(slots=True)
class ClientActivity:
    management: ClientManagement
    audit: AuditTrail

    async def recent(self, caller: Caller, client_id: str, *,
                     limit: int = RECENT) -> Sequence[AuditEvent]:
        """The latest entries about the client, newest first.

        Raises:
            ForbiddenError: the caller lacks ``audits:audit:view`` (asked first: without it
                the answer says nothing about the client), or may not view the client.
            NotFoundError: as ``ClientManagement.find``.
        """
        self.audit.check(caller)
        client = await self.management.find(caller, client_id)
        found, _ = await self.audit.query(caller, AuditQuery(
            entity_id=client.id, page_size=limit, newest_first=True))
        return [stored.event for stored in found]
