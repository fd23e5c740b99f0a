"""The organisation use cases and the user use cases the console added, without I/O: in-memory
stores, so each rule is tried directly (the API and console tests run them on both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from keystead.domain.audit import AuditEvent
from keystead.domain.clients import Actor, RoleDivision
from keystead.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from keystead.domain.organization import Division, Role, Scope, check_scope
from keystead.domain.organization_management import OrganizationManagement
from keystead.domain.passwords import Passwords
from keystead.domain.ports import Page
from keystead.domain.principal import Caller
from keystead.domain.users import User, UserManagement, UserState

T = TypeVar("T")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOME = Division("home", "Home", "", True, NOW)
SUPER = Role("super", "Super Admin", "", ("*:*:*",), True, NOW, NOW)
POWERFUL = Role("powerful", "Client Deleter", "", ("oauth:client:delete",), False, NOW, NOW)


def done(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


def caller(*permissions: str, user_id: str = "me",
           holds: Sequence[RoleDivision] = ()) -> Caller:
    return Caller(actor=Actor("user", user_id, f"{user_id}@example.com"),
                  role_divisions=frozenset(holds), permissions=frozenset(permissions))


class Catalog:
    """Divisions, roles and scopes in memory (the ports SqlCatalog implements)."""

    def __init__(self) -> None:
        self.division_rows = {HOME.id: HOME}
        self.role_rows = {SUPER.id: SUPER, POWERFUL.id: POWERFUL}
        self.scope_rows = {"oauth": Scope("oauth", "built in", True)}
        self.in_use: set[str] = set()
        self.held_scopes: dict[str, int] = {}

    async def divisions(self) -> list[Division]:
        return sorted(self.division_rows.values(), key=lambda d: d.name)

    async def division(self, division_id: str) -> Division | None:
        return self.division_rows.get(division_id)

    async def add_division(self, division: Division) -> None:
        self.division_rows[division.id] = division

    async def update_division(self, division_id: str, *, name: str, description: str) -> None:
        self.division_rows[division_id] = replace(self.division_rows[division_id], name=name,
                                                  description=description)

    async def division_in_use(self, division_id: str) -> bool:
        return division_id in self.in_use

    async def delete_division(self, division_id: str) -> None:
        del self.division_rows[division_id]

    async def name_taken(self, table: str, name: str, *, except_id: str | None = None) -> bool:
        rows: dict[str, Division] | dict[str, Role] = (
            self.division_rows if table == "divisions" else self.role_rows)
        return any(r.name == name and r.id != except_id for r in rows.values())

    async def roles(self) -> list[Role]:
        return sorted(self.role_rows.values(), key=lambda r: r.name)

    async def role(self, role_id: str) -> Role | None:
        return self.role_rows.get(role_id)

    async def add_role(self, role: Role) -> None:
        self.role_rows[role.id] = role

    async def update_role(self, role: Role) -> None:
        self.role_rows[role.id] = role

    async def role_in_use(self, role_id: str) -> bool:
        return role_id in self.in_use

    async def delete_role(self, role_id: str) -> None:
        del self.role_rows[role_id]

    async def scopes(self) -> list[Scope]:
        return sorted(self.scope_rows.values(), key=lambda s: s.id)

    async def scope(self, scope_id: str) -> Scope | None:
        return self.scope_rows.get(scope_id)

    async def add_scope(self, scope: Scope) -> None:
        self.scope_rows[scope.id] = scope

    async def update_scope(self, scope_id: str, *, description: str) -> None:
        self.scope_rows[scope_id] = replace(self.scope_rows[scope_id], description=description)

    async def delete_scope(self, scope_id: str) -> None:
        del self.scope_rows[scope_id]

    async def count_holding_scope(self, scope_id: str) -> int:
        return self.held_scopes.get(scope_id, 0)

    # -- the Catalog port UserManagement uses
    async def known_scopes(self) -> frozenset[str]:
        return frozenset(self.scope_rows)

    async def existing_roles(self, role_ids: Sequence[str]) -> dict[str, str]:
        return {i: self.role_rows[i].name for i in role_ids if i in self.role_rows}

    async def existing_divisions(self, division_ids: Sequence[str]) -> frozenset[str]:
        return frozenset(i for i in division_ids if i in self.division_rows)

    async def home_division_id(self) -> str:
        return HOME.id

    async def permissions_of(self, role_ids: Sequence[str]) -> frozenset[str]:
        return frozenset(p for i in role_ids if i in self.role_rows
                         for p in self.role_rows[i].permissions)

    async def scim_role_ids(self) -> frozenset[str]:
        return frozenset()


class AuditLog:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def append(self, event: AuditEvent) -> None:
        self.events.append(event)


class Users:
    """The UserStore and GrantStore ports in memory."""

    def __init__(self) -> None:
        self.rows: dict[str, User] = {}
        self.hashes: dict[str, str | None] = {}
        self.held: dict[str, list[RoleDivision]] = {}

    async def add(self, user: User, *, password_hash: str | None) -> None:
        self.rows[user.id] = user
        self.hashes[user.id] = password_hash

    async def find(self, user_id: str) -> User | None:
        return self.rows.get(user_id)

    async def by_email(self, email: str) -> User | None:
        return next((u for u in self.rows.values() if u.email == email), None)

    async def search(self, query: str | None, page: Page) -> tuple[list[User], int]:
        found = [u for u in self.rows.values() if not query or query in u.email]
        return found[(page.number - 1) * page.size: page.number * page.size], len(found)

    async def replace(self, user: User, *, password_hash: str | None = None) -> None:
        self.rows[user.id] = user
        if password_hash is not None:
            self.hashes[user.id] = password_hash

    async def delete(self, user_id: str) -> None:
        del self.rows[user_id]

    async def reset_mfa(self, user_id: str) -> None:
        self.rows[user_id] = replace(self.rows[user_id], mfa_enrolled=False)

    async def grants(self, user_id: str) -> list[RoleDivision]:
        return list(self.held.get(user_id, []))

    async def grant(self, user_id: str, *, role_id: str, division_id: str) -> None:
        self.held.setdefault(user_id, []).append(RoleDivision(role_id, division_id))

    async def revoke(self, user_id: str, *, role_id: str, division_id: str) -> bool:
        held = self.held.get(user_id, [])
        if (grant := RoleDivision(role_id, division_id)) not in held:
            return False
        held.remove(grant)
        return True


@pytest.fixture
def catalog() -> Catalog:
    return Catalog()


@pytest.fixture
def audit() -> AuditLog:
    return AuditLog()


@pytest.fixture
def org(catalog: Catalog, audit: AuditLog) -> OrganizationManagement:
    return OrganizationManagement(divisions=catalog, roles=catalog, scopes=catalog,
                                  holders=catalog, audit=audit, clock=lambda: NOW)


# -- roles: no escalation


def test_role_create_refuses_permissions_the_author_lacks(org: OrganizationManagement,
                                                          catalog: Catalog,
                                                          audit: AuditLog) -> None:
    author = caller("authorization:role:add", "oauth:client:view")
    with pytest.raises(ForbiddenError, match="oauth:client:delete"):
        done(org.create_role(author, name="Deleter", description="",
                             permissions=["oauth:client:view", "oauth:client:delete"]))
    assert set(catalog.role_rows) == {SUPER.id, POWERFUL.id}
    assert audit.events == []


@pytest.mark.parametrize("permissions", [
    pytest.param([], id="stripped-of-everything"),
    pytest.param(["oauth:client:delete"], id="only-renamed"),
])
def test_role_grants_more_than_the_editor_holds_cannot_be_changed(
        org: OrganizationManagement, catalog: Catalog, audit: AuditLog,
        permissions: list[str]) -> None:
    # Someone who may edit roles but not delete clients must not weaken (or rename) a role
    # that lets its holders delete clients: the role is stronger than its editor.
    editor = caller("authorization:role:*")
    with pytest.raises(ForbiddenError, match="oauth:client:delete"):
        done(org.update_role(editor, POWERFUL.id, name="Renamed", description="",
                             permissions=permissions))
    with pytest.raises(ForbiddenError, match="oauth:client:delete"):
        done(org.delete_role(editor, POWERFUL.id))
    assert catalog.role_rows[POWERFUL.id] == POWERFUL
    assert audit.events == []


def test_role_editor_holding_its_permissions_may_change_it_and_it_is_audited(
        org: OrganizationManagement, catalog: Catalog, audit: AuditLog) -> None:
    editor = caller("authorization:role:*", "oauth:client:*", user_id="ed")
    changed = done(org.update_role(editor, POWERFUL.id, name=" Client Viewer ", description="",
                                   permissions=["oauth:client:view", "oauth:client:view"]))
    assert (changed.name, changed.permissions) == ("Client Viewer", ("oauth:client:view",))
    assert catalog.role_rows[POWERFUL.id] == changed
    (event,) = audit.events
    assert (event.action, event.entity_type, event.actor_id) == ("update", "Role", "ed")
    assert event.details == {"propertyChanges": {
        "name": {"old": "Client Deleter", "new": "Client Viewer"},
        "permissions": {"old": ["oauth:client:delete"], "new": ["oauth:client:view"]}}}


# -- refusals change nothing and audit nothing


@pytest.mark.parametrize(("action", "reason"), [
    pytest.param(lambda o, c: o.delete_division(c, HOME.id), "Home", id="home-division"),
    pytest.param(lambda o, c: o.delete_division(c, "eu"), "role grants", id="division-in-use"),
    pytest.param(lambda o, c: o.delete_role(c, "batch"), "assigned", id="role-in-use"),
    pytest.param(lambda o, c: o.delete_role(c, SUPER.id), "built-in", id="role-built-in"),
    pytest.param(lambda o, c: o.update_role(c, SUPER.id, name="Super Admin", description="",
                                            permissions=["*:*:*"]),
                 "built-in", id="role-built-in-change"),
    pytest.param(lambda o, c: o.delete_scope(c, "oauth"), "built-in", id="scope-built-in"),
    pytest.param(lambda o, c: o.delete_scope(c, "invoices"), "1 client", id="scope-held"),
    pytest.param(lambda o, c: o.create_division(c, name="Home", description=""), "exists",
                 id="division-name-taken"),
])
def test_refused_changes_write_and_audit_nothing(org: OrganizationManagement, catalog: Catalog,
                                                 audit: AuditLog, action: Any,
                                                 reason: str) -> None:
    catalog.division_rows["eu"] = Division("eu", "Europe", "", False, NOW)
    catalog.role_rows["batch"] = Role("batch", "Batch", "", (), False, NOW, NOW)
    catalog.scope_rows["invoices"] = Scope("invoices", "", False)
    catalog.in_use |= {"eu", "batch"}
    catalog.held_scopes["invoices"] = 1
    before = (dict(catalog.division_rows), dict(catalog.role_rows), dict(catalog.scope_rows))
    with pytest.raises(ConflictError, match=reason):
        done(action(org, caller("*:*:*")))
    assert (catalog.division_rows, catalog.role_rows, catalog.scope_rows) == before
    assert audit.events == []


# -- input rules


@pytest.mark.parametrize(("action", "field"), [
    pytest.param(lambda o, c: o.create_division(c, name="a\x00b", description=""), "name",
                 id="division-name-nul"),
    pytest.param(lambda o, c: o.create_role(c, name="two\nlines", description="",
                                            permissions=[]), "name", id="role-name-newline"),
    pytest.param(lambda o, c: o.create_scope(c, scope_id="ok", description="a\x00"),
                 "description", id="scope-description-nul"),
    pytest.param(lambda o, c: o.update_scope(c, "oauth", description="d" * 513), "description",
                 id="scope-description-too-long"),
])
def test_control_characters_and_overlong_text_are_refused_naming_the_field(
        org: OrganizationManagement, audit: AuditLog, action: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        done(action(org, caller("*:*:*")))
    assert [p.field for p in refused.value.problems] == [field]
    assert audit.events == []


def test_scope_id_with_a_trailing_newline_is_refused() -> None:
    # "$" in the RFC 6749 §3.3 scope-token pattern matches before a final newline (the use
    # cases strip input; the rule must hold for any caller that does not).
    assert [p.field for p in check_scope("invoices\n", "")] == ["id"]
    assert check_scope("invoices", "") == []


def test_grant_choices_need_a_grant_permission(org: OrganizationManagement) -> None:
    with pytest.raises(ForbiddenError, match="authorization:grant"):
        done(org.grant_choices(caller("directory:user:*", "authorization:role:view")))
    choices = done(org.grant_choices(caller("authorization:grant:add")))
    assert [r.name for r in choices.roles] == ["Client Deleter", "Super Admin"]
    assert [d.name for d in choices.divisions] == ["Home"]


# -- users: the use cases the console added


@pytest.fixture
def users() -> Users:
    store = Users()
    for user_id in ("me", "boss", "clerk"):
        store.rows[user_id] = User(user_id, user_id, f"{user_id}@example.com",
                                   UserState.active, NOW, NOW, mfa_enrolled=True)
    store.held["boss"] = [RoleDivision(SUPER.id, HOME.id)]
    return store


@pytest.fixture
def people(users: Users, catalog: Catalog, audit: AuditLog) -> UserManagement:
    return UserManagement(users=users, grants=users, catalog=catalog, audit=audit,
                          passwords=Passwords(), clock=lambda: NOW)


def test_reset_mfa_forgets_the_factor_and_is_audited(people: UserManagement, users: Users,
                                                     audit: AuditLog) -> None:
    reset = done(people.reset_mfa(caller("directory:user:*"), "clerk"))
    assert reset.mfa_enrolled is False
    assert users.rows["clerk"].mfa_enrolled is False
    (event,) = audit.events
    assert (event.action, event.entity_id, event.actor_id) == ("mfa.reset", "clerk", "me")


@pytest.mark.parametrize(("user_id", "reason"), [
    pytest.param("me", "your own", id="yourself"),
    pytest.param("boss", r"\*:\*:\*", id="a-stronger-user"),
])
def test_reset_mfa_refused(people: UserManagement, users: Users, audit: AuditLog,
                           user_id: str, reason: str) -> None:
    with pytest.raises(ForbiddenError, match=reason):
        done(people.reset_mfa(caller("directory:user:*"), user_id))
    assert users.rows[user_id].mfa_enrolled is True
    assert audit.events == []


@pytest.mark.parametrize(("who", "target", "refused"), [
    pytest.param(caller("directory:user:view"), "boss", ForbiddenError, id="without-grant-view"),
    pytest.param(caller("authorization:grant:view"), "boss", ForbiddenError,
                 id="without-user-view"),
    pytest.param(caller("*:*:*"), "ghost", NotFoundError, id="unknown-user"),
    pytest.param(caller(user_id="boss"), "boss", None, id="your-own"),
    pytest.param(caller("directory:user:view", "authorization:grant:view"), "boss", None,
                 id="with-both"),
])
def test_grants_of_shows_a_users_roles_only_to_those_allowed(
        people: UserManagement, who: Caller, target: str,
        refused: type[DomainError] | None) -> None:
    if refused is not None:
        with pytest.raises(refused):
            done(people.grants_of(who, target))
    else:
        assert done(people.grants_of(who, target)) == [RoleDivision(SUPER.id, HOME.id)]


def test_search_needs_directory_user_view(people: UserManagement) -> None:
    with pytest.raises(ForbiddenError, match="directory:user:view"):
        done(people.search(caller("authorization:grant:*"), None, Page(1, 25)))
    found, total = done(people.search(caller("directory:user:view"), "clerk", Page(1, 25)))
    assert ([u.id for u in found], total) == (["clerk"], 1)


@pytest.mark.parametrize(("name", "email", "field"), [
    pytest.param("Ada\x00", "ada@example.com", "name", id="name-nul"),
    pytest.param("Ada", "ada\x00@example.com", "email", id="email-nul"),
])
def test_user_create_refuses_control_characters(people: UserManagement, users: Users,
                                                name: str, email: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        done(people.create(caller("directory:user:add"), name=name, email=email,
                           password=None))
    assert [p.field for p in refused.value.problems] == [field]
    assert set(users.rows) == {"me", "boss", "clerk"}
