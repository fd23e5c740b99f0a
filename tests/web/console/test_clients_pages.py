"""The console's OAuth client pages over HTTP: the list, the Add-client wizard, the secret shown
once, a client's page with its actions, and editing.

Forms are sent as a browser would send them: ``submit`` reads the page's form (hidden fields,
checked boxes, typed values) and refuses to tick a box the page disabled; a crafted POST, sent
with ``console.post``, is what an attacker sends past the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from httpx2 import Response
from starlette.testclient import TestClient

from keystead.domain.clients import ClientSettings, GrantType
from keystead.domain.principal import operator
from keystead.web.runtime import Runtime
from tests.people import Console, create_user, sign_in
from tests.support.apps import run
from tests.support.clients import CLIENTS, Registered, client_body, code_body, create_client
from tests.support.clock import ManualClock
from tests.support.management import audit_events, role_id

OAUTH = "/admin/integrations/oauth"
SECRET_GONE = ("The secret was shown once and cannot be shown again. Regenerate it if it was "
               "lost.")


# -- reading pages as a browser does ------------------------------------------------------------


VOID = frozenset({"input", "br", "meta", "link", "img", "hr", "col", "source", "wbr"})


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)

    @property
    def name(self) -> str:
        return self.attrs.get("name", "")

    @property
    def disabled(self) -> bool:
        return "disabled" in self.attrs


@dataclass
class Form:
    action: str
    method: str
    controls: list[Control] = field(default_factory=list)


class Document(HTMLParser):
    """A page's forms, the attributes and text of each element with an id, and labels."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.text: dict[str, str] = {}
        self.attrs: dict[str, dict[str, str]] = {}
        self.labels: dict[str, str] = {}  # control id -> its label's text
        self._open: list[tuple[str, str]] = []
        self._form: Form | None = None
        self._control: Control | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in raw}
        if "id" in attrs:
            self.attrs.setdefault(attrs["id"], attrs | {"tag": tag})
        if tag == "form":
            self._form = Form(attrs.get("action", ""), attrs.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag in ("input", "button", "textarea", "select") and self._form is not None:
            self._control = Control(tag, attrs)
            self._form.controls.append(self._control)
        elif tag == "option" and self._control is not None and self._control.tag == "select":
            self._control.options.append((attrs.get("value", ""), "selected" in attrs))
        if tag not in VOID:
            key = f"label:{attrs['for']}" if tag == "label" and "for" in attrs else attrs.get(
                "id", "")
            self._open.append((tag, key))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag in ("textarea", "select", "button"):
            self._control = None
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, key in self._open:
            if key.startswith("label:"):
                self.labels[key[6:]] = self.labels.get(key[6:], "") + data
            elif key:
                self.text[key] = self.text.get(key, "") + data
        if self._control is not None and self._control.tag == "textarea":
            self._control.text += data

    def control(self, control_id: str) -> Control:
        """The form control with this id (a form may share its button's id)."""
        return next(c for f in self.forms for c in f.controls if c.attrs.get("id") == control_id)

    def checkbox(self, name: str, label_part: str) -> Control:
        """The checkbox ``name`` whose label holds ``label_part``."""
        return next(c for f in self.forms for c in f.controls if c.name == name and
                    label_part in self.labels.get(c.attrs.get("id", ""), ""))


def page_of(response: Response) -> Document:
    return Document(response.text)


def submit(console: Console, response: Response, button: str,
           **fill: str | list[str]) -> Response:
    """Press ``button`` on the page, after filling in its form, as a browser would (without
    JavaScript's help): hidden fields, ticked boxes and typed values go; disabled ones do not,
    and a disabled box cannot be ticked."""
    form = next(f for f in page_of(response).forms
                if any(c.attrs.get("id") == button for c in f.controls))
    data: dict[str, list[str]] = {}
    for control in form.controls:
        if not control.name or control.disabled or control.tag == "button":
            continue
        kind = control.attrs.get("type", "text")
        if control.tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in control.attrs:
                data.setdefault(control.name, []).append(control.attrs.get("value", "on"))
        elif control.tag == "textarea":
            data.setdefault(control.name, []).append(control.text)
        elif control.tag == "select":
            chosen = [v for v, selected in control.options if selected] or [control.options[0][0]]
            data.setdefault(control.name, []).append(chosen[0])
        else:
            data.setdefault(control.name, []).append(control.attrs.get("value", ""))
    for name, value in fill.items():
        values = [value] if isinstance(value, str) else value
        boxes = [c for c in form.controls if c.name == name and c.attrs.get("type") == "checkbox"]
        for wanted in values if boxes else []:
            tickable = [c for c in boxes if c.attrs.get("value") == wanted and not c.disabled]
            assert tickable, f"no checkbox {name}={wanted} to tick"
        data[name] = values
    pressed = next(c for c in form.controls if c.attrs.get("id") == button)
    assert not pressed.disabled, f"#{button} is disabled"
    if pressed.name:
        data[pressed.name] = [pressed.attrs.get("value", "")]
    if form.method == "get":
        return console.http.get(form.action, params=data)
    return console.http.post(form.action, data=data)


def error_of(response: Response, field_id: str) -> str:
    return page_of(response).text.get(f"{field_id}-error", "").strip()


# -- driving the wizard -------------------------------------------------------------------------


def start_wizard(console: Console) -> Response:
    response = console.http.get(f"{OAUTH}/new")
    assert response.status_code == 200, response.text
    return response


def step_of(response: Response) -> str:
    """The wizard step the page shows ("" when it is not a wizard page)."""
    return next((c.attrs["value"] for f in page_of(response).forms for c in f.controls
                 if c.name == "step"), "")


def add_client(console: Console, *, name: str, grants: list[str], roles: tuple[str, ...] = (),
               **settings: str | list[str]) -> Response:
    """The wizard from step 1 to the saved client's secret page; ``roles`` by role name."""
    step2 = submit(console, start_wizard(console), "next", name=name, grantTypes=grants,
                   description="made in the console")
    assert (step2.status_code, step_of(step2)) == (200, "2"), step2.text
    if roles:
        settings["roles"] = [page_of(step2).checkbox("roles", r).attrs["value"] for r in roles]
    review = submit(console, step2, "next", **settings)
    assert (review.status_code, step_of(review)) == (200, "3"), review.text
    saved = submit(console, review, "save")
    assert saved.status_code == 200, saved.text
    return saved


def shown(response: Response) -> Registered:
    doc = page_of(response)
    return Registered(doc.text["client-id"].strip(), doc.text["client-secret"].strip())


def gets_token(http: TestClient, client: Registered) -> bool:
    response = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                         auth=client.basic_auth)
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def api_client(http: TestClient, headers: dict[str, str], client_id: str) -> dict[str, Any]:
    response = http.get(f"{CLIENTS}/{client_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def client_names(http: TestClient, headers: dict[str, str]) -> list[str]:
    response = http.get(CLIENTS, headers=headers, params={"pageSize": "500"})
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()["entities"]]


@pytest.fixture
def app_client(http: TestClient, headers: dict[str, str]) -> Registered:
    """A client-credentials client made through the API by the "test admin" client."""
    return create_client(http, headers, client_body(role_id(http, headers, "Super Admin"),
                                                    name="billing service"))


# -- the list -----------------------------------------------------------------------------------


def test_list_links_to_add_client_and_shows_each_client(console: Console,
                                                        app_client: Registered) -> None:
    response = console.http.get(OAUTH)
    assert response.status_code == 200
    doc = page_of(response)
    assert "<h1>OAuth</h1>" in response.text
    assert doc.attrs["add-client"]["href"] == f"{OAUTH}/new"
    row = doc.text["clients"]
    assert "billing service" in row
    assert "CLIENT-CREDENTIALS" in row
    assert "active" in row
    assert f'href="{OAUTH}/{app_client.id}"' in response.text
    assert "0 days" in row  # the secret's age


@pytest.mark.usefixtures("app_client")
def test_list_filters_by_name_state_and_grant(console: Console, headers: dict[str, str]) -> None:
    create_client(console.http, headers, code_body(name="Web Portal"))
    disabled = create_client(console.http, headers, code_body(name="web shop"))
    response = console.http.put(f"{CLIENTS}/{disabled.id}", headers=headers, json=code_body(
        name="web shop", state="disabled"))
    assert response.status_code == 200, response.text

    def names(**params: str) -> list[str]:
        listed = console.http.get(OAUTH, params=params)
        assert listed.status_code == 200, listed.text
        table = page_of(listed).text["clients"]
        return [n for n in ("billing service", "Web Portal", "web shop") if n in table]

    assert names(q="WEB") == ["Web Portal", "web shop"]
    assert names(state="disabled") == ["web shop"]
    assert names(grant="CLIENT-CREDENTIALS") == ["billing service"]
    assert names(q="web", state="active") == ["Web Portal"]


@pytest.mark.usefixtures("app_client")
def test_list_sorts_by_name_creation_and_last_use(console: Console, headers: dict[str, str],
                                                  clock: ManualClock) -> None:
    clock.advance(1)  # each client a second younger than the one before
    used = create_client(console.http, headers, client_body(
        role_id(console.http, headers, "Super Admin"), name="zeta worker"))
    clock.advance(1)
    create_client(console.http, headers, code_body(name="alpha app"))
    assert gets_token(console.http, used)

    def order(sort: str) -> list[str]:
        table = page_of(console.http.get(OAUTH, params={"sort": sort})).text["clients"]
        return sorted(("alpha app", "billing service", "zeta worker"), key=table.index)

    assert order("name") == ["alpha app", "billing service", "zeta worker"]
    assert order("created") == ["alpha app", "zeta worker", "billing service"]
    assert order("last-used")[0] == "zeta worker"


def test_list_pages_by_25_with_next_and_previous(console: Console) -> None:
    async def many(runtime: Runtime) -> None:  # in one transaction: 27 requests are slow
        async with runtime.transaction() as conn:
            for number in range(27):
                await runtime.management(conn).create(operator(), ClientSettings(
                    name=f"svc {number:02d}", grant_types=(GrantType.code,),
                    scopes=("oauth:readonly",), redirect_uris=("https://svc.example/cb",)))

    run(console.http, many)
    first = page_of(console.http.get(OAUTH))
    assert first.text["clients"].count("svc ") == 25
    assert "previous-page" not in first.attrs
    second = console.http.get(first.attrs["next-page"]["href"])
    doc = page_of(second)
    assert doc.text["clients"].count("svc ") == 2
    assert "svc 26" in doc.text["clients"]
    assert "next-page" not in doc.attrs
    assert "pageNumber=1" in doc.attrs["previous-page"]["href"]


@pytest.mark.parametrize(("params", "field_id"), [
    pytest.param({"state": "sleeping"}, "state", id="unknown-state"),
    pytest.param({"grant": "PASSWORD"}, "grant", id="unknown-grant"),
    pytest.param({"sort": "secret"}, "sort", id="unknown-sort"),
    pytest.param({"q": "a\x00b"}, "q", id="nul-in-name"),
    pytest.param({"pageNumber": "0"}, "pageNumber", id="page-zero"),
])
def test_list_names_a_bad_filter_instead_of_failing(console: Console, params: dict[str, str],
                                                    field_id: str) -> None:
    response = console.http.get(OAUTH, params=params)
    assert response.status_code == 400
    assert error_of(response, field_id)


# -- the Add-client wizard ----------------------------------------------------------------------


def test_wizard_creates_a_client_credentials_client_whose_secret_gets_a_token(
        console: Console, headers: dict[str, str]) -> None:
    step1 = start_wizard(console)
    assert 'aria-current="step">1. Client details' in step1.text
    step2 = submit(console, step1, "next", name="Salesforce Contact Sync",
                   grantTypes=["CLIENT-CREDENTIALS"])
    assert 'aria-current="step">2. Settings' in step2.text
    assert page_of(step2).attrs["accessTokenValiditySeconds"]["value"] == "3600"
    super_admin = page_of(step2).checkbox("roles", "Super Admin").attrs["value"]
    review = submit(console, step2, "next", roles=[super_admin],
                    accessTokenValiditySeconds="86400", scopes=["oauth:readonly"])
    props = page_of(review).text["review"]
    assert "Salesforce Contact Sync" in props
    assert "Super Admin in Home" in props
    assert "1 day" in props
    assert "oauth:readonly" in props
    saved = submit(console, review, "save")
    assert [r.status_code for r in saved.history] == [303]
    assert saved.url.path.endswith("/secret")
    client = shown(saved)
    assert gets_token(console.http, client)
    stored = api_client(console.http, headers, client.id)
    assert (stored["name"], stored["accessTokenValiditySeconds"], stored["scope"]) == (
        "Salesforce Contact Sync", 86400, ["oauth:readonly"])
    assert stored["createdBy"]["name"] == "root@example.com"


def test_wizard_creates_a_code_client_with_redirect_uris_and_scopes(
        console: Console, headers: dict[str, str]) -> None:
    step2 = submit(console, start_wizard(console), "next", name="Web Portal",
                   grantTypes=["CODE"])
    doc = page_of(step2)
    assert "64,800 seconds" in doc.text["accessTokenValiditySeconds-hint"]
    area = doc.attrs["redirectUris"]
    assert (area["data-validate"], area["data-messages"]) == (
        "redirect-uris", "redirect-uri-messages")
    assert doc.attrs["redirect-uri-messages"]["aria-live"] == "polite"
    assert "View OAuth clients and scopes" in step2.text  # each scope with its description
    assert "roles" not in doc.attrs  # roles are for client credentials
    saved = add_client(console, name="Web Portal", grants=["CODE"],
                       accessTokenValiditySeconds="64800",
                       redirectUris="https://portal.example.com/cb\r\n\r\nhttp://localhost:3000/cb",
                       scopes=["oauth:readonly", "users:readonly"])
    stored = api_client(console.http, headers, shown(saved).id)
    assert stored["authorizedGrantTypes"] == ["CODE"]
    assert stored["registeredRedirectUri"] == ["https://portal.example.com/cb",
                                               "http://localhost:3000/cb"]
    assert stored["scope"] == ["oauth:readonly", "users:readonly"]
    assert stored["accessTokenValiditySeconds"] == 64800


def test_wizard_back_keeps_what_was_typed(console: Console) -> None:
    step2 = submit(console, start_wizard(console), "next", name="Web Portal",
                   description="the customer portal", grantTypes=["CODE"])
    back = submit(console, step2, "back",
                  redirectUris="https://portal.example.com/cb", scopes=["oauth:readonly"])
    assert step_of(back) == "1"
    doc = page_of(back)
    assert doc.attrs["name"]["value"] == "Web Portal"
    assert doc.text["description"] == "the customer portal"
    assert "checked" in page_of(back).checkbox("grantTypes", "Authorization Code").attrs
    again = submit(console, back, "next")
    assert page_of(again).text["redirectUris"] == "https://portal.example.com/cb"
    assert "checked" in page_of(again).checkbox("scopes", "oauth:readonly").attrs


@pytest.mark.parametrize(("step1", "step2", "field_id", "words"), [
    pytest.param({"name": "", "description": "kept", "grantTypes": ["CODE"]}, None,
                 "name", "name is required", id="no-name"),
    pytest.param({"name": "Web Portal", "grantTypes": []}, None,
                 "grantTypes", "at least one grant type", id="no-grant-type"),
    pytest.param({"name": "Web Portal", "grantTypes": ["CODE"]},
                 {"redirectUris": "https://ok.example/cb\nhttp://evil.example/cb",
                  "scopes": ["oauth:readonly"]},
                 "redirectUris", "Line 2: 'http://evil.example/cb' must use https",
                 id="bad-redirect-uri-line"),
    pytest.param({"name": "Web Portal", "grantTypes": ["CODE"]},
                 {"redirectUris": "https://ok.example/cb", "scopes": ["oauth:readonly"],
                  "accessTokenValiditySeconds": "100"},
                 "accessTokenValiditySeconds", "between 300 and 172800", id="ttl-too-short"),
    pytest.param({"name": "Web Portal", "grantTypes": ["CODE"]},
                 {"redirectUris": "https://ok.example/cb", "scopes": ["oauth:readonly"],
                  "accessTokenValiditySeconds": "1 hour"},
                 "accessTokenValiditySeconds", "whole number of seconds", id="ttl-not-a-number"),
    pytest.param({"name": "Web Portal", "grantTypes": ["CODE"]},
                 {"redirectUris": "https://ok.example/cb", "scopes": []},
                 "scopes", "at least one scope", id="no-scope"),
])
def test_wizard_shows_each_problem_next_to_its_field_keeping_what_was_typed(
        console: Console, headers: dict[str, str], step1: dict[str, Any],
        step2: dict[str, Any] | None, field_id: str, words: str) -> None:
    response = submit(console, start_wizard(console), "next", **step1)
    if step2 is not None:
        assert step_of(response) == "2", response.text
        response = submit(console, response, "next", **step2)
    assert response.status_code == 400
    assert words.lower() in error_of(response, field_id).lower()
    doc = page_of(response)
    marked = doc.attrs[field_id]  # the field itself, or the fieldset of its checkboxes
    assert marked.get("aria-invalid") == "true" or "has-error" in marked.get("class", "")
    for name, typed in {**step1, **(step2 or {})}.items():
        if isinstance(typed, str) and name in doc.attrs and doc.attrs[name]["tag"] == "input":
            assert doc.attrs[name]["value"] == typed
        elif isinstance(typed, str) and name in doc.attrs:
            assert doc.text[name].strip() == typed.strip()
    assert client_names(console.http, headers) == ["test admin"]  # nothing was written


def test_wizard_offers_the_implicit_grant_only_as_deprecated(console: Console,
                                                             headers: dict[str, str]) -> None:
    step1 = start_wizard(console)
    implicit = page_of(step1).checkbox("grantTypes", "Implicit grant (legacy)")
    assert implicit.disabled
    assert implicit.attrs["value"] == "TOKEN"
    assert ("Implicit grant (legacy) — deprecated; cannot be selected for new clients since "
            "March 2026") in step1.text
    crafted = console.post(f"{OAUTH}/new", {"step": "1", "name": "legacy",
                                            "grantTypes": ["TOKEN"]})
    assert crafted.status_code == 400
    assert "cannot be selected after 2026-03-01" in error_of(crafted, "grantTypes")
    saved = console.post(f"{OAUTH}/new", {
        "step": "3", "action": "save", "name": "legacy", "grantTypes": ["TOKEN"],
        "redirectUris": "https://legacy.example/cb", "scopes": ["oauth:readonly"],
        "accessTokenValiditySeconds": "3600"})
    assert saved.status_code == 400
    assert "client-secret" not in page_of(saved).attrs
    assert client_names(console.http, headers) == ["test admin"]


# -- the secret, shown once ---------------------------------------------------------------------


def test_secret_is_shown_once_and_never_cached(console: Console) -> None:
    saved = add_client(console, name="Web Portal", grants=["CODE"],
                       redirectUris="https://portal.example.com/cb", scopes=["oauth:readonly"])
    doc = page_of(saved)
    assert saved.headers["cache-control"] == "no-store"
    assert doc.attrs["copy-secret"]["data-copy"] == "#client-secret"
    assert doc.attrs["secret-stored"]["data-enables"] == "#finish"
    assert "disabled" in doc.attrs["finish"]
    assert doc.attrs["finish"]["tag"] == "button"
    assert "I have copied and stored the secret" in saved.text
    assert "Web Portal" in saved.text
    assert "oauth:readonly" in saved.text
    assert "root@example.com" in saved.text  # created by
    again = console.http.get(saved.url.path)
    assert again.status_code == 200
    assert "client-secret" not in page_of(again).attrs
    assert shown(saved).secret not in again.text
    assert SECRET_GONE in again.text


def test_secret_page_of_another_client_shows_no_secret(console: Console,
                                                       app_client: Registered) -> None:
    saved = add_client(console, name="Web Portal", grants=["CODE"],
                       redirectUris="https://portal.example.com/cb", scopes=["oauth:readonly"])
    fresh = shown(saved)
    other = console.http.get(f"{OAUTH}/{app_client.id}/secret")
    assert other.status_code == 200
    assert "client-secret" not in page_of(other).attrs
    assert fresh.secret not in other.text
    assert SECRET_GONE in other.text


# -- no escalation, and permissions -------------------------------------------------------------


@pytest.fixture
def keeper(http: TestClient, headers: dict[str, str]) -> Console:
    """A user holding only a custom role with the oauth:client:* permissions."""
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client Keeper", "permissions": ["oauth:client:*"]})
    assert response.status_code == 200, response.text
    person = create_user(http, "keeper@example.com", roles=("Client Keeper",))
    sign_in(http, person)
    return Console(http, person)


def test_user_can_assign_only_roles_they_hold(keeper: Console, headers: dict[str, str]) -> None:
    step2 = submit(keeper, start_wizard(keeper), "next", name="sneaky",
                   grantTypes=["CLIENT-CREDENTIALS"])
    super_admin = page_of(step2).checkbox("roles", "Super Admin")
    assert super_admin.disabled
    reason = page_of(step2).text[super_admin.attrs["aria-describedby"].split()[0]]
    assert reason == "You can assign only roles you hold"
    assert not page_of(step2).checkbox("roles", "Client Keeper").disabled
    with pytest.raises(AssertionError, match="no checkbox"):
        submit(keeper, step2, "next", roles=[super_admin.attrs["value"]])
    crafted = keeper.post(f"{OAUTH}/new", {
        "step": "3", "action": "save", "name": "sneaky", "grantTypes": ["CLIENT-CREDENTIALS"],
        "roles": [super_admin.attrs["value"]], "scopes": ["oauth:readonly"],
        "accessTokenValiditySeconds": "3600"})
    assert crafted.status_code == 403
    assert "you can assign only roles you hold" in crafted.text
    assert "sneaky" not in client_names(keeper.http, headers)
    denied = audit_events(keeper.http, headers, action="access.denied")
    assert any(e["user"] and e["user"]["name"] == "keeper@example.com" for e in denied)


def test_user_may_create_a_client_with_a_role_they_hold(keeper: Console) -> None:
    step2 = submit(keeper, start_wizard(keeper), "next", name="reporting",
                   grantTypes=["CLIENT-CREDENTIALS"])
    own = page_of(step2).checkbox("roles", "Client Keeper").attrs["value"]
    review = submit(keeper, step2, "next", roles=[own],
                    scopes=["oauth:readonly"])
    client = shown(submit(keeper, review, "save"))
    assert gets_token(keeper.http, client)


def test_a_user_who_may_only_add_clients_still_sees_the_new_secret_once(
        http: TestClient, headers: dict[str, str]) -> None:
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client Adder", "permissions": ["oauth:client:add"]})
    assert response.status_code == 200, response.text
    person = create_user(http, "adder@example.com", roles=("Client Adder",))
    sign_in(http, person)
    adder = Console(http, person)
    assert http.get(OAUTH).status_code == 403  # no oauth:client:view
    saved = add_client(adder, name="added", grants=["CLIENT-CREDENTIALS"],
                       roles=("Client Adder",), scopes=["oauth:readonly"])
    assert gets_token(http, shown(saved))
    again = http.get(saved.url.path)
    assert again.status_code == 403
    assert shown(saved).secret not in again.text


def test_user_without_view_permission_gets_the_refusal_page(http: TestClient,
                                                            app_client: Registered) -> None:
    person = create_user(http, "reader@example.com")
    sign_in(http, person)
    for path in (OAUTH, f"{OAUTH}/new", f"{OAUTH}/{app_client.id}"):
        response = http.get(path)
        assert response.status_code == 403, path
        assert "oauth:client:" in response.text
        assert "billing service" not in response.text


def test_unknown_client_is_not_found(console: Console) -> None:
    for path in (f"{OAUTH}/no-such-client", f"{OAUTH}/no-such-client/secret",
                 f"{OAUTH}/no-such-client/edit", f"{OAUTH}/a%00b"):
        assert console.http.get(path).status_code == 404, path
    assert console.post(f"{OAUTH}/no-such-client/disable").status_code == 404


# -- a client's page and its actions ------------------------------------------------------------


def test_client_page_shows_every_setting_but_no_secret(console: Console,
                                                       app_client: Registered) -> None:
    response = console.http.get(f"{OAUTH}/{app_client.id}")
    assert response.status_code == 200
    doc = page_of(response)
    assert doc.text["client-id"] == app_client.id
    for shown_value in ("billing service", "nightly invoices", "CLIENT-CREDENTIALS", "1 hour",
                        "test admin"):
        assert shown_value in doc.text["client-settings"]
    assert doc.text["token-duration"] == "1 hour"
    assert "Super Admin in Home" in doc.text["client-roles"]
    assert "oauth:readonly" in doc.text["client-scopes"]
    assert "Current" in doc.text["secrets"]
    assert app_client.secret not in response.text
    assert doc.attrs["edit"]["href"] == f"{OAUTH}/{app_client.id}/edit"
    assert "data-confirm" in doc.attrs["regenerate"]
    assert doc.attrs["dualUseSeconds"]["tag"] == "select"
    assert "expire-previous" not in doc.attrs  # no previous secret in its window
    confirm = doc.attrs["confirm-name"]
    assert (confirm["data-confirm-name"], confirm["data-enables-submit"]) == (
        "billing service", "button#delete")


def test_regenerating_keeps_the_old_secret_working_for_the_chosen_window(
        console: Console, app_client: Registered) -> None:
    page = console.http.get(f"{OAUTH}/{app_client.id}")
    assert ("86400", True) in page_of(page).control("dualUseSeconds").options  # the default
    revealed = submit(console, page, "regenerate-secret", dualUseSeconds="3600")
    assert revealed.url.path == f"{OAUTH}/{app_client.id}/secret"
    assert revealed.headers["cache-control"] == "no-store"
    fresh = shown(revealed)
    assert fresh.secret != app_client.secret
    assert gets_token(console.http, fresh)
    assert gets_token(console.http, app_client)
    assert "client-secret" not in page_of(console.http.get(revealed.url.path)).attrs
    detail = console.http.get(f"{OAUTH}/{app_client.id}")
    assert "Previous" in page_of(detail).text["secrets"]
    expired = submit(console, detail, "expire-previous")
    assert "The previous secret no longer works." in expired.text
    assert not gets_token(console.http, app_client)
    assert gets_token(console.http, fresh)
    assert "expire-previous" not in page_of(expired).attrs


def test_regenerating_with_no_window_stops_the_old_secret_at_once(
        console: Console, app_client: Registered) -> None:
    page = console.http.get(f"{OAUTH}/{app_client.id}")
    fresh = shown(submit(console, page, "regenerate-secret", dualUseSeconds="0"))
    assert gets_token(console.http, fresh)
    assert not gets_token(console.http, app_client)


@pytest.mark.parametrize("window", ["604801", "soon"])
def test_regenerating_refuses_a_bad_window(console: Console, app_client: Registered,
                                           window: str) -> None:
    response = console.post(f"{OAUTH}/{app_client.id}/regenerate", {"dualUseSeconds": window})
    assert response.status_code == 400
    assert error_of(response, "dualUseSeconds")
    assert gets_token(console.http, app_client)


def test_disabling_refuses_tokens_and_enabling_restores_them(console: Console,
                                                             app_client: Registered) -> None:
    disabled = submit(console, console.http.get(f"{OAUTH}/{app_client.id}"), "disable")
    assert disabled.url.path == f"{OAUTH}/{app_client.id}"
    doc = page_of(disabled)
    assert doc.text["client-state"] == "disabled"
    assert "enable" in doc.attrs
    assert "disable" not in doc.attrs
    assert "it cannot get tokens" in disabled.text
    assert not gets_token(console.http, app_client)
    enabled = submit(console, disabled, "enable")
    assert page_of(enabled).text["client-state"] == "active"
    assert gets_token(console.http, app_client)


def test_scheduling_deletion_makes_the_client_inactive_until_the_date(
        console: Console, headers: dict[str, str], app_client: Registered) -> None:
    page = console.http.get(f"{OAUTH}/{app_client.id}")
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    scheduled = submit(console, page, "schedule-deletion",
                       dateToDelete=day)
    assert page_of(scheduled).text["client-state"] == "inactive"
    assert day in page_of(scheduled).text["client-settings"]
    stored = api_client(console.http, headers, app_client.id)
    assert (stored["state"], stored["dateToDelete"]) == ("inactive", f"{day}T00:00:00.000Z")
    assert not gets_token(console.http, app_client)


@pytest.mark.parametrize("day", ["today", "2020-01-01", "31/12/2030", ""])
def test_scheduling_deletion_needs_a_future_date(console: Console, headers: dict[str, str],
                                                 app_client: Registered, day: str) -> None:
    typed = datetime.now(UTC).date().isoformat() if day == "today" else day
    response = console.post(f"{OAUTH}/{app_client.id}/schedule-deletion",
                            {"dateToDelete": typed})
    assert response.status_code == 400
    assert error_of(response, "dateToDelete")
    assert page_of(response).attrs["dateToDelete"]["value"] == typed
    assert api_client(console.http, headers, app_client.id)["state"] == "active"


def test_deleting_needs_the_exact_name(console: Console, headers: dict[str, str],
                                       app_client: Registered) -> None:
    page = page_of(console.http.get(f"{OAUTH}/{app_client.id}"))
    assert page.attrs["delete-form"]["tag"] == "form"
    assert page.control("delete").disabled
    for wrong in ("Billing Service", "billing service ", ""):
        refused = console.post(f"{OAUTH}/{app_client.id}/delete", {"confirm-name": wrong})
        assert refused.status_code == 400
        assert "exactly" in error_of(refused, "confirm-name")
    assert gets_token(console.http, app_client)
    answer = console.post(f"{OAUTH}/{app_client.id}/delete", {"confirm-name": "billing service"},
                          follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, f"{OAUTH}?notice=deleted")
    deleted = console.http.get(answer.headers["location"])
    assert "The client was deleted." in deleted.text
    assert console.http.get(f"{CLIENTS}/{app_client.id}", headers=headers).status_code == 404
    assert not gets_token(console.http, app_client)


@pytest.mark.parametrize(("action", "data"), [
    pytest.param("disable", {}, id="disable"),
    pytest.param("regenerate", {"dualUseSeconds": "0"}, id="regenerate"),
    pytest.param("delete", {"confirm-name": "billing service"}, id="delete"),
    pytest.param("edit", {"name": "renamed", "grantTypes": "CLIENT-CREDENTIALS",
                          "scopes": "oauth:readonly", "accessTokenValiditySeconds": "3600"},
                 id="edit"),
])
def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
        console: Console, headers: dict[str, str], app_client: Registered, action: str,
        data: dict[str, str]) -> None:
    before = api_client(console.http, headers, app_client.id)
    response = console.http.post(f"{OAUTH}/{app_client.id}/{action}", data=data)
    assert response.status_code == 403
    assert api_client(console.http, headers, app_client.id) == before
    assert gets_token(console.http, app_client)


def test_the_wizard_refuses_a_save_without_the_csrf_token(console: Console,
                                                          headers: dict[str, str]) -> None:
    response = console.http.post(f"{OAUTH}/new", data={
        "step": "3", "action": "save", "name": "forged", "grantTypes": "CODE",
        "redirectUris": "https://x.example/cb", "scopes": "oauth:readonly"})
    assert response.status_code == 403
    assert "forged" not in client_names(console.http, headers)


# -- editing ------------------------------------------------------------------------------------


def test_editing_changes_settings_and_warns_when_scopes_change(
        console: Console, headers: dict[str, str], app_client: Registered) -> None:
    form = console.http.get(f"{OAUTH}/{app_client.id}/edit")
    doc = page_of(form)
    assert doc.attrs["name"]["value"] == "billing service"
    assert "Changing scopes means users must re-authorise this client" in doc.text[
        "scopes-warning"]
    assert "checked" in page_of(form).checkbox("scopes", "oauth:readonly").attrs
    saved = submit(console, form, "save", name="billing service v2",
                   scopes=["oauth:readonly", "audits:readonly"])
    assert saved.url.path == f"{OAUTH}/{app_client.id}"
    assert "users must re-authorise this client" in saved.text
    stored = api_client(console.http, headers, app_client.id)
    assert stored["name"] == "billing service v2"
    assert stored["scope"] == ["oauth:readonly", "audits:readonly"]
    same = submit(console, console.http.get(f"{OAUTH}/{app_client.id}/edit"), "save",
                  description="still nightly")
    assert "The client was saved." in same.text
    assert "re-authorise" not in same.text


def test_editing_shows_problems_next_to_fields_and_saves_nothing(
        console: Console, headers: dict[str, str], app_client: Registered) -> None:
    form = console.http.get(f"{OAUTH}/{app_client.id}/edit")
    for ttl, why in (("999999", "between 300 and 172800"), ("soon", "whole number")):
        response = submit(console, form, "save", name="renamed",
                          accessTokenValiditySeconds=ttl, redirectUris="https://x.example/cb")
        assert response.status_code == 400
        assert why in error_of(response, "accessTokenValiditySeconds")
        assert "only to Authorization Code with PKCE and Implicit grant (legacy)" in error_of(
            response, "redirectUris")
        doc = page_of(response)
        assert doc.attrs["name"]["value"] == "renamed"
        assert doc.attrs["accessTokenValiditySeconds"]["value"] == ttl
    assert api_client(console.http, headers, app_client.id)["name"] == "billing service"


def test_editing_cannot_add_the_implicit_grant(console: Console, headers: dict[str, str],
                                               app_client: Registered) -> None:
    form = console.http.get(f"{OAUTH}/{app_client.id}/edit")
    assert page_of(form).checkbox("grantTypes", "Implicit grant (legacy)").disabled
    crafted = console.post(f"{OAUTH}/{app_client.id}/edit", {
        "name": "billing service", "grantTypes": ["CLIENT-CREDENTIALS", "TOKEN"],
        "roles": page_of(form).checkbox("roles", "Super Admin").attrs["value"],
        "scopes": "oauth:readonly", "redirectUris": "https://x.example/cb",
        "accessTokenValiditySeconds": "3600"})
    assert crafted.status_code == 400
    assert "cannot be selected" in error_of(crafted, "grantTypes")
    assert api_client(console.http, headers, app_client.id)["authorizedGrantTypes"] == [
        "CLIENT-CREDENTIALS"]


# -- the audit trail ----------------------------------------------------------------------------


def test_every_console_change_is_audited_with_the_user_as_actor_and_no_secret(
        console: Console, headers: dict[str, str]) -> None:
    saved = add_client(console, name="audited", grants=["CLIENT-CREDENTIALS"],
                       roles=("Super Admin",), scopes=["oauth:readonly"])
    client = shown(saved)
    page = console.http.get(f"{OAUTH}/{client.id}")
    regenerated = shown(submit(console, page, "regenerate-secret",
                               dualUseSeconds="3600"))
    console.post(f"{OAUTH}/{client.id}/expire-previous")
    console.post(f"{OAUTH}/{client.id}/disable")
    console.post(f"{OAUTH}/{client.id}/delete", {"confirm-name": "audited"})
    events = audit_events(console.http, headers, entity_id=client.id)
    actions = [e["action"] for e in events]
    for action in ("create", "secret.regenerate", "secret.expire.previous", "update",
                   "state.change", "delete"):
        assert action in actions, actions
    for event in events:
        assert event["user"] == {"id": console.person.id, "name": "root@example.com"}, event
        assert event["status"] == "SUCCESS"
    text = json.dumps(events)
    assert client.secret not in text
    assert regenerated.secret not in text


def test_editing_sets_the_client_authentication_method(
        console: Console, headers: dict[str, str], app_client: Registered) -> None:
    form = console.http.get(f"{OAUTH}/{app_client.id}/edit")
    saved = submit(console, form, "save", tokenEndpointAuthMethod="client_secret_post")
    assert saved.url.path == f"{OAUTH}/{app_client.id}"
    assert "client_secret_post" in page_of(saved).text["auth-method"]
    assert api_client(console.http, headers, app_client.id)[
        "tokenEndpointAuthMethod"] == "client_secret_post"
    # A confidential client cannot be set to authenticate without its secret.
    refused = submit(console, console.http.get(f"{OAUTH}/{app_client.id}/edit"), "save",
                     tokenEndpointAuthMethod="none")
    assert refused.status_code == 400
    assert error_of(refused, "tokenEndpointAuthMethod")
    assert api_client(console.http, headers, app_client.id)[
        "tokenEndpointAuthMethod"] == "client_secret_post"


def test_wizard_registers_the_chosen_client_authentication_method(
        console: Console, headers: dict[str, str]) -> None:
    done = add_client(console, name="form poster", grants=["CLIENT-CREDENTIALS"],
                      roles=("Super Admin",), scopes=["oauth:readonly"],
                      tokenEndpointAuthMethod="client_secret_post")
    assert done.status_code == 200, done.text
    [client] = [c for c in console.http.get(
        "/api/v2/oauth/clients", headers=headers).json()["entities"] if c["name"] == "form poster"]
    assert client["tokenEndpointAuthMethod"] == "client_secret_post"
