"""The governance policy page: every field with what it means; a form for those who may
change it (``governance:policy:edit``), read-only for those who may only view it."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.audit import JSONValue
from keystead.domain.clients import GrantType
from keystead.domain.governance.policy import (
    MAX_DURATIONS,
    UNREVIEWED,
    Policy,
    UnreviewedAction,
    to_document,
)
from keystead.domain.governance.retention import RULES_BY_WIRE
from keystead.domain.permissions import Permission
from keystead.web.console.forms import Refused, field_errors, submit
from keystead.web.console.pages import Page

BASE = "/admin/governance/policy"
NOTICES = {"policy-saved": "The policy was saved."}
# What each field means, in the order the page shows them (the README's table says the same).
MEANINGS: dict[str, str] = {
    "rotationMaxAgeDays": "Days after which a client secret is due for rotation.",
    "unusedLookbackDays": "Days without a token after which a client counts as unused.",
    MAX_DURATIONS: "The longest token duration (seconds) a client of each grant type may have.",
    "ownerRequired": "Every new or re-owned client must name an active user as its owner.",
    "descriptionRequired": "Every client must describe its purpose.",
    "pkceRequired": "Confidential code clients must send PKCE, whatever their own setting.",
    "productionHttpsRedirectsOnly": "Production clients may register only https, "
                                    "non-loopback redirect URIs.",
    "deletionApproval": "Deleting a client needs a second admin's approval.",
    "deletionRequestTtlDays": "Days a deletion request waits for approval before it expires.",
    "reviewPeriodDays": "Days after which a client's access review is overdue.",
    UNREVIEWED: "What happens to clients nobody reviewed by a campaign's due date.",
    "deactivationNoticeDays": "Days before a planned deactivation that the owner is reminded.",
    "deactivationRetentionDays": "Days a deactivated client is kept before it is deleted.",
    "auditRetentionDays": "Days audit entries are kept before they are archived to a signed "
                          "file and removed (empty: kept for ever).",
    "evidenceRetentionDays": "Days evidence of use is kept (at least unusedLookbackDays).",
    "deliveryRetentionDays": "Days a delivered message is kept (empty: "
                             "KEYSTEAD_NOTICE_RETENTION_DAYS).",
    "alertBaselineDays": "Days before today that make a client's baseline for alerts.",
    "alertMinBaselineDays": "Days of baseline a client needs before its usage is judged.",
    "alertWindowMinutes": "Minutes over which failed authentications are counted.",
    "alertDeviations": "Standard deviations above the usual that count as a spike.",
    "alertFailureMinimum": "Failed authentications of a client in the window below which "
                           "no alert is raised.",
    "alertSourceFailureMinimum": "The same, for one source address.",
    "alertVolumeFactor": "Tokens above the usual times this, or below it divided by this, "
                         "are far outside the usual range.",
    "alertVolumeMinimum": "Tokens a day on average below which a client's volume is not "
                          "judged.",
    "alertRareActorActions": "Client creations or secret regenerations in the baseline below "
                             "which the actor counts as rare (0: never).",
    "changeWindowStartHour": "UTC hour from which clients are expected to be created and "
                             "secrets regenerated.",
    "changeWindowEndHour": "UTC hour (excluded) until which such changes are expected.",
    "changeWindowWeekdaysOnly": "Such changes are expected Monday to Friday only.",
}


async def policy_page(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        policy = await ctx.runtime.policy(conn).view(ctx.signed_in)
    return _render(ctx, to_document(policy), {})


async def policy_save(ctx: Page) -> Response:
    posted = _posted(ctx)

    async def save(conn: AsyncConnection) -> Policy:
        return await ctx.runtime.policy(conn).update(ctx.signed_in, posted)

    async def again(refused: Refused) -> Response:
        return _render(ctx, posted, refused.errors, status=refused.status)

    return await submit(ctx, save, again=again, fields=field_errors,
                        done=lambda _: f"{BASE}?notice=policy-saved")


def _posted(ctx: Page) -> dict[str, JSONValue]:
    """The form as a policy document: numbers where they read as numbers (else the text, which
    the domain refuses by name), unticked boxes as false."""
    document: dict[str, JSONValue] = {}
    for name, value in to_document(Policy()).items():
        if name in RULES_BY_WIRE:  # empty: no retention by policy (the rule's default)
            text = ctx.field(name).strip()
            document[name] = None if not text else _number(text)
        elif isinstance(value, bool):
            document[name] = ctx.field(name) == "on"
        elif isinstance(value, int):
            document[name] = _number(ctx.field(name))
        elif isinstance(value, str):
            document[name] = ctx.field(name)
    document[MAX_DURATIONS] = {str(g): _number(ctx.field(f"{MAX_DURATIONS}.{g}"))
                               for g in GrantType}
    return document


def _number(text: str) -> JSONValue:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else text


def _render(ctx: Page, document: Mapping[str, JSONValue], errors: Mapping[str, str], *,
            status: int = 200) -> Response:
    return ctx.render_with(
        NOTICES, "governance/policy.html", status, document=document, errors=errors,
        meanings=MEANINGS,
        may_edit=ctx.signed_in.has_permission(Permission.GOVERNANCE_POLICY_EDIT),
        grants=[str(g) for g in GrantType], actions=[str(a) for a in UnreviewedAction],
        max_durations=MAX_DURATIONS, unreviewed=UNREVIEWED, base=BASE)
