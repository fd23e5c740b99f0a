"""Evidence of use per client per day (SQLAlchemy Core; never commits): the EvidenceLog the
flush adds to and the EvidenceQuery governance reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keystead.domain.governance.evidence import (
    MAX_NETWORKS_PER_DAY,
    Evidence,
    EvidenceCount,
    Kind,
    evidence_over,
)
from keystead.store.governance_tables import client_evidence
from keystead.store.sql_store import SqlStore
from keystead.store.tables import clients

MAX_ITEM = 200  # the column's width; longer items (a failure reason) are cut


class SqlEvidence(SqlStore):
    async def add(self, counts: Sequence[EvidenceCount]) -> None:
        ids = sorted({c.client_id for c in counts})
        if not ids:
            return
        known = set((await self.conn.execute(
            select(clients.c.id).where(clients.c.id.in_(ids)))).scalars())
        rows = await self._within_network_cap([c for c in counts if c.client_id in known])
        if not rows:
            return
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        add = insert(client_evidence)
        add = add.on_conflict_do_update(
            index_elements=[client_evidence.c.client_id, client_evidence.c.day,
                            client_evidence.c.kind, client_evidence.c.item],
            set_={"count": client_evidence.c.count + add.excluded["count"]})
        # Sorted: two workers adding the same rows lock them in the same order (no deadlock).
        await self.conn.execute(add, sorted(
            ({"client_id": r.client_id, "day": r.day, "kind": r.kind.value,
              "item": r.item[:MAX_ITEM], "count": r.count} for r in rows),
            key=lambda r: (r["client_id"], r["day"], r["kind"], r["item"])))

    async def _within_network_cap(self, rows: list[EvidenceCount]) -> list[EvidenceCount]:
        """Drop networks beyond ``MAX_NETWORKS_PER_DAY`` per client-day (those stored count)."""
        networks = [r for r in rows if r.kind == Kind.network]
        if not networks:
            return rows
        seen: dict[tuple[str, date], set[str]] = defaultdict(set)
        stored = await self.conn.execute(
            select(client_evidence.c.client_id, client_evidence.c.day, client_evidence.c.item)
            .where(client_evidence.c.kind == Kind.network.value,
                   client_evidence.c.client_id.in_({r.client_id for r in networks}),
                   client_evidence.c.day.in_({r.day for r in networks})))
        for client_id, day, item in stored:
            seen[client_id, day].add(item)
        kept = []
        for row in rows:
            if row.kind == Kind.network:
                known = seen[row.client_id, row.day]
                if row.item not in known and len(known) >= MAX_NETWORKS_PER_DAY:
                    continue
                known.add(row.item)
            kept.append(row)
        return kept

    async def over(self, client_ids: list[str], since: date) -> Mapping[str, Evidence]:
        sums: dict[str, list[tuple[Kind, str, int, date, date]]] = {i: [] for i in client_ids}
        if client_ids:
            result = await self.conn.execute(
                select(client_evidence.c.client_id, client_evidence.c.kind,
                       client_evidence.c.item, func.sum(client_evidence.c.count),
                       func.min(client_evidence.c.day), func.max(client_evidence.c.day))
                .where(client_evidence.c.client_id.in_(client_ids),
                       client_evidence.c.day >= since)
                .group_by(client_evidence.c.client_id, client_evidence.c.kind,
                          client_evidence.c.item))
            for client_id, kind, item, count, first, last in result:
                sums[client_id].append((Kind(kind), item, int(count), first, last))
        return {client_id: evidence_over(rows) for client_id, rows in sums.items()}

    async def by_day(self, client_ids: list[str], since: date
                     ) -> Mapping[str, Mapping[date, Evidence]]:
        rows: dict[str, dict[date, list[tuple[Kind, str, int, date, date]]]] = {
            i: defaultdict(list) for i in client_ids}
        if client_ids:
            result = await self.conn.execute(
                select(client_evidence.c.client_id, client_evidence.c.day,
                       client_evidence.c.kind, client_evidence.c.item, client_evidence.c.count)
                .where(client_evidence.c.client_id.in_(client_ids),
                       client_evidence.c.day >= since))
            for client_id, day, kind, item, count in result:
                rows[client_id][day].append((Kind(kind), item, int(count), day, day))
        return {client_id: {day: evidence_over(found) for day, found in days.items()}
                for client_id, days in rows.items()}

    async def purge_before(self, day: date) -> int:
        """Forget days before ``day``; the number of rows deleted."""
        result = await self.conn.execute(delete(client_evidence).where(
            client_evidence.c.day < day))
        return result.rowcount or 0
