"""The ClientTrail port over the audit log: the latest entries about one entity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.audit import AuditEvent
from keystead.store.audit import AuditQuery, SqlAuditLog


@dataclass(slots=True)
class SqlClientTrail:
    conn: AsyncConnection

    async def about(self, entity_id: str, *, limit: int) -> Sequence[AuditEvent]:
        found, _ = await SqlAuditLog(self.conn).query(AuditQuery(
            entity_id=entity_id, page_size=limit, newest_first=True))
        return [stored.event for stored in found]
