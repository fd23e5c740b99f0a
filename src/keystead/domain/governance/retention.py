"""How long the organisation keeps each kind of record: the policy's retention fields.

One ``RetentionRule`` per kind of record. The policy (``domain/governance/policy.py``) takes its
wire fields from ``RETENTION_RULES`` and housekeeping (``store/housekeeping.py``) looks up
a purger per rule key, so a new kind of record joins by adding a rule here and a purger there
(the audit log's is the archive step, ``Runtime.archive_audit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_RETENTION_DAYS = 3_650
EVIDENCE_MAX_DAYS = 365  # the longest lookback a policy can ask for (policy.MAX_LOOKBACK_DAYS)


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """A kind of record, the policy field naming its retention, and what that means."""

    key: str
    wire: str
    low: int
    high: int
    # None: no retention by policy (kept, or as a setting says: see ``unset``).
    default: int | None
    unset: str


RETENTION_RULES: tuple[RetentionRule, ...] = (
    RetentionRule("audit", "auditRetentionDays", 30, MAX_RETENTION_DAYS, None,
                  "audit entries are kept for ever"),
    RetentionRule("evidence", "evidenceRetentionDays", 1, EVIDENCE_MAX_DAYS, EVIDENCE_MAX_DAYS,
                  "evidence of use is kept 365 days"),
    RetentionRule("deliveries", "deliveryRetentionDays", 1, MAX_RETENTION_DAYS, None,
                  "delivered messages are kept KEYSTEAD_NOTICE_RETENTION_DAYS"),
)
RULES_BY_WIRE: Mapping[str, RetentionRule] = {rule.wire: rule for rule in RETENTION_RULES}


def default_retention() -> dict[str, int | None]:
    return {rule.key: rule.default for rule in RETENTION_RULES}
