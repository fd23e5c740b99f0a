"""The governance tables (ownership policy, evidence, deactivation, secret delivery, the outbox
and notices, deletion approval, access reviews, findings, alerts), as SQLAlchemy Core tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from keystead.store.columns import client_ref, id_key, organization_ref
from keystead.store.table_metadata import metadata
from keystead.store.types import UTCDateTime

# A client's planned deactivation (domain/governance/deactivation.py): at most one per client,
# gone with it. The token path reads ``planned_at`` and ``date`` with the client (the
# Deprecation and Sunset headers).
deactivation_plans = Table(
    "deactivation_plans", metadata,
    client_ref(primary_key=True),
    Column("date", UTCDateTime, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("replacement_id", String(36), nullable=True),
    Column("planned_at", UTCDateTime, nullable=False),
    Column("planned_by", JSON, nullable=False),
    Column("reminded_at", UTCDateTime, nullable=True),
    Column("disabled_at", UTCDateTime, nullable=True),
)

# Where a client's secret is delivered and when it next rotates (domain/secret_delivery.py): at
# most one per client, gone with it. ``settings`` holds no credential (the vault's come from the
# server's settings); the rotation loop claims a due row by updating ``next_rotation_at`` only
# where it still holds the value it read.
secret_destinations = Table(
    "secret_destinations", metadata,
    client_ref(primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("rotate_every_days", Integer, nullable=True),
    Column("dual_use_seconds", Integer, nullable=True),
    Column("next_rotation_at", UTCDateTime, nullable=True),
    Column("last_delivered_at", UTCDateTime, nullable=True),
    Column("configured_at", UTCDateTime, nullable=False),
    Column("configured_by", JSON, nullable=False),
    Index("ix_secret_destinations_next_rotation_at", "next_rotation_at"),
)

# Evidence of use per client per UTC day (domain/governance/evidence.py): tokens by grant,
# failures by reason, scopes granted, permissions exercised, source networks, each a count. No
# foreign key, like client_usage: a deleted client's evidence ages out with the rest.
client_evidence = Table(
    "client_evidence", metadata,
    Column("client_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("item", String(200), primary_key=True),
    Column("count", Integer, nullable=False),
    # 0023: the dashboard's trend sums every client's evidence by day, and housekeeping purges
    # by day; the key starts with client_id, so neither could use it.
    Index("ix_client_evidence_day_kind", "day", "kind"),
)

# 0012: the organisation's governance policy, one row, its fields in their wire form (absent
# fields take the defaults of domain.governance.policy.Policy).
governance_policies = Table(
    "governance_policies", metadata,
    Column("organization_id", String(36), ForeignKey("organizations.id"), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("date_modified", UTCDateTime, nullable=False),
    Column("modified_by", JSON, nullable=False),
)

# 0015: the transactional outbox. A message is inserted in the transaction of the change that
# causes it; senders lease due rows (lease_owner, lease_until), deliver, and set sent_at. An
# unsent row whose lease ran out is claimed again: at least once, never lost.
outbox = Table(
    "outbox", metadata,
    id_key(),
    Column("channel", String(32), nullable=False),  # "email" or "webhook"
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    # 0020: messages sharing a key are handed out one at a time, by seq (webhooks: endpoint
    # and client, so a client's events arrive in order).
    Column("ordering_key", String(80), nullable=True),
    Column("ordering_seq", Integer, nullable=True),
    Index("ix_outbox_due", "sent_at", "next_attempt_at"),
    Index("ix_outbox_ordering", "ordering_key", "ordering_seq"),
)

# 0015: each user's notices (the console inbox); no foreign keys: a notice about a deleted
# client stays readable, and a deleted user's notices go with the user (store/notices.py).
notices = Table(
    "notices", metadata,
    id_key(),
    Column("recipient_id", String(36), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", String(320), nullable=False),
    Column("body", Text, nullable=False),
    Column("client_id", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    Index("ix_notices_recipient_created", "recipient_id", "created_at"),
)

# 0015: deletion requests (policy deletionApproval); no foreign key to clients: the request
# that deleted a client is kept as its record.
deletion_requests = Table(
    "deletion_requests", metadata,
    id_key(),
    Column("client_id", String(36), nullable=False, index=True),
    Column("client_name", String(320), nullable=False),
    Column("requested_by", JSON, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("decided_by", JSON, nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=False, default="", server_default=""),
)

# Access reviews (governance §5). Items keep the client's id and name without a foreign key: a
# retired client is deleted later, and the campaign's report must still show what was decided.
review_campaigns = Table(
    "review_campaigns", metadata,
    id_key(),
    organization_ref(),
    Column("name", String(128), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("selection", JSON, nullable=False),
    Column("fallback_reviewer_id", String(36), nullable=False),
    Column("owner", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_reason", String(200), nullable=False, default=""),
)

review_items = Table(
    "review_items", metadata,
    id_key(),
    Column("campaign_id", String(36), ForeignKey("review_campaigns.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("client_id", String(36), nullable=False, index=True),
    Column("client_name", String(128), nullable=False),
    Column("reviewer_id", String(36), nullable=False, index=True),
    Column("reviewer_name", String(128), nullable=False),
    Column("decision", String(16), nullable=True),
    Column("comment", Text, nullable=False, default=""),
    Column("decided_by", JSON, nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("removed", JSON, nullable=False),
    Column("reminded_at", UTCDateTime, nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
)

# 0017: what the findings engine found per client, kind and subject (a scope, a role id, or
# empty); evaluating again updates the same row, so the table is bounded by clients x kinds.
findings = Table(
    "findings", metadata,
    id_key(),
    organization_ref(),
    client_ref(),
    Column("kind", String(40), nullable=False),
    Column("subject", String(256), nullable=False, default=""),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("evidence", JSON, nullable=False),
    Column("recommendation", String(512), nullable=False),
    Column("remedy", String(40), nullable=True),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("archived_reason", String(512), nullable=True),
    Column("archived_by", JSON, nullable=True),
    Column("archived_at", UTCDateTime, nullable=True),
    Index("ux_findings_client_kind_subject", "client_id", "kind", "subject", unique=True),
)

# 0021: alerts (domain/governance/alerts.py). At most one open or acknowledged alert per rule,
# client and subject (the engine merges into it); resolved ones are purged after the notice
# retention period. ``client_id`` is empty for an organisation-wide alert; deleted with the
# client otherwise.
alerts = Table(
    "alerts", metadata,
    id_key(),
    organization_ref(),
    Column("rule", String(40), nullable=False),
    client_ref(nullable=True, index=True),
    Column("subject", String(256), nullable=False, default=""),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("count", Integer, nullable=False),
    Column("summary", String(512), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("firing", Boolean, nullable=False),
    Column("signature", String(512), nullable=False, default=""),
    Column("acknowledged_by", JSON, nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("resolved_by", JSON, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
)

# 0021: the last audit entry the alert evaluations have read, one row per organisation.
alert_cursors = Table(
    "alert_cursors", metadata,
    Column("organization_id", String(36), ForeignKey("organizations.id"), primary_key=True),
    Column("audit_seq", BigInteger, nullable=False),
    Column("evaluated_at", UTCDateTime, nullable=False),
)
