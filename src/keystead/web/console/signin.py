"""Sign-in: password, then a TOTP code (enrolling one first where MFA is required), sign-out."""

from __future__ import annotations

import json
import logging

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.mfa import new_enrolment, new_recovery_codes
from keystead.domain.users import User, needs_mfa
from keystead.web.auth import client_ip
from keystead.web.console import sessions
from keystead.web.console.pages import Page, redirect, route
from keystead.web.console.qr import qr_svg_data_uri
from keystead.web.console.sessions import Stage

HOME = "/admin"
log = logging.getLogger("keystead.web")
REFUSED = ("Sign-in failed: the e-mail or password is wrong, or sign-in is paused after "
           "repeated failures. Check them and try again in a few minutes.")
THROTTLED = ("Too many failed sign-ins from your network. Wait a few minutes, then try again.")


def safe_next(target: str) -> str:
    """Only a path on this console: never another site (no open redirect)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return HOME


async def login_form(ctx: Page) -> Response:
    if ctx.caller is not None:
        return redirect(safe_next(ctx.request.query_params.get("next", HOME)))
    return ctx.render("login.html", next=safe_next(ctx.request.query_params.get("next", HOME)),
                      email="", error="")


def _throttled(ctx: Page, template: str, **context: str) -> Response | None:
    """429 while this address is throttled (on top of each account's own lockout)."""
    wait = ctx.runtime.throttle.retry_after(None, client_ip(ctx.request))
    if wait is None:
        return None
    response = ctx.render(template, 429, error=THROTTLED, **context)
    response.headers["retry-after"] = str(wait)
    return response


async def login(ctx: Page) -> Response:
    email, target = ctx.field("email"), safe_next(ctx.field("next", HOME))
    if throttled := _throttled(ctx, "login.html", next=target, email=email):
        return throttled
    async with ctx.transaction() as conn:
        user = await ctx.runtime.sign_in(conn).with_password(
            email, ctx.field("password"), remote_ip=client_ip(ctx.request))
        if user is None:
            response = None
        else:
            response = await _after_password(ctx, conn, user, target)
    if response is None:
        await ctx.runtime.throttle.failed(None, client_ip(ctx.request))
        # The reason (and the e-mail) is in the audit entry this request's id leads to.
        log.warning("console sign-in refused", extra={"fields": {
            "remote_ip": client_ip(ctx.request)}})
        return ctx.render("login.html", 401, next=target, email=email, error=REFUSED)
    return response


async def _after_password(ctx: Page, conn: AsyncConnection, user: User,
                          target: str) -> Response:
    caller = await ctx.runtime.callers(conn).of_user(user, client_ip(ctx.request))
    data = {"next": target}
    if user.mfa_enrolled:
        stage, where = Stage.second_factor, "/login/mfa"
    elif needs_mfa(caller.permissions):
        stage, where = Stage.enrol, "/login/enrol"
    else:
        await ctx.runtime.sign_in(conn).complete(user, amr=["pwd"],
                                                 remote_ip=client_ip(ctx.request))
        stage, where = Stage.signed_in, target
    ctx.use_session(await sessions.start(ctx.runtime, conn, user_id=user.id, stage=stage,
                                         amr=["pwd"], previous=ctx.session, data=data))
    return redirect(where)


def _at(ctx: Page, stage: str) -> bool:
    return ctx.session is not None and ctx.session.stage == stage and ctx.user is not None


async def mfa_form(ctx: Page) -> Response:
    if not _at(ctx, Stage.second_factor):
        return redirect("/login")
    return ctx.render("mfa.html", error="")


async def mfa(ctx: Page) -> Response:
    if not _at(ctx, Stage.second_factor) or ctx.session is None or ctx.user is None:
        return redirect("/login")
    session, user = ctx.session, ctx.user
    if throttled := _throttled(ctx, "mfa.html"):
        return throttled
    async with ctx.transaction() as conn:
        signin = ctx.runtime.sign_in(conn)
        method = await signin.with_second_factor(user.id, ctx.field("code"),
                                                 remote_ip=client_ip(ctx.request))
        if method is not None:
            amr = ["pwd", "mfa", method]
            await signin.complete(user, amr=amr, remote_ip=client_ip(ctx.request))
            ctx.use_session(await sessions.start(
                ctx.runtime, conn, user_id=user.id, stage=Stage.signed_in, amr=amr,
                previous=session))
    if method is None:
        await ctx.runtime.throttle.failed(None, client_ip(ctx.request))
        log.warning("console second factor refused", extra={"fields": {
            "user_id": user.id, "remote_ip": client_ip(ctx.request)}})
        return ctx.render("mfa.html", 401, error=(
            "That code was not accepted. Enter the current 6-digit code from your "
            "authenticator app, or one of your recovery codes."))
    return redirect(safe_next(session.data.get("next", HOME)))


async def enrol_form(ctx: Page) -> Response:
    """A fresh TOTP secret each time the page is shown: the secret is shown this once."""
    if not _at(ctx, Stage.enrol) or ctx.session is None or ctx.user is None:
        return redirect("/login")
    enrolment = new_enrolment(ctx.user.email)
    ctx.session.data["totp"] = ctx.runtime.box.seal(enrolment.secret)
    async with ctx.transaction() as conn:
        await sessions.save_data(ctx.runtime, conn, ctx.session)
    return ctx.render("enrol.html", enrolment=enrolment, qr=qr_svg_data_uri(enrolment.uri),
                      error="")


async def enrol(ctx: Page) -> Response:
    if not _at(ctx, Stage.enrol) or ctx.session is None or ctx.user is None:
        return redirect("/login")
    session, user = ctx.session, ctx.user
    secret = ctx.runtime.box.open(session.data.get("totp", ""))
    if secret is None:
        return redirect("/login/enrol")
    codes = new_recovery_codes()
    async with ctx.transaction() as conn:
        enrolled = await ctx.runtime.sign_in(conn).enrol(
            user.id, secret=secret, code=ctx.field("code"), recovery_codes=codes,
            remote_ip=client_ip(ctx.request))
        if enrolled:
            ctx.use_session(await sessions.start(
                ctx.runtime, conn, user_id=user.id, stage=Stage.recovery_codes,
                amr=["pwd", "mfa", "otp"], previous=session, data={
                    "next": session.data.get("next", HOME),
                    "codes": ctx.runtime.box.seal(json.dumps(codes))}))
    if not enrolled:
        again = new_enrolment(user.email, secret=secret)
        return ctx.render("enrol.html", 400, enrolment=again, qr=qr_svg_data_uri(again.uri),
                          error=("That code did not match. Check that your authenticator app "
                                 "shows a code for Keystead and enter the current 6 digits."))
    return redirect("/login/recovery-codes")


async def recovery_codes_page(ctx: Page) -> Response:
    """The recovery codes, shown once: they leave the session as they are shown."""
    if not _at(ctx, Stage.recovery_codes) or ctx.session is None:
        return redirect("/login")
    sealed = ctx.session.data.pop("codes", "")
    opened = ctx.runtime.box.open(sealed) if sealed else None
    codes: list[str] = json.loads(opened) if opened else []
    async with ctx.transaction() as conn:
        await sessions.save_data(ctx.runtime, conn, ctx.session)
    return ctx.render("recovery_codes.html", codes=codes)


async def recovery_codes_done(ctx: Page) -> Response:
    if not _at(ctx, Stage.recovery_codes) or ctx.session is None or ctx.user is None:
        return redirect("/login")
    session, user = ctx.session, ctx.user
    async with ctx.transaction() as conn:
        await ctx.runtime.sign_in(conn).complete(user, amr=session.row.amr,
                                                 remote_ip=client_ip(ctx.request))
        ctx.use_session(await sessions.start(ctx.runtime, conn, user_id=user.id,
                                             stage=Stage.signed_in, amr=session.row.amr,
                                             previous=session))
    return redirect(safe_next(session.data.get("next", HOME)))


async def logout(ctx: Page) -> Response:
    if ctx.session is not None:
        async with ctx.transaction() as conn:
            await sessions.end(ctx.runtime, conn, ctx.session)
    ctx.forget_session()
    return redirect("/login?notice=signed-out")


async def root(ctx: Page) -> Response:
    return redirect(HOME if ctx.caller is not None else "/login")


routes: list[Route] = [
    route("/", root, public=True),
    route("/login", login_form, post=login, public=True),
    route("/login/mfa", mfa_form, post=mfa, public=True),
    route("/login/enrol", enrol_form, post=enrol, public=True),
    route("/login/recovery-codes", recovery_codes_page, post=recovery_codes_done, public=True),
    route("/logout", post=logout, public=True),
]
