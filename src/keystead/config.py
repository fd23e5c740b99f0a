"""Settings: the only place configuration is read (environment variables ``KEYSTEAD_*``)."""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"  # noqa: S105 - a marker we refuse, not a credential


class Environment(StrEnum):
    development = "development"
    production = "production"


class LogFormat(StrEnum):
    auto = "auto"  # json unless stderr is a terminal
    json = "json"
    text = "text"


class Settings(BaseSettings):
    """Every setting, typed, with secure defaults. Built once and passed down."""

    model_config = SettingsConfigDict(env_prefix="KEYSTEAD_", frozen=True)

    environment: Environment = Environment.development
    data_dir: Path = Path("var")
    database_url: str = ""
    issuer: str = "http://127.0.0.1:8000"
    # Keys the HMAC digests of secrets and tokens and encrypts signing keys at rest.
    secret_key: SecretStr = SecretStr("")
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
    # Refresh tokens of the code grant: how long one lives (rotated ones for public clients).
    refresh_token_ttl_seconds: int = Field(default=2_592_000, ge=300, le=31_536_000)
    # The dashboard flags secrets older than this.
    secret_rotation_days: int = Field(default=30, ge=1, le=3650)

    @model_validator(mode="after")
    def _refuse_placeholder_secret_in_production(self) -> Settings:
        key = self.secret_key.get_secret_value()
        if self.environment is Environment.production and (
            len(key) < 32 or key == PLACEHOLDER_SECRET
        ):
            raise ValueError(
                "KEYSTEAD_SECRET_KEY must be set to at least 32 random characters in production"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'keystead.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def with_secret_key(self) -> Settings:
        """Return settings whose secret key is set, creating ``data_dir/secret.key`` in development.

        Raises:
            ValueError: in production when no key is configured (the validator already refuses it).
        """
        if self.secret_key.get_secret_value():
            return self
        key_file = self.data_dir / "secret.key"
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return self.model_copy(update={"secret_key": SecretStr(key_file.read_text().strip())})
