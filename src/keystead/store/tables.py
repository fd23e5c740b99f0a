"""The schema, as SQLAlchemy Core tables (the repositories issue Core statements, no ORM graph).

The governance tables live in ``governance_tables`` and the webhook ones in ``webhook_tables``;
importing this module registers them all.
"""

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
    SmallInteger,
    String,
    Table,
    Text,
    false,
)

from keystead.domain.organization import ORGANIZATION_ID
from keystead.store import (
    governance_tables,  # noqa: F401  (its tables join the one schema)
    webhook_tables,  # noqa: F401  (so do these)
)
from keystead.store.columns import client_ref, id_key, organization_ref
from keystead.store.table_metadata import metadata as metadata  # re-exported: the whole schema
from keystead.store.types import UTCDateTime

ORG_ID = ORGANIZATION_ID

organizations = Table(
    "organizations", metadata,
    id_key(),
    Column("name", String(128), nullable=False),
)

divisions = Table(
    "divisions", metadata,
    id_key(),
    organization_ref(),
    Column("name", String(128), nullable=False),
    Column("description", String(512), nullable=False, default=""),
    Column("home", Boolean, nullable=False, default=False),
    Column("date_created", UTCDateTime, nullable=False),
    Index("ux_divisions_org_name", "organization_id", "name", unique=True),
)

roles = Table(
    "roles", metadata,
    id_key(),
    organization_ref(),
    Column("name", String(128), nullable=False),
    Column("description", String(512), nullable=False, default=""),
    Column("permissions", JSON, nullable=False),
    Column("builtin", Boolean, nullable=False, default=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_modified", UTCDateTime, nullable=False),
    Index("ux_roles_org_name", "organization_id", "name", unique=True),
)

scopes = Table(
    "scopes", metadata,
    Column("organization_id", String(36), ForeignKey("organizations.id"), primary_key=True),
    Column("id", String(128), primary_key=True),
    Column("description", String(512), nullable=False, default=""),
    Column("builtin", Boolean, nullable=False, default=False),
    # A custom scope's resource server: the audience of its tokens (None: the issuer).
    Column("resource_server", String(512), nullable=True),
)

users = Table(
    "users", metadata,
    id_key(),
    organization_ref(),
    Column("name", String(128), nullable=False),
    Column("email", String(320), nullable=False),
    Column("state", String(16), nullable=False, default="active"),
    Column("password_hash", Text, nullable=True),  # argon2id
    Column("mfa_secret", Text, nullable=True),  # TOTP secret, encrypted; set once enrolled
    Column("mfa_last_step", BigInteger, nullable=True),  # a TOTP code is accepted once
    Column("failed_logins", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_modified", UTCDateTime, nullable=False),
    Column("date_last_login", UTCDateTime, nullable=True),
    # An id the organisation knows the user by elsewhere (unique). It names no one to a SAML
    # provider: assertions name users through user_identity_links only (issue 9).
    Column("external_id", String(255), nullable=True),
    Index("ux_users_org_email", "organization_id", "email", unique=True),
    Index("ux_users_org_external_id", "organization_id", "external_id", unique=True),
)

user_grants = Table(
    "user_grants", metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", String(36), ForeignKey("roles.id"), primary_key=True),
    Column("division_id", String(36), ForeignKey("divisions.id"), primary_key=True),
)

recovery_codes = Table(
    "recovery_codes", metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("used_at", UTCDateTime, nullable=True),
)

# 0024: invitations by e-mail. A user added by invitation has no password until they open the
# one-time link; only the link token's keyed digest is kept. One row per user: sending again
# replaces it; a used, revoked or expired one stays (the user's page tells) and goes with the user.
user_invitations = Table(
    "user_invitations", metadata,
    id_key(),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("invited_by", String(36), nullable=False),  # the inviting admin's user id
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ux_user_invitations_digest", "digest", unique=True),
    Index("ix_user_invitations_user_id", "user_id"),
)

# Console sessions, server-side so every replica sees sign-out and expiry at once. Known by the
# keyed digest of the cookie value; ``stage`` says how far sign-in got.
sessions = Table(
    "sessions", metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("stage", String(16), nullable=False),
    Column("amr", JSON, nullable=False),
    Column("data", JSON, nullable=False),  # encrypted values only (pending TOTP secret, ...)
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

clients = Table(
    "clients", metadata,
    id_key(),
    organization_ref(),
    Column("name", String(128), nullable=False),
    Column("description", String(512), nullable=False, default=""),
    Column("grant_types", JSON, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("token_ttl_seconds", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("date_to_delete", UTCDateTime, nullable=True),
    Column("token_format", String(16), nullable=False),
    Column("require_pkce", Boolean, nullable=False),
    # "public" clients (SPA, mobile, native) hold no secret and must use PKCE.
    Column("client_type", String(16), nullable=False, default="confidential",
           server_default="confidential"),
    # RFC 7591 §2: client_secret_basic, client_secret_post, or none (public clients only).
    Column("token_endpoint_auth_method", String(32), nullable=False,
           default="client_secret_basic", server_default="client_secret_basic"),
    Column("owner_contact", String(320), nullable=False, default=""),
    # 0012: the owning user (no foreign key: a deleted owner leaves the client orphaned, which
    # governance must still be able to see), tags and the environment label.
    Column("owner_id", String(36), nullable=True, index=True),
    Column("tags", JSON, nullable=False, default=list, server_default="[]"),
    Column("environment", String(16), nullable=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_modified", UTCDateTime, nullable=False),
    Column("created_by", JSON, nullable=False),
    Column("modified_by", JSON, nullable=False),
    Column("date_last_used", UTCDateTime, nullable=True),
    # Tokens issued at or before this instant are revoked (set when the client stops being
    # active, so re-enabling it never revives them).
    Column("tokens_valid_after", UTCDateTime, nullable=True),
    Index("ix_clients_org_name", "organization_id", "name"),
)

client_role_divisions = Table(
    "client_role_divisions", metadata,
    client_ref(primary_key=True),
    Column("role_id", String(36), ForeignKey("roles.id"), primary_key=True),
    Column("division_id", String(36), ForeignKey("divisions.id"), primary_key=True),
)

client_secrets = Table(
    "client_secrets", metadata,
    id_key(),
    client_ref(index=True),
    Column("digest", String(64), nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_expires", UTCDateTime, nullable=True),
    Column("date_last_used", UTCDateTime, nullable=True),
    Column("current", Boolean, nullable=False),
    # The server key ring entry the digest is keyed with; NULL: the former single key.
    Column("key_id", String(16), nullable=True),
    # What an application holding the secret can compute to tell which one it holds
    # (domain/secrets.py fingerprint); NULL for a secret made before it was kept.
    Column("fingerprint", String(8), nullable=True),
)

# Revoked access tokens, known only by the keyed digest of their value (opaque) or jti (JWT).
# Issuing writes no row (a token proves itself; see protocol/tokens.py): this is the revocation
# list, kept until the token would have expired anyway. No foreign key to clients: a deleted
# client's tokens are refused by the client lookup already.
revoked_tokens = Table(
    "revoked_tokens", metadata,
    Column("digest", String(64), primary_key=True),
    Column("client_id", String(36), nullable=False),
    Column("subject_id", String(36), nullable=True),
    Column("scope", Text, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("revoked_at", UTCDateTime, nullable=False),
    sqlite_with_rowid=False,
)

# Tokens issued per client per UTC day, for the usage summary: counted in memory by each worker
# and added here in one small upsert per flush. Kept KEYSTEAD_USAGE_RETENTION_DAYS (see
# store/retention.py); no foreign key, so a deleted client's history stays until it ages out.
client_usage = Table(
    "client_usage", metadata,
    Column("client_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("tokens_issued", Integer, nullable=False),
)

signing_keys = Table(
    "signing_keys", metadata,
    Column("kid", String(64), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("private_jwk_encrypted", Text, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False),
    # A retired key stays in the JWK Set until every token it signed has expired.
    Column("retire_after", UTCDateTime, nullable=True),
)

# One user's grant to one client, from one authorization code (or SAML assertion): its tokens and
# refresh tokens carry the family id, so revoking the family stops all of them at once.
grant_families = Table(
    "grant_families", metadata,
    id_key(),
    Column("client_id", String(36), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    # The absolute deadline, set when the user authorizes: no refresh token outlives it.
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_grant_families_user_client", "user_id", "client_id"),
)

authorization_codes = Table(
    "authorization_codes", metadata,
    Column("digest", String(64), primary_key=True),
    Column("family_id", String(36), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("code_challenge", String(128), nullable=True),
    Column("nonce", Text, nullable=True),
    Column("auth_time", UTCDateTime, nullable=False),
    Column("amr", JSON, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("consumed_at", UTCDateTime, nullable=True),
    # The console session the code was minted in (its digest): once it ends, the code is dead.
    Column("session_digest", String(64), nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens", metadata,
    Column("digest", String(64), primary_key=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("client_id", String(36), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("scope", Text, nullable=False),
    Column("auth_time", UTCDateTime, nullable=False),
    Column("amr", JSON, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("used_at", UTCDateTime, nullable=True),  # set when rotated: a second use is a replay
)

# What each user allowed each client; a change of the client's scopes asks again.
consents = Table(
    "consents", metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    client_ref(primary_key=True),
    Column("scopes", JSON, nullable=False),
    Column("granted_at", UTCDateTime, nullable=False),
)

# Trusted SAML identity providers (Genesys "GenericSAML"), for the SAML2 bearer grant.
identity_providers = Table(
    "identity_providers", metadata,
    id_key(),
    organization_ref(),
    Column("name", String(128), nullable=False),
    Column("issuer_uri", String(1024), nullable=False),
    Column("certificates", JSON, nullable=False),
    Column("relying_party_identifier", String(1024), nullable=False),
    Column("name_identifier_format", String(256), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_modified", UTCDateTime, nullable=False),
    # May this provider vouch that it did MFA (for users who hold permissions), and by which
    # AuthnContextClassRef values.
    Column("vouches_for_mfa", Boolean, nullable=False, server_default=false()),
    Column("mfa_authn_context_classes", JSON, nullable=False),
    Index("ux_identity_providers_org_issuer", "organization_id", "issuer_uri", unique=True),
)

# Which provider may assert which user, and by which NameID: the subject key is
# (provider, NameID); a user has at most one NameID per provider.
user_identity_links = Table(
    "user_identity_links", metadata,
    Column("identity_provider_id", String(36),
           ForeignKey("identity_providers.id", ondelete="CASCADE"), primary_key=True),
    Column("name_id", String(512), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Index("ux_user_identity_links_user_provider", "user_id", "identity_provider_id",
          unique=True),
)

# Assertion ids already redeemed (digest of issuer and ID), kept until the assertion expires.
saml_assertions = Table(
    "saml_assertions", metadata,
    Column("digest", String(64), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# A single row per organisation: appenders update it first, which serialises the chain.
audit_head = Table(
    "audit_head", metadata,
    Column("organization_id", String(36), ForeignKey("organizations.id"), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    # 0019: where the chain starts once older entries were archived and removed
    # (store/audit_archive.py), and what of each erasure's marks went with them.
    # Server defaults only: seeding an older schema (the migration tests) must not name them.
    Column("checkpoint_seq", BigInteger, nullable=False, server_default="0"),
    Column("checkpoint_hash", String(64), nullable=False, server_default="0" * 64),
    Column("checkpoint_erasures", JSON, nullable=False, server_default="{}"),
)

audit_events = Table(
    "audit_events", metadata,
    Column("organization_id", String(36), ForeignKey("organizations.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(36), nullable=False, unique=True),
    Column("timestamp", UTCDateTime, nullable=False, index=True),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_name", String(320), nullable=False),
    Column("action", String(64), nullable=False, index=True),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False, index=True),
    Column("entity_name", String(320), nullable=False),
    Column("result", String(16), nullable=False),
    Column("remote_ip", String(64), nullable=False),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # 0009: the request that caused the entry and the divisions of the actor's roles; entries
    # written before have "" and [] (and hash as they did: see domain.audit.chain_hash).
    Column("request_id", String(64), nullable=False, default="", server_default="",
           index=True),
    Column("actor_divisions", JSON, nullable=False, default=list, server_default="[]"),
    # 0019: format 2 hashes a salted digest of the personal part instead of the part itself,
    # so erasure can rewrite it (domain/audit.py); entries before stay format 1.
    Column("format", SmallInteger, nullable=False, server_default="1"),
    Column("personal_salt", String(32), nullable=True),
    Column("personal_digest", String(64), nullable=True),
    Column("erased_by", String(36), nullable=True),  # the erasure that pseudonymised it
)
