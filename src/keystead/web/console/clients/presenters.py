"""How a client is shown: the notices its pages may show, who made it, its secrets' ages and
states, the token lifetime hint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keystead.domain.clients import (
    DEFAULT_TOKEN_TTL,
    MAX_SCIM_TOKEN_TTL,
    MAX_TOKEN_TTL,
    MIN_TOKEN_TTL,
    Client,
    GrantType,
    SecretInfo,
)
from keystead.web.console.clients.catalogue import GRANT_LABELS
from keystead.web.console.clients.form import ClientForm
from keystead.web.console.pages import Page

BASE = "/admin/integrations/oauth"
AUDIT_LOG = "/admin/audit"
RECOMMENDED_CODE_TTL = 64_800  # the seed: "Recommended: 18 hours (64,800 seconds)"
DUAL_USE_CHOICES = {0: "Expire the old secret now", 3_600: "1 hour", 86_400: "1 day",
                    604_800: "7 days"}
# Notices a redirect may ask for: fixed texts, so no request can inject one.
CLIENT_NOTICES = {
    "saved": "The client was saved.",
    "created-public": ("The public client was created. It has no secret: the app names itself "
                       "with its client id and proves each code with PKCE."),
    "scopes-changed": ("The client was saved. Its scopes changed: users must re-authorise "
                       "this client."),
    "disabled": "The client is disabled: it cannot get tokens, and the tokens it had stopped "
                "working.",
    "enabled": "The client is enabled. Tokens issued before it was disabled stay revoked.",
    "deletion-scheduled": "The client is inactive: it cannot get tokens, and it will be deleted "
                          "on the date shown.",
    "previous-expired": "The previous secret no longer works.",
    "secret-delivered": ("A new secret was written to the client's destination and read back. "
                         "The previous one works until its dual-use expiry."),
    "deactivation-planned": ("The deactivation is planned and the owner was told. Until its date "
                             "the client works and its token responses carry Deprecation and "
                             "Sunset headers."),
    "deactivation-cancelled": "The planned deactivation was cancelled; the owner was told.",
    "deleted": "The client was deleted. Its tokens no longer work; its audit history is kept.",
    "deletion-requested": ("Deletion requested: the organisation's policy asks a second admin "
                           "to approve it. The client works until then."),
}


def who(client: Client) -> str:
    actor = client.created_by
    return {"cli": "operator (CLI)", "system": "Keystead"}.get(
        actor.kind, actor.name or actor.id)


def secret_age_days(client: Client, now: datetime) -> int | None:
    current = next((s for s in client.secrets if s.current), None)
    return (now - current.date_created).days if current else None


def secret_status(secret: SecretInfo, now: datetime) -> str:
    if secret.current:
        return "Current"
    if secret.date_expires is not None and secret.date_expires > now:
        return "Previous: works until the dual-use window ends"
    return "Previous: expired"


def in_window(client: Client, now: datetime) -> bool:
    """A previous secret still works (its dual-use window is open)."""
    return any(not s.current and s.date_expires is not None and s.date_expires > now
               for s in client.secrets)


def common(ctx: Page) -> dict[str, Any]:
    return {"base": BASE, "labels": GRANT_LABELS, "now": ctx.runtime.clock()}


def ttl_hint(form: ClientForm) -> str:
    hint = (f"From {MIN_TOKEN_TTL:,} to {MAX_TOKEN_TTL:,} seconds (SCIM clients: up to "
            f"{MAX_SCIM_TOKEN_TTL // 86_400} days). Default {DEFAULT_TOKEN_TTL:,} seconds "
            "(1 hour).")
    if form.has(GrantType.code):
        hint += (f" Recommended for authorization-code clients: 18 hours "
                 f"({RECOMMENDED_CODE_TTL:,} seconds).")
    return hint
