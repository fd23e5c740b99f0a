"""The audit log is append-only and hash-chained: tampering is detected, appends never fork the
chain, and an admin change commits together with its entry or not at all."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.audit import GENESIS_HASH, AuditEvent, chain_hash
from keystead.store.audit import SqlAuditLog
from keystead.store.audit_verify import verify_chain
from keystead.store.tables import ORG_ID, audit_events, audit_head
from keystead.web.app import create_app
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.cli import keystead_cli
from tests.support.clients import Registered, bootstrap, client_body
from tests.support.management import role_id
from tests.support.tokens import bearer, token

CLIENTS = "/api/v2/oauth/clients"
ROLES = "/api/v2/authorization/roles"


def _problems(http: TestClient) -> list[str]:
    async def work(runtime: Runtime) -> list[str]:
        async with runtime.transaction() as conn:
            return await verify_chain(SqlAuditLog(conn))

    return run(http, work)


def _execute(http: TestClient, *statements: Any) -> None:
    async def work(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            for statement in statements:
                await conn.execute(statement)

    run(http, work)


def _rows(http: TestClient) -> list[Any]:
    async def work(runtime: Runtime) -> list[Any]:
        async with runtime.transaction() as conn:
            return list(await conn.execute(select(audit_events).order_by(audit_events.c.seq)))

    return run(http, work)


def _head(http: TestClient) -> tuple[int, str]:
    async def work(runtime: Runtime) -> tuple[int, str]:
        async with runtime.transaction() as conn:
            return await SqlAuditLog(conn).head()

    return run(http, work)


def _verify_cli(settings: Settings) -> tuple[int, str, str]:
    result = keystead_cli({"KEYSTEAD_DATA_DIR": str(settings.data_dir),
                           "KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
                           "KEYSTEAD_SECRET_KEY": settings.secret_key.get_secret_value()},
                          "audit", "verify")
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def chain(http: TestClient, admin: Registered) -> None:
    """Five entries: the admin's bootstrap, three client creations and a role creation."""
    headers = bearer(token(http, admin))
    super_admin = role_id(http, headers, "Super Admin")
    for name in ("alpha", "bravo", "charlie"):
        created = http.post(CLIENTS, json=client_body(super_admin, name=name), headers=headers)
        assert created.status_code == 200, created.text
    role = http.post(ROLES, json={"name": "Auditor", "permissions": ["audits:audit:view"]},
                     headers=headers)
    assert role.status_code == 200, role.text
    assert [r.seq for r in _rows(http)] == [1, 2, 3, 4, 5]


@pytest.mark.usefixtures("chain")
def test_verify_chain_passes_on_an_intact_log(http: TestClient, settings: Settings) -> None:
    assert _problems(http) == []
    code, out, _err = _verify_cli(settings)
    assert (code, out.strip()) == (0, f"audit log intact: {len(_rows(http))} entries checked")


@pytest.mark.usefixtures("chain")
def test_audit_entries_link_each_to_the_previous_hash(http: TestClient) -> None:
    rows = _rows(http)
    assert rows[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert _head(http) == (rows[-1].seq, rows[-1].hash)


@pytest.mark.parametrize(("column", "value"), [
    pytest.param("action", "read", id="action"),
    pytest.param("actor_id", "someone-else", id="actor"),
    pytest.param("entity_name", "renamed", id="target"),
    pytest.param("result", "failure", id="result"),
    pytest.param("remote_ip", "10.9.9.9", id="remote-ip"),
    pytest.param("details", {"settings": {"name": "forged"}}, id="details"),
    pytest.param("request_id", "someone-elses-request", id="request-id"),
    pytest.param("request_id", "", id="request-id-cleared"),
    pytest.param("actor_divisions", ["another-division"], id="actor-divisions"),
    pytest.param("actor_divisions", [], id="actor-divisions-cleared"),
])
@pytest.mark.usefixtures("chain")
def test_verify_chain_detects_an_edited_entry(http: TestClient, column: str,
                                              value: object) -> None:
    entry = _rows(http)[2]  # a client created through the API: both new fields are set
    assert entry.request_id
    assert entry.actor_divisions
    _execute(http, update(audit_events).where(audit_events.c.seq == 3).values({column: value}))
    problems = _problems(http)
    assert problems == ["entry 3: contents do not match its hash (edited)"]


@pytest.mark.usefixtures("chain")
def test_verify_chain_detects_an_edited_timestamp(http: TestClient) -> None:
    moved = _rows(http)[1].timestamp - timedelta(days=1)
    _execute(http, update(audit_events).where(audit_events.c.seq == 2).values(timestamp=moved))
    assert _problems(http) == ["entry 2: contents do not match its hash (edited)"]


@pytest.mark.usefixtures("chain")
def test_audit_verify_cli_exits_1_naming_the_edited_entry(http: TestClient,
                                                          settings: Settings) -> None:
    _execute(http, update(audit_events).where(audit_events.c.seq == 4).values(action="noop"))
    code, out, err = _verify_cli(settings)
    assert code == 1
    assert "intact" not in out
    assert "entry 4: contents do not match its hash (edited)" in err


@pytest.mark.parametrize(("seq", "named"), [
    pytest.param(1, "entries 1..1 are missing", id="first"),
    pytest.param(3, "entries 3..3 are missing", id="middle"),
    pytest.param(5, "the newest entries after 4 are missing", id="newest"),
])
@pytest.mark.usefixtures("chain")
def test_verify_chain_detects_a_removed_entry(http: TestClient, settings: Settings, seq: int,
                                              named: str) -> None:
    _execute(http, delete(audit_events).where(audit_events.c.seq == seq))
    assert any(named in problem for problem in _problems(http))
    code, _out, err = _verify_cli(settings)
    assert code == 1
    assert named in err


@pytest.mark.usefixtures("chain")
def test_verify_chain_detects_a_forged_previous_hash(http: TestClient) -> None:
    # A forger who rewrites entry 3 consistently (its own hash recomputed) still breaks the links.
    row = _rows(http)[2]
    event = AuditEvent(timestamp=row.timestamp, actor_kind=row.actor_kind, actor_id=row.actor_id,
                       actor_name=row.actor_name, action="noop", entity_type=row.entity_type,
                       entity_id=row.entity_id, entity_name=row.entity_name,
                       result=row.result, remote_ip=row.remote_ip, details=row.details)
    forged = chain_hash(GENESIS_HASH, 3, event)
    _execute(http, update(audit_events).where(audit_events.c.seq == 3).values(
        action="noop", prev_hash=GENESIS_HASH, hash=forged))
    problems = _problems(http)
    assert "entry 3: previous-hash link broken" in problems
    assert "entry 4: previous-hash link broken" in problems


@pytest.mark.usefixtures("chain")
def test_verify_chain_detects_reordered_entries(http: TestClient) -> None:
    swap = audit_events.c.seq
    _execute(http, update(audit_events).where(swap == 2).values(seq=-2),
             update(audit_events).where(swap == 3).values(seq=2),
             update(audit_events).where(swap == -2).values(seq=3))
    problems = _problems(http)
    assert any(p.startswith("entry 2:") for p in problems)
    assert any(p.startswith("entry 3:") for p in problems)


def test_audit_chain_concurrent_api_changes_never_fork(http: TestClient,
                                                       admin: Registered) -> None:
    headers = bearer(token(http, admin))
    super_admin = role_id(http, headers, "Super Admin")
    # One intruder per attempt: repeats of one client, source and reason in an interval are
    # written as one aggregated entry, and this test wants every failure to append.
    intruders = [Registered(str(uuid.uuid4()), "wrong-" + admin.secret) for _ in range(8)]

    def create(index: int) -> int:
        body = client_body(super_admin, name=f"service {index}")
        return http.post(CLIENTS, json=body, headers=headers).status_code

    def fail_auth(index: int) -> int:
        return http.post("/oauth/token", data={"grant_type": "client_credentials"},
                         auth=intruders[index].basic_auth).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, range(16)))
        failed = list(pool.map(fail_auth, range(8)))
    assert created == [200] * 16
    assert failed == [401] * 8
    rows = _rows(http)
    assert [r.seq for r in rows] == list(range(1, 1 + 1 + 16 + 8))
    assert len({r.prev_hash for r in rows}) == len(rows)
    assert _problems(http) == []


def test_audit_chain_concurrent_mixed_writers_never_fork(http: TestClient,
                                                         admin: Registered) -> None:
    # Management changes and failed authentications race on one chain at the same time.
    headers = bearer(token(http, admin))
    super_admin = role_id(http, headers, "Super Admin")
    # One intruder per attempt, so that each failure appends (repeats are aggregated).
    intruders = [Registered(str(uuid.uuid4()), "wrong-" + admin.secret) for _ in range(8)]
    start = threading.Barrier(8)

    def work(index: int) -> int:
        start.wait()
        if index % 2:
            return http.post("/oauth/token", data={"grant_type": "client_credentials"},
                             auth=intruders[index].basic_auth).status_code
        body = client_body(super_admin, name=f"service {index}")
        return http.post(CLIENTS, json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(work, range(8)))
    assert statuses == [200, 401] * 4
    assert [r.seq for r in _rows(http)] == list(range(1, 10))
    assert _problems(http) == []


def test_audit_appends_do_not_stall_token_issuance(http: TestClient, admin: Registered) -> None:
    # An admin change holds the write lock while it appends its entry; token issuance on the
    # same server must wait for it without blocking the event loop the change needs to finish.
    headers = bearer(token(http, admin))
    super_admin = role_id(http, headers, "Super Admin")
    start = threading.Barrier(8)

    def work(index: int) -> tuple[int, float]:
        start.wait()
        began = time.monotonic()
        if index % 2:
            status = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=admin.basic_auth).status_code
        else:
            body = client_body(super_admin, name=f"service {index}")
            status = http.post(CLIENTS, json=body, headers=headers).status_code
        return status, time.monotonic() - began

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    assert [status for status, _ in results] == [200] * 8
    assert max(elapsed for _, elapsed in results) < 2.5  # the busy timeout is 5 s
    assert _problems(http) == []


def test_audit_chain_concurrent_transactions_append_in_sequence(http: TestClient) -> None:
    async def append_one(runtime: Runtime, index: int) -> None:
        async with runtime.transaction() as conn:
            await SqlAuditLog(conn).append(AuditEvent(
                timestamp=runtime.clock(), actor_kind="system", actor_id="test",
                actor_name="test", action="probe", entity_type="Probe",
                entity_id=str(index), details={"index": index}))

    async def work(runtime: Runtime) -> None:
        await asyncio.gather(*(append_one(runtime, i) for i in range(20)))

    run(http, work)
    rows = _rows(http)
    assert [r.seq for r in rows] == list(range(1, 21))
    assert sorted(int(r.entity_id) for r in rows) == list(range(20))
    assert _problems(http) == []


@pytest.mark.parametrize(("method", "path", "body"), [
    pytest.param("POST", CLIENTS, {"name": "", "authorizedGrantType": "CLIENT-CREDENTIALS"},
                 id="client-rule-broken"),
    pytest.param("POST", ROLES, {"name": "Super Admin", "permissions": []}, id="role-duplicate"),
    pytest.param("POST", ROLES, {"name": "x", "permissions": ["nope:x:y"]}, id="role-invalid"),
    pytest.param("POST", "/api/v2/oauth/scopes", {"id": "oauth"}, id="scope-duplicate"),
    pytest.param("DELETE", CLIENTS + "/00000000-0000-4000-8000-00000000dead", None,
                 id="client-unknown"),
])
def test_audit_refused_change_leaves_no_entry(http: TestClient, admin: Registered, method: str,
                                              path: str, body: dict[str, Any] | None) -> None:
    headers = bearer(token(http, admin))
    before = _head(http)
    response = http.request(method, path, json=body, headers=headers)
    assert response.status_code in (400, 404, 409), response.text
    assert _head(http) == before


@pytest.fixture
def lenient(settings: Settings) -> Iterator[TestClient]:
    """The app with server errors answered as 500 (as a real server does), not raised."""
    app = create_app(settings, housekeeping_interval=False)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def test_audit_change_fails_after_its_entry_leaves_neither(
        lenient: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = bootstrap(lenient, name="ops", roles=["Super Admin"])
    headers = bearer(token(lenient, admin))
    before_head, before_rows = _head(lenient), len(_rows(lenient))
    original = SqlAuditLog.append

    async def append_then_fail(self: SqlAuditLog, event: AuditEvent) -> None:
        await original(self, event)
        raise RuntimeError("the transaction fails after the entry was written")

    monkeypatch.setattr(SqlAuditLog, "append", append_then_fail)
    role = lenient.post(ROLES, json={"name": "Auditor", "permissions": ["audits:audit:view"]},
                        headers=headers)
    scope = lenient.post("/api/v2/oauth/scopes", json={"id": "presence:manage"},
                         headers=headers)
    monkeypatch.undo()
    assert (role.status_code, scope.status_code) == (500, 500)
    assert (_head(lenient), len(_rows(lenient))) == (before_head, before_rows)
    listed = lenient.get(ROLES, params={"name": "Auditor"}, headers=headers).json()
    assert listed["entities"] == []
    assert lenient.get("/api/v2/oauth/scopes/presence:manage", headers=headers).status_code == 404


def test_audit_append_failure_leaves_no_change(lenient: TestClient) -> None:
    admin = bootstrap(lenient, name="ops", roles=["Super Admin"])
    victim = bootstrap(lenient, name="victim", roles=["OAuth Admin"])
    headers = bearer(token(lenient, admin))
    super_admin = role_id(lenient, headers, "Super Admin")
    seq, last_hash = _head(lenient)
    _execute(lenient, delete(audit_head))  # the chain cannot be extended any more
    responses = [
        lenient.post(CLIENTS, json=client_body(super_admin, name="orphan"), headers=headers),
        lenient.delete(f"{CLIENTS}/{victim.id}", headers=headers),
        lenient.post(ROLES, json={"name": "Auditor", "permissions": ["audits:audit:view"]},
                     headers=headers),
        lenient.post(f"{CLIENTS}/{victim.id}/secret", json=None, headers=headers),
    ]
    _execute(lenient, insert(audit_head).values(organization_id=ORG_ID, seq=seq,
                                                last_hash=last_hash))
    assert [r.status_code for r in responses] == [500, 500, 500, 500]
    names = [c["name"] for c in lenient.get(CLIENTS, headers=headers).json()["entities"]]
    assert sorted(names) == ["ops", "victim"]
    assert lenient.get(ROLES, params={"name": "Auditor"}, headers=headers).json()["total"] == 0
    assert token(lenient, victim)  # neither deleted nor rotated
    assert _problems(lenient) == []

