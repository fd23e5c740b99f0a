"""Housekeeping's time rules: what the settings keep, and the port that purges what is past it.

The rules per table are declared in ``store/retention.py``; the policy's own retention fields in
``domain/governance/retention.py``. Purges that decide something (planned deactivations, due
deletions) are use cases of their own and run before these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class KeptFor:
    """How long the deployment's settings keep what the policy does not govern."""

    usage: timedelta           # usage counts (KEYSTEAD_USAGE_RETENTION_DAYS)
    session_idle: timedelta    # a console session idle this long is gone
    notices: timedelta         # read notices, resolved alerts, closed deletion requests; and
                               # delivered messages when the policy sets no deliveryRetentionDays
    delivery_log: timedelta    # webhook delivery attempts


class TimeRulePurges(Protocol):
    async def purge_expired(self, now: datetime, kept: KeptFor) -> None:
        """Delete every row whose time rule says it is past keeping at ``now``: revocations of
        expired tokens, old usage counts, expired codes, refresh tokens and spent families,
        timed-out sessions, retired keys, spent assertion ids, evidence and delivered messages
        past the policy's retention, read notices, resolved alerts, closed deletion requests,
        and old webhook delivery attempts. Never an unsent message, an unread notice or an
        unresolved alert."""
