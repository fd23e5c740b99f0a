"""Opening an invitation link (no session needed): choose a password, then enrol TOTP.

Any link that does not work (used, expired, revoked, replaced, mistyped, or its user inactive)
gets one page that gives no reason: telling them apart would help whoever guesses links.
Once the password is set, the person goes through the sign-in's enrolment pages
(``signin.enrol_form``) and is signed in after their recovery codes.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import InvalidInputError
from keystead.domain.passwords import MIN_LENGTH
from keystead.web.auth import client_ip
from keystead.web.console import sessions
from keystead.web.console.forms import field_errors
from keystead.web.console.pages import Page, redirect, route
from keystead.web.console.sessions import Stage
from keystead.web.console.signin import HOME

NO_LONGER_VALID = 404


def _token(ctx: Page) -> str:
    return str(ctx.request.path_params["token"])


def _invalid(ctx: Page) -> Response:
    return ctx.render("invite_invalid.html", NO_LONGER_VALID)


async def invite_form(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        person = await ctx.runtime.invitations(conn).opened(_token(ctx))
    if person is None:
        return _invalid(ctx)
    return ctx.render("invite.html", person=person, token=_token(ctx), errors={},
                      min_password=MIN_LENGTH)


async def invite_accept(ctx: Page) -> Response:
    token = _token(ctx)
    try:
        async with ctx.transaction() as conn:
            person = await ctx.runtime.invitations(conn).accept(
                token, ctx.field("password"), remote_ip=client_ip(ctx.request))
            if person is not None:
                ctx.use_session(await sessions.start(
                    ctx.runtime, conn, user_id=person.id, stage=Stage.enrol, amr=["pwd"],
                    previous=ctx.session, data={"next": HOME}))
    except InvalidInputError as exc:
        async with ctx.transaction() as conn:
            person = await ctx.runtime.invitations(conn).opened(token)
        if person is None:
            return _invalid(ctx)
        return ctx.render("invite.html", 400, person=person, token=token,
                          errors=field_errors(exc.problems), min_password=MIN_LENGTH)
    if person is None:
        return _invalid(ctx)
    return redirect("/login/enrol")


routes: list[Route] = [
    route("/admin/invite/{token}", invite_form, post=invite_accept, public=True),
]
