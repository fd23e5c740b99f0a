"""Settings: the only place configuration is read (environment variables ``KEYSTEAD_*``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keystead.domain.keyring import KeyRing
from keystead.domain.tokens import USAGE_DAYS

PLACEHOLDER_SECRET = "change-me"  # noqa: S105 - a marker we refuse, not a credential
ISSUER_VARIABLE = "KEYSTEAD_ISSUER"
# Addresses that mean "every interface": no client can reach the server by this name, so a
# deployment listening on one must say its public URL in KEYSTEAD_ISSUER.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names we warn about


class Environment(StrEnum):
    development = "development"
    production = "production"


class LogFormat(StrEnum):
    auto = "auto"  # json unless stderr is a terminal
    json = "json"
    text = "text"


class Settings(BaseSettings):
    """Every setting, typed, with secure defaults. Built once and passed down."""

    # Errors never echo the input: it holds the server keys.
    model_config = SettingsConfigDict(env_prefix="KEYSTEAD_", frozen=True,
                                      hide_input_in_errors=True)

    environment: Environment = Environment.development
    data_dir: Path = Path("var")
    database_url: str = ""
    # PostgreSQL through pgbouncer (or another pooler) in transaction mode: no prepared statements
    # kept across transactions. Run `keystead init` against the database itself.
    database_transaction_pooler: bool = False
    # PostgreSQL: each worker keeps what the token path reads and listens for changes on a
    # connection of its own. Behind a transaction pooler LISTEN cannot work: give the database's
    # own address here (else nothing is kept and every token request reads the database).
    database_listen_url: SecretStr = SecretStr("")
    # A kept read is served only while the worker has proof, at most this old, that it has seen
    # every change committed before (store/change_feed.py); it asks for a new proof every
    # ``change_feed_heartbeat_seconds``.
    change_feed_max_lag_seconds: float = Field(default=0.1, gt=0, le=10)
    change_feed_heartbeat_seconds: float = Field(default=0.025, gt=0, le=5)
    issuer: str = "http://127.0.0.1:8000"
    # The server key ring: keys the HMAC digests of secrets and tokens, seals opaque tokens and
    # encrypts signing keys and TOTP secrets at rest. ``secret_keys``: ``kid:key`` entries,
    # comma-separated, the current key first; ``secret_key``, the single key of old, joins the
    # ring last (it is a ring of one on its own). See ``domain/keyring.py``.
    secret_key: SecretStr = SecretStr("")
    secret_keys: SecretStr = SecretStr("")
    default_dual_use_seconds: int = Field(default=86_400, ge=0, le=604_800)
    # The keystead loggers' level; INFO writes an access line per request, WARNING drops them.
    log_level: str = Field(default="INFO",
                           pattern=r"^(?i:debug|info|warning|error|critical)$")
    log_format: LogFormat = LogFormat.auto
    # SQLite only: how long a writer waits for the database lock before giving up.
    sqlite_busy_timeout_seconds: float = Field(default=5.0, gt=0)
    # Console sessions: signed out after this long without a request (15 minutes at most, the
    # admin rule), and after this long whatever happens.
    session_idle_seconds: int = Field(default=900, ge=1, le=900)
    session_lifetime_seconds: int = Field(default=43_200, ge=60, le=43_200)
    # argon2id cost for user passwords (RFC 9106 §4: 64 MiB and 3 passes by default).
    password_hash_memory_kib: int = Field(default=65_536, ge=8_192, le=4_194_304)
    password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    # An authorization code must be redeemed this long after it was issued (RFC 6749 §4.1.2
    # recommends at most 10 minutes; a client redeems at once).
    authorization_code_ttl_seconds: int = Field(default=60, ge=10, le=600)
    # A legacy implicit token lives at most this long (less if its client's tokens are shorter):
    # it sits in the browser's URL and is never refreshed.
    implicit_token_ttl_seconds: int = Field(default=900, ge=60, le=3_600)
    # Refresh tokens of the code grant: how long one lives (rotated ones for public clients).
    refresh_token_ttl_seconds: int = Field(default=2_592_000, ge=300, le=31_536_000)
    # Every grant family (one user's authorization of one client) ends this long after the
    # user authorized it, however often its refresh tokens rotate: 90 days by default, so a
    # steadily refreshing app still sends its user to sign in again every quarter.
    grant_family_max_lifetime_seconds: int = Field(default=7_776_000, ge=300, le=31_536_000)
    # A code or rotated refresh token presented again by its own client within this many seconds
    # of its first use is a racing duplicate: refused (invalid_grant) without revoking the
    # family. Later, it is a replay and revokes the family. 0: every second use revokes.
    grant_reuse_grace_seconds: int = Field(default=10, ge=0, le=60)
    # SAML2 bearer: the longest an assertion may be valid, from its IssueInstant to its latest
    # NotOnOrAfter (the replay ledger keeps a redeemed one that long, plus 60 s of skew).
    saml_assertion_max_lifetime_seconds: int = Field(default=600, ge=60, le=86_400)
    # Tokens issued per client per day (client_usage) are kept this many days, then purged by
    # housekeeping; never fewer than the longest usage summary the API answers (USAGE_DAYS).
    usage_retention_days: int = Field(default=400, ge=USAGE_DAYS, le=3_650)
    # Evidence of use per client per day (tokens by grant, failures, scopes, permissions,
    # source networks) for governance; off only to measure what recording costs.
    evidence_recording: bool = True
    # Secret delivery (keystead/delivery/): file destinations may only write under this
    # directory (unset: no file destinations); vault destinations go to this Vault/OpenBao
    # address, signed in with the token or, when a role id is set, with AppRole.
    secret_file_root: Path | None = None
    vault_addr: str = ""
    vault_token: SecretStr = SecretStr("")
    vault_role_id: SecretStr = SecretStr("")
    vault_secret_id: SecretStr = SecretStr("")
    vault_approle_mount: str = "approle"
    vault_namespace: str = ""
    vault_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    vault_ca_cert: str = ""
    # The dashboard flags secrets older than this.
    secret_rotation_days: int = Field(default=30, ge=1, le=3650)
    # Failed client authentications: one audit entry per client, source and reason per
    # interval, with a count (the first of each written at once).
    auth_failure_interval_seconds: int = Field(default=60, ge=1, le=3_600)
    # Throttling failed client authentication (protocol/throttle.py): after this many failures in
    # the window for one client id from one address, or from one address whatever the client,
    # the next attempts get 429 until the window lets them through.
    throttle_client_failures: int = Field(default=10, ge=1, le=10_000)
    throttle_source_failures: int = Field(default=100, ge=1, le=100_000)
    throttle_window_seconds: int = Field(default=300, ge=1, le=86_400)
    # Redis shared by the replicas (throttle counts; readiness then requires it to answer);
    # process memory when empty.
    redis_url: SecretStr = SecretStr("")
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses or CIDR blocks).
    trusted_proxies: str = ""
    # GET /metrics answers only `Authorization: Bearer <this>`; unset, there is no /metrics.
    metrics_token: SecretStr = SecretStr("")
    # How long /health/ready waits for the database (and Redis) before calling it unready.
    readiness_timeout_seconds: float = Field(default=1.0, gt=0, le=10)
    # E-mail for notices (domain/governance/notices.py), sent from the outbox. No host: no
    # e-mail is queued (notices still reach the console inbox).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    smtp_from: str = "keystead@localhost"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # STARTTLS before authenticating (on by default: a password never crosses in clear).
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # A console invitation's one-time link (sent by e-mail) works this many hours.
    invite_ttl_hours: int = Field(default=72, ge=1, le=720)
    # Sent outbox messages, read notices and decided deletion requests are purged by
    # housekeeping this many days later (unsent messages and unread notices never are).
    notice_retention_days: int = Field(default=90, ge=1, le=3_650)
    # Webhooks (domain/webhooks): endpoints on loopback or private addresses are refused unless
    # this is on (a closed network, tests); each POST waits at most the timeout. An endpoint
    # failing this many times in a row over at least this long is disabled, with a notice.
    webhooks_allow_private: bool = False
    # How often each replica's outbox loop looks for due messages: a notice or webhook leaves
    # within this of its commit. At least 1 s: readiness calls a loop dead after twice its
    # interval without an attempt, and a busy second must not take a replica out.
    outbox_interval_seconds: float = Field(default=5.0, ge=1, le=300)
    # A sender's lease on the outbox messages it claimed: a sender that dies mid-delivery holds
    # them up this long. Keep it above the longest delivery timeout (SMTP, webhooks).
    outbox_lease_seconds: int = Field(default=60, ge=5, le=3_600)
    webhooks_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    webhooks_disable_after_failures: int = Field(default=10, ge=1, le=10_000)
    webhooks_disable_after_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)
    # The delivery log is purged by housekeeping this many days after each attempt.
    webhook_delivery_retention_days: int = Field(default=30, ge=1, le=3_650)
    # The audit log as a stream of JSON lines for a SIEM: `file:/absolute/path` (appended) or
    # `syslog:udp://host:port` (RFC 5424). Empty: no stream.
    audit_stream: str = ""

    @field_validator("audit_stream")
    @classmethod
    def _audit_stream_target(cls, value: str) -> str:
        if value and audit_stream_target(value) is None:
            raise ValueError("KEYSTEAD_AUDIT_STREAM must be file:/absolute/path or "
                             "syslog:udp://host:port")
        return value

    # Where audit entries past the policy's auditRetentionDays are written, as signed JSON-lines
    # files, before housekeeping removes them (empty: ``data_dir/audit-archive``).
    audit_archive_dir: Path | None = None

    @property
    def audit_archive_folder(self) -> Path:
        return self.audit_archive_dir or self.data_dir / "audit-archive"

    @model_validator(mode="after")
    def _refuse_placeholder_secret_in_production(self) -> Settings:
        key = self.secret_key.get_secret_value()
        ring = self.secret_keys.get_secret_value()
        # With a ring, the single key is optional; when set it must still be a real key.
        if self.environment is Environment.production and (key or not ring) and (
            len(key) < 32 or key == PLACEHOLDER_SECRET
        ):
            raise ValueError(
                "KEYSTEAD_SECRET_KEY must be set to at least 32 random characters in production"
            )
        if self.secret_keys.get_secret_value():
            self.key_ring()  # a malformed ring stops start-up here, saying which entry is wrong
        return self

    def key_ring(self) -> KeyRing:
        """The server key ring, the current key first.

        Raises:
            KeyRingError: a malformed ``KEYSTEAD_SECRET_KEYS`` or no key at all (call
                ``with_secret_key`` first in development).
        """
        return KeyRing.parse(self.secret_keys.get_secret_value(),
                             single=self.secret_key.get_secret_value())

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'keystead.db'}"

    def with_secret_key(self) -> Settings:
        """Return settings whose secret key is set, creating ``data_dir/secret.key`` in development.

        In development the generated key is the single key even beside a ``KEYSTEAD_SECRET_KEYS``
        ring (it joins it last): delete the file to take it out of the ring.

        Raises:
            ValueError: in production when no key is configured (the validator already refuses it).
        """
        if self.secret_key.get_secret_value():
            return self
        key_file = self.data_dir / "secret.key"
        if self.secret_keys.get_secret_value():
            # A development ring keeps the generated key in it (last) while the file is there.
            if self.environment is Environment.production or not key_file.exists():
                return self
        elif not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return self.model_copy(update={"secret_key": SecretStr(key_file.read_text().strip())})


def listen_url(host: str, port: int) -> str:
    """``http://host:port`` as a client writes it: an IPv6 address in brackets, no ``:80``."""
    bare = host.strip("[]")
    name = f"[{bare}]" if ":" in bare else bare
    return f"http://{name}" if port == 80 else f"http://{name}:{port}"


def serve_issuer(host: str, port: int, *,
                 environ: Mapping[str, str] = os.environ) -> tuple[str, bool]:
    """The issuer ``keystead serve --host --port`` runs with, and whether it was configured.

    ``KEYSTEAD_ISSUER`` wins; without it the issuer follows where the server listens, so
    discovery and every endpoint URL name the address clients reach it at (OIDC Discovery §4.3:
    the issuer MUST be identical to the URL the metadata was fetched under).
    """
    configured = environ.get(ISSUER_VARIABLE, "")
    if configured:
        return configured, True
    return listen_url(host, port), False



def audit_stream_target(value: str) -> Path | tuple[str, int] | None:
    """KEYSTEAD_AUDIT_STREAM read: a file's path, a syslog (host, UDP port), or None if bad."""
    if value.startswith("file:"):
        path = Path(value.removeprefix("file:"))
        return path if path.is_absolute() else None
    if value.startswith("syslog:udp://"):
        try:
            parts = urlsplit(value.removeprefix("syslog:"))
            port = parts.port
        except ValueError:
            return None
        if parts.hostname and port and not parts.path.strip("/"):
            return parts.hostname, port
    return None
