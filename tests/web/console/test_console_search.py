"""The console's search box over HTTP: clients by name, client id or tag and users by name or
e-mail, each group only for an admin allowed to view it, LIKE wildcards matching themselves."""

from __future__ import annotations

from starlette.testclient import TestClient

from keystead.domain.clients import ClientSettings, GrantType
from keystead.domain.principal import operator
from keystead.web.runtime import Runtime
from tests.people import Console, create_user, sign_in
from tests.support.apps import run
from tests.web.console.test_client_list_bulk import make_client, role_user
from tests.web.console.test_clients_pages import OAUTH, page_of

SEARCH = "/admin/search"


def found(console: Console, q: str) -> tuple[str, str]:
    """The client and user result sections' text ("" for a group not shown)."""
    response = console.http.get(SEARCH, params={"q": q})
    assert response.status_code == 200, response.text
    doc = page_of(response)
    return doc.text.get("client-results", ""), doc.text.get("user-results", "")


def test_search_finds_clients_by_name_id_and_tag_and_users_by_name_and_email(
        console: Console) -> None:
    payments = make_client(console.http, "Payments API", tags=("pci-scope",))
    make_client(console.http, "Reporting")
    mara = create_user(console.http, "mara.jones@corp.example", name="Mara Jones")
    response = console.http.get(SEARCH, params={"q": "payments"})
    assert f'href="{OAUTH}/{payments}"' in response.text
    clients, users = found(console, "payments")
    assert "Payments API" in clients
    assert payments in clients
    assert "pci-scope" in clients
    assert "Reporting" not in clients
    assert found(console, payments[:8])[0].count("Payments API") == 1  # by client id
    assert "Payments API" in found(console, "PCI-SC")[0]  # by tag, any case
    clients, users = found(console, "mara")
    assert "Mara Jones" in users
    assert "mara.jones@corp.example" in users
    assert "1 user" in users
    assert "0 clients" in clients
    assert f'href="/admin/users/{mara.id}"' in console.http.get(SEARCH, params={"q": "corp.ex"}
                                                               ).text


def test_search_escapes_like_wildcards(console: Console) -> None:
    for name in ("100% ready", "1000 things", "a_b tool", "axb tool"):
        make_client(console.http, name)
    create_user(console.http, "under_score@example.com", name="Under Score")
    create_user(console.http, "underXscore@example.com", name="Other Person")
    assert "100% ready" in found(console, "0%")[0]
    assert "1000 things" not in found(console, "0%")[0]
    clients = found(console, "a_b")[0]
    assert "a_b tool" in clients
    assert "axb tool" not in clients
    users = found(console, "under_")[1]
    assert "Under Score" in users
    assert "Other Person" not in users
    assert "0 clients" in found(console, "%%")[0]


def test_search_shows_each_group_only_to_admins_allowed_to_view_it(
        http: TestClient, headers: dict[str, str]) -> None:
    make_client(http, "Secret Ledger")
    create_user(http, "ledger.keeper@example.com", name="Ledger Keeper")
    clients_only = role_user(http, headers, "clients@example.com", ["oauth:client:view"])
    clients, users = found(clients_only, "ledger")
    assert "Secret Ledger" in clients
    assert users == ""
    assert "Ledger Keeper" not in http.get(SEARCH, params={"q": "ledger"}).text
    users_only = role_user(http, headers, "users@example.com", ["directory:user:view"])
    clients, users = found(users_only, "ledger")
    assert clients == ""
    assert "Ledger Keeper" in users
    assert "Secret Ledger" not in http.get(SEARCH, params={"q": "ledger"}).text
    hint = page_of(http.get(SEARCH)).text["search-hint"]
    assert "a user's name or e-mail address" in hint
    assert "client" not in hint


def test_a_user_who_may_view_neither_gets_no_box_and_no_results(http: TestClient) -> None:
    person = create_user(http, "plain@example.com")
    sign_in(http, person)
    make_client(http, "Hidden Client", owner_id=person.id)
    assert "header-q" not in page_of(http.get("/admin")).attrs
    response = http.get(SEARCH, params={"q": "hidden"})
    assert response.status_code == 200
    assert "Hidden Client" not in response.text
    assert "view neither clients nor users" in response.text


def test_the_header_box_is_on_every_page_and_leads_to_the_search(console: Console) -> None:
    for path in ("/admin", OAUTH, "/admin/users"):
        box = page_of(console.http.get(path)).attrs["header-q"]
        assert (box["name"], box["type"]) == ("q", "search"), path
    response = console.http.get(OAUTH)
    assert 'action="/admin/search"' in response.text
    assert 'role="search" aria-label="Clients and users"' in response.text


def test_an_empty_query_gets_a_hint_and_a_short_one_an_error(console: Console) -> None:
    empty = console.http.get(SEARCH)
    assert empty.status_code == 200
    assert "Type at least 2 characters" in page_of(empty).text["search-hint"]
    short = console.http.get(SEARCH, params={"q": " a "})
    assert short.status_code == 400
    assert "at least 2 characters" in page_of(short).text["q-error"]
    long = console.http.get(SEARCH, params={"q": "x" * 129})
    assert long.status_code == 400
    assert "at most 128 characters" in page_of(long).text["q-error"]
    control = console.http.get(SEARCH, params={"q": "ab\x00cd"})
    assert control.status_code == 400
    assert "one line of text" in page_of(control).text["q-error"]


def test_results_are_capped_showing_n_of_m(console: Console) -> None:
    async def many(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            for number in range(23):
                await runtime.management(conn).create(operator(), ClientSettings(
                    name=f"svc {number:02d}", grant_types=(GrantType.code,),
                    scopes=("oauth:readonly",), redirect_uris=("https://svc.example/cb",)))

    run(console.http, many)
    response = console.http.get(SEARCH, params={"q": "svc"})
    doc = page_of(response)
    assert "Showing 20 of 23 clients" in doc.text["client-results-count"]
    assert doc.text["client-results"].count("svc ") == 20
