"""The outside parts the settings name, built for the runtime: the token path's store, the
outbox's delivery channels, the audit stream, the secret vault and the token signer."""

from __future__ import annotations

import logging
from datetime import datetime

from cryptography.fernet import MultiFernet
from sqlalchemy.ext.asyncio import AsyncEngine

from keystead.channels.audit_sinks import FileSink, SyslogUdpSink
from keystead.channels.smtp import SmtpChannel
from keystead.config import Settings, audit_stream_target
from keystead.delivery.vault import VaultConnection
from keystead.domain.audit_stream import AuditSink, AuditStreamer
from keystead.domain.governance.notices import EMAIL
from keystead.domain.outbox import Channel
from keystead.domain.tokens import HotStore
from keystead.protocol.keys import StoredKey, jwk_set, load_private, published, signing_key
from keystead.protocol.tokens import Signer
from keystead.store.audit_stream import audit_tails
from keystead.store.database import sqlite_path
from keystead.store.health import DatabaseProbe
from keystead.store.hot_sql import SqlHotStore, following
from keystead.store.hot_sqlite import SqliteHotStore
from keystead.store.migrate import head_revision

log = logging.getLogger("keystead")


def channels(settings: Settings) -> dict[str, Channel]:
    """The outbox's delivery channels the settings configure (webhooks join in build_runtime:
    their channel works in the runtime's transactions)."""
    channels: dict[str, Channel] = {}
    if settings.smtp_host:
        channels[EMAIL] = SmtpChannel(
            settings.smtp_host, settings.smtp_port, settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls, timeout_seconds=settings.smtp_timeout_seconds)
    return channels


def audit_streamer(settings: Settings, engine: AsyncEngine) -> AuditStreamer | None:
    """The audit stream KEYSTEAD_AUDIT_STREAM names; None when it names none."""
    target = audit_stream_target(settings.audit_stream) if settings.audit_stream else None
    if target is None:
        return None
    sink: AuditSink = FileSink(target) if not isinstance(target, tuple) else SyslogUdpSink(
        *target)
    return AuditStreamer(settings.audit_stream, audit_tails(engine), sink)


def vault(settings: Settings) -> VaultConnection | None:
    if not settings.vault_addr:
        return None
    return VaultConnection(
        settings.vault_addr, token=settings.vault_token.get_secret_value(),
        role_id=settings.vault_role_id.get_secret_value(),
        secret_id=settings.vault_secret_id.get_secret_value(),
        approle_mount=settings.vault_approle_mount, namespace=settings.vault_namespace or None,
        timeout_seconds=settings.vault_timeout_seconds, ca_cert=settings.vault_ca_cert or None)


def hot_store(settings: Settings, engine: AsyncEngine) -> HotStore:
    url = settings.resolved_database_url
    path = sqlite_path(url)
    if path is not None:
        return SqliteHotStore(path, busy_timeout_seconds=settings.sqlite_busy_timeout_seconds)
    listen_url = settings.database_listen_url.get_secret_value() or (
        "" if settings.database_transaction_pooler else url)
    if not listen_url:
        log.warning("KEYSTEAD_DATABASE_TRANSACTION_POOLER without KEYSTEAD_DATABASE_LISTEN_URL: "
                    "nothing is kept, every token request reads the database")
        return SqlHotStore(engine, feed=None)
    return SqlHotStore(engine, feed=following(
        listen_url, heartbeat=settings.change_feed_heartbeat_seconds,
        max_lag=settings.change_feed_max_lag_seconds))


def token_signer(keys: list[StoredKey], cipher: MultiFernet, now: datetime) -> Signer | None:
    chosen = signing_key(keys, now)
    if chosen is None:
        return None
    public = [k.public_jwk for k in published(keys, now)]
    return Signer(chosen.kid, load_private(cipher, chosen.private_jwk_encrypted),
                  jwk_set(public), {"keys": public})


def database_probe(settings: Settings) -> DatabaseProbe:
    """Readiness's and the scrape's own connection to the database (never the request pool)."""
    return DatabaseProbe(settings.resolved_database_url,
                         timeout=settings.readiness_timeout_seconds)


def expected_revision() -> str:
    """The schema revision this code runs on (the migrations' head)."""
    return head_revision()
