"""Housekeeping's archive step for the audit log: entries past the policy's
``auditRetentionDays`` are written to a signed file outside the database, then removed, a batch
per transaction. The other purges are in ``store/housekeeping.py``."""

from __future__ import annotations

import logging
from datetime import timedelta

from keystead.domain.governance.policy import Policy
from keystead.store.audit_archive import Archived, ArchiveRefusedError, archive_before
from keystead.web.runtime import Runtime

log = logging.getLogger("keystead")


async def archive_audit(runtime: Runtime, policy: Policy | None = None) -> list[Archived]:
    """Archive and remove audit entries past ``auditRetentionDays``, a batch per
    transaction, until none is due; nothing when the policy keeps them for ever."""
    done: list[Archived] = []
    while True:
        async with runtime.transaction() as conn:
            days = (policy or await runtime.policy_store(conn).find()).retention_days.get("audit")
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
