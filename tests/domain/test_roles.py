"""The organisation use cases and the user use cases the console added, run directly against the
real stores on both databases (each rule is tried without going through HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.testclient import TestClient

from keystead.domain.clients import Actor, ClientSettings, GrantType, RoleDivision
from keystead.domain.divisions import DivisionManagement
from keystead.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from keystead.domain.organization import Division, Role, Scope
from keystead.domain.paging import Page
from keystead.domain.principal import Caller, operator
from keystead.domain.roles import RoleManagement
from keystead.domain.scopes import ScopeManagement, check_scope
from keystead.domain.users import User, UserManagement
from keystead.store.audit import AuditQuery, SqlAuditLog, StoredEvent
from keystead.store.catalog import SqlCatalog
from keystead.store.divisions import SqlDivisionStore
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.store.users import SqlCredentialStore
from keystead.web.runtime import Runtime, utc_now
from tests.support.apps import run

T = TypeVar("T")
GHOST = str(uuid.uuid4())  # the id of no user


def caller(*permissions: str, user_id: str = "me") -> Caller:
    return Caller(actor=Actor("user", user_id, f"{user_id}@example.com"),
                  role_divisions=frozenset(), permissions=frozenset(permissions))


def in_transaction(http: TestClient,
                   work: Callable[[Runtime, AsyncConnection], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction of the app (committed, or rolled back if it raises)."""

    async def go(runtime: Runtime) -> T:
        async with runtime.transaction() as conn:
            return await work(runtime, conn)

    return run(http, go)


@dataclass(frozen=True)
class Organization:
    """The division, role and scope use cases over one transaction."""

    divisions: DivisionManagement
    roles: RoleManagement
    scopes: ScopeManagement


def organization(http: TestClient, use: Callable[[Organization], Awaitable[T]]) -> T:
    return in_transaction(http, lambda runtime, conn: use(Organization(
        runtime.divisions(conn), runtime.roles(conn), runtime.scopes(conn))))


def people(http: TestClient, use: Callable[[UserManagement], Awaitable[T]]) -> T:
    return in_transaction(http, lambda runtime, conn: use(runtime.users(conn)))


class Stores:
    """The organisation's stores over one connection (set-up and snapshots)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.divisions = SqlDivisionStore(conn)
        self.roles = SqlRoleStore(conn)
        self.scopes = SqlScopeStore(conn)
        self.catalog = SqlCatalog(conn)


def catalog(http: TestClient, use: Callable[[Stores], Awaitable[T]]) -> T:
    return in_transaction(http, lambda _runtime, conn: use(Stores(conn)))


def audit_of(http: TestClient, entity_id: str) -> Sequence[StoredEvent]:
    async def read(_runtime: Runtime, conn: AsyncConnection) -> Sequence[StoredEvent]:
        events, _total = await SqlAuditLog(conn).query(AuditQuery(
            entity_id=entity_id, page_size=500, newest_first=False))
        return events

    return in_transaction(http, read)


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused change must leave as it was, read in a transaction of its own."""

    divisions: list[Division]
    roles: list[Role]
    scopes: list[Scope]
    users: list[User]
    audit_events: int


def snapshot(http: TestClient) -> Snapshot:
    async def read(runtime: Runtime, conn: AsyncConnection) -> Snapshot:
        store = Stores(conn)
        users, _ = await runtime.users(conn).search(operator(), None, Page(1, 500))
        _, audited = await SqlAuditLog(conn).query(AuditQuery(page_size=1))
        return Snapshot(await store.divisions.list(), await store.roles.list(),
                        await store.scopes.list(), list(users), audited)

    return in_transaction(http, read)


def add_role(http: TestClient, name: str, permissions: Sequence[str]) -> Role:
    """A custom role, stored directly (setup, so not audited)."""
    now = utc_now()
    role = Role(str(uuid.uuid4()), name, "", tuple(permissions), False, now, now)

    async def add(store: Stores) -> Role:
        await store.roles.add(role)
        found = await store.roles.find(role.id)
        assert found is not None
        return found

    return catalog(http, add)


def builtin_role(http: TestClient, name: str) -> Role:
    async def find(store: Stores) -> Role:
        found = await store.roles.by_name(name)
        assert found is not None, name
        return found

    return catalog(http, find)


def home_id(http: TestClient) -> str:
    return catalog(http, lambda store: store.catalog.home_division_id())


def add_user(http: TestClient, name: str, *, grants: Sequence[RoleDivision] = ()) -> str:
    """A user enrolled in two-step verification, holding ``grants``; returns the id."""

    async def add(runtime: Runtime, conn: AsyncConnection) -> str:
        users = runtime.users(conn)
        user = await users.create(operator(), name=name, email=f"{name}@example.com",
                                  password=None)
        await SqlCredentialStore(conn).enrol_mfa(user.id, secret_sealed="sealed-totp-secret",
                                                 step=0, recovery_digests=[])
        for grant in grants:
            await users.grant(operator(), user.id, grant)
        return user.id

    return in_transaction(http, add)


@dataclass(frozen=True)
class Organisation:
    """The built-ins, plus a division, a role and a scope each in real use."""

    home: str
    super_admin: str
    europe: str
    batch: str
    invoices: str


@pytest.fixture
def powerful(http: TestClient) -> Role:
    """A role that lets its holders delete clients."""
    return add_role(http, "Client Deleter", ["oauth:client:delete"])


@pytest.fixture
def org_in_use(http: TestClient) -> Organisation:
    now = utc_now()
    europe = Division(str(uuid.uuid4()), "Europe", "", False, now)
    invoices = Scope("invoices", "", False)

    async def add(store: Stores) -> None:
        await store.divisions.add(europe)
        await store.scopes.add(invoices)

    catalog(http, add)
    home, batch = home_id(http), add_role(http, "Batch", [])
    # A user granted Batch in Europe puts both in use; a client holding "invoices" the scope.
    add_user(http, "holder", grants=[RoleDivision(batch.id, europe.id)])
    oauth_admin = builtin_role(http, "OAuth Admin")  # a client-credentials client needs a role

    async def client(runtime: Runtime, conn: AsyncConnection) -> None:
        await runtime.management(conn).create(operator(), ClientSettings(
            name="invoicing", grant_types=(GrantType.client_credentials,),
            scopes=(invoices.id,), role_divisions=(RoleDivision(oauth_admin.id, home),)))

    in_transaction(http, client)
    return Organisation(home, builtin_role(http, "Super Admin").id, europe.id, batch.id,
                        invoices.id)


@dataclass(frozen=True)
class Directory:
    """Users by name: "me" (the caller), "boss" (Super Admin in Home) and "clerk"."""

    ids: dict[str, str]
    super_admin: str
    home: str

    def caller(self, *permissions: str, name: str = "me") -> Caller:
        return caller(*permissions, user_id=self.ids[name])


@pytest.fixture
def directory(http: TestClient) -> Directory:
    home, super_admin = home_id(http), builtin_role(http, "Super Admin").id
    ids = {"me": add_user(http, "me"), "clerk": add_user(http, "clerk"),
           "boss": add_user(http, "boss", grants=[RoleDivision(super_admin, home)])}
    return Directory(ids, super_admin, home)


def mfa_enrolled(http: TestClient, user_id: str) -> bool:
    async def read(_runtime: Runtime, conn: AsyncConnection) -> bool:
        found = await SqlCredentialStore(conn).credentials(user_id=user_id)
        assert found is not None
        return found.user.mfa_enrolled

    return in_transaction(http, read)


# -- roles: no escalation


def test_role_create_refuses_permissions_the_author_lacks(http: TestClient) -> None:
    before = snapshot(http)
    author = caller("authorization:role:add", "oauth:client:view")
    with pytest.raises(ForbiddenError, match="oauth:client:delete"):
        organization(http, lambda org: org.roles.create(
            author, name="Deleter", description="",
            permissions=["oauth:client:view", "oauth:client:delete"]))
    assert snapshot(http) == before


@pytest.mark.parametrize("permissions", [
    pytest.param([], id="stripped-of-everything"),
    pytest.param(["oauth:client:delete"], id="only-renamed"),
])
def test_role_grants_more_than_the_editor_holds_cannot_be_changed(
        http: TestClient, powerful: Role, permissions: list[str]) -> None:
    # Someone who may edit roles but not delete clients must not weaken (or rename) a role
    # that lets its holders delete clients: the role is stronger than its editor.
    before = snapshot(http)
    editor = caller("authorization:role:*")
    with pytest.raises(ForbiddenError, match="oauth:client:delete"):
        organization(http, lambda org: org.roles.update(
            editor, powerful.id, name="Renamed", description="", permissions=permissions))
    with pytest.raises(ForbiddenError, match="oauth:client:delete"):
        organization(http, lambda org: org.roles.delete(editor, powerful.id))
    assert snapshot(http) == before
    assert catalog(http, lambda store: store.roles.find(powerful.id)) == powerful


def test_role_editor_holding_its_permissions_may_change_it_and_it_is_audited(
        http: TestClient, powerful: Role) -> None:
    editor = caller("authorization:role:*", "oauth:client:*", user_id="ed")
    changed = organization(http, lambda org: org.roles.update(
        editor, powerful.id, name=" Client Viewer ", description="",
        permissions=["oauth:client:view", "oauth:client:view"]))
    assert (changed.name, changed.permissions) == ("Client Viewer", ("oauth:client:view",))
    stored = catalog(http, lambda store: store.roles.find(powerful.id))
    assert stored is not None
    assert (stored.name, stored.permissions) == (changed.name, changed.permissions)
    (event,) = [e.event for e in audit_of(http, powerful.id)]
    assert (event.action, event.entity_type, event.actor_id) == ("update", "Role", "ed")
    assert event.details == {"propertyChanges": {
        "name": {"old": "Client Deleter", "new": "Client Viewer"},
        "permissions": {"old": ["oauth:client:delete"], "new": ["oauth:client:view"]}}}


# -- refusals change nothing and audit nothing


@pytest.mark.parametrize(("action", "reason"), [
    pytest.param(lambda o, c, w: o.divisions.delete(c, w.home), "Home", id="home-division"),
    pytest.param(lambda o, c, w: o.divisions.delete(c, w.europe), "role grants",
                 id="division-in-use"),
    pytest.param(lambda o, c, w: o.roles.delete(c, w.batch), "assigned", id="role-in-use"),
    pytest.param(lambda o, c, w: o.roles.delete(c, w.super_admin), "built-in",
                 id="role-built-in"),
    pytest.param(lambda o, c, w: o.roles.update(c, w.super_admin, name="Super Admin",
                                               description="", permissions=["*:*:*"]),
                 "built-in", id="role-built-in-change"),
    pytest.param(lambda o, c, _w: o.scopes.delete(c, "oauth"), "built-in", id="scope-built-in"),
    pytest.param(lambda o, c, w: o.scopes.delete(c, w.invoices), "1 client", id="scope-held"),
    pytest.param(lambda o, c, _w: o.divisions.create(c, name="Home", description=""), "exists",
                 id="division-name-taken"),
])
def test_refused_changes_write_and_audit_nothing(http: TestClient, org_in_use: Organisation,
                                                 action: Any, reason: str) -> None:
    before = snapshot(http)
    with pytest.raises(ConflictError, match=reason):
        organization(http, lambda org: action(org, caller("*:*:*"), org_in_use))
    assert snapshot(http) == before


# -- input rules


@pytest.mark.parametrize(("action", "field"), [
    pytest.param(lambda o, c: o.divisions.create(c, name="a\x00b", description=""), "name",
                 id="division-name-nul"),
    pytest.param(lambda o, c: o.roles.create(c, name="two\nlines", description="",
                                            permissions=[]), "name", id="role-name-newline"),
    pytest.param(lambda o, c: o.scopes.create(c, scope_id="ok", description="a\x00"),
                 "description", id="scope-description-nul"),
    pytest.param(lambda o, c: o.scopes.update(c, "oauth", description="d" * 513), "description",
                 id="scope-description-too-long"),
])
def test_control_characters_and_overlong_text_are_refused_naming_the_field(
        http: TestClient, action: Any, field: str) -> None:
    before = snapshot(http)
    with pytest.raises(InvalidInputError) as refused:
        organization(http, lambda org: action(org, caller("*:*:*")))
    assert [p.field for p in refused.value.problems] == [field]
    assert snapshot(http) == before


def test_scope_id_with_a_trailing_newline_is_refused() -> None:
    # "$" in the RFC 6749 §3.3 scope-token pattern matches before a final newline (the use
    # cases strip input; the rule must hold for any caller that does not).
    assert [p.field for p in check_scope("invoices\n", "")] == ["id"]
    assert check_scope("invoices", "") == []


def test_grant_choices_need_a_grant_permission(http: TestClient) -> None:
    with pytest.raises(ForbiddenError, match="authorization:grant"):
        organization(http, lambda org: org.roles.grant_choices(
            caller("directory:user:*", "authorization:role:view")))
    choices = organization(http, lambda org: org.roles.grant_choices(
        caller("authorization:grant:add")))
    assert [r.name for r in choices.roles] == ["OAuth Admin", "Super Admin"]
    assert [d.name for d in choices.divisions] == ["Home"]


# -- users: the use cases the console added


def test_reset_mfa_forgets_the_factor_and_is_audited(http: TestClient,
                                                     directory: Directory) -> None:
    me, clerk = directory.ids["me"], directory.ids["clerk"]
    reset = people(http, lambda users: users.reset_mfa(
        directory.caller("directory:user:*"), clerk))
    assert reset.mfa_enrolled is False
    assert mfa_enrolled(http, clerk) is False
    (event,) = [e.event for e in audit_of(http, clerk) if e.event.action == "mfa.reset"]
    assert (event.action, event.entity_id, event.actor_id) == ("mfa.reset", clerk, me)


@pytest.mark.parametrize(("target", "reason"), [
    pytest.param("me", "your own", id="yourself"),
    pytest.param("boss", r"\*:\*:\*", id="a-stronger-user"),
])
def test_reset_mfa_refused(http: TestClient, directory: Directory, target: str,
                           reason: str) -> None:
    before = snapshot(http)
    with pytest.raises(ForbiddenError, match=reason):
        people(http, lambda users: users.reset_mfa(directory.caller("directory:user:*"),
                                                   directory.ids[target]))
    assert mfa_enrolled(http, directory.ids[target]) is True
    assert snapshot(http) == before


@pytest.mark.parametrize(("permissions", "as_user", "target", "refused"), [
    pytest.param(("directory:user:view",), "me", "boss", ForbiddenError,
                 id="without-grant-view"),
    pytest.param(("authorization:grant:view",), "me", "boss", ForbiddenError,
                 id="without-user-view"),
    pytest.param(("*:*:*",), "me", "ghost", NotFoundError, id="unknown-user"),
    pytest.param((), "boss", "boss", None, id="your-own"),
    pytest.param(("directory:user:view", "authorization:grant:view"), "me", "boss", None,
                 id="with-both"),
])
def test_grants_of_shows_a_users_roles_only_to_those_allowed(
        http: TestClient, directory: Directory, permissions: tuple[str, ...], as_user: str,
        target: str, refused: type[DomainError] | None) -> None:
    who = directory.caller(*permissions, name=as_user)
    target_id = directory.ids.get(target, GHOST)
    if refused is not None:
        with pytest.raises(refused):
            people(http, lambda users: users.grants_of(who, target_id))
    else:
        assert people(http, lambda users: users.grants_of(who, target_id)) == [
            RoleDivision(directory.super_admin, directory.home)]


def test_search_needs_directory_user_view(http: TestClient, directory: Directory) -> None:
    with pytest.raises(ForbiddenError, match="directory:user:view"):
        people(http, lambda users: users.search(
            directory.caller("authorization:grant:*"), None, Page(1, 25)))
    found, total = people(http, lambda users: users.search(
        directory.caller("directory:user:view"), "clerk", Page(1, 25)))
    assert ([u.id for u in found], total) == ([directory.ids["clerk"]], 1)


@pytest.mark.parametrize(("name", "email", "field"), [
    pytest.param("Ada\x00", "ada@example.com", "name", id="name-nul"),
    pytest.param("Ada", "ada\x00@example.com", "email", id="email-nul"),
])
def test_user_create_refuses_control_characters(http: TestClient, directory: Directory,
                                                name: str, email: str, field: str) -> None:
    before = snapshot(http)
    with pytest.raises(InvalidInputError) as refused:
        people(http, lambda users: users.create(directory.caller("directory:user:add"),
                                                name=name, email=email, password=None))
    assert [p.field for p in refused.value.problems] == [field]
    assert snapshot(http) == before
