"""The owners a client form offers: the organisation's active users, plus the client's current
owner when that user has left (so saving the form does not silently drop them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.clients import Environment
from keystead.web.console.pages import Page

ENVIRONMENTS = {str(Environment.production): "Production", str(Environment.staging): "Staging",
                str(Environment.development): "Development"}


@dataclass(frozen=True, slots=True)
class OwnerChoice:
    value: str  # the user id
    label: str


async def owner_choices(ctx: Page, conn: AsyncConnection, *, keep: str | None = None
                        ) -> list[OwnerChoice]:
    manage = ctx.runtime.management(conn)
    choices = [OwnerChoice(o.id, f"{o.name} <{o.email}>")
               for o in await manage.owner_choices(ctx.signed_in)]
    if keep and all(c.value != keep for c in choices):
        found = (await manage.owners.owners([keep])).get(keep)
        gone = f"{found.name} <{found.email}>" if found else keep
        choices.insert(0, OwnerChoice(keep, f"{gone} (deactivated or deleted)"))
    return choices
