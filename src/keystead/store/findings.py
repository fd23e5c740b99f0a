"""Stored findings (the FindingStore port) and the lock a scheduled evaluation runs under.

The evidence the engine reads is ``store/evidence.py``'s (SqlEvidence).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.governance.findings import (
    SEVERITY_RANK,
    Finding,
    FindingFilter,
    FindingKind,
    FindingState,
    FindingSummary,
    Remedy,
    Severity,
)
from keystead.domain.paging import Page
from keystead.store import actors
from keystead.store.governance_tables import findings
from keystead.store.rows import equal_to, page_of, replace_row
from keystead.store.sql_store import SqlStore
from keystead.store.tables import ORG_ID, clients

EVALUATION_LOCK = 0x6B73_6664  # the advisory lock id the scheduled evaluation runs under
_STATE_ORDER = case({str(FindingState.active): 0, str(FindingState.archived): 1},
                    value=findings.c.state, else_=2)
_SEVERITY_ORDER = case({str(s): -rank for s, rank in SEVERITY_RANK.items()},
                       value=findings.c.severity, else_=0)


def _finding(row: Any) -> Finding:
    return Finding(
        id=row.id, client_id=row.client_id, kind=FindingKind(row.kind), subject=row.subject,
        severity=Severity(row.severity), state=FindingState(row.state),
        evidence=dict(row.evidence), recommendation=row.recommendation,
        remedy=None if row.remedy is None else Remedy(row.remedy), first_seen=row.first_seen,
        last_seen=row.last_seen, resolved_at=row.resolved_at,
        archived_reason=row.archived_reason, archived_by=actors.from_json_or_none(row.archived_by),
        archived_at=row.archived_at, client_name=row.client_name)


def _row(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id, "organization_id": ORG_ID, "client_id": finding.client_id,
        "kind": str(finding.kind), "subject": finding.subject,
        "severity": str(finding.severity), "state": str(finding.state),
        "evidence": dict(finding.evidence), "recommendation": finding.recommendation[:512],
        "remedy": None if finding.remedy is None else str(finding.remedy),
        "first_seen": finding.first_seen, "last_seen": finding.last_seen,
        "resolved_at": finding.resolved_at, "archived_reason": finding.archived_reason,
        "archived_by": actors.to_json_or_none(finding.archived_by),
        "archived_at": finding.archived_at,
    }


_SELECT = select(findings, clients.c.name.label("client_name")).join(
    clients, clients.c.id == findings.c.client_id)


class SqlFindingStore(SqlStore):
    async def of_clients(self, client_ids: Sequence[str]) -> list[Finding]:
        if not client_ids:
            return []
        rows = await self.conn.execute(_SELECT.where(findings.c.client_id.in_(client_ids)))
        return [_finding(r) for r in rows]

    async def find(self, finding_id: str) -> Finding | None:
        row = (await self.conn.execute(_SELECT.where(findings.c.id == finding_id))).first()
        return None if row is None else _finding(row)

    async def save(self, finding: Finding) -> None:
        await replace_row(self.conn, findings, _row(finding))

    async def search(self, flt: FindingFilter, page: Page) -> tuple[list[Finding], int]:
        where = [findings.c.organization_id == ORG_ID, *equal_to(
            [(findings.c.client_id, flt.client_id), (findings.c.kind, flt.kind),
             (findings.c.state, flt.state)])]
        rows, total = await page_of(
            self.conn, findings,
            _SELECT.order_by(_STATE_ORDER, _SEVERITY_ORDER, clients.c.name, findings.c.kind,
                             findings.c.subject), where, page)
        return [_finding(r) for r in rows], total

    async def clients_with(self, kind: str) -> set[str]:
        return set((await self.conn.execute(select(findings.c.client_id).where(
            findings.c.kind == kind, findings.c.state == str(FindingState.active)))).scalars())

    async def summary(self, *, worst: int) -> FindingSummary:
        active = findings.c.state == str(FindingState.active)
        by_kind = {FindingKind(k): int(n) for k, n in await self.conn.execute(
            select(findings.c.kind, func.count()).where(active).group_by(findings.c.kind))}
        by_severity = {Severity(s): int(n) for s, n in await self.conn.execute(
            select(findings.c.severity, func.count()).where(active)
            .group_by(findings.c.severity))}
        worst_rank = func.max(-_SEVERITY_ORDER).label("rank")
        count = func.count().label("n")
        rows = await self.conn.execute(
            select(findings.c.client_id, func.max(clients.c.name).label("name"), count,
                   worst_rank).join(clients, clients.c.id == findings.c.client_id)
            .where(active).group_by(findings.c.client_id)
            .order_by(worst_rank.desc(), count.desc(), func.max(clients.c.name)).limit(worst))
        ranks = {rank: severity for severity, rank in SEVERITY_RANK.items()}
        return FindingSummary(by_kind, by_severity, [
            (r.client_id, r.name, int(r.n), ranks.get(int(r.rank), Severity.low))
            for r in rows])


async def claim_evaluation(conn: AsyncConnection, lock: int = EVALUATION_LOCK) -> bool:
    """Take the lock one replica's scheduled evaluation holds until its transaction ends; False
    when another replica holds it (it is doing the same work). PostgreSQL: a transaction-scoped
    advisory lock (fine behind a transaction pooler). SQLite: True, its one writer at a time
    already keeps two evaluations apart. ``lock`` names the evaluation (findings, alerts)."""
    if conn.dialect.name != "postgresql":
        return True
    return bool((await conn.execute(
        select(func.pg_try_advisory_xact_lock(lock)))).scalar_one())
