"""The client list's columns (client id, linked owner) and its bulk actions over HTTP.

A bulk action changes each ticked client through ``ClientManagement.update``, one transaction
per client: the ones the rules allow change, each refused one is listed with its reason. A bad
request (no permission, a bad tag, a tampered id, too many ids) changes nothing.
"""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from keystead.domain.clients import ClientSettings, ClientState, GrantType
from keystead.domain.principal import operator
from keystead.web.runtime import Runtime
from tests.people import Console, create_user, sign_in
from tests.support.apps import run
from tests.support.clients import Registered, client_body, create_client
from tests.support.management import audit_events, role_id
from tests.web.console.test_clients_pages import (
    OAUTH,
    api_client,
    gets_token,
    page_of,
    submit,
)

BULK = f"{OAUTH}/bulk"


def make_client(http: TestClient, name: str, *, owner_id: str | None = None,
                tags: tuple[str, ...] = ()) -> str:
    """An authorization-code client made by the operator; its id."""

    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            issued = await runtime.management(conn).create(operator(), ClientSettings(
                name=name, grant_types=(GrantType.code,), scopes=("oauth:readonly",),
                redirect_uris=("https://app.example.com/cb",), owner_id=owner_id, tags=tags))
            return issued.client.id

    return run(http, work)


def state_and_tags(http: TestClient, client_id: str) -> tuple[str, tuple[str, ...]]:
    async def work(runtime: Runtime) -> tuple[str, tuple[str, ...]]:
        async with runtime.transaction() as conn:
            client = await runtime.management(conn).find(operator(), client_id)
            return str(client.settings.state), client.settings.tags

    return run(http, work)


def delete_user(http: TestClient, user_id: str) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await runtime.users(conn).delete(operator(), user_id)

    run(http, work)


def role_user(http: TestClient, headers: dict[str, str], email: str,
              permissions: list[str]) -> Console:
    """A signed-in user holding only a custom role with ``permissions``."""
    name = f"role for {email}"
    response = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": name, "permissions": permissions})
    assert response.status_code == 200, response.text
    person = create_user(http, email, roles=(name,))
    sign_in(http, person)
    return Console(http, person)


@pytest.fixture
def worker(http: TestClient, headers: dict[str, str]) -> Registered:
    """A client-credentials client that gets tokens (so disabling it visibly stops them)."""
    return create_client(http, headers, client_body(role_id(http, headers, "Super Admin"),
                                                    name="batch worker"))


# -- the columns --------------------------------------------------------------------------------


def test_list_shows_each_client_id_and_owner_linking_to_the_user(console: Console) -> None:
    owner = create_user(console.http, "olive@example.com", name="Olive Owner")
    gone = create_user(console.http, "gone@example.com", name="Gone Owner")
    owned = make_client(console.http, "owned app", owner_id=owner.id)
    orphan = make_client(console.http, "orphan app", owner_id=gone.id)
    make_client(console.http, "ownerless app")
    delete_user(console.http, gone.id)
    response = console.http.get(OAUTH)
    assert response.status_code == 200
    rows = {r.split("|")[0]: r for r in _rows(response.text)}
    assert owned in rows["owned app"]
    assert f'<code class="client-id" title="{owned}">{owned}</code>' in response.text
    assert f'<a href="/admin/users/{owner.id}">Olive Owner</a>' in rows["owned app"]
    assert "orphaned" not in rows["owned app"]
    assert "orphaned: the owner was deleted" in rows["orphan app"]
    assert orphan in rows["orphan app"]
    assert "—" in rows["ownerless app"]


def _rows(html: str) -> list[str]:
    """Each body row of the clients table as "name|row html"."""
    body = html.split('<table id="clients">', 1)[1].split("<tbody>", 1)[1].split("</tbody>")[0]
    rows = list(body.split("<tr>")[1:])
    return [f"{r.split('</a>')[0].rsplit('>', 1)[1]}|{r}" for r in rows]


# -- bulk actions -------------------------------------------------------------------------------


def test_bulk_disable_disables_the_ticked_clients_each_audited(
        console: Console, headers: dict[str, str], worker: Registered) -> None:
    other = make_client(console.http, "other app")
    kept = make_client(console.http, "kept app")
    listed = console.http.get(OAUTH)
    assert page_of(listed).attrs["bulk-disable"]["data-confirm"].startswith("Disable the ticked")
    done = submit(console, listed, "bulk-disable", ids=[worker.id, other])
    assert done.status_code == 200, done.text
    assert page_of(done).text["bulk-summary"].strip() == "2 clients disabled."
    assert "bulk-refused" not in page_of(done).attrs
    assert state_and_tags(console.http, worker.id)[0] == "disabled"
    assert state_and_tags(console.http, other)[0] == "disabled"
    assert state_and_tags(console.http, kept)[0] == "active"
    assert not gets_token(console.http, worker)
    changes = audit_events(console.http, headers, action="state.change")
    assert {e["entity"]["id"] for e in changes} == {worker.id, other}
    assert all(e["user"]["name"] == "root@example.com" for e in changes)


def test_bulk_disable_leaves_a_disabled_client_as_it_is(console: Console) -> None:
    first = make_client(console.http, "first app")
    console.post(BULK, {"ids": [first], "action": "disable"})
    again = console.post(BULK, {"ids": [first], "action": "disable"})
    assert page_of(again).text["bulk-summary"].strip() == "0 clients disabled."
    assert "first app: Already disabled." in page_of(again).text["bulk-unchanged"]


def test_bulk_adds_and_removes_a_tag(console: Console, headers: dict[str, str]) -> None:
    tagged = make_client(console.http, "tagged app", tags=("team-a",))
    plain = make_client(console.http, "plain app")
    added = submit(console, console.http.get(OAUTH), "bulk-add-tag", ids=[tagged, plain],
                   bulkTag="pci")
    assert page_of(added).text["bulk-summary"].strip() == "Tag pci added to 2 clients."
    assert state_and_tags(console.http, tagged) == ("active", ("team-a", "pci"))
    assert state_and_tags(console.http, plain) == ("active", ("pci",))
    removed = console.post(BULK, {"ids": [tagged, plain], "action": "remove-tag",
                                  "bulkTag": "team-a"})
    assert page_of(removed).text["bulk-summary"].strip() == "Tag team-a removed from 1 client."
    assert "plain app: Does not have the tag." in page_of(removed).text["bulk-unchanged"]
    assert state_and_tags(console.http, tagged) == ("active", ("pci",))
    assert api_client(console.http, headers, plain)["tags"] == ["pci"]
    assert {e["entity"]["id"] for e in audit_events(console.http, headers, action="update")
            } >= {tagged, plain}


def test_bulk_changes_each_client_the_rules_allow_and_names_each_refused_one(
        console: Console) -> None:
    full = make_client(console.http, "full app", tags=tuple(f"t{n}" for n in range(20)))
    fine = make_client(console.http, "fine app")
    deleted = str(uuid.uuid4())  # well formed, but no client has it (deleted meanwhile)
    response = console.post(BULK, {"ids": [full, deleted, fine], "action": "add-tag",
                                   "bulkTag": "pci"})
    assert response.status_code == 200, response.text
    doc = page_of(response)
    assert doc.text["bulk-summary"].strip() == "Tag pci added to 1 client."
    refused = doc.text["bulk-refused"]
    assert "2 clients not changed" in refused
    assert "full app: At most 20 tags." in refused
    assert f"{deleted}: No such client" in refused
    assert state_and_tags(console.http, fine)[1] == ("pci",)
    assert "pci" not in state_and_tags(console.http, full)[1]


def test_bulk_is_refused_to_an_admin_who_may_not_edit_and_changes_nothing(
        http: TestClient, headers: dict[str, str], worker: Registered) -> None:
    viewer = role_user(http, headers, "viewer@example.com", ["oauth:client:view"])
    listed = http.get(OAUTH)
    assert listed.status_code == 200
    assert "batch worker" in listed.text
    assert "bulk-form" not in page_of(listed).attrs
    assert f'name="ids" value="{worker.id}"' not in listed.text
    crafted = viewer.post(BULK, {"ids": [worker.id], "action": "disable"})
    assert crafted.status_code == 403
    assert "oauth:client:edit" in crafted.text
    assert state_and_tags(http, worker.id)[0] == "active"
    assert gets_token(http, worker)
    denied = audit_events(http, headers, action="access.denied")
    assert any(e["user"] and e["user"]["name"] == "viewer@example.com" for e in denied)


def test_bulk_is_refused_to_an_owner_without_edit_permission(http: TestClient) -> None:
    """An owner sees their clients ("My clients") but may not edit them in bulk."""
    person = create_user(http, "owner@example.com")
    sign_in(http, person)
    own = make_client(http, "own app", owner_id=person.id)
    mine = http.get(OAUTH, params={"owner": "me"})
    assert "own app" in mine.text
    assert "bulk-form" not in page_of(mine).attrs
    assert Console(http, person).post(BULK, {"ids": [own], "action": "disable"}
                                      ).status_code == 403
    assert state_and_tags(http, own)[0] == "active"


@pytest.mark.parametrize(("data", "field_id", "words"), [
    pytest.param({"action": "disable", "ids": ["../../admin", "x' OR 1=1"]}, "ids",
                 "is not a client id", id="tampered-ids"),
    pytest.param({"action": "disable", "ids": [str(uuid.uuid4()).upper()]}, "ids",
                 "is not a client id", id="id-spelt-otherwise"),
    pytest.param({"action": "disable", "ids": []}, "ids", "tick at least one client",
                 id="no-ids"),
    pytest.param({"action": "disable", "ids": [str(uuid.uuid4()) for _ in range(201)]},
                 "ids", "at most 200 clients at a time; 201 were chosen", id="too-many"),
    pytest.param({"action": "delete"}, "bulk-actions", "choose Disable, Add tag or Remove tag",
                 id="unknown-action"),
    pytest.param({"action": "add-tag", "bulkTag": "PCI Scope!"}, "bulkTag",
                 "tags are lower-case letters", id="bad-tag"),
    pytest.param({"action": "remove-tag", "bulkTag": ""}, "bulkTag",
                 "type the tag to add or remove", id="no-tag"),
])
def test_a_bad_bulk_request_names_the_problem_and_changes_nothing(
        console: Console, worker: Registered, data: dict[str, str | list[str]],
        field_id: str, words: str) -> None:
    sent: dict[str, str | list[str]] = {"ids": [worker.id]}
    response = console.post(BULK, sent | data)
    assert response.status_code == 400, response.text
    error = page_of(response).text.get(f"{field_id}-error", "")
    assert words.lower() in error.lower(), error
    assert "bulk-summary" not in page_of(response).attrs
    assert state_and_tags(console.http, worker.id) == ("active", ())
    assert gets_token(console.http, worker)


def test_a_bad_tag_keeps_the_ticked_boxes_and_the_typed_tag(console: Console,
                                                            worker: Registered) -> None:
    response = console.post(BULK, {"ids": [worker.id], "action": "add-tag",
                                   "bulkTag": "Bad Tag"})
    doc = page_of(response)
    assert "checked" in doc.attrs[f"tick-{worker.id}"]
    assert doc.attrs["bulkTag"]["value"] == "Bad Tag"
    assert doc.attrs["bulkTag"]["aria-invalid"] == "true"


def test_bulk_without_the_csrf_token_is_refused_and_changes_nothing(
        console: Console, worker: Registered) -> None:
    response = console.http.post(BULK, data={"ids": [worker.id], "action": "disable"})
    assert response.status_code == 403
    assert state_and_tags(console.http, worker.id)[0] == "active"


def test_bulk_keeps_the_list_filters(console: Console) -> None:
    make_client(console.http, "alpha app")
    beta = make_client(console.http, "beta app")
    filtered = console.http.get(OAUTH, params={"q": "beta"})
    assert page_of(filtered).attrs["bulk-form"]["action"] == f"{BULK}?q=beta"
    done = submit(console, filtered, "bulk-disable", ids=[beta])
    assert "beta app" in page_of(done).text["clients"]
    assert "alpha app" not in page_of(done).text["clients"]
    assert state_and_tags(console.http, beta)[0] == str(ClientState.disabled)


def test_the_owner_is_a_link_only_for_admins_who_may_view_users(
        http: TestClient, headers: dict[str, str]) -> None:
    owner = create_user(http, "otto@example.com", name="Otto Owner")
    make_client(http, "otto app", owner_id=owner.id)
    role_user(http, headers, "lister@example.com", ["oauth:client:view"])
    listed = http.get(OAUTH)
    assert "Otto Owner" in listed.text
    assert f'href="/admin/users/{owner.id}"' not in listed.text
