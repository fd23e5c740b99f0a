"""Audit retention: housekeeping writes entries older than the policy's auditRetentionDays to a
signed archive file and removes them; the file and the remaining chain both verify, and a
changed file or a broken chain is caught. On the manual clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.audit import SqlAuditLog
from keystead.store.audit_archive import verify_archive
from keystead.store.audit_verify import verify_chain
from keystead.store.tables import audit_events
from keystead.web.app import housekeeping
from keystead.web.runtime import Runtime
from tests.people import create_user
from tests.support.apps import run
from tests.support.cli import keystead_cli
from tests.support.clients import Registered, client_body
from tests.support.clock import ManualClock
from tests.support.management import role_id
from tests.support.tokens import bearer, token

POLICY = "/api/v2/governance/policy"
CLIENTS = "/api/v2/oauth/clients"
DAY = 86_400


def _problems(http: TestClient) -> list[str]:
    async def work(runtime: Runtime) -> list[str]:
        async with runtime.transaction() as conn:
            return await verify_chain(SqlAuditLog(conn))

    return run(http, work)


def _seqs(http: TestClient) -> list[int]:
    async def work(runtime: Runtime) -> list[int]:
        async with runtime.transaction() as conn:
            return list((await conn.execute(select(audit_events.c.seq)
                                            .order_by(audit_events.c.seq))).scalars())

    return run(http, work)


def _cli(settings: Settings, *args: str) -> Any:
    return keystead_cli({"KEYSTEAD_DATA_DIR": str(settings.data_dir),
                         "KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
                         "KEYSTEAD_SECRET_KEY": settings.secret_key.get_secret_value()}, *args)


def _archives(settings: Settings) -> list[Path]:
    return sorted(settings.audit_archive_folder.glob("audit-*.jsonl"))


def _create_clients(http: TestClient, headers: dict[str, str], *names: str) -> None:
    role = role_id(http, headers, "Super Admin")
    for name in names:
        created = http.post(CLIENTS, headers=headers, json=client_body(role, name=name))
        assert created.status_code == 200, created.text


@pytest.fixture
def aged(http: TestClient, admin: Registered, clock: ManualClock) -> int:
    """Entries 40 days old, then newer ones, with auditRetentionDays 30; the last old seq."""
    headers = bearer(token(http, admin))
    set_ = http.put(POLICY, headers=headers, json={"auditRetentionDays": 30})
    assert set_.status_code == 200, set_.text
    _create_clients(http, headers, "old one", "old two")
    last_old = _seqs(http)[-1]
    clock.advance(40 * DAY)
    _create_clients(http, bearer(token(http, admin)), "new one")
    return last_old


def test_archive_moves_old_entries_to_a_signed_file_and_the_rest_verifies(
        http: TestClient, settings: Settings, aged: int) -> None:
    run(http, housekeeping)
    (archive,) = _archives(settings)
    assert _seqs(http)[0] == aged + 1
    assert _problems(http) == []
    lines = [json.loads(line) for line in archive.read_text().splitlines()]
    assert [line["type"] for line in lines] == (
        ["header"] + ["entry"] * aged + ["checkpoint", "signature"])
    assert lines[-2]["seq"] == aged
    verified = _cli(settings, "audit", "verify", "--archive", str(archive))
    assert verified.returncode == 0, verified.stderr
    assert "intact" in verified.stdout
    run(http, housekeeping)  # nothing more is due: no second file
    assert _archives(settings) == [archive]


def test_archive_a_changed_file_fails_verify(http: TestClient, settings: Settings,
                                             aged: int) -> None:
    run(http, housekeeping)
    (archive,) = _archives(settings)
    archive.write_text(archive.read_text().replace('"old one"', '"forged"'))
    verified = _cli(settings, "audit", "verify", "--archive", str(archive))
    assert verified.returncode == 1
    assert "the signature does not match" in verified.stderr
    assert aged  # the fixture archived something to change


def test_archive_a_removed_entry_line_fails_even_resigned_elsewhere(
        http: TestClient, settings: Settings, aged: int) -> None:
    run(http, housekeeping)
    (archive,) = _archives(settings)
    lines = archive.read_text().splitlines(keepends=True)
    archive.write_text("".join(lines[:2] + lines[3:]))  # one entry gone
    check = verify_archive(archive, settings.with_secret_key().key_ring())
    assert any("signature" in p for p in check.problems)
    assert any("missing" in p or "link broken" in p for p in check.problems)
    assert aged


def test_archive_refuses_a_broken_chain(http: TestClient, settings: Settings,
                                        aged: int) -> None:
    async def tamper(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            await conn.execute(update(audit_events).where(audit_events.c.seq == 2)
                               .values(action="noop"))

    run(http, tamper)
    run(http, housekeeping)
    assert _archives(settings) == []
    assert _seqs(http)[0] == 1  # nothing removed: the break stays visible
    assert "entry 2: contents do not match its hash (edited)" in _problems(http)
    assert aged


def test_archive_keeps_entries_when_the_policy_keeps_them(
        http: TestClient, headers: dict[str, str], settings: Settings, clock: ManualClock
) -> None:
    _create_clients(http, headers, "kept")
    clock.advance(4_000 * DAY)
    run(http, housekeeping)
    assert _archives(settings) == []
    assert _seqs(http)[0] == 1


def test_archive_then_erase_and_erase_then_archive_keep_verifying(
        http: TestClient, admin: Registered, settings: Settings, clock: ManualClock) -> None:
    headers = bearer(token(http, admin))
    assert http.put(POLICY, headers=headers, json={"auditRetentionDays": 30}).status_code == 200
    early = create_user(http, "early.leaver@example.com")
    late = create_user(http, "late.leaver@example.com")
    # Erased while its entries are all in the database, then archived with its erasure.
    assert http.post(f"/api/v2/users/{early.id}/erase", headers=headers).status_code == 200
    clock.advance(20 * DAY)
    # Erased with some entries about to be archived and its erasure entry staying behind.
    clock.advance(15 * DAY)
    headers = bearer(token(http, admin))
    assert http.post(f"/api/v2/users/{late.id}/erase", headers=headers).status_code == 200
    run(http, housekeeping)
    archives = _archives(settings)
    assert len(archives) == 1
    checkpoint = json.loads(archives[0].read_text().splitlines()[-2])
    assert len(checkpoint["erasures"]) == 1  # the late erasure's marks, its entry kept
    assert _problems(http) == []
    verified = _cli(settings, "audit", "verify", *(a for p in archives
                                                   for a in ("--archive", str(p))))
    assert verified.returncode == 0, verified.stderr


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"auditRetentionDays": 5}, "auditRetentionDays", id="audit-too-short"),
    pytest.param({"auditRetentionDays": "30"}, "auditRetentionDays", id="audit-not-a-number"),
    pytest.param({"deliveryRetentionDays": 0}, "deliveryRetentionDays", id="deliveries-zero"),
    pytest.param({"evidenceRetentionDays": 30}, "evidenceRetentionDays",
                 id="evidence-under-lookback"),
    pytest.param({"unusedLookbackDays": 200, "evidenceRetentionDays": 100},
                 "evidenceRetentionDays", id="evidence-under-new-lookback"),
])
def test_retention_policy_refuses_bad_values(http: TestClient, headers: dict[str, str],
                                             body: dict[str, Any], field: str) -> None:
    before = http.get(POLICY, headers=headers).json()
    response = http.put(POLICY, headers=headers, json=body)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert http.get(POLICY, headers=headers).json() == before


def test_retention_policy_reads_back_and_null_restores_the_default(
        http: TestClient, headers: dict[str, str]) -> None:
    document = http.get(POLICY, headers=headers).json()
    assert (document["auditRetentionDays"], document["evidenceRetentionDays"],
            document["deliveryRetentionDays"]) == (None, 365, None)
    changed = http.put(POLICY, headers=headers, json={
        "auditRetentionDays": 400, "evidenceRetentionDays": 120, "deliveryRetentionDays": 7})
    assert changed.status_code == 200, changed.text
    assert changed.json()["auditRetentionDays"] == 400
    reset = http.put(POLICY, headers=headers, json={"auditRetentionDays": None})
    assert reset.json()["auditRetentionDays"] is None
    assert reset.json()["evidenceRetentionDays"] == 120
