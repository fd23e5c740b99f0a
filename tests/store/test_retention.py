"""Every table has a retention rule (store/retention.py), and every table housekeeping purges is
bounded: on the manual clock, one housekeeping round deletes the rows their rule says are done
and keeps the others."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Table, insert, select
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.governance.evidence import evidence_kept_from
from keystead.domain.keyring import KeyRing
from keystead.domain.tokens import USAGE_DAYS
from keystead.protocol.keys import generate_key, key_cipher
from keystead.store import governance_tables as gov_tables
from keystead.store import tables, webhook_tables
from keystead.store.retention import RETENTION, Bound
from keystead.web.app import housekeeping
from keystead.web.runtime import Runtime
from tests.conftest import SECRET_KEY
from tests.support.apps import run
from tests.support.clock import ManualClock

README = Path(__file__).resolve().parents[2] / "README.md"
USER_ID = "retention-user"
CLIENT_ID = "retention-client"


@dataclass(frozen=True)
class Row:
    """A row a test writes: ``kept`` says whether one housekeeping round must leave it."""

    table: Table
    values: dict[str, Any]
    kept: bool


@dataclass(frozen=True)
class Case:
    """The rows of one purged table (and what they need in other tables) around ``now``."""

    key: str  # the column that names each row
    rows: Callable[[datetime, Settings], list[Row]]
    needs: Callable[[datetime], list[tuple[Table, dict[str, Any]]]] = field(
        default=lambda _now: [])


def _session(digest: str, now: datetime, *, seen: timedelta, expires: timedelta) -> dict[str, Any]:
    return {"digest": digest, "user_id": USER_ID, "stage": "signed_in", "amr": ["pwd"],
            "data": {}, "created_at": now - timedelta(hours=1), "last_seen_at": now + seen,
            "expires_at": now + expires}


def sessions(now: datetime, settings: Settings) -> list[Row]:
    idle = timedelta(seconds=settings.session_idle_seconds)
    hour = timedelta(hours=1)
    return [
        Row(tables.sessions, _session("expired", now, seen=-timedelta(seconds=1),
                                      expires=-timedelta(seconds=1)), kept=False),
        Row(tables.sessions, _session("idle", now, seen=-idle - timedelta(seconds=1),
                                      expires=hour), kept=False),
        Row(tables.sessions, _session("live", now, seen=-idle + timedelta(seconds=1),
                                      expires=hour), kept=True),
    ]


def _revocation(digest: str, now: datetime, expires: timedelta) -> dict[str, Any]:
    return {"digest": digest, "client_id": CLIENT_ID, "subject_id": None, "scope": "",
            "issued_at": now - timedelta(hours=2), "expires_at": now + expires,
            "revoked_at": now - timedelta(hours=1)}


def revoked_tokens(now: datetime, _settings: Settings) -> list[Row]:
    return [Row(tables.revoked_tokens, _revocation("expired", now, -timedelta(seconds=1)),
                kept=False),
            Row(tables.revoked_tokens, _revocation("live", now, timedelta(seconds=1)),
                kept=True)]


def client_usage(now: datetime, settings: Settings) -> list[Row]:
    oldest = (now - timedelta(days=settings.usage_retention_days)).date()

    def day(name: str, when: Any) -> dict[str, Any]:
        return {"client_id": name, "day": when, "tokens_issued": 3}

    return [Row(tables.client_usage, day("too-old", oldest - timedelta(days=1)), kept=False),
            Row(tables.client_usage, day("oldest-kept", oldest), kept=True),
            Row(tables.client_usage, day("today", now.date()), kept=True)]


def client_evidence(now: datetime, _settings: Settings) -> list[Row]:
    oldest = evidence_kept_from(now)

    def day(name: str, when: Any) -> dict[str, Any]:
        return {"client_id": name, "day": when, "kind": "grant", "item": "client_credentials",
                "count": 2}

    return [Row(gov_tables.client_evidence, day("too-old", oldest - timedelta(days=1)), kept=False),
            Row(gov_tables.client_evidence, day("oldest-kept", oldest), kept=True),
            Row(gov_tables.client_evidence, day("today", now.date()), kept=True)]


def signing_keys(now: datetime, _settings: Settings) -> list[Row]:
    cipher = key_cipher(KeyRing.parse("", single=SECRET_KEY))

    def retired(retire_after: datetime) -> dict[str, Any]:
        key = generate_key(cipher)
        return {"kid": key.kid, "alg": key.alg, "private_jwk_encrypted":
                key.private_jwk_encrypted, "public_jwk": dict(key.public_jwk),
                "date_created": now - timedelta(days=2), "active": False,
                "retire_after": retire_after}

    return [Row(tables.signing_keys, retired(now), kept=False),
            Row(tables.signing_keys, retired(now + timedelta(seconds=1)), kept=True)]


def _family(family_id: str, now: datetime, *, expires: timedelta,
            revoked: bool = False) -> dict[str, Any]:
    return {"id": family_id, "client_id": CLIENT_ID, "user_id": USER_ID,
            "created_at": now - timedelta(days=1), "expires_at": now + expires,
            "revoked_at": now - timedelta(minutes=5) if revoked else None}


def _refresh(digest: str, family_id: str, now: datetime, *, expires: timedelta,
             used: bool = False) -> dict[str, Any]:
    return {"digest": digest, "family_id": family_id, "client_id": CLIENT_ID,
            "user_id": USER_ID, "scope": "openid", "auth_time": now - timedelta(days=1),
            "amr": ["pwd"], "issued_at": now - timedelta(hours=1), "expires_at": now + expires,
            "used_at": now - timedelta(minutes=1) if used else None}


def _code(digest: str, family_id: str, now: datetime, *, expires: timedelta,
          consumed: bool = False) -> dict[str, Any]:
    return {"digest": digest, "family_id": family_id, "client_id": CLIENT_ID,
            "user_id": USER_ID, "redirect_uri": "https://app.example.com/cb", "scope": "openid",
            "code_challenge": None, "nonce": None, "auth_time": now - timedelta(minutes=1),
            "amr": ["pwd"], "expires_at": now + expires, "session_digest": None,
            "consumed_at": now - timedelta(seconds=5) if consumed else None}


def grant_families(now: datetime, _settings: Settings) -> list[Row]:
    gone, later, day = timedelta(0), timedelta(seconds=1), timedelta(days=1)
    return [
        Row(tables.grant_families, _family("past-deadline", now, expires=gone), kept=False),
        Row(tables.grant_families, _family("revoked-spent", now, expires=day, revoked=True),
            kept=False),
        # Its refresh token expires now: the same round purges the token, then the family.
        Row(tables.grant_families, _family("revoked-token-expired", now, expires=day,
                                           revoked=True), kept=False),
        Row(tables.grant_families, _family("revoked-token-left", now, expires=day,
                                           revoked=True), kept=True),
        Row(tables.grant_families, _family("revoked-code-left", now, expires=day,
                                           revoked=True), kept=True),
        Row(tables.grant_families, _family("live", now, expires=later), kept=True),
    ]


def grant_family_artifacts(now: datetime) -> list[tuple[Table, dict[str, Any]]]:
    return [
        (tables.refresh_tokens, _refresh("r-expired", "revoked-token-expired", now,
                                         expires=timedelta(0))),
        (tables.refresh_tokens, _refresh("r-left", "revoked-token-left", now,
                                         expires=timedelta(days=1))),
        (tables.authorization_codes, _code("c-left", "revoked-code-left", now,
                                           expires=timedelta(seconds=30))),
    ]


def authorization_codes(now: datetime, _settings: Settings) -> list[Row]:
    return [
        Row(tables.authorization_codes, _code("expired", "f", now, expires=timedelta(0)),
            kept=False),
        Row(tables.authorization_codes, _code("expired-used", "f", now, expires=timedelta(0),
                                              consumed=True), kept=False),
        Row(tables.authorization_codes, _code("used", "f", now, expires=timedelta(seconds=30),
                                              consumed=True), kept=True),
        Row(tables.authorization_codes, _code("live", "f", now, expires=timedelta(seconds=30)),
            kept=True),
    ]


def refresh_tokens(now: datetime, _settings: Settings) -> list[Row]:
    return [
        Row(tables.refresh_tokens, _refresh("expired", "f", now, expires=timedelta(0)),
            kept=False),
        Row(tables.refresh_tokens, _refresh("expired-rotated", "f", now, expires=timedelta(0),
                                            used=True), kept=False),
        Row(tables.refresh_tokens, _refresh("rotated", "f", now, expires=timedelta(days=1),
                                            used=True), kept=True),
        Row(tables.refresh_tokens, _refresh("live", "f", now, expires=timedelta(days=1)),
            kept=True),
    ]


def saml_assertions(now: datetime, _settings: Settings) -> list[Row]:
    return [Row(tables.saml_assertions, {"digest": "expired",
                                         "expires_at": now - timedelta(seconds=1)}, kept=False),
            Row(tables.saml_assertions, {"digest": "live",
                                         "expires_at": now + timedelta(seconds=1)}, kept=True)]


def _kept_since(now: datetime, settings: Settings) -> datetime:
    return now - timedelta(days=settings.notice_retention_days)


def outbox(now: datetime, settings: Settings) -> list[Row]:
    since, second = _kept_since(now, settings), timedelta(seconds=1)

    def message(name: str, sent_at: datetime | None) -> dict[str, Any]:
        return {"id": name, "channel": "email", "payload": {}, "created_at": since - second,
                "attempts": 1, "next_attempt_at": since, "sent_at": sent_at}

    return [Row(gov_tables.outbox, message("sent-long-ago", since - second), kept=False),
            Row(gov_tables.outbox, message("sent-recently", since), kept=True),
            Row(gov_tables.outbox, message("never-sent", None), kept=True)]


def notices(now: datetime, settings: Settings) -> list[Row]:
    since, second = _kept_since(now, settings), timedelta(seconds=1)

    def notice(name: str, read_at: datetime | None, *, to: str = USER_ID) -> dict[str, Any]:
        return {"id": name, "recipient_id": to, "kind": "deletion.requested", "subject": "s",
                "body": "b", "client_id": None, "created_at": since - second, "read_at": read_at}

    return [Row(gov_tables.notices, notice("read-long-ago", since - second), kept=False),
            Row(gov_tables.notices, notice("read-recently", since), kept=True),
            Row(gov_tables.notices, notice("unread", None), kept=True),
            Row(gov_tables.notices, notice("of-a-deleted-user", None, to="gone"), kept=False)]


def deletion_requests(now: datetime, settings: Settings) -> list[Row]:
    since, second = _kept_since(now, settings), timedelta(seconds=1)

    def request(name: str, *, state: str, expires_at: datetime,
                decided_at: datetime | None = None) -> dict[str, Any]:
        return {"id": name, "client_id": CLIENT_ID, "client_name": "c",
                "requested_by": {"kind": "user", "id": USER_ID, "name": ""},
                "requested_at": since - timedelta(days=8), "expires_at": expires_at,
                "state": state, "decided_at": decided_at, "reason": ""}

    return [
        Row(gov_tables.deletion_requests, request("decided-long-ago", state="approved",
                                              expires_at=now, decided_at=since - second),
            kept=False),
        Row(gov_tables.deletion_requests, request("decided-recently", state="rejected",
                                              expires_at=now, decided_at=since), kept=True),
        Row(gov_tables.deletion_requests, request("expired-long-ago", state="pending",
                                              expires_at=since - second), kept=False),
        Row(gov_tables.deletion_requests, request("pending", state="pending",
                                              expires_at=now + second), kept=True),
    ]


def webhook_deliveries(now: datetime, settings: Settings) -> list[Row]:
    since = now - timedelta(days=settings.webhook_delivery_retention_days)

    def attempt(name: str, at: datetime) -> dict[str, Any]:
        return {"id": name, "endpoint_id": "endpoint", "event_id": "msg_1",
                "event_type": "client.created", "client_id": None, "attempt": 1,
                "status": "delivered", "status_code": 200, "latency_ms": 3, "error": "",
                "at": at, "body": {}}

    table = webhook_tables.webhook_deliveries
    return [Row(table, attempt("long-ago", since - timedelta(seconds=1)), kept=False),
            Row(table, attempt("recent", since), kept=True)]


def webhook_endpoint(now: datetime) -> list[tuple[Table, dict[str, Any]]]:
    return [(webhook_tables.webhook_endpoints, {
        "id": "endpoint", "url": "https://hooks.example.com/", "event_types": [],
        "description": "", "secret_sealed": "sealed", "created_at": now,
        "created_by": {"kind": "cli", "id": "test", "name": ""}, "enabled": True,
        "consecutive_failures": 0, "disabled_reason": ""})]


def alerts(now: datetime, settings: Settings) -> list[Row]:
    since, second = _kept_since(now, settings), timedelta(seconds=1)

    def alert(name: str, state: str, resolved_at: datetime | None) -> dict[str, Any]:
        return {"id": name, "organization_id": tables.ORG_ID, "rule": "audit-chain-broken",
                "client_id": None, "subject": name, "severity": "critical", "state": state,
                "count": 1, "summary": "s", "evidence": {}, "first_seen": since - second,
                "last_seen": since - second, "firing": False, "signature": "",
                "resolved_at": resolved_at}

    return [Row(gov_tables.alerts, alert("resolved-long-ago", "resolved", since - second),
                kept=False),
            Row(gov_tables.alerts, alert("resolved-recently", "resolved", since), kept=True),
            Row(gov_tables.alerts, alert("open-long-ago", "open", None), kept=True),
            Row(gov_tables.alerts, alert("acknowledged", "acknowledged", None), kept=True)]


CASES: dict[str, Case] = {
    "sessions": Case("digest", sessions),
    "revoked_tokens": Case("digest", revoked_tokens),
    "client_usage": Case("client_id", client_usage),
    "client_evidence": Case("client_id", client_evidence),
    "signing_keys": Case("kid", signing_keys),
    "grant_families": Case("id", grant_families, grant_family_artifacts),
    "authorization_codes": Case("digest", authorization_codes),
    "refresh_tokens": Case("digest", refresh_tokens),
    "saml_assertions": Case("digest", saml_assertions),
    "outbox": Case("id", outbox),
    "notices": Case("id", notices),
    "deletion_requests": Case("id", deletion_requests),
    "webhook_deliveries": Case("id", webhook_deliveries, webhook_endpoint),
    "alerts": Case("id", alerts),
}


def test_retention_every_table_declares_a_rule() -> None:
    assert set(RETENTION) == set(tables.metadata.tables)
    assert all(rule.rule for rule in RETENTION.values())


def test_retention_every_purged_table_is_shown_bounded() -> None:
    purged = {name for name, rule in RETENTION.items() if rule.bound is Bound.purged}
    assert set(CASES) == purged


def test_retention_readme_lists_every_table() -> None:
    text = README.read_text()
    section = text.split("### Retention", 1)[1].split("\n#", 1)[0]
    assert set(RETENTION) <= set(re.findall(r"`([a-z_]+)`", section))


def test_retention_usage_window_never_shorter_than_the_usage_summary() -> None:
    with pytest.raises(ValidationError):
        Settings(usage_retention_days=USAGE_DAYS - 1)


def _keys(http: TestClient, table: Table, key: str) -> set[str]:
    async def work(runtime: Runtime) -> set[str]:
        async with runtime.transaction() as conn:
            return {str(k) for k in (await conn.execute(select(table.c[key]))).scalars()}

    return run(http, work)


@pytest.mark.parametrize("name", sorted(CASES))
def test_retention_housekeeping_bounds_table(clocked: TestClient, clock: ManualClock,
                                             settings: Settings, name: str) -> None:
    case = CASES[name]
    table = tables.metadata.tables[name]
    before = _keys(clocked, table, case.key)
    rows = case.rows(clock.now, settings)
    assert {row.table for row in rows} == {table}

    async def write(runtime: Runtime) -> None:
        async with runtime.transaction() as conn:
            now = clock.now
            await conn.execute(insert(tables.users).values(
                id=USER_ID, organization_id=tables.ORG_ID, name="Retained",
                email=f"{uuid.uuid4().hex[:8]}@example.com", state="active",
                date_created=now, date_modified=now))
            for other, values in case.needs(now):
                await conn.execute(insert(other).values(**values))
            for row in rows:
                await conn.execute(insert(row.table).values(**row.values))

    run(clocked, write)
    kept = {str(row.values[case.key]) for row in rows if row.kept}
    assert _keys(clocked, table, case.key) == before | {str(r.values[case.key]) for r in rows}
    run(clocked, housekeeping)
    assert _keys(clocked, table, case.key) == before | kept
