"""Bulk actions on the client list: disable, add a tag or remove a tag, for the ticked clients.

Each client is changed as its own edit would change it: ``ClientManagement.update`` in a
transaction of its own (permission, policy and tag rules checked, an audit entry per client).
So the outcome is per client: every client the rules allow is changed, each refused one is
listed with its reason, and one refusal never undoes another client's change. The request
itself (the action, the tag, at most ``MAX_BULK`` well-formed ids) is checked first: a bad
request changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from starlette.responses import Response

from keystead.domain.clients import ClientSettings, ClientState, check_tags
from keystead.domain.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from keystead.domain.permissions import Permission
from keystead.web.console.clients.form import Errors
from keystead.web.console.clients.listing import render_list
from keystead.web.console.forms import sentence
from keystead.web.console.ids import EntityIdConvertor
from keystead.web.console.pages import Page

MAX_BULK = 200  # a page shows 25; more than this in one request is not a person ticking boxes
_CLIENT_ID = re.compile(EntityIdConvertor.regex)


class BulkAction(StrEnum):
    disable = "disable"
    add_tag = "add-tag"
    remove_tag = "remove-tag"


@dataclass(slots=True)
class BulkReport:
    """What a bulk action did: the clients changed, left as they were, and refused (why)."""

    action: BulkAction
    tag: str
    changed: list[str] = field(default_factory=list)  # names
    unchanged: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name or id, reason)

    @property
    def summary(self) -> str:
        n = len(self.changed)
        clients = f"{n} client{'' if n == 1 else 's'}"
        if self.action is BulkAction.disable:
            return f"{clients} disabled."
        if self.action is BulkAction.add_tag:
            return f"Tag {self.tag} added to {clients}."
        return f"Tag {self.tag} removed from {clients}."


def _apply(settings: ClientSettings, action: BulkAction, tag: str) -> ClientSettings | str:
    """The settings after ``action``, or why there is nothing to do."""
    if action is BulkAction.disable:
        if settings.state is not ClientState.active:
            return f"already {settings.state}"
        return settings.switched(ClientState.disabled)  # as the client page's Disable
    if action is BulkAction.add_tag:
        if tag in settings.tags:
            return "already has the tag"
        return replace(settings, tags=(*settings.tags, tag))
    if tag not in settings.tags:
        return "does not have the tag"
    return replace(settings, tags=tuple(t for t in settings.tags if t != tag))


async def _change_one(ctx: Page, report: BulkReport, client_id: str) -> None:
    name = client_id  # until the client is found
    try:
        async with ctx.transaction() as conn:
            manage = ctx.runtime.management(conn)
            client = await manage.find(ctx.signed_in, client_id,
                                       permission=Permission.OAUTH_CLIENT_EDIT)
            name = client.settings.name
            settings = _apply(client.settings, report.action, report.tag)
            if isinstance(settings, str):
                report.unchanged.append((name, sentence(settings)))
                return
            await manage.update(ctx.signed_in, client_id, settings)
    except NotFoundError:
        report.refused.append((name, "No such client: it may have been deleted."))
    except InvalidInputError as exc:
        report.refused.append((name, " ".join(sentence(p.message) for p in exc.problems)))
    except (ForbiddenError, ConflictError) as exc:
        report.refused.append((name, sentence(exc.message)))
    else:
        report.changed.append(name)


async def bulk(ctx: Page) -> Response:
    # The use case checks each client again; this refuses the whole request at once (403 page).
    ctx.signed_in.require(Permission.OAUTH_CLIENT_EDIT)
    ids = list(dict.fromkeys(ctx.fields("ids")))
    action = ctx.field("action")
    tag = ctx.field("bulkTag").strip()
    errors = Errors()
    if action not in BulkAction._value2member_map_:
        errors.add("bulk-actions", "choose Disable, Add tag or Remove tag")
    if not ids:
        errors.add("ids", "tick at least one client in the list")
    elif len(ids) > MAX_BULK:
        errors.add("ids", f"choose at most {MAX_BULK} clients at a time; {len(ids)} were "
                          "chosen")
    elif not all(_CLIENT_ID.fullmatch(i) for i in ids):
        errors.add("ids", "a chosen value is not a client id; reload the list and tick the "
                          "clients again")
    if action in (BulkAction.add_tag, BulkAction.remove_tag):
        if not tag:
            errors.add("bulkTag", "type the tag to add or remove")
        for problem in check_tags([tag] if tag else []):
            errors.add("bulkTag", problem.message)
    if errors:
        return await render_list(ctx, bulk_errors=errors, typed_tag=tag, status=400,
                                 ticked=frozenset(i for i in ids if _CLIENT_ID.fullmatch(i)))
    report = BulkReport(BulkAction(action), tag)
    for client_id in ids:
        await _change_one(ctx, report, client_id)
    return await render_list(ctx, report=report)
