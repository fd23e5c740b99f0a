"""A data subject's rights over HTTP: export everything held about a user, erase them everywhere
(the audit log included) with the chain still verifying, and the rules around both."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select, update
from starlette.testclient import TestClient

from keystead.domain.audit import GENESIS_HASH, chain_hash
from keystead.store.audit import SqlAuditLog, stored_event
from keystead.store.audit_verify import verify_chain
from keystead.store.governance_tables import notices
from keystead.store.tables import (
    audit_events,
    audit_head,
    metadata,
    refresh_tokens,
    sessions,
    users,
)
from keystead.web.runtime import Runtime
from tests.oauth_flows import code_client, signed_in_person, user_tokens
from tests.people import create_user
from tests.support.apps import run
from tests.support.clients import Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.management import role_id
from tests.support.reviews import governed_client
from tests.support.tokens import bearer, token

USERS = "/api/v2/users"
NAME = "Zebedee Quartermaine"
EMAIL = "zebedee.quartermaine@example.com"


def _problems(http: TestClient) -> list[str]:
    async def work(runtime: Runtime) -> list[str]:
        async with runtime.transaction() as conn:
            return await verify_chain(SqlAuditLog(conn))

    return run(http, work)


def _every_text(http: TestClient) -> str:
    """Every row of every table, as text."""

    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            lines = []
            for table in metadata.sorted_tables:
                lines += [repr(tuple(row)) for row in await conn.execute(select(table))]
            return "\n".join(lines)

    return run(http, work)


def _credentials_of(http: TestClient, user_id: str) -> list[str]:
    """What Keystead stores as the user's credentials: password hash, TOTP secret, session and
    refresh-token digests."""

    async def work(runtime: Runtime) -> list[str]:
        async with runtime.transaction() as conn:
            user = (await conn.execute(select(users.c.password_hash, users.c.mfa_secret).where(
                users.c.id == user_id))).one()
            digests = [r.digest for r in await conn.execute(select(sessions.c.digest).where(
                sessions.c.user_id == user_id))]
            digests += [r.digest for r in await conn.execute(select(
                refresh_tokens.c.digest).where(refresh_tokens.c.user_id == user_id))]
            return [v for v in (user.password_hash, user.mfa_secret, *digests) if v]

    return run(http, work)


def _execute(http: TestClient, statement: Any) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await conn.execute(statement)

    run(http, work)


@pytest.fixture
def admin(http: TestClient) -> Registered:
    """Holds OAuth Admin besides Super Admin, so it may grant it (no escalation)."""
    return bootstrap(http, name="test admin", roles=["Super Admin", "OAuth Admin"])


@pytest.fixture
def subject(http: TestClient, headers: dict[str, str]) -> str:
    """A user who acted (signed in, authorized an app, owns a client) and was acted upon
    (renamed and granted a role by an admin); their id."""
    app = code_client(http)
    person = signed_in_person(http, EMAIL)
    user_tokens(http, app)
    updated = http.patch(f"{USERS}/{person.id}", headers=headers, json={"name": NAME})
    assert updated.status_code == 200, updated.text
    home = http.get("/api/v2/authorization/divisions/home", headers=headers).json()["id"]
    granted = http.post(
        f"/api/v2/authorization/subjects/{person.id}/divisions/{home}/roles/"
        f"{role_id(http, headers, 'OAuth Admin')}", headers=headers, params={"subjectType":
                                                                         "PC_USER"})
    assert granted.status_code == 204, granted.text
    governed_client(http, "reporting job", owner_id=person.id)
    return person.id


def test_export_holds_profile_roles_sessions_authorizations_clients_and_audit(
        http: TestClient, headers: dict[str, str], subject: str) -> None:
    response = http.get(f"{USERS}/{subject}/export", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["profile"]["name"], body["profile"]["email"]) == (NAME, EMAIL)
    assert [r["roleName"] for r in body["roles"]] == ["OAuth Admin"]
    assert body["sessions"]
    assert len(body["authorizations"]["grants"]) == 1
    assert len(body["authorizations"]["consents"]) == 1
    assert [c["name"] for c in body["ownedClients"]] == ["reporting job"]
    entries = body["auditEntries"]
    assert any(e["actor"]["id"] == subject for e in entries)  # by them
    assert any(e["entity"]["id"] == subject and e["action"] == "grant.add" for e in entries)
    # Credentials are not personal data to hand out: no password hash, TOTP secret, session
    # digest or refresh token digest appears in the export.
    held = _credentials_of(http, subject)
    assert held, "the subject has credentials stored"
    assert [value for value in held if value in response.text] == []
    # The export itself is audited.
    exported = http.post("/api/v2/audits/query/realtime", headers=headers, json={
        "interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z",
        "filters": [{"property": "Action", "value": "export"}]})
    assert exported.status_code == 200, exported.text


def test_erase_removes_the_user_everywhere_and_the_chain_verifies(
        http: TestClient, headers: dict[str, str], subject: str) -> None:
    assert subject in _every_text(http)
    response = http.post(f"{USERS}/{subject}/erase", headers=headers)
    assert response.status_code == 200, response.text
    pseudonym = response.json()["pseudonym"]
    assert response.json()["auditEntriesPseudonymised"] >= 4
    assert _problems(http) == []
    everything = _every_text(http)
    for identifier in (subject, EMAIL, NAME, "zebedee.quartermaine"):  # the last: a former name
        assert identifier.lower() not in everything.lower(), [
            line for line in everything.splitlines() if identifier.lower() in line.lower()]
    assert pseudonym in everything  # the entries still tell one person's story
    assert http.get(f"{USERS}/{subject}", headers=headers).status_code == 404


def test_erase_then_a_tampered_entry_still_fails_verify(
        http: TestClient, headers: dict[str, str], subject: str) -> None:
    assert http.post(f"{USERS}/{subject}/erase", headers=headers).status_code == 200
    rows = _rows(http)
    kept = next(r for r in rows if r.erased_by is None and r.action != "erase")
    _execute(http, update(audit_events).where(audit_events.c.seq == kept.seq)
             .values(actor_name="forged"))
    assert _problems(http) == [f"entry {kept.seq}: contents do not match its hash (edited)"]


def test_marking_another_entry_erased_to_hide_an_edit_fails_verify(
        http: TestClient, headers: dict[str, str], subject: str) -> None:
    assert http.post(f"{USERS}/{subject}/erase", headers=headers).status_code == 200
    rows = _rows(http)
    erasure = next(r for r in rows if r.action == "erase")
    kept = next(r for r in rows if r.erased_by is None and r.action != "erase")
    _execute(http, update(audit_events).where(audit_events.c.seq == kept.seq).values(
        actor_name="forged", erased_by=erasure.details["erasure"]))
    problems = _problems(http)
    assert any(p.startswith(f"entry {erasure.seq}: the entries this erasure marked")
               for p in problems)


def test_erased_entry_keeps_its_non_personal_part_guarded(
        http: TestClient, headers: dict[str, str], subject: str) -> None:
    assert http.post(f"{USERS}/{subject}/erase", headers=headers).status_code == 200
    erased = next(r for r in _rows(http) if r.erased_by is not None)
    _execute(http, update(audit_events).where(audit_events.c.seq == erased.seq)
             .values(action="noop"))
    assert f"entry {erased.seq}: contents do not match its hash (edited)" in _problems(http)


def _rows(http: TestClient) -> list[Any]:
    async def work(runtime: Runtime) -> list[Any]:
        async with runtime.transaction() as conn:
            return list(await conn.execute(select(audit_events).order_by(audit_events.c.seq)))

    return run(http, work)


def test_erase_refuses_the_last_active_admin(http: TestClient, headers: dict[str, str]) -> None:
    only = create_user(http, "only.admin@example.com", roles=("Super Admin",))
    refused = http.post(f"{USERS}/{only.id}/erase", headers=headers)
    assert refused.status_code == 409, refused.text
    assert "last active admin" in refused.json()["message"]
    create_user(http, "second.admin@example.com", roles=("Super Admin",))
    assert http.post(f"{USERS}/{only.id}/erase", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["export", "erase"])
def test_user_data_needs_its_own_permission(http: TestClient, headers: dict[str, str],
                                            path: str) -> None:
    user = create_user(http, "someone@example.com")
    # Everything about users but export and erase: delete alone is not enough.
    viewer = bootstrap(http, name="user admin", roles=["OAuth Admin"])
    created = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Directory admin", "permissionPolicies": [
            {"domain": "directory", "entityName": "user", "actionSet": [a]}
            for a in ("view", "edit", "delete", "add")]})
    assert created.status_code == 200, created.text
    viewer = bootstrap(http, name="directory admin", roles=["Directory admin"],
                       scopes=["users"])
    own = bearer(token(http, viewer))
    method = http.get if path == "export" else http.post
    response = method(f"{USERS}/{user.id}/{path}", headers=own)
    assert response.status_code == 403, response.text
    assert f"directory:user:{path}" in response.json()["message"]
    assert user.email in _every_text(http)


def _rechain_as_format_1(http: TestClient) -> None:
    """Rewrite the whole log as a Keystead before 0019 wrote it (format 1: the hash covers the
    personal part itself)."""

    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            previous = GENESIS_HASH
            for row in list(await conn.execute(select(audit_events).order_by(audit_events.c.seq))):
                stored = stored_event(row)
                digest = chain_hash(previous, row.seq, stored.event)
                await conn.execute(update(audit_events).where(audit_events.c.seq == row.seq)
                                   .values(format=1, personal_salt=None, personal_digest=None,
                                           prev_hash=previous, hash=digest))
                previous = digest
            await conn.execute(update(audit_head).values(last_hash=previous))

    run(http, work)


def test_erase_pseudonymises_entries_written_before_0019(
        http: TestClient, headers: dict[str, str]) -> None:
    person = create_user(http, "old.timer@example.com", name="Old Timer")
    renamed = http.patch(f"{USERS}/{person.id}", headers=headers, json={"name": "Old Timer II"})
    assert renamed.status_code == 200, renamed.text
    _rechain_as_format_1(http)
    assert _problems(http) == []
    assert http.post(f"{USERS}/{person.id}/erase", headers=headers).status_code == 200
    assert _problems(http) == []
    everything = _every_text(http).lower()
    for identifier in (person.id, "old.timer@example.com", "old timer"):
        assert identifier not in everything
    # An erased format-1 entry cannot be recomputed: its erasure's digest guards it instead.
    erased = next(r for r in _rows(http) if r.erased_by is not None and r.format == 1)
    _execute(http, update(audit_events).where(audit_events.c.seq == erased.seq)
             .values(action="noop"))
    assert any("the entries this erasure marked were changed" in p for p in _problems(http))


def test_erase_rewrites_others_notices_and_drops_their_own(
        http: TestClient, headers: dict[str, str], clock: ManualClock) -> None:
    person = create_user(http, "noticed.person@example.com", name="Noticed Person")
    other = create_user(http, "other.reader@example.com")

    async def write(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            for notice_id, recipient, body in (
                    ("about-them", other.id, "Noticed Person asked to delete a client"),
                    ("theirs", person.id, "your client is unused")):
                await conn.execute(insert(notices).values(
                    id=notice_id, recipient_id=recipient, kind="test", subject="s", body=body,
                    client_id=None, created_at=clock.now))

    run(http, write)
    erased = http.post(f"{USERS}/{person.id}/erase", headers=headers)
    assert erased.status_code == 200, erased.text
    everything = _every_text(http)
    assert "noticed person" not in everything.lower()
    assert f"{erased.json()['pseudonym']} asked to delete a client" in everything
    assert "your client is unused" not in everything


def test_a_user_may_export_themselves_and_no_one_else(http: TestClient) -> None:
    app = code_client(http)
    person = signed_in_person(http, "self.service@example.com")
    other = create_user(http, "someone.else@example.com")
    own = bearer(user_tokens(http, app)["access_token"])
    mine = http.get(f"{USERS}/{person.id}/export", headers=own)
    assert mine.status_code == 200, mine.text
    assert mine.json()["profile"]["email"] == "self.service@example.com"
    theirs = http.get(f"{USERS}/{other.id}/export", headers=own)
    assert theirs.status_code == 403
    assert http.post(f"{USERS}/{person.id}/erase", headers=own).status_code == 403
