"""The webhook and audit-stream tables (0020), in the one schema (``table_metadata``)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from keystead.store.columns import id_key
from keystead.store.table_metadata import metadata
from keystead.store.types import UTCDateTime

# How far the audit stream (KEYSTEAD_AUDIT_STREAM) has sent the log, per stream target.
audit_stream_cursors = Table(
    "audit_stream_cursors", metadata,
    Column("target", String(500), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# Webhook endpoints (the signing secret sealed under the key ring, SecretBox) and one row per
# delivery attempt, deleted with the endpoint.
webhook_endpoints = Table(
    "webhook_endpoints", metadata,
    id_key(),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("description", String(500), nullable=False, default="", server_default=""),
    Column("secret_sealed", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("consecutive_failures", Integer, nullable=False, default=0, server_default="0"),
    Column("failing_since", UTCDateTime, nullable=True),
    Column("disabled_at", UTCDateTime, nullable=True),
    Column("disabled_reason", Text, nullable=False, default="", server_default=""),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    id_key(),
    Column("endpoint_id", String(36),
           ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("client_id", String(36), nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=True),
    Column("error", Text, nullable=False, default="", server_default=""),
    Column("at", UTCDateTime, nullable=False),
    Column("body", JSON, nullable=False),
    Index("ix_webhook_deliveries_endpoint_at", "endpoint_id", "at"),
    Index("ix_webhook_deliveries_endpoint_event", "endpoint_id", "event_id"),
)
