"""Console pages for OAuth clients: the list, the Add-client wizard, the secret shown once, a
client's page with its actions, and editing.

Every rule is the domain's: the wizard asks ``ClientManagement.check`` at each step and saves
with ``create``, so the console refuses exactly what the API refuses, and each problem is shown
next to the field it names. The wizard is stateless: each step carries the earlier steps'
values in hidden fields. A new secret travels to the one page that shows it sealed in the
server-side session, and leaves the session as it is shown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.client_management import Issued
from keystead.domain.clients import (
    DEFAULT_TOKEN_TTL,
    MAX_SCIM_TOKEN_TTL,
    MAX_TOKEN_TTL,
    MIN_TOKEN_TTL,
    REDIRECT_GRANTS,
    REFUSED_GRANTS,
    Client,
    ClientFilter,
    ClientSettings,
    ClientSort,
    ClientState,
    ClientType,
    GrantType,
    RoleDivision,
    SecretInfo,
    TokenEndpointAuthMethod,
    default_auth_method,
)
from keystead.domain.errors import ForbiddenError, InvalidInputError, NotFoundError, Problem
from keystead.domain.organization import Scope
from keystead.domain.paging import Page as Paging
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.store.clients import SqlClientStore
from keystead.store.divisions import SqlDivisionStore
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.web.console import sessions
from keystead.web.console.pages import Page, redirect, route

BASE = "/admin/integrations/oauth"
PAGE_SIZE = 25
MAX_PAGE = 10**6
RECOMMENDED_CODE_TTL = 64_800  # the seed: "Recommended: 18 hours (64,800 seconds)"
DUAL_USE_CHOICES = {0: "Expire the old secret now", 3_600: "1 hour", 86_400: "1 day",
                    604_800: "7 days"}
REVEAL = "reveal"  # the session key holding a sealed secret awaiting its one showing

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
    "deleted": "The client was deleted. Its tokens no longer work; its audit history is kept.",
}

GRANT_LABELS = {
    GrantType.client_credentials: "Client Credentials",
    GrantType.code: "Authorization Code with PKCE",
    GrantType.token: "Implicit grant (legacy)",
    GrantType.saml2_bearer: "SAML2 Bearer",
}
GRANT_HINTS = {
    GrantType.client_credentials: "Service to service: the application acts as itself.",
    GrantType.code: "Web, mobile and single-page apps acting for a signed-in user.",
    GrantType.saml2_bearer: "Enterprise SSO: trade a SAML assertion from a trusted IdP for a "
                            "token.",
    GrantType.token: "Legacy: this client had it before March 2026. Prefer Authorization Code "
                     "with PKCE: the implicit grant leaks tokens through the browser.",
}
IMPLICIT_NOTE = ("Implicit grant (legacy) — deprecated; cannot be selected for new clients "
                 "since March 2026")
ROLE_NOT_HELD = "You can assign only roles you hold"

# A domain Problem's field (``registeredRedirectUri[2]``) to the form field that shows it.
FORM_FIELDS = {
    "name": "name", "description": "description", "authorizedGrantTypes": "grantTypes",
    "authorizedGrantType": "grantTypes", "accessTokenValiditySeconds": "accessTokenValiditySeconds",
    "scope": "scopes", "roleDivisions": "roles", "roleIds": "roles",
    "registeredRedirectUri": "redirectUris", "dateToDelete": "dateToDelete",
    "clientType": "clientType", "requirePkce": "clientType",
    "tokenEndpointAuthMethod": "tokenEndpointAuthMethod",
}
STEP_FIELDS = ({"name", "description", "grantTypes"},
               {"roles", "accessTokenValiditySeconds", "redirectUris", "scopes", "clientType",
                "tokenEndpointAuthMethod"})
STEPS = ("Client details", "Settings", "Review")
GENERAL = "client-form"  # problems no single field shows (the form's id)


# -- what was typed ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientForm:
    """A client's fields as typed: re-shown unchanged when a rule is broken."""

    name: str = ""
    description: str = ""
    grant_types: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()  # "<roleId>:<divisionId>"
    ttl: str = str(DEFAULT_TOKEN_TTL)
    redirect_uris: str = ""  # one per line
    scopes: tuple[str, ...] = ()
    client_type: str = str(ClientType.confidential)
    auth_method: str = ""  # "": the default for the client type (or, when editing, unchanged)

    @classmethod
    def posted(cls, ctx: Page) -> ClientForm:
        return cls(name=ctx.field("name").strip(), description=ctx.field("description").strip(),
                   grant_types=tuple(dict.fromkeys(ctx.fields("grantTypes"))),
                   roles=tuple(dict.fromkeys(ctx.fields("roles"))),
                   ttl=ctx.field("accessTokenValiditySeconds",
                                 str(DEFAULT_TOKEN_TTL)).strip(),
                   redirect_uris="\n".join(ctx.fields("redirectUris")),
                   scopes=tuple(dict.fromkeys(ctx.fields("scopes"))),
                   client_type=ctx.field("clientType", str(ClientType.confidential)),
                   auth_method=ctx.field("tokenEndpointAuthMethod", ""))

    @classmethod
    def of(cls, settings: ClientSettings) -> ClientForm:
        return cls(name=settings.name, description=settings.description,
                   grant_types=tuple(str(g) for g in settings.grant_types),
                   roles=tuple(f"{rd.role_id}:{rd.division_id}"
                               for rd in settings.role_divisions),
                   ttl=str(settings.token_ttl_seconds),
                   redirect_uris="\n".join(settings.redirect_uris), scopes=settings.scopes,
                   client_type=str(settings.client_type),
                   auth_method=str(settings.token_endpoint_auth_method))

    @property
    def uri_lines(self) -> list[tuple[int, str]]:
        """The non-blank lines of the redirect URIs, with their line numbers (from 1)."""
        return [(number, line.strip()) for number, line in
                enumerate(self.redirect_uris.splitlines(), start=1) if line.strip()]

    def has(self, grant: GrantType) -> bool:
        return str(grant) in self.grant_types

    def for_wizard(self) -> ClientForm:
        """Only what the chosen grants use: roles for client credentials, URIs for CODE."""
        return replace(
            self, roles=self.roles if self.has(GrantType.client_credentials) else (),
            redirect_uris=self.redirect_uris if any(self.has(g) for g in REDIRECT_GRANTS)
            else "")

    def settings(self, base: ClientSettings | None = None) -> tuple[ClientSettings, Errors]:
        """The settings these fields ask for (over ``base``), and the fields that cannot even
        be read as values (those keep ``base``'s or the default value)."""
        errors = Errors()
        for name, values in self._texts():
            if any("\x00" in value for value in values):
                errors.add(name, "must not contain the NUL character")
        grants = []
        for value in self.grant_types:
            if value.upper() in REFUSED_GRANTS:
                errors.add("grantTypes", f"{value.upper()}: {REFUSED_GRANTS[value.upper()]}")
            elif value not in GrantType._value2member_map_:
                errors.add("grantTypes", f"{value!r} is not a grant type")
            else:
                grants.append(GrantType(value))
        pairs = []
        for value in self.roles:
            role_id, sep, division_id = value.partition(":")
            if not (sep and role_id and division_id):
                errors.add("roles", f"{value!r} is not a role in a division")
            else:
                pairs.append(RoleDivision(role_id, division_id))
        client_type = ClientType.confidential
        if self.client_type in ClientType._value2member_map_:
            client_type = ClientType(self.client_type)
        else:
            errors.add("clientType", "choose confidential or public")
        auth_method = (base.token_endpoint_auth_method if base
                       else default_auth_method(client_type))
        if self.auth_method in TokenEndpointAuthMethod._value2member_map_:
            auth_method = TokenEndpointAuthMethod(self.auth_method)
        elif self.auth_method:
            errors.add("tokenEndpointAuthMethod",
                       "choose client_secret_basic, client_secret_post or none")
        ttl = base.token_ttl_seconds if base else DEFAULT_TOKEN_TTL
        if not (self.ttl.isascii() and self.ttl.isdigit()) or len(self.ttl) > 12:
            errors.add("accessTokenValiditySeconds",
                       "token duration must be a whole number of seconds, from "
                       f"{MIN_TOKEN_TTL} to {MAX_TOKEN_TTL}")
        else:
            ttl = int(self.ttl)
        settings = replace(base or ClientSettings(name=""), name=self.name,
                           description=self.description, grant_types=tuple(grants),
                           role_divisions=tuple(pairs), token_ttl_seconds=ttl,
                           scopes=self.scopes,
                           redirect_uris=tuple(uri for _, uri in self.uri_lines),
                           client_type=client_type, token_endpoint_auth_method=auth_method)
        return settings, errors

    def has_nul(self) -> bool:
        return any("\x00" in value for _, values in self._texts() for value in values)

    def _texts(self) -> tuple[tuple[str, Sequence[str]], ...]:
        return (("name", [self.name]), ("description", [self.description]),
                ("grantTypes", self.grant_types), ("roles", self.roles),
                ("accessTokenValiditySeconds", [self.ttl]),
                ("redirectUris", [self.redirect_uris]), ("scopes", self.scopes),
                ("clientType", [self.client_type]),
                ("tokenEndpointAuthMethod", [self.auth_method]))


class Errors(dict[str, str]):
    """Form field -> what is wrong with it (several problems of one field joined)."""

    def add(self, name: str, message: str) -> None:
        message = message[:1].upper() + message[1:]
        self[name] = f"{self[name]} {message}" if name in self else message

    def extend(self, problems: Iterable[Problem], form: ClientForm, *,
               keep: frozenset[str] = frozenset()) -> None:
        """Add the domain's problems by form field; fields in ``keep`` keep their own error."""
        lines = [number for number, _ in form.uri_lines]
        for problem in problems:
            base = problem.field.split("[", 1)[0].split(".", 1)[0]
            name = FORM_FIELDS.get(base, GENERAL)
            if name in keep:
                continue
            message = problem.message
            if name == "redirectUris" and "[" in problem.field:
                index = int(problem.field.split("[", 1)[1].split("]", 1)[0])
                if index < len(lines):
                    message = f"line {lines[index]}: {message}"
            self.add(name, message)

    def on_step(self, step: int) -> Errors:
        return Errors({k: v for k, v in self.items() if k in STEP_FIELDS[step - 1]})


# -- what the org offers -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleChoice:
    value: str
    role: str
    division: str
    selectable: bool


@dataclass(frozen=True, slots=True)
class Catalogue:
    roles: list[RoleChoice]
    scopes: list[Scope]
    role_names: dict[str, str]
    division_names: dict[str, str]

    def describe(self, value: str) -> str:
        role_id, _, division_id = value.partition(":")
        return (f"{self.role_names.get(role_id, role_id)} in "
                f"{self.division_names.get(division_id, division_id)}")

    def scope_text(self, scope_id: str) -> str:
        return next((s.description for s in self.scopes if s.id == scope_id), "")


async def catalogue(conn: AsyncConnection, caller: Caller, *,
                    keep: Iterable[RoleDivision] = ()) -> Catalogue:
    """Every (role, division) the org has; selectable when the caller holds it (or the client
    already has it: keeping a role is no escalation)."""
    roles, divisions = await SqlRoleStore(conn).list(), await SqlDivisionStore(conn).list()
    kept = set(keep)
    choices = [RoleChoice(f"{r.id}:{d.id}", r.name, d.name,
                          selectable=caller.is_operator or RoleDivision(r.id, d.id) in kept
                          or RoleDivision(r.id, d.id) in caller.role_divisions)
               for r in roles for d in divisions]
    return Catalogue(choices, await SqlScopeStore(conn).list(), {r.id: r.name for r in roles},
                     {d.id: d.name for d in divisions})


def grant_choices(*, keep_token: bool) -> list[dict[str, str | bool]]:
    choices: list[dict[str, str | bool]] = []
    for grant in (GrantType.client_credentials, GrantType.code, GrantType.token,
                  GrantType.saml2_bearer):
        refused = grant is GrantType.token and not keep_token
        choices.append({
            "value": str(grant), "id": f"grant-{grant}",
            "label": IMPLICIT_NOTE if refused else GRANT_LABELS[grant],
            "hint": ("Use Authorization Code with PKCE instead: the implicit grant leaks "
                     "tokens through the browser." if refused else GRANT_HINTS[grant]),
            "disabled": refused})
    return choices


# -- presentation helpers ----------------------------------------------------------------------


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "never"


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


def client_id_of(ctx: Page) -> str:
    """Raises: NotFoundError for an id no client can have (PostgreSQL text holds no NUL)."""
    client_id = str(ctx.request.path_params["id"])
    if "\x00" in client_id or len(client_id) > 64:
        raise NotFoundError(f"no OAuth client with id {client_id[:64]!r}")
    return client_id


def common(ctx: Page) -> dict[str, Any]:
    return {"base": BASE, "when": when, "labels": GRANT_LABELS, "now": ctx.runtime.clock()}


# -- the list ----------------------------------------------------------------------------------


async def list_clients(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.OAUTH_CLIENT_VIEW)
    params = ctx.request.query_params
    errors = Errors()
    query = params.get("q", "").strip()
    if "\x00" in query:
        errors.add("q", "the name must not contain the NUL character")
    state = params.get("state", "")
    if state and state not in ClientState._value2member_map_:
        errors.add("state", "choose a state from the list")
    grant = params.get("grant", "")
    if grant and grant not in GrantType._value2member_map_:
        errors.add("grant", "choose a grant type from the list")
    sort = params.get("sort", "") or str(ClientSort.name)
    if sort not in ClientSort._value2member_map_:
        errors.add("sort", "choose an order from the list")
        sort = str(ClientSort.name)
    raw_page = params.get("pageNumber", "1")
    valid = raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= len(str(MAX_PAGE))
    number = int(raw_page) if valid else 0
    if not 1 <= number <= MAX_PAGE:
        errors.add("pageNumber", f"the page number must be a whole number from 1 to {MAX_PAGE}")
        number = 1
    found: Sequence[Client] = []
    total = 0
    if not errors:
        async with ctx.transaction() as conn:
            found, total = await SqlClientStore(conn).search(ClientFilter(
                name=query or None, state=ClientState(state) if state else None,
                grant_type=GrantType(grant) if grant else None, sort=ClientSort(sort)),
                Paging(number, PAGE_SIZE))
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    kept = {k: v for k, v in (("q", query), ("state", state), ("grant", grant),
                              ("sort", sort if sort != ClientSort.name else "")) if v}

    def page_url(n: int) -> str:
        return f"{BASE}?{urlencode(kept | {'pageNumber': str(n)})}"

    ctx.notices = CLIENT_NOTICES
    now = ctx.runtime.clock()
    return ctx.render(
        "clients/list.html", 400 if errors else 200, **common(ctx), clients=found, total=total,
        errors=errors, q=query, state=state, grant=grant, sort=sort, page_number=number,
        pages=pages, previous_url=page_url(number - 1) if number > 1 else "",
        next_url=page_url(number + 1) if number < pages else "",
        states=[str(s) for s in ClientState], grants=[str(g) for g in GrantType],
        sorts={str(ClientSort.name): "Name", str(ClientSort.created): "Created (newest first)",
               str(ClientSort.last_used): "Last used (most recent first)"},
        ages={c.id: secret_age_days(c, now) for c in found}, who=who,
        may_add=ctx.signed_in.has_permission(Permission.OAUTH_CLIENT_ADD))


# -- the Add-client wizard ---------------------------------------------------------------------


async def wizard_start(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.OAUTH_CLIENT_ADD)
    return await render_step(ctx, 1, ClientForm(), Errors())


async def wizard(ctx: Page) -> Response:
    """One POST per step: ``step`` names the step whose form was sent, ``action`` the button."""
    caller = ctx.signed_in
    caller.require(Permission.OAUTH_CLIENT_ADD)
    form = ClientForm.posted(ctx).for_wizard()
    step, action = ctx.field("step"), ctx.field("action", "next")
    if step == "save" or (step == "3" and action == "save"):
        return await save(ctx, form)
    if action == "back":
        return await render_step(ctx, 2 if step == "3" else 1, form, Errors())
    if step not in ("1", "2", "3"):
        return await render_step(ctx, 1, form, Errors())
    errors = await judge(ctx, form)
    if first := errors.on_step(1):
        return await render_step(ctx, 1, form, first, status=400)
    if step == "1":
        return await render_step(ctx, 2, form, Errors())
    if errors:
        return await render_step(ctx, 2, form, errors, status=400)
    return await render_step(ctx, 3, form, Errors())


async def judge(ctx: Page, form: ClientForm, *, client: Client | None = None) -> Errors:
    """Every problem the domain finds with the form's settings (for a new client, or as
    changes to ``client``), by form field; a field that cannot be read keeps that error.

    Raises:
        ForbiddenError: the form assigns a role the signed-in user does not hold.
    """
    settings, errors = form.settings(client.settings if client else None)
    if form.has_nul() or "roles" in errors:
        return errors  # the rules below look these values up in the database
    async with ctx.transaction() as conn:
        problems = await ctx.runtime.management(conn).check(
            ctx.signed_in, settings, client_id=client.id if client else None)
    errors.extend(problems, form, keep=frozenset(errors))
    return errors


async def save(ctx: Page, form: ClientForm) -> Response:
    """Create the client; its secret goes, sealed, to the session for the one page showing it."""
    settings, errors = form.settings()
    if not errors:
        session = ctx.session
        if session is None:
            raise ForbiddenError("sign in first")
        try:
            async with ctx.transaction() as conn:
                issued = await ctx.runtime.management(conn).create(ctx.signed_in, settings)
                if issued.secret is None:  # a public client: there is no secret to show
                    return redirect(f"{BASE}/{issued.client.id}?notice=created-public")
                keep_for_showing(ctx, session, issued, kind="created")
                await sessions.save_data(ctx.runtime, conn, session)
            return redirect(f"{BASE}/{issued.client.id}/secret")
        except InvalidInputError as exc:
            errors.extend(exc.problems, form)
    if first := errors.on_step(1):
        return await render_step(ctx, 1, form, first, status=400)
    return await render_step(ctx, 2, form, errors, status=400)


def keep_for_showing(ctx: Page, session: sessions.Session, issued: Issued, *, kind: str,
                     previous_until: datetime | None = None) -> None:
    session.data[REVEAL] = ctx.runtime.box.seal(json.dumps({
        "clientId": issued.client.id, "secret": issued.secret, "kind": kind,
        "previousUntil": previous_until.isoformat() if previous_until else None}))


async def render_step(ctx: Page, step: int, form: ClientForm, errors: Errors, *,
                      status: int = 200) -> Response:
    async with ctx.transaction() as conn:
        offered = await catalogue(conn, ctx.signed_in)
    return ctx.render(
        "clients/wizard.html", status, **common(ctx), step=step, steps=STEPS, form=form,
        errors=errors, offered=offered, grant_choices=grant_choices(keep_token=False),
        has_cc=form.has(GrantType.client_credentials),
        has_code=any(form.has(g) for g in REDIRECT_GRANTS), ttl_hint=ttl_hint(form),
        role_reason=ROLE_NOT_HELD, general=GENERAL)


def ttl_hint(form: ClientForm) -> str:
    hint = (f"From {MIN_TOKEN_TTL:,} to {MAX_TOKEN_TTL:,} seconds (SCIM clients: up to "
            f"{MAX_SCIM_TOKEN_TTL // 86_400} days). Default {DEFAULT_TOKEN_TTL:,} seconds "
            "(1 hour).")
    if form.has(GrantType.code):
        hint += (f" Recommended for authorization-code clients: 18 hours "
                 f"({RECOMMENDED_CODE_TTL:,} seconds).")
    return hint


# -- the secret, shown once --------------------------------------------------------------------


async def show_secret(ctx: Page) -> Response:
    client_id = client_id_of(ctx)
    session = ctx.session
    if session is None:
        raise ForbiddenError("sign in first")
    opened = ctx.runtime.box.open(session.data.get(REVEAL, ""))
    shown: dict[str, str | None] = json.loads(opened) if opened else {}
    async with ctx.transaction() as conn:
        if shown.get("clientId") == client_id:
            # This user just created or rotated it (that took its own permission, which may
            # not include view). Out of the session before it is shown: a reload, Back or a
            # copied URL finds nothing.
            del session.data[REVEAL]
            await sessions.save_data(ctx.runtime, conn, session)
            client = await SqlClientStore(conn).find(client_id)
            if client is None:
                raise NotFoundError(f"no OAuth client with id {client_id}")
        else:
            shown = {}
            client = await ctx.runtime.management(conn).find(ctx.signed_in, client_id)
    until = shown.get("previousUntil")
    return ctx.render("clients/secret.html", **common(ctx), client=client,
                      secret=shown.get("secret") or "", kind=shown.get("kind") or "",
                      previous_until=datetime.fromisoformat(until) if until else None, who=who)


# -- a client's page and its actions -----------------------------------------------------------


async def detail(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        client = await ctx.runtime.management(conn).find(ctx.signed_in, client_id_of(ctx))
    return await render_detail(ctx, client, Errors())


async def render_detail(ctx: Page, client: Client, errors: Errors, *, status: int = 200,
                        typed: dict[str, str] | None = None) -> Response:
    async with ctx.transaction() as conn:
        offered = await catalogue(conn, ctx.signed_in)
    caller = ctx.signed_in
    now = ctx.runtime.clock()
    default_window = ctx.runtime.settings.default_dual_use_seconds
    windows = dict(DUAL_USE_CHOICES)
    windows.setdefault(default_window, f"{default_window:,} seconds")
    ctx.notices = CLIENT_NOTICES
    return ctx.render(
        "clients/detail.html", status, **common(ctx), client=client, errors=errors,
        typed=typed or {}, offered=offered, who=who,
        roles=[offered.describe(f"{rd.role_id}:{rd.division_id}")
               for rd in client.settings.role_divisions],
        secret_status=lambda s: secret_status(s, now), in_window=in_window(client, now),
        windows=sorted(windows.items()), default_window=default_window,
        may_edit=caller.has_permission(Permission.OAUTH_CLIENT_EDIT),
        may_delete=caller.has_permission(Permission.OAUTH_CLIENT_DELETE),
        tomorrow=date.fromordinal(now.date().toordinal() + 1).isoformat())


async def _client(ctx: Page, permission: Permission) -> Client:
    async with ctx.transaction() as conn:
        return await ctx.runtime.management(conn).find(ctx.signed_in, client_id_of(ctx),
                                                       permission=permission)


async def change_state(ctx: Page, client: Client, settings: ClientSettings,
                       notice: str) -> Response:
    """Save a state change; a rule the change breaks is shown on the client's page."""
    try:
        async with ctx.transaction() as conn:
            await ctx.runtime.management(conn).update(ctx.signed_in, client.id, settings)
    except InvalidInputError as exc:
        errors = Errors()
        errors.extend(exc.problems, ClientForm.of(client.settings))
        return await render_detail(ctx, client, errors, status=400,
                                   typed={"dateToDelete": ctx.field("dateToDelete")})
    return redirect(f"{BASE}/{client.id}?notice={notice}")


async def disable(ctx: Page) -> Response:
    client = await _client(ctx, Permission.OAUTH_CLIENT_EDIT)
    return await change_state(ctx, client, replace(
        client.settings, state=ClientState.disabled, date_to_delete=None), "disabled")


async def enable(ctx: Page) -> Response:
    client = await _client(ctx, Permission.OAUTH_CLIENT_EDIT)
    return await change_state(ctx, client, replace(
        client.settings, state=ClientState.active, date_to_delete=None), "enabled")


async def schedule_deletion(ctx: Page) -> Response:
    client = await _client(ctx, Permission.OAUTH_CLIENT_EDIT)
    typed = ctx.field("dateToDelete").strip()
    try:
        day = date.fromisoformat(typed) if "\x00" not in typed else None
    except ValueError:
        day = None
    errors = Errors()
    if day is None:
        errors.add("dateToDelete", "enter the deletion date as a date, e.g. 2026-12-31")
    elif day <= ctx.runtime.clock().astimezone(UTC).date():
        errors.add("dateToDelete", "choose a date after today: the client is deleted at "
                                   "00:00 UTC on that date")
    else:
        return await change_state(ctx, client, replace(
            client.settings, state=ClientState.inactive,
            date_to_delete=datetime.combine(day, time.min, tzinfo=UTC)), "deletion-scheduled")
    return await render_detail(ctx, client, errors, status=400, typed={"dateToDelete": typed})


async def regenerate(ctx: Page) -> Response:
    client_id = client_id_of(ctx)
    session = ctx.session
    if session is None:
        raise ForbiddenError("sign in first")
    raw = ctx.field("dualUseSeconds").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7:
        errors = Errors()
        errors.add("dualUseSeconds", "choose how long the old secret keeps working")
        return await render_detail(ctx, await _client(ctx, Permission.OAUTH_CLIENT_EDIT), errors,
                                   status=400)
    window = int(raw)
    try:
        async with ctx.transaction() as conn:
            issued = await ctx.runtime.management(conn).regenerate_secret(
                ctx.signed_in, client_id, dual_use_seconds=window)
            previous = next((s for s in issued.client.secrets if not s.current), None)
            keep_for_showing(ctx, session, issued, kind="regenerated",
                             previous_until=previous.date_expires if previous else None)
            await sessions.save_data(ctx.runtime, conn, session)
    except InvalidInputError as exc:
        errors = Errors()
        for problem in exc.problems:
            errors.add(problem.field, problem.message)
        return await render_detail(ctx, await _client(ctx, Permission.OAUTH_CLIENT_EDIT), errors,
                                   status=400)
    return redirect(f"{BASE}/{client_id}/secret")


async def expire_previous(ctx: Page) -> Response:
    client_id = client_id_of(ctx)
    async with ctx.transaction() as conn:
        await ctx.runtime.management(conn).expire_previous_secret(ctx.signed_in, client_id)
    return redirect(f"{BASE}/{client_id}?notice=previous-expired")


async def delete(ctx: Page) -> Response:
    client = await _client(ctx, Permission.OAUTH_CLIENT_DELETE)
    typed = ctx.field("confirm-name")
    if typed != client.settings.name:
        errors = Errors()
        errors.add("confirm-name", "type the client's name exactly as shown to delete it")
        return await render_detail(ctx, client, errors, status=400,
                                   typed={"confirm-name": typed})
    async with ctx.transaction() as conn:
        await ctx.runtime.management(conn).delete(ctx.signed_in, client.id)
    return redirect(f"{BASE}?notice=deleted")


# -- editing -----------------------------------------------------------------------------------


async def edit_form(ctx: Page) -> Response:
    client = await _client(ctx, Permission.OAUTH_CLIENT_EDIT)
    return await render_edit(ctx, client, ClientForm.of(client.settings), Errors())


async def edit(ctx: Page) -> Response:
    client = await _client(ctx, Permission.OAUTH_CLIENT_EDIT)
    form = ClientForm.posted(ctx)
    settings, errors = form.settings(client.settings)
    if errors:
        return await render_edit(ctx, client, form, await judge(ctx, form, client=client),
                                 status=400)
    try:
        async with ctx.transaction() as conn:
            await ctx.runtime.management(conn).update(ctx.signed_in, client.id, settings)
    except InvalidInputError as exc:
        errors.extend(exc.problems, form)
        return await render_edit(ctx, client, form, errors, status=400)
    changed = set(settings.scopes) != set(client.settings.scopes)
    return redirect(f"{BASE}/{client.id}?notice={'scopes-changed' if changed else 'saved'}")


async def render_edit(ctx: Page, client: Client, form: ClientForm, errors: Errors, *,
                      status: int = 200) -> Response:
    async with ctx.transaction() as conn:
        offered = await catalogue(conn, ctx.signed_in, keep=client.settings.role_divisions)
    return ctx.render(
        "clients/edit.html", status, **common(ctx), client=client, form=form, errors=errors,
        offered=offered,
        grant_choices=grant_choices(keep_token=GrantType.token in client.settings.grant_types),
        ttl_hint=ttl_hint(form), role_reason=ROLE_NOT_HELD, general=GENERAL)


routes: list[Route] = [
    route(BASE, list_clients),
    route(f"{BASE}/new", wizard_start),
    route(f"{BASE}/new", wizard, methods=("POST",)),
    route(BASE + "/{id}", detail),
    route(BASE + "/{id}/secret", show_secret),
    route(BASE + "/{id}/edit", edit_form),
    route(BASE + "/{id}/edit", edit, methods=("POST",)),
    route(BASE + "/{id}/regenerate", regenerate, methods=("POST",)),
    route(BASE + "/{id}/expire-previous", expire_previous, methods=("POST",)),
    route(BASE + "/{id}/disable", disable, methods=("POST",)),
    route(BASE + "/{id}/enable", enable, methods=("POST",)),
    route(BASE + "/{id}/schedule-deletion", schedule_deletion, methods=("POST",)),
    route(BASE + "/{id}/delete", delete, methods=("POST",)),
]
