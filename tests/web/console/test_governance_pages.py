"""The console's ownership fields (wizard, edit, list, My clients) and the governance policy
page (issue 12 §1, §4), over HTTP as a browser sends the forms."""

from __future__ import annotations

from starlette.testclient import TestClient

from keystead.domain.governance.policy import WIRE_NAMES
from keystead.web.console.durations import duration
from keystead.web.console.governance.policy import MEANINGS
from tests.people import Console, create_user, sign_in
from tests.support.clients import Registered, client_body, create_client
from tests.support.management import audit_events, role_id
from tests.web.console.test_clients_pages import (
    OAUTH,
    api_client,
    error_of,
    page_of,
    start_wizard,
    step_of,
    submit,
)

POLICY_PAGE = "/admin/governance/policy"


def owned_client(http: TestClient, headers: dict[str, str], owner_id: str | None, name: str,
                 **fields: object) -> Registered:
    owner = {"owner": {"id": owner_id}} if owner_id else {}
    return create_client(http, headers, client_body(role_id(http, headers, "Super Admin"),
                                                    name=name, **owner, **fields))


def test_wizard_sets_owner_contact_tags_and_environment(console: Console,
                                                        headers: dict[str, str]) -> None:
    owner = create_user(console.http, "olive@example.com", name="Olive Owner")
    step1 = start_wizard(console)
    assert "Olive Owner &lt;olive@example.com&gt;" in step1.text
    step2 = submit(console, step1, "next", name="ledger sync", grantTypes=["CLIENT-CREDENTIALS"],
                   owner=owner.id, ownerContact="ledger@example.com", tags="billing finance",
                   environment="production")
    assert (step2.status_code, step_of(step2)) == (200, "2"), step2.text
    super_admin = page_of(step2).checkbox("roles", "Super Admin").attrs["value"]
    review = submit(console, step2, "next", roles=[super_admin], scopes=["oauth:readonly"])
    assert "Olive Owner" in page_of(review).text["review-owner"]
    assert "Production" in page_of(review).text["review-environment"]
    saved = submit(console, review, "save")
    client_id = saved.url.path.split("/")[-2]
    stored = api_client(console.http, headers, client_id)
    assert (stored["owner"]["id"], stored["ownerContact"], stored["tags"],
            stored["environment"]) == (owner.id, "ledger@example.com", ["billing", "finance"],
                                       "production")


def test_wizard_names_a_bad_tag_beside_its_field(console: Console) -> None:
    response = submit(console, start_wizard(console), "next", name="x",
                      grantTypes=["CLIENT-CREDENTIALS"], tags="Not Valid!")
    assert response.status_code == 400
    assert "lower-case letters" in error_of(response, "tags")


def test_editing_changes_the_owner_and_refuses_an_unknown_one(
        console: Console, headers: dict[str, str]) -> None:
    first = create_user(console.http, "first@example.com")
    second = create_user(console.http, "second@example.com")
    client = owned_client(console.http, headers, first.id, "ledger")
    form = console.http.get(f"{OAUTH}/{client.id}/edit")
    saved = submit(console, form, "save", owner=second.id, environment="staging")
    assert saved.url.path == f"{OAUTH}/{client.id}"
    stored = api_client(console.http, headers, client.id)
    assert (stored["owner"]["id"], stored["environment"]) == (second.id, "staging")
    crafted = submit(console, console.http.get(f"{OAUTH}/{client.id}/edit"), "save",
                     owner="no-such-user")
    assert crafted.status_code == 400
    assert "No user with id" in error_of(crafted, "owner")


def test_list_shows_owner_and_environment_and_filters_by_environment(
        console: Console, headers: dict[str, str]) -> None:
    owner = create_user(console.http, "olive@example.com", name="Olive Owner")
    owned_client(console.http, headers, owner.id, "prod app", environment="production")
    owned_client(console.http, headers, None, "dev app", environment="development")
    listing = console.http.get(OAUTH, params={"environment": "production"})
    assert listing.status_code == 200
    table = page_of(listing).text["clients"]
    assert "prod app" in table
    assert "Olive Owner" in table
    assert "Production" in table
    assert "dev app" not in table


def test_my_clients_shows_a_user_their_own_clients_only(http: TestClient,
                                                        headers: dict[str, str]) -> None:
    person = create_user(http, "olive@example.com")  # no role: no oauth:client:view
    mine = owned_client(http, headers, person.id, "mine")
    theirs = owned_client(http, headers, None, "theirs")
    sign_in(http, person)
    home = http.get("/admin")
    assert 'id="nav-my-clients"' in home.text
    listing = http.get(OAUTH, params={"owner": "me"})
    assert listing.status_code == 200, listing.text
    assert "My clients" in listing.text
    table = page_of(listing).text["clients"]
    assert ("mine" in table, "theirs" in table) == (True, False)
    assert http.get(f"{OAUTH}/{mine.id}").status_code == 200
    # The negative: the full list and someone else's client stay refused.
    assert http.get(OAUTH).status_code == 403
    assert http.get(f"{OAUTH}/{theirs.id}").status_code == 403


def test_client_page_marks_an_orphaned_client(console: Console,
                                              headers: dict[str, str]) -> None:
    owner = create_user(console.http, "olive@example.com", name="Olive Owner")
    client = owned_client(console.http, headers, owner.id, "ledger")
    assert 'id="orphaned"' not in console.http.get(f"{OAUTH}/{client.id}").text
    response = console.http.patch(f"/api/v2/users/{owner.id}", headers=headers,
                                  json={"state": "inactive"})
    assert response.status_code == 200, response.text
    page = page_of(console.http.get(f"{OAUTH}/{client.id}"))
    assert "deactivated" in page.text["orphaned"]


# -- the governance policy page ---------------------------------------------------------------


def test_policy_page_explains_every_field() -> None:
    assert set(MEANINGS) == WIRE_NAMES


def test_policy_page_saves_a_change_and_audits_it(console: Console,
                                                  headers: dict[str, str]) -> None:
    page = console.http.get(POLICY_PAGE)
    assert page.status_code == 200
    assert page_of(page).attrs["rotationMaxAgeDays"]["value"] == "30"
    saved = submit(console, page, "save", rotationMaxAgeDays="45", ownerRequired="on")
    assert saved.url.path == POLICY_PAGE
    assert "The policy was saved." in saved.text
    policy = console.http.get("/api/v2/governance/policy", headers=headers).json()
    assert (policy["rotationMaxAgeDays"], policy["ownerRequired"]) == (45, True)
    [event] = audit_events(console.http, headers, entity_id="organization", action="update")
    assert {c["property"] for c in event["propertyChanges"]} == {"rotationMaxAgeDays",
                                                                 "ownerRequired"}


def test_policy_page_names_a_bad_value_and_saves_nothing(console: Console,
                                                         headers: dict[str, str]) -> None:
    response = submit(console, console.http.get(POLICY_PAGE), "save", unusedLookbackDays="400",
                      deletionApproval="on")
    assert response.status_code == 400
    assert "from 1 to 365" in error_of(response, "unusedLookbackDays")
    assert console.http.get("/api/v2/governance/policy",
                            headers=headers).json()["deletionApproval"] is False


def test_policy_page_is_read_only_without_policy_edit(http: TestClient) -> None:
    viewer = create_user(http, "viewer@example.com", roles=("OAuth Admin",))
    sign_in(http, viewer)
    page = http.get(POLICY_PAGE)
    assert page.status_code == 200
    assert 'id="read-only"' in page.text
    assert page_of(page).attrs["rotationMaxAgeDays"].get("disabled") is not None
    refused = Console(http, viewer).post(POLICY_PAGE, {"rotationMaxAgeDays": "45"})
    assert refused.status_code == 403


def test_policy_page_is_refused_without_policy_view(http: TestClient) -> None:
    person = create_user(http, "nobody@example.com")
    sign_in(http, person)
    assert "/admin/governance/policy" not in http.get("/admin").text
    assert http.get(POLICY_PAGE).status_code == 403


def test_policy_page_says_each_longest_token_duration_in_words(console: Console) -> None:
    page = console.http.get(POLICY_PAGE)
    labels = page_of(page).labels
    said = {name.removeprefix("maxTokenDurationSeconds-"): text for name, text in labels.items()
            if name.startswith("maxTokenDurationSeconds-")}
    assert said, "no longest-duration fields"
    for grant, label in said.items():
        seconds = page_of(page).attrs[f"maxTokenDurationSeconds-{grant}"]["value"]
        assert f"(now {duration(int(seconds))})" in label, (grant, label)
