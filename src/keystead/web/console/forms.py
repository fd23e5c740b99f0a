"""The one way a console form is saved: ``submit``; and an action button's post: ``act``.

``submit`` runs one change in a transaction and answers as every console form does: a redirect
(303) when it is saved; when the domain refuses the input (``InvalidInputError``) the form again
with 400 and each problem beside its field, what was typed kept; when the change conflicts with
what is stored (``ConflictError``: a name taken, something still in use) the form again with
409 and the reason beside the field it is about. Permission and existence refusals are not form
problems: they reach the page wrapper, which answers with its 403 and 404 pages.

An action button (delete, reset, send again) has no fields to show a problem beside: ``act``
runs its change and redirects, and every refusal is the page wrapper's error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from keystead.domain.errors import ConflictError, InvalidInputError, Problem
from keystead.web.console.field_labels import in_words
from keystead.web.console.pages import Page, redirect

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the form comes back: its status, and what to show beside which field."""

    status: int  # 400: the input breaks a rule; 409: it conflicts with what is stored
    errors: Mapping[str, str]  # form field -> what is wrong
    message: str  # the first reason alone, for a form with one message line

    def apart(self, name: str) -> tuple[dict[str, str], str]:
        """The errors but ``name``'s, and ``name``'s: a form of its own on the page (delete)."""
        errors = dict(self.errors)
        return errors, errors.pop(name, "")


SHOWN = Refused(200, {}, "")  # a page shown, not refused


def sentence(message: str) -> str:
    """A domain message as the form shows it: its labels for wire names, a capital, a stop."""
    message = in_words(message)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def field_errors(problems: Sequence[Problem]) -> dict[str, str]:
    """Each field's first problem as a sentence, under the form field's name."""
    errors: dict[str, str] = {}
    for problem in problems:
        name = "permissions" if problem.field.startswith("permissionPolicies") else problem.field
        errors.setdefault(name, sentence(problem.message))
    return errors


async def submit(ctx: Page, change: Callable[[AsyncConnection], Awaitable[T]], *,
                 done: Callable[[T], str], again: Callable[[Refused], Awaitable[Response]],
                 fields: Callable[[Sequence[Problem]], Mapping[str, str]] = field_errors,
                 conflict: str | Callable[[ConflictError], Mapping[str, str]] | None = None,
                 ) -> Response:
    """Save ``change``; then redirect to ``done(result)``, or show ``again`` what was refused.

    ``fields`` maps the domain's problems to form fields; ``conflict`` names the field (or maps
    the error to fields) showing a conflict; without it a conflict is the 409 page.
    """
    try:
        async with ctx.transaction() as conn:
            result = await change(conn)
    except InvalidInputError as exc:
        first = sentence(exc.problems[0].message) if exc.problems else ""
        return await again(Refused(400, fields(exc.problems), first))
    except ConflictError as exc:
        if conflict is None:
            raise
        errors = ({conflict: sentence(exc.message)} if isinstance(conflict, str)
                  else conflict(exc))
        return await again(Refused(409, errors, sentence(exc.message)))
    return redirect(done(result))


async def act(ctx: Page, change: Callable[[AsyncConnection], Awaitable[object]],
              then: str) -> Response:
    """Run an action button's ``change`` in a transaction, then redirect to ``then``."""
    async with ctx.transaction() as conn:
        await change(conn)
    return redirect(then)
