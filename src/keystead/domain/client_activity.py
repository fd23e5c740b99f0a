"""A client's activity: the latest audit entries about it, for a caller who may read the log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from keystead.domain.audit import AuditEvent
from keystead.domain.client_management import ClientManagement
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller

RECENT = 20  # entries the client's page shows; the audit log, filtered to it, has the rest


class ClientTrail(Protocol):
    async def about(self, entity_id: str, *, limit: int) -> Sequence[AuditEvent]:
        """The latest ``limit`` audit entries whose entity is ``entity_id``, newest first."""


@dataclass(slots=True)
class ClientActivity:
    management: ClientManagement
    trail: ClientTrail

    async def recent(self, caller: Caller, client_id: str, *,
                     limit: int = RECENT) -> Sequence[AuditEvent]:
        """The latest entries about the client, newest first.

        Raises:
            ForbiddenError: the caller lacks ``audits:audit:view`` (the log is read only with
                it), or may not view the client.
            NotFoundError: as ``ClientManagement.find``.
        """
        caller.require(Permission.AUDITS_AUDIT_VIEW)
        client = await self.management.find(caller, client_id)
        return await self.trail.about(client.id, limit=limit)
