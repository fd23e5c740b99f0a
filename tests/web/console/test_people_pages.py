"""Console pages for users, role grants, roles, divisions and scopes: what an admin sees and may
do, the no-escalation rules tried and refused, and every change audited with the user as actor."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.domain.clients import RoleDivision
from keystead.store.users import SqlUserStore
from keystead.web.runtime import Runtime
from tests.people import PASSWORD, Console, Person, clock_of, create_user, csrf_of, sign_in
from tests.support.apps import run
from tests.support.clients import bootstrap, client_body, create_client
from tests.support.management import audit_events, home_division_id, role_id

ROLES_API = "/api/v2/authorization/roles"
NEW_PASSWORD = "sapphire-otter-meadow-42"


def _grants(http: TestClient, user_id: str) -> list[RoleDivision]:
    async def work(runtime: Runtime) -> list[RoleDivision]:
        async with runtime.transaction() as conn:
            return await SqlUserStore(conn).grants(user_id)

    return run(http, work)


def _created_id(response: Any, prefix: str) -> str:
    """The id of what a create form made, from the page it redirected to."""
    assert response.status_code == 200, response.text
    assert response.url.path.startswith(prefix + "/"), response.url
    return str(response.url.path.removeprefix(prefix + "/"))


def _table(html: str, table_id: str) -> str:
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert found, f"no table #{table_id}"
    return found.group(1)


def _option(page: str, value: str) -> str:
    found = re.search(rf'<option value="{re.escape(value)}"([^>]*)>([^<]*)</option>', page)
    assert found, f"no option {value}"
    return html.unescape(found.group(1) + ">" + found.group(2))


def _actors(http: TestClient, headers: dict[str, str], entity_id: str) -> list[tuple[str, str]]:
    """(action, acting user's id) of each audit entry about ``entity_id``, newest first."""
    return [(e["action"], (e["user"] or {}).get("id", "")) for e in
            audit_events(http, headers, entity_id=entity_id)]


def _switch_to(http: TestClient, person: Person) -> None:
    """Sign out whoever is signed in on ``http`` and sign ``person`` in."""
    http.cookies.clear()
    sign_in(http, person)


def _make_role(http: TestClient, headers: dict[str, str], name: str,
               permissions: list[str]) -> str:
    response = http.post(ROLES_API, headers=headers, json={"name": name,
                                                           "permissions": permissions})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


@pytest.fixture
def user_admin(http: TestClient, headers: dict[str, str]) -> Person:
    """Signed in on ``http``: a user who manages users and grants, but holds no other power."""
    _make_role(http, headers, "User Admin", ["authorization:grant:add", "directory:user:*"])
    person = create_user(http, "useradmin@example.com", roles=("User Admin",))
    _switch_to(http, person)
    return person


# -- users


def test_users_page_lists_users_with_state_and_two_step_status(console: Console) -> None:
    create_user(console.http, "ada@example.com", name="Ada Lovelace")
    page = console.http.get("/admin/users")
    assert page.status_code == 200
    rows = _table(page.text, "users")
    assert re.search(r'<a href="/admin/users/[0-9a-f-]+">Ada Lovelace</a>', rows)
    root_row = rows[rows.index("root@example.com"):]
    assert re.search(r"active</span></td>\s*<td>yes</td>", root_row)  # root enrolled TOTP
    ada_row = rows[rows.index("ada@example.com"):]
    assert re.search(r"<td>no</td>\s*<td>never</td>", ada_row)
    searched = _table(console.http.get("/admin/users", params={"q": "lovelace"}).text, "users")
    assert "ada@example.com" in searched
    assert "root@example.com" not in searched


def test_user_created_in_the_console_can_sign_in(console: Console,
                                                 headers: dict[str, str]) -> None:
    form = console.http.get("/admin/users/new")
    assert all(f'id="{i}"' in form.text for i in ("name", "email", "password", "save"))
    created = console.post("/admin/users/new", {"name": "Ada Lovelace",
                                                "email": "ada@example.com",
                                                "password": NEW_PASSWORD})
    user_id = _created_id(created, "/admin/users")
    assert "User created." in created.text
    assert NEW_PASSWORD not in created.text
    assert _actors(console.http, headers, user_id) == [("create", console.person.id)]
    _switch_to(console.http, Person(user_id, "ada@example.com", clock_of(console.http),
                                      NEW_PASSWORD))
    assert console.http.get("/admin").status_code == 200


@pytest.mark.parametrize("password", [
    pytest.param("short-pw-1", id="too-short"),
    pytest.param("qwertyuiop123", id="common"),
])
def test_user_create_refuses_a_weak_password_naming_the_field(console: Console,
                                                             password: str) -> None:
    response = console.post("/admin/users/new", {"name": "Ada Lovelace",
                                                 "email": "ada@example.com",
                                                 "password": password})
    assert response.status_code == 400
    assert re.search(r'id="password-error">[^<]*password', response.text)
    assert 'aria-describedby="password-hint password-error"' in response.text
    assert password not in response.text
    assert 'value="Ada Lovelace"' in response.text  # what was typed is kept
    assert 'value="ada@example.com"' in response.text
    assert "ada@example.com" not in _table(console.http.get("/admin/users").text, "users")


def test_user_create_refuses_a_taken_email_next_to_the_field(console: Console) -> None:
    response = console.post("/admin/users/new", {"name": "Again",
                                                 "email": "ROOT@example.com"})
    assert response.status_code == 409
    assert re.search(r'id="email-error">[^<]*already exists', response.text)


def test_user_grant_added_and_removed_through_the_page(console: Console, headers: dict[str, str],
                                                       super_admin: str) -> None:
    target = create_user(console.http, "ops@example.com")
    home = home_division_id(console.http, headers)
    page = console.http.get(f"/admin/users/{target.id}")
    assert _option(page.text, f"{super_admin}:{home}") == ">Super Admin — Home"
    granted = console.post(f"/admin/users/{target.id}/grants", {"grant": f"{super_admin}:{home}"})
    assert granted.status_code == 200
    assert re.search(r"<td>Super Admin</td>\s*<td>Home</td>", _table(granted.text, "grants"))
    assert _option(granted.text, f"{super_admin}:{home}") == \
        " disabled>Super Admin — Home (already granted)"
    assert _grants(console.http, target.id) == [RoleDivision(super_admin, home)]
    again = console.post(f"/admin/users/{target.id}/grants", {"grant": f"{super_admin}:{home}"})
    assert again.status_code == 409
    assert "already holds" in again.text
    removed = console.post(f"/admin/users/{target.id}/grants/remove",
                           {"role": super_admin, "division": home})
    assert "Super Admin" not in _table(removed.text, "grants")
    assert _grants(console.http, target.id) == []
    assert _actors(console.http, headers, target.id) == [
        ("grant.delete", console.person.id), ("grant.add", console.person.id),
        ("create", "")]  # created by the operator


def test_grant_of_a_role_the_admin_does_not_hold_is_disabled_and_refused(
        http: TestClient, headers: dict[str, str], super_admin: str, user_admin: Person) -> None:
    target = create_user(http, "target@example.com")
    home = home_division_id(http, headers)
    user_admin_role = role_id(http, headers, "User Admin")
    page = http.get(f"/admin/users/{target.id}")
    assert page.status_code == 200
    assert _option(page.text, f"{super_admin}:{home}") == \
        " disabled>Super Admin — Home (you don't hold this role)"
    assert "disabled" not in _option(page.text, f"{user_admin_role}:{home}")
    crafted = http.post(f"/admin/users/{target.id}/grants", data={
        "grant": f"{super_admin}:{home}", "csrf_token": csrf_of(page.text)})
    assert crafted.status_code == 403
    assert "Super Admin" in crafted.text
    assert _grants(http, target.id) == []
    denied = audit_events(http, headers, action="access.denied")
    assert denied[0]["user"]["id"] == user_admin.id


@pytest.mark.usefixtures("user_admin")
def test_user_admin_cannot_change_a_super_admin_password(http: TestClient) -> None:
    boss = create_user(http, "boss@example.com", roles=("Super Admin",))
    page = http.get(f"/admin/users/{boss.id}")
    response = http.post(f"/admin/users/{boss.id}", data={
        "name": "boss", "email": "boss@example.com", "state": "active",
        "password": NEW_PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 403
    assert "*:*:*" in response.text  # the permission the admin lacks is named
    http.cookies.clear()
    login = http.get("/login")
    old_password = http.post("/login", data={"email": boss.email, "password": PASSWORD,
                                             "csrf_token": csrf_of(login.text)})
    assert old_password.url.path == "/login/enrol"  # the old password still works


def test_reset_two_step_verification_makes_the_user_enrol_again(
        console: Console, headers: dict[str, str]) -> None:
    ops = create_user(console.http, "ops@example.com", roles=("OAuth Admin",))
    _switch_to(console.http, ops)  # enrols TOTP
    _switch_to(console.http, console.person)
    page = console.http.get(f"/admin/users/{ops.id}")
    assert '<dd id="mfa-status">set up</dd>' in page.text
    assert re.search(r'<form method="post" action="/admin/users/[^"]+/mfa/reset" '
                     r'data-confirm="[^"]+">', page.text)
    reset = console.post(f"/admin/users/{ops.id}/mfa/reset")
    assert reset.status_code == 200
    assert '<dd id="mfa-status">not set up</dd>' in reset.text
    assert _actors(console.http, headers, ops.id)[0] == ("mfa.reset", console.person.id)
    console.http.cookies.clear()
    login = console.http.get("/login")
    again = console.http.post("/login", data={"email": ops.email, "password": ops.password,
                                              "csrf_token": csrf_of(login.text)})
    assert again.url.path == "/login/enrol"


def test_admin_cannot_reset_their_own_two_step_or_delete_themselves(console: Console) -> None:
    me = console.person.id
    page = console.http.get(f"/admin/users/{me}")
    assert re.search(r'id="reset-mfa" disabled', page.text)
    assert re.search(r'id="delete-user" disabled', page.text)
    assert console.post(f"/admin/users/{me}/mfa/reset").status_code == 403
    assert console.post(f"/admin/users/{me}/delete").status_code == 403
    assert '<dd id="mfa-status">set up</dd>' in console.http.get(f"/admin/users/{me}").text


def test_user_deleted_through_the_page_is_gone(console: Console,
                                               headers: dict[str, str]) -> None:
    target = create_user(console.http, "leaver@example.com")
    deleted = console.post(f"/admin/users/{target.id}/delete")
    assert deleted.url.path == "/admin/users"
    assert "leaver@example.com" not in _table(deleted.text, "users")
    assert console.http.get(f"/admin/users/{target.id}").status_code == 404
    assert _actors(console.http, headers, target.id)[0] == ("delete", console.person.id)


def test_users_pages_need_directory_user_view(http: TestClient) -> None:
    _switch_to(http, create_user(http, "oauthadmin@example.com", roles=("OAuth Admin",)))
    for path in ("/admin/users", "/admin/users/new"):
        response = http.get(path)
        assert response.status_code == 403
        assert "directory:user:" in response.text


# -- roles


def test_role_created_edited_and_deleted_through_the_pages_is_audited(
        console: Console, headers: dict[str, str]) -> None:
    created = console.post("/admin/roles/new", {
        "name": "Billing Reader", "description": "reads clients",
        "permissions": ["oauth:client:view", "audits:audit:view"]})
    new_role = _created_id(created, "/admin/roles")
    assert "Role created." in created.text
    listed = _table(console.http.get("/admin/roles").text, "roles")
    assert re.search(r"Billing Reader</a></td>\s*<td>reads clients</td>\s*<td>2</td>", listed)
    edited = console.post(f"/admin/roles/{new_role}", {
        "name": "Billing Auditor", "description": "reads the log",
        "permissions": ["audits:audit:view"]})
    assert "Changes saved." in edited.text
    assert re.search(r'id="perm-audits-audit-view" value="audits:audit:view" checked',
                     edited.text)
    api = console.http.get(f"{ROLES_API}/{new_role}", headers=headers).json()
    assert (api["name"], api["permissions"]) == ("Billing Auditor", ["audits:audit:view"])
    deleted = console.post(f"/admin/roles/{new_role}/delete")
    assert deleted.url.path == "/admin/roles"
    assert "Billing" not in _table(deleted.text, "roles")
    assert _actors(console.http, headers, new_role) == [
        ("delete", console.person.id), ("update", console.person.id),
        ("create", console.person.id)]


def test_role_in_use_cannot_be_deleted_and_the_page_says_why(console: Console) -> None:
    created = console.post("/admin/roles/new", {"name": "Batch",
                                                "permissions": ["oauth:client:view"]})
    batch = _created_id(created, "/admin/roles")
    create_user(console.http, "batch@example.com", roles=("Batch",))
    refused = console.post(f"/admin/roles/{batch}/delete")
    assert refused.status_code == 409
    assert re.search(r'id="delete-error">[^<]*assigned to clients or users', refused.text)
    assert "Batch" in _table(console.http.get("/admin/roles").text, "roles")


def test_role_form_offers_the_catalogue_and_builtins_are_read_only(
        console: Console, super_admin: str) -> None:
    form = console.http.get("/admin/roles/new").text
    for permission in ("oauth:client:add", "authorization:grant:add", "directory:user:delete",
                       "oauth:scope:*"):
        assert f'value="{permission}"' in form
    assert "*:*:*" not in form
    builtin = console.http.get(f"/admin/roles/{super_admin}").text
    assert re.search(r'value="\*:\*:\*" checked disabled', builtin)
    assert 'id="save"' not in builtin
    assert 'id="delete-role"' not in builtin
    refused = console.post(f"/admin/roles/{super_admin}", {"name": "Mine", "permissions": []})
    assert refused.status_code == 409
    assert "built-in" in refused.text


def test_role_may_grant_only_permissions_its_author_holds(http: TestClient,
                                                          headers: dict[str, str]) -> None:
    _make_role(http, headers, "Role Maker", ["authorization:role:*", "oauth:client:view"])
    _switch_to(http, create_user(http, "maker@example.com", roles=("Role Maker",)))
    form = http.get("/admin/roles/new")
    assert re.search(r'value="oauth:client:delete" disabled', form.text)
    assert re.search(r'value="oauth:client:view"\s*>', form.text)
    crafted = http.post("/admin/roles/new", data={
        "name": "Deleter", "permissions": ["oauth:client:view", "oauth:client:delete"],
        "csrf_token": csrf_of(form.text)})
    assert crafted.status_code == 403
    assert "oauth:client:delete" in crafted.text
    assert http.get(ROLES_API, headers=headers, params={"name": "Deleter"}).json()["total"] == 0


# -- divisions


def test_division_created_edited_and_deleted_through_the_pages_is_audited(
        console: Console, headers: dict[str, str]) -> None:
    created = console.post("/admin/divisions/new", {"name": "Europe", "description": "EU"})
    europe = _created_id(created, "/admin/divisions")
    assert "Europe" in _table(console.http.get("/admin/divisions").text, "divisions")
    edited = console.post(f"/admin/divisions/{europe}", {"name": "EMEA", "description": "EU+"})
    assert 'value="EMEA"' in edited.text
    deleted = console.post(f"/admin/divisions/{europe}/delete")
    assert "EMEA" not in _table(deleted.text, "divisions")
    assert _actors(console.http, headers, europe) == [
        ("delete", console.person.id), ("update", console.person.id),
        ("create", console.person.id)]


def test_division_in_use_or_home_cannot_be_deleted(console: Console, headers: dict[str, str],
                                                   super_admin: str) -> None:
    europe = _created_id(console.post("/admin/divisions/new", {"name": "Europe"}),
                         "/admin/divisions")
    bootstrap(console.http, name="eu job", roles=[], roleDivisions=[
        {"roleId": super_admin, "divisionId": europe}])
    refused = console.post(f"/admin/divisions/{europe}/delete")
    assert refused.status_code == 409
    assert re.search(r'id="delete-error">[^<]*used by role grants', refused.text)
    home = home_division_id(console.http, headers)
    page = console.http.get(f"/admin/divisions/{home}").text
    assert re.search(r'id="delete-division" disabled', page)
    refused_home = console.post(f"/admin/divisions/{home}/delete")
    assert refused_home.status_code == 409
    assert "Home division cannot be deleted" in refused_home.text
    listed = _table(console.http.get("/admin/divisions").text, "divisions")
    assert "Europe" in listed
    assert "Home" in listed


# -- scopes


def test_scope_created_edited_and_deleted_through_the_pages_is_audited(
        console: Console, headers: dict[str, str]) -> None:
    created = console.post("/admin/scopes/new", {"id": "invoices:readonly",
                                                 "description": "Read invoices"})
    assert _created_id(created, "/admin/scopes") == "invoices:readonly"
    listed = _table(console.http.get("/admin/scopes").text, "scopes")
    assert re.search(r"<code>invoices:readonly</code></a></td>\s*<td>Read invoices</td>\s*"
                     r'<td><span class="muted">custom</span></td>\s*<td>0</td>', listed)
    edited = console.post("/admin/scopes/invoices:readonly", {"intent": "save",
                                                              "description": "Read bills"})
    assert "Read bills</textarea>" in edited.text
    deleted = console.post("/admin/scopes/invoices:readonly", {"intent": "delete"})
    assert "invoices:readonly" not in _table(deleted.text, "scopes")
    assert _actors(console.http, headers, "invoices:readonly") == [
        ("delete", console.person.id), ("update", console.person.id),
        ("create", console.person.id)]


def test_scope_held_by_a_client_or_builtin_cannot_be_deleted(
        console: Console, headers: dict[str, str], super_admin: str) -> None:
    console.post("/admin/scopes/new", {"id": "invoices:readonly"})
    create_client(console.http, headers, client_body(super_admin, scope=["invoices:readonly"]))
    page = console.http.get("/admin/scopes/invoices:readonly").text
    assert '<dd id="holders">1</dd>' in page
    refused = console.post("/admin/scopes/invoices:readonly", {"intent": "delete"})
    assert refused.status_code == 409
    assert re.search(r'id="delete-error">[^<]*held by 1 client', refused.text)
    assert 'id="delete-scope" disabled' in console.http.get("/admin/scopes/oauth").text
    assert console.post("/admin/scopes/oauth", {"intent": "delete"}).status_code == 409
    listed = _table(console.http.get("/admin/scopes").text, "scopes")
    assert "invoices:readonly" in listed
    assert "<code>oauth</code>" in listed


def test_scope_resource_server_is_declared_and_changed_through_the_pages(
        console: Console, headers: dict[str, str]) -> None:
    created = console.post("/admin/scopes/new", {"id": "invoices",
                                                 "resourceServer": "https://billing.example.com"})
    assert _created_id(created, "/admin/scopes") == "invoices"
    assert 'value="https://billing.example.com"' in created.text
    api = "/api/v2/oauth/scopes/invoices"
    assert console.http.get(api, headers=headers).json()["resourceServer"] == (
        "https://billing.example.com")
    refused = console.post("/admin/scopes/invoices", {"intent": "save",
                                                      "resourceServer": "billing"})
    assert refused.status_code == 400
    assert 'id="resourceServer-error"' in refused.text
    console.post("/admin/scopes/invoices", {"intent": "save", "resourceServer": ""})
    assert console.http.get(api, headers=headers).json()["resourceServer"] is None
    builtin = console.http.get("/admin/scopes/oauth").text
    assert 'name="resourceServer"' not in builtin
    assert "http://testserver/api/v2" in builtin


# -- every form: each problem next to its field, never a 500, never a partial write


@pytest.mark.parametrize(("path", "form", "status", "field"), [
    pytest.param("/admin/roles/new", {"name": "   "}, 400, "name", id="role-name-blank"),
    pytest.param("/admin/roles/new", {"name": "OAuth Admin"}, 409, "name", id="role-name-taken"),
    pytest.param("/admin/roles/new", {"name": "x", "permissions": ["oauth:widget:view"]}, 400,
                 "permissions", id="role-unknown-permission"),
    pytest.param("/admin/divisions/new", {"name": "Home"}, 409, "name", id="division-taken"),
    pytest.param("/admin/divisions/new", {"name": "a\x00b"}, 400, "name", id="division-nul"),
    pytest.param("/admin/divisions/new", {"name": "ok", "description": "d" * 513}, 400,
                 "description", id="division-description-too-long"),
    pytest.param("/admin/scopes/new", {"id": "two words"}, 400, "id", id="scope-space"),
    pytest.param("/admin/scopes/new", {"id": "oauth"}, 409, "id", id="scope-taken"),
    pytest.param("/admin/scopes/new", {"id": "ok", "resourceServer": "https://x#y"}, 400,
                 "resourceServer", id="scope-resource-server-fragment"),
    pytest.param("/admin/users/new", {"name": "x", "email": "not-an-email"}, 400, "email",
                 id="user-email"),
    pytest.param("/admin/users/new", {"name": "", "email": "a@example.com"}, 400, "name",
                 id="user-name-missing"),
])
def test_forms_show_each_problem_next_to_its_field(console: Console, path: str,
                                                   form: dict[str, str | list[str]],
                                                   status: int, field: str) -> None:
    response = console.post(path, form)
    assert response.status_code == status, response.text
    assert f'id="{field}-error"' in response.text
    assert 'role="alert" tabindex="-1" id="error-summary"' in response.text


def test_people_forms_refuse_a_post_without_the_csrf_token(console: Console,
                                                           headers: dict[str, str]) -> None:
    response = console.http.post("/admin/roles/new", data={"name": "Forged",
                                                           "permissions": []})
    assert response.status_code == 403
    assert console.http.get(ROLES_API, headers=headers,
                            params={"name": "Forged"}).json()["total"] == 0


def test_people_pages_answer_404_for_unknown_or_nul_ids(console: Console) -> None:
    for path in ("/admin/users/nope", "/admin/users/%00", "/admin/roles/nope",
                 "/admin/divisions/%00", "/admin/scopes/nope"):
        assert console.http.get(path).status_code == 404, path
