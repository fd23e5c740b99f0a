"""How long each table's rows are kept: one declared rule per table in ``tables.py``.

A table is either purged by housekeeping (``web/app.py: purge``, every minute on every replica)
on a time rule, or bounded by what owns it (the organisation's catalogue, a user, a client), or,
for the audit log, kept until the governance policy's ``auditRetentionDays`` and then archived
(store/audit_archive.py). Rules the policy sets are in domain/governance/retention.py.
``tests/store/test_retention.py`` fails when a table has no rule here, and shows every purged
table bounded on both stores; the README's "Retention" list says the same for operators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Bound(StrEnum):
    purged = "purged"      # housekeeping deletes rows once their time rule says so
    owned = "owned"        # as many rows as the things they belong to (cascade on delete)
    managed = "managed"    # the organisation's own records: admins add and delete them
    kept = "kept"          # kept by policy, never deleted by Keystead
    archived = "archived"  # past the policy's retention: written to a signed file, then removed


@dataclass(frozen=True, slots=True)
class Retention:
    bound: Bound
    rule: str
    setting: str | None = None  # the KEYSTEAD_ variable the rule reads, if any


RETENTION: Mapping[str, Retention] = {
    "organizations": Retention(Bound.managed, "one row, made by `keystead init`"),
    "divisions": Retention(Bound.managed, "until an admin deletes the division"),
    "roles": Retention(Bound.managed, "until an admin deletes the role"),
    "scopes": Retention(Bound.managed, "built-in scopes, and custom ones until deleted"),
    "users": Retention(Bound.managed, "until an admin deletes the user"),
    "user_grants": Retention(Bound.owned, "the user's roles; deleted with the user"),
    "recovery_codes": Retention(
        Bound.owned, "one set per user, replaced when TOTP is enrolled again; deleted with "
                     "the user"),
    "user_invitations": Retention(
        Bound.owned, "at most one per user (sending again replaces it; a used or revoked one "
                     "stays, to show on the user's page); deleted with the user"),
    "sessions": Retention(
        Bound.purged, "console sessions past their lifetime or idle timeout",
        "KEYSTEAD_SESSION_LIFETIME_SECONDS, KEYSTEAD_SESSION_IDLE_SECONDS"),
    "clients": Retention(
        Bound.managed, "until an admin deletes the client; an inactive client with a "
                       "dateToDelete is deleted (and audited) by housekeeping once it passes"),
    "deactivation_plans": Retention(
        Bound.owned, "at most one per client: deleted with it (a plan ends by deleting it) or "
                     "when cancelled"),
    "secret_destinations": Retention(
        Bound.owned, "at most one per client (where its secret is delivered, its rotation "
                     "schedule): deleted with it or when an admin removes it"),
    "client_role_divisions": Retention(Bound.owned, "the client's roles; deleted with it"),
    "client_secrets": Retention(
        Bound.owned, "at most two per client (the current secret and the one in its dual-use "
                     "window: a rotation deletes the one before); deleted with the client"),
    "revoked_tokens": Retention(
        Bound.purged, "a revocation once the token it revokes has expired anyway"),
    "client_usage": Retention(
        Bound.purged, "daily token counts older than the retention window (400 days by "
                      "default, never under the 366 days the usage summary answers)",
        "KEYSTEAD_USAGE_RETENTION_DAYS"),
    "client_evidence": Retention(
        Bound.purged, "evidence of use per client and day (grants, failures, scopes, "
                      "permissions, at most 32 networks) older than the policy's "
                      "evidenceRetentionDays (365 by default, the longest lookback a policy "
                      "can ask for; never under its unusedLookbackDays)"),
    "signing_keys": Retention(
        Bound.purged, "a rotated-out key once every token it signed has expired "
                      "(`retire_after`); the active key stays"),
    "grant_families": Retention(
        Bound.purged, "a user's grant once past its absolute deadline, or once revoked and "
                      "no code or refresh token of it is left",
        "KEYSTEAD_GRANT_FAMILY_MAX_LIFETIME_SECONDS"),
    "authorization_codes": Retention(
        Bound.purged, "once expired, used or not (a used one is kept until then to recognise "
                      "a replay)"),
    "refresh_tokens": Retention(
        Bound.purged, "once expired, rotated or not (a rotated one is kept until then to "
                      "recognise a replay)", "KEYSTEAD_REFRESH_TOKEN_TTL_SECONDS"),
    "consents": Retention(
        Bound.owned, "one per user and client, until the user revokes it; deleted with "
                     "either"),
    "identity_providers": Retention(Bound.managed, "until an admin deletes the provider"),
    "user_identity_links": Retention(
        Bound.owned, "at most one per user and provider; deleted with either"),
    "saml_assertions": Retention(
        Bound.purged, "a redeemed assertion id once the assertion has expired",
        "KEYSTEAD_SAML_ASSERTION_MAX_LIFETIME_SECONDS"),
    "governance_policies": Retention(
        Bound.owned, "at most one per organisation (absent until an admin changes a default)"),
    "findings": Retention(
        Bound.owned, "one per client, kind and subject (a scope or role), updated by each "
                     "evaluation, resolved ones included; deleted with the client"),
    "alerts": Retention(
        Bound.purged, "an alert once resolved, after the notice retention period (its raising "
                      "and resolving stay in the audit log); at most one open or acknowledged "
                      "alert per rule, client and subject; deleted with its client",
        "KEYSTEAD_NOTICE_RETENTION_DAYS"),
    "alert_cursors": Retention(
        Bound.owned, "one row per organisation: the last audit entry alerts have read"),
    "outbox": Retention(
        Bound.purged, "a message once delivered, after the policy's deliveryRetentionDays "
                      "(unset: the notice retention period); an unsent one is kept (and "
                      "retried) until delivered", "KEYSTEAD_NOTICE_RETENTION_DAYS"),
    "audit_stream_cursors": Retention(
        Bound.managed, "one row per audit stream target ever configured (a sequence number)",
        "KEYSTEAD_AUDIT_STREAM"),
    "webhook_endpoints": Retention(Bound.managed, "until an admin deletes the endpoint"),
    "webhook_deliveries": Retention(
        Bound.purged, "one row per delivery attempt, purged that many days after it; all of "
                      "an endpoint's go with it", "KEYSTEAD_WEBHOOK_DELIVERY_RETENTION_DAYS"),
    "notices": Retention(
        Bound.purged, "a notice once read, after the notice retention period (an unread one "
                      "stays); all of a deleted user's", "KEYSTEAD_NOTICE_RETENTION_DAYS"),
    "deletion_requests": Retention(
        Bound.purged, "a request once decided or expired, after the notice retention period "
                      "(the audit log keeps its record)", "KEYSTEAD_NOTICE_RETENTION_DAYS"),
    "review_campaigns": Retention(
        Bound.kept, "access review campaigns are audit evidence (the seed's quarterly review, "
                    "SOC 2 and HIPAA ask to show them): never deleted by Keystead; growth is "
                    "bounded by the campaigns admins start"),
    "review_items": Retention(
        Bound.kept, "one per client under review in a campaign, kept with it as its report "
                    "(a retired client's item outlives the client)"),
    "audit_head": Retention(Bound.owned, "one row per organisation (with the checkpoint the "
                                         "chain starts from once entries are archived)"),
    "audit_events": Retention(
        Bound.archived, "append-only and hash-chained: kept for ever unless the policy's "
                        "auditRetentionDays is set; entries older than that are written to a "
                        "signed archive file (JSON lines with a chain checkpoint) and then "
                        "removed, the rest verifying from the checkpoint. Growth is bounded by "
                        "changes made and by aggregating failed authentications (one entry per "
                        "client, source and reason per interval)",
        "KEYSTEAD_AUDIT_ARCHIVE_DIR, KEYSTEAD_AUTH_FAILURE_INTERVAL_SECONDS"),
}
