"""GET/POST /oauth/authorize and the consent answer: sign the user in (console sessions, MFA),
ask consent, answer with a code (or, for legacy clients only, an implicit token);
/oauth/userinfo; OIDC discovery.

The rules live in protocol/authorize.py; this module is the conversation with the browser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.audit import AuditEvent, JSONValue, Result
from keystead.domain.authorizations import Consent, RegisteredClient, covers
from keystead.domain.scopes import BUILTIN_SCOPES, OIDC_SCOPES
from keystead.domain.users import User
from keystead.protocol import authorize as rules
from keystead.protocol.authorization_issuance import Authorizer
from keystead.protocol.authorize import AuthorizationRequest, UnsafeAuthorizationRequest
from keystead.protocol.errors import (
    AccessDeniedError,
    ConsentRequiredError,
    InsufficientScopeError,
    InvalidRequestError,
    LoginRequiredError,
    OAuthError,
)
from keystead.protocol.metadata import server_metadata
from keystead.protocol.oidc import claims_for
from keystead.protocol.params import parse_pairs, repeated_names
from keystead.web.auth import active_token, client_ip
from keystead.web.console import sessions
from keystead.web.console.pages import Page, redirect, route
from keystead.web.console.sessions import Session
from keystead.web.errors import json_response
from keystead.web.runtime import Runtime

AUTHORIZE_PATH = "/oauth/authorize"
CONSENT_PATH = "/oauth/authorize/consent"  # the consent form's answer, CSRF-checked
NOT_YOU_PATH = "/oauth/authorize/not-you"  # sign out, then sign in again for the same request
WEB_SCHEMES = ("https", "http")
FORM_TYPE = "application/x-www-form-urlencoded"
CONSENT_FORM_TTL = timedelta(minutes=10)


async def authorize(ctx: Page) -> Response:
    """The authorization request, by GET (query) or POST (form body).

    OIDC Core §3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET and POST
    methods"; with POST the parameters are serialised as a form. The consent answer has its own
    route (``CONSENT_PATH``) and its own CSRF check, so the two can never be confused.
    """
    if ctx.request.method == "GET":
        return await _authorization_request(ctx, ctx.request.query_params.multi_items())
    content_type = ctx.request.headers.get("content-type", "").partition(";")[0].strip().lower()
    try:
        if content_type != FORM_TYPE:
            raise InvalidRequestError("the request must be form data")
        pairs = parse_pairs(await ctx.request.body())
    except InvalidRequestError:
        # Not a form we can read: no client or redirect URI to trust, so a page, not a redirect.
        return ctx.render("authorize/error.html", 400, message=(
            "The application sent a sign-in request Keystead cannot read (it must be "
            "application/x-www-form-urlencoded UTF-8 form data). Tell its developer."))
    return await _authorization_request(ctx, pairs)


async def _target(ctx: Page, params: dict[str, str]
                  ) -> tuple[RegisteredClient, str, bool] | Response:
    """The request's client, the redirect URI to answer at and whether the policy requires
    PKCE; or the error page when there is no client or redirect URI to trust (no redirect)."""
    async with ctx.transaction() as conn:
        found = await ctx.runtime.authorization_records(conn).registered_client(
            params.get("client_id", ""))
        policy = await ctx.runtime.policy_store(conn).find()
    try:
        client, redirect_uri = rules.redirect_target(found, params.get("redirect_uri"))
    except UnsafeAuthorizationRequest as exc:
        return ctx.render("authorize/error.html", 400, message=exc.message)
    return client, redirect_uri, policy.pkce_required


def _error_redirect(ctx: Page, redirect_uri: str, exc: OAuthError,
                    params: dict[str, str]) -> Response:
    """The OAuth error, answered at the client's redirect URI (RFC 6749 §4.1.2.1)."""
    return redirect(rules.error_answer(redirect_uri, exc, state=params.get("state"),
                                       issuer=_issuer(ctx.runtime),
                                       fragment=rules.error_in_fragment(params)))


async def _authorization_request(ctx: Page, pairs: list[tuple[str, str]]) -> Response:
    params = dict(pairs)
    target = await _target(ctx, params)
    if isinstance(target, Response):
        return target
    client, redirect_uri, pkce_required = target
    try:
        if repeated_names(pairs):  # RFC 6749 §3.1: parameters MUST NOT be included more than once
            raise InvalidRequestError("a parameter is repeated")
        request = rules.validate(params, client, redirect_uri,
                                 policy_requires_pkce=pkce_required)
        return await _decide(ctx, client, request, pairs)
    except OAuthError as exc:
        return _error_redirect(ctx, redirect_uri, exc, params)


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session: Session


def _signed_in(ctx: Page) -> SignedIn | None:
    if ctx.caller is None or ctx.user is None or ctx.session is None:
        return None
    return SignedIn(ctx.user, ctx.session)


async def _decide(ctx: Page, client: RegisteredClient, request: AuthorizationRequest,
                  pairs: list[tuple[str, str]]) -> Response:
    """Sign-in first, then consent (remembered), then the answer.

    Raises:
        OAuthError: login or consent needed under prompt=none.
    """
    who = _signed_in(ctx)
    if who is None and ctx.request.method == "POST" and not sessions.session_cookie(
            ctx.request, ctx.runtime):
        # A cross-site POST carries no SameSite=Lax cookie even when the user is signed in:
        # ask again by GET (which carries it) before deciding the user must sign in.
        return redirect(f"{AUTHORIZE_PATH}?{urlencode(pairs)}")
    if who is None or _signs_in_again(ctx, who, request):
        if "none" in request.prompt:
            raise LoginRequiredError("the user must sign in")
        if who is not None:
            # OIDC Core §3.1.2.1 prompt=login / max_age: sign in again, here and now.
            async with ctx.transaction() as conn:
                await sessions.end(ctx.runtime, conn, who.session)
            ctx.forget_session()
        return redirect(_sign_in_for(pairs))
    async with ctx.transaction() as conn:
        consent = await ctx.runtime.authorization_records(conn).consent(who.user.id, client.id)
    if covers(consent, requested=request.scope, client_scopes=client.scopes) and (
            "consent" not in request.prompt):
        return await _answer(ctx, who, client, request)
    if "none" in request.prompt:
        raise ConsentRequiredError("the user has not authorized this client")
    return await _consent_page(ctx, who, client, request, dict(pairs))


def _sign_in_for(pairs: list[tuple[str, str]]) -> str:
    """The sign-in page, sending the person back to this authorization request after it."""
    # Back here after sign-in, without prompt=login or max_age: the fresh sign-in has
    # answered them, and they would ask forever.
    query = urlencode([(k, v) for k, v in pairs
                       if k != "max_age" and not (k == "prompt" and "login" in v.split())])
    here = f"{AUTHORIZE_PATH}?{query}"
    return f"/login?next={quote(here, safe='')}"


def redirect_host(redirect_uri: str) -> tuple[str, bool]:
    """Where the answer sends the person, as they would recognise it, and whether that is a web
    site: the host (and port) of an http(s) URI, else the app's private-use scheme."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in WEB_SCHEMES and parts.hostname:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return (f"{host}:{parts.port}" if parts.port else host), True
    return f"{parts.scheme}:", False


def _signs_in_again(ctx: Page, who: SignedIn, request: AuthorizationRequest) -> bool:
    """prompt=login, or a sign-in older than max_age (OIDC Core §3.1.2.1)."""
    if "login" in request.prompt:
        return True
    age = ctx.runtime.clock() - who.session.row.created_at
    return request.max_age is not None and age > timedelta(seconds=request.max_age)


async def _consent_page(ctx: Page, who: SignedIn, client: RegisteredClient,
                        request: AuthorizationRequest, params: dict[str, str]) -> Response:
    async with ctx.transaction() as conn:
        catalogue = {s.id: s.description for s in await ctx.runtime.scope_list(conn).list()}
    descriptions = {**BUILTIN_SCOPES, **catalogue, **OIDC_SCOPES}
    sealed = ctx.runtime.box.seal(json.dumps({
        "user": who.user.id, "until": (ctx.runtime.clock() + CONSENT_FORM_TTL).isoformat(),
        # The request as the app sent it: judged again by the same rules when the user answers.
        "params": params}))
    host, is_web = redirect_host(request.redirect_uri)
    return ctx.render("authorize/consent.html", client=client, auth_request=request,
                      scopes=[(s, descriptions.get(s, "")) for s in request.scope],
                      sealed=sealed, action=CONSENT_PATH, not_you_action=NOT_YOU_PATH,
                      redirect_host=host, redirect_is_web=is_web)


async def not_you(ctx: Page) -> Response:
    """The consent page's "Not you?": sign this browser out, then to the sign-in page, which
    returns to the same authorization request (judged again, for whoever signs in)."""
    opened = ctx.runtime.box.open(ctx.field("request"))
    if ctx.session is not None:
        async with ctx.transaction() as conn:
            await sessions.end(ctx.runtime, conn, ctx.session)
    ctx.forget_session()
    if not opened:  # not a form of ours: signed out all the same
        return redirect("/login?notice=signed-out")
    params: dict[str, str] = json.loads(opened)["params"]
    return redirect(_sign_in_for(list(params.items())) + "&notice=signed-out")


async def decide(ctx: Page) -> Response:
    """The consent form's answer: Allow or Deny."""
    opened = ctx.runtime.box.open(ctx.field("request"))
    payload = json.loads(opened) if opened else None
    who = _signed_in(ctx)
    if (payload is None or who is None or payload["user"] != who.user.id
            or payload["until"] < ctx.runtime.clock().isoformat()):
        return ctx.render("authorize/error.html", 400, message=(
            "This consent form has expired or was not meant for you. Go back to the "
            "application and start again."))
    params: dict[str, str] = payload["params"]
    target = await _target(ctx, params)
    if isinstance(target, Response):
        return target
    client, redirect_uri, pkce_required = target
    try:
        # The client may have changed since the page was shown (grant types, scopes, PKCE).
        request = rules.validate(params, client, redirect_uri,
                                 policy_requires_pkce=pkce_required)
    except OAuthError as exc:
        return _error_redirect(ctx, redirect_uri, exc, params)
    fragment = request.in_fragment
    if ctx.field("decision") != "allow":
        await _audit(ctx, who, "consent.deny", client, {"scopes": list(request.scope)})
        return redirect(rules.error_answer(
            redirect_uri, AccessDeniedError("the user denied the request"),
            state=request.state, issuer=_issuer(ctx.runtime), fragment=fragment))
    return await _answer(ctx, who, client, request,
                         consent=Consent(request.scope, client.scopes, ctx.runtime.clock()))


async def _answer(ctx: Page, who: SignedIn, client: RegisteredClient,
                  request: AuthorizationRequest, *, consent: Consent | None = None) -> Response:
    """A code (§4.1.2) or, for legacy clients, an implicit token (§4.2.2); ``consent``, just
    given, is saved with the grant family (protocol/authorization_issuance.py)."""
    runtime = ctx.runtime
    person = Authorizer(who.user.id, who.session.row.created_at, tuple(who.session.row.amr),
                        who.session.row.digest)
    async with ctx.transaction() as conn:
        started = await runtime.issuance.start(runtime.authorization_records(conn), client,
                                               request, person, consent=consent)
    if consent is not None:
        await _audit(ctx, who, "consent.grant", client, {"scopes": list(request.scope)})
    issuer = _issuer(runtime)
    if started.code is not None:
        return redirect(rules.answer(request.redirect_uri, {
            "code": started.code, "state": request.state, "iss": issuer},
            fragment=request.in_fragment))
    record = await runtime.hot.client(client.id)
    if record is None:
        raise AccessDeniedError("the client no longer exists")
    token = await runtime.issuance.implicit_token(record, request, person, started)
    runtime.recorder.token(client.id, "implicit", token.scope, client_ip(ctx.request))
    await _audit(ctx, who, "grant.implicit.use", client, {
        "deprecated": True, "note": "implicit grant: migrate this client to CODE with PKCE"})
    return redirect(rules.answer(request.redirect_uri, {
        "access_token": token.access_token, "token_type": "Bearer",
        "expires_in": str(token.expires_in), "scope": token.scope, "state": request.state,
        "iss": issuer}, fragment=request.in_fragment))


async def _audit(ctx: Page, who: SignedIn, action: str, client: RegisteredClient,
                 details: dict[str, JSONValue]) -> None:
    await ctx.runtime.hot.record(AuditEvent(
        timestamp=ctx.runtime.clock(), actor_kind="user", actor_id=who.user.id,
        actor_name=who.user.email, action=action, entity_type="OAuthClient",
        entity_id=client.id, entity_name=client.name, result=Result.success,
        remote_ip=client_ip(ctx.request), details=details,
        actor_divisions=ctx.caller.divisions if ctx.caller else ()))


def _issuer(runtime: Runtime) -> str:
    return runtime.tokens.issuer


async def userinfo(request: Request) -> Response:
    """OIDC Core §5.3: the signed-in user's claims, for a user token carrying ``openid``.

    Raises:
        InvalidTokenError, InsufficientScopeError (turned into RFC 6750 answers).
    """
    runtime: Runtime = request.app.state.runtime
    token = await active_token(request, runtime)
    subject = token.record.subject_id
    if subject is None or "openid" not in token.record.scope.split():
        raise InsufficientScopeError("userinfo needs a user's token with the openid scope")
    async with runtime.transaction() as conn:
        person = await runtime.authorization_records(conn).people.find(subject)
    if person is None:
        raise InsufficientScopeError("the token's user no longer exists")
    return json_response(claims_for(person, frozenset(token.record.scope.split())),
                         headers={"cache-control": "no-store"})


async def openid_configuration(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    return json_response(server_metadata(runtime.tokens.issuer),
                         headers={"cache-control": "max-age=300"})


routes: list[Route] = [
    # RFC 6749 §3.1: the authorization endpoint MUST support GET and MAY support POST.
    route(AUTHORIZE_PATH, authorize, post=authorize, public=True, csrf=False),
    route(CONSENT_PATH, post=decide, public=True),
    route(NOT_YOU_PATH, post=not_you, public=True),
    Route("/oauth/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
]
