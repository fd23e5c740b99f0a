"""Housekeeping's purges on a time rule, on one connection (``domain/housekeeping.py``): each
store's own purge, called with the cut-off its rule gives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.housekeeping import KeptFor
from keystead.store.alerts import SqlAlertStore
from keystead.store.authorizations import SqlAuthorizationStore
from keystead.store.deletion_requests import SqlDeletionRequestStore
from keystead.store.evidence import SqlEvidence
from keystead.store.identity_providers import SqlAssertionLedger
from keystead.store.keys import SqlSigningKeys
from keystead.store.notices import SqlNoticeStore
from keystead.store.outbox import SqlOutbox
from keystead.store.policy import SqlPolicyStore
from keystead.store.sessions import SqlSessionStore
from keystead.store.sql_store import SqlStore
from keystead.store.tokens import SqlTokenRevoker
from keystead.store.webhooks import SqlDeliveryLog

# The policy's retention rule key (domain/governance/retention.py) -> what deletes its records
# older than the cut-off. A new kind of record governed by the policy joins here. The audit log
# is not here: it is archived to a file first (``Runtime.archive_audit`` in web/runtime.py).
Purger = Callable[[AsyncConnection, datetime], Awaitable[int]]
PURGERS: dict[str, Purger] = {
    "evidence": lambda conn, cutoff: SqlEvidence(conn).purge_before(cutoff.date()),
    "deliveries": lambda conn, cutoff: SqlOutbox(conn).purge_sent(before=cutoff),
}


class SqlHousekeeping(SqlStore):
    async def purge_expired(self, now: datetime, kept: KeptFor) -> None:
        conn = self.conn
        await SqlTokenRevoker(conn).purge_expired(now=now, usage_retention_days=kept.usage.days)
        await SqlSessionStore(conn).purge_expired(now=now, idle_before=now - kept.session_idle)
        await SqlAuthorizationStore(conn).purge_expired(now=now)
        await SqlSigningKeys(conn).purge_retired(now=now)
        await SqlAssertionLedger(conn).purge_expired(now)
        await self._purge_by_policy(now, kept)
        await SqlNoticeStore(conn).purge_read(before=now - kept.notices)
        await SqlAlertStore(conn).purge_resolved(before=now - kept.notices)
        await SqlDeletionRequestStore(conn).purge_closed(before=now - kept.notices)
        await SqlDeliveryLog(conn).purge_before(now - kept.delivery_log)

    async def _purge_by_policy(self, now: datetime, kept: KeptFor) -> None:
        """What each retention rule with a purger says is past its time; a rule whose policy
        field is unset falls back to the settings (deliveries: the notice retention)."""
        policy = await SqlPolicyStore(self.conn).find()
        fallback = {"deliveries": kept.notices.days}
        for key, purger in PURGERS.items():
            days = policy.retention_days.get(key) or fallback.get(key)
            if days is not None:
                await purger(self.conn, now - timedelta(days=days))
