"""Housekeeping's retention by policy (domain/governance/retention.py): each kind of record's
purger, and the audit log's archive-then-remove step, which writes a file outside the
database and so runs in a transaction of its own."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.governance.policy import Policy
from keystead.store.audit_archive import Archived, ArchiveRefusedError, archive_before
from keystead.store.evidence import SqlEvidence
from keystead.store.outbox import SqlOutbox
from keystead.store.policy import SqlPolicyStore
from keystead.web.runtime import Runtime

log = logging.getLogger("keystead")

# rule key -> what deletes its records older than the cut-off. An alerts table joins here.
Purger = Callable[[AsyncConnection, datetime], Awaitable[int]]
PURGERS: dict[str, Purger] = {
    "evidence": lambda conn, cutoff: SqlEvidence(conn).purge_before(cutoff.date()),
    "deliveries": lambda conn, cutoff: SqlOutbox(conn).purge_sent(before=cutoff),
}


async def purge_by_policy(runtime: Runtime, conn: AsyncConnection, *, now: datetime) -> None:
    """Delete what each retention rule with a purger says is past its time; a rule whose
    policy field is unset falls back to its setting (deliveries: the notice retention)."""
    policy = await SqlPolicyStore(conn).find()
    fallback = {"deliveries": runtime.settings.notice_retention_days}
    for key, purger in PURGERS.items():
        days = policy.retention_days.get(key) or fallback.get(key)
        if days is not None:
            await purger(conn, now - timedelta(days=days))


async def archive_audit(runtime: Runtime, policy: Policy | None = None) -> list[Archived]:
    """Archive and remove audit entries past ``auditRetentionDays``, a batch per
    transaction, until none is due; nothing when the policy keeps them for ever."""
    done: list[Archived] = []
    while True:
        async with runtime.transaction() as conn:
            days = (policy or await SqlPolicyStore(conn).find()).retention_days.get("audit")
            if days is None:
                return done
            now = runtime.clock()
            try:
                archived = await archive_before(
                    conn, before=now - timedelta(days=days),
                    folder=runtime.settings.audit_archive_folder,
                    ring=runtime.settings.key_ring(), now=now)
            except ArchiveRefusedError as exc:
                log.error("audit entries past their retention were kept, not archived: the "
                          "chain does not verify (%s); run `keystead audit verify`", exc)
                return done
        if archived is None:
            return done
        log.info("archived %d audit entries to %s", archived.entries, archived.path)
        done.append(archived)
