"""Migrations: the schema they build is the one the code declares, and upgrading an existing
store keeps what it must (0004: revocations kept, recorded tokens turned into usage counts)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy import Connection, inspect, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.migrate import alembic_config, upgrade
from keystead.store.tables import ORG_ID, metadata
from keystead.web.app import create_app
from tests.conftest import SECRET_KEY, STORES, _seed
from tests.support.cli import keystead_cli
from tests.support.clients import bootstrap, client_body
from tests.support.management import role_id
from tests.support.postgres import throwaway_database, url_of
from tests.support.tokens import bearer, token


@pytest.fixture(params=STORES)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, on each store."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'keystead.db'}"
        return
    with throwaway_database("keystead_migrate") as name:
        yield url_of(name)


def _sync(url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                return await conn.run_sync(work)
        finally:
            await engine.dispose()
    return asyncio.run(run())


def test_migrated_schema_is_the_declared_one(empty_database: str) -> None:
    upgrade(empty_database)

    def differences(conn: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    assert _sync(empty_database, differences) == []


def _naive_utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
               second: int = 0, microsecond: int = 0) -> datetime:
    """What both stores keep: UTC without a zone."""
    return datetime(year, month, day, hour, minute, second, microsecond,
                    tzinfo=UTC).replace(tzinfo=None)


def test_upgrade_to_0004_keeps_revocations_and_counts_recorded_tokens(
        empty_database: str) -> None:
    command.upgrade(alembic_config(empty_database), "0003")
    late = _naive_utc(2026, 11, 20, 23, 59, 59, 999999)
    rows = [  # digest, client, issued, revoked (naive UTC, as the stores keep it)
        ("a" * 64, "client-a", _naive_utc(2026, 11, 20, 10), None),
        ("b" * 64, "client-a", late, late),
        ("c" * 64, "client-a", _naive_utc(2026, 11, 21), None),
        ("d" * 64, "client-b", _naive_utc(2026, 11, 21, 8), None),
    ]

    def record(conn: Connection) -> None:
        for digest, client, issued, revoked in rows:
            conn.execute(text(
                "INSERT INTO tokens (digest, client_id, scope, issued_at, expires_at, revoked_at)"
                " VALUES (:d, :c, 'oauth', :i, :e, :r)"),
                {"d": digest, "c": client, "i": issued, "e": _naive_utc(2026, 12, 1), "r": revoked})

    _sync(empty_database, record)
    upgrade(empty_database)

    def read(conn: Connection) -> tuple[list[Any], list[Any], bool]:
        revoked = conn.execute(text("SELECT digest, client_id FROM revoked_tokens")).all()
        usage = conn.execute(text(
            "SELECT client_id, day, tokens_issued FROM client_usage ORDER BY client_id, day")).all()
        old_table = conn.execute(text("SELECT count(*) FROM tokens")).scalar_one() \
            if conn.dialect.has_table(conn, "tokens") else None
        return list(revoked), list(usage), old_table is None

    revoked, usage, old_table_gone = _sync(empty_database, read)
    assert [tuple(r) for r in revoked] == [("b" * 64, "client-a")]
    assert [(c, str(d), n) for c, d, n in usage] == [
        ("client-a", "2026-11-20", 2), ("client-a", "2026-11-21", 1),
        ("client-b", "2026-11-21", 1)]
    assert old_table_gone


def test_upgrade_to_0007_gives_existing_families_a_deadline_and_downgrades(
        empty_database: str) -> None:
    command.upgrade(alembic_config(empty_database), "0004")
    created = _naive_utc(2026, 11, 1, 12)

    def authorize(conn: Connection) -> None:
        conn.execute(text("INSERT INTO organizations (id, name) VALUES ('org', 'Org')"))
        conn.execute(text(
            "INSERT INTO users (id, organization_id, name, email, state, failed_logins, "
            "date_created, date_modified) VALUES ('u', 'org', 'U', 'u@example.com', 'active', 0,"
            " :t, :t)"), {"t": created})
        conn.execute(text("INSERT INTO grant_families (id, client_id, user_id, created_at) "
                          "VALUES ('f', 'c', 'u', :t)"), {"t": created})

    _sync(empty_database, authorize)
    upgrade(empty_database)

    def deadline(conn: Connection) -> Any:
        return conn.execute(text("SELECT expires_at FROM grant_families")).scalar_one()

    found = _sync(empty_database, deadline)
    # SQLite hands the text back; both say 90 days after the family was created.
    assert str(found).replace("T", " ").startswith("2027-01-30 12:00:00")
    command.downgrade(alembic_config(empty_database), "0004")

    def columns(conn: Connection) -> list[str]:
        return [c["name"] for c in inspect(conn).get_columns("grant_families")]

    assert "expires_at" not in _sync(empty_database, columns)


def test_upgrade_to_0008_registers_each_clients_auth_method_and_downgrades(
        empty_database: str) -> None:
    command.upgrade(alembic_config(empty_database), "0004")

    def add(conn: Connection) -> None:
        conn.execute(text("INSERT INTO organizations (id, name) VALUES ('org', 'org')"))
        for client_id, client_type in (("web", "confidential"), ("spa", "public")):
            conn.execute(text(
                "INSERT INTO clients (id, organization_id, name, description, grant_types, "
                "scopes, redirect_uris, token_ttl_seconds, state, token_format, require_pkce, "
                "client_type, owner_contact, date_created, date_modified, created_by, "
                "modified_by) VALUES (:id, 'org', :id, '', '[\"CODE\"]', '[]', '[]', 3600, "
                "'active', 'opaque', :pkce, :type, '', :now, :now, '{}', '{}')"),
                {"id": client_id, "type": client_type, "now": _naive_utc(2026, 11, 1),
                 "pkce": True})

    _sync(empty_database, add)
    command.upgrade(alembic_config(empty_database), "0008")

    def methods(conn: Connection) -> dict[str, str]:
        return {str(row[0]): str(row[1]) for row in conn.execute(text(
            "SELECT id, token_endpoint_auth_method FROM clients"))}

    # Public clients have no secret; confidential ones get RFC 7591's default.
    assert _sync(empty_database, methods) == {"web": "client_secret_basic", "spa": "none"}
    command.downgrade(alembic_config(empty_database), "0004")

    def columns(conn: Connection) -> set[str]:
        return {c["name"] for c in inspect(conn).get_columns("clients")}

    assert "token_endpoint_auth_method" not in _sync(empty_database, columns)


PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


def _users_and_providers(url: str, formats: list[str]) -> None:
    """At 0004: Grace with an external id, Ada with none, and a provider per format."""
    now = _naive_utc(2026, 12, 1)

    def record(conn: Connection) -> None:
        conn.execute(text("INSERT INTO organizations (id, name) VALUES ('org', 'org')"))
        for user_id, email, external_id in (("u-grace", "grace@example.com", "emp-42"),
                                            ("u-ada", "ada@example.com", None)):
            conn.execute(text(
                "INSERT INTO users (id, organization_id, name, email, state, failed_logins, "
                "date_created, date_modified, external_id) VALUES (:i, 'org', :e, :e, 'active', "
                "0, :n, :n, :x)"), {"i": user_id, "e": email, "n": now, "x": external_id})
        for index, name_format in enumerate(formats):
            conn.execute(text(
                "INSERT INTO identity_providers (id, organization_id, name, issuer_uri, "
                "certificates, relying_party_identifier, name_identifier_format, disabled, "
                "date_created, date_modified) VALUES (:i, 'org', :i, :u, '[]', 'rp', :f, :d, "
                ":n, :n)"), {"i": f"idp-{index}", "u": f"https://idp{index}.example.com",
                             "f": name_format, "d": False, "n": now})

    _sync(url, record)


def _links(url: str) -> list[tuple[str, str, str]]:
    def read(conn: Connection) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in conn.execute(text(
            "SELECT user_id, identity_provider_id, name_id FROM user_identity_links "
            "ORDER BY user_id")).all()]

    return list(_sync(url, read))


def test_upgrade_to_0005_links_external_ids_to_a_single_persistent_provider(
        empty_database: str) -> None:
    command.upgrade(alembic_config(empty_database), "0004")
    _users_and_providers(empty_database, [PERSISTENT])
    upgrade(empty_database)
    # Grace keeps the one provider that could name her by her external id; Ada (e-mail only)
    # is linked to nothing: an admin links her.
    assert _links(empty_database) == [("u-grace", "idp-0", "emp-42")]

    def provider(conn: Connection) -> tuple[Any, Any]:
        row = conn.execute(text("SELECT vouches_for_mfa, mfa_authn_context_classes "
                                "FROM identity_providers")).one()
        return bool(row[0]), row[1]

    vouches, classes = _sync(empty_database, provider)
    assert vouches is False
    assert "https://refeds.org/profile/mfa" in str(classes)


@pytest.mark.parametrize("formats", [
    pytest.param([PERSISTENT, PERSISTENT], id="two-providers"),
    pytest.param([EMAIL_FORMAT], id="an-email-format-provider"),
    pytest.param([], id="no-provider"),
])
def test_upgrade_to_0005_links_nothing_when_the_provider_is_not_certain(
        empty_database: str, formats: list[str]) -> None:
    command.upgrade(alembic_config(empty_database), "0004")
    _users_and_providers(empty_database, formats)
    upgrade(empty_database)
    assert _links(empty_database) == []


def test_downgrade_from_0005_drops_the_links(empty_database: str) -> None:
    upgrade(empty_database)
    command.downgrade(alembic_config(empty_database), "0004")

    def tables(conn: Connection) -> tuple[bool, list[str]]:
        columns = [c["name"] for c in sa_inspect(conn).get_columns("identity_providers")]
        return sa_inspect(conn).has_table("user_identity_links"), columns

    has_links, columns = _sync(empty_database, tables)
    assert not has_links
    assert "vouches_for_mfa" not in columns
    assert "mfa_authn_context_classes" not in columns


def _hash_before_0009(previous: str, seq: int, entry: dict[str, Any]) -> str:
    """An entry's hash as Keystead computed it before 0009 (a frozen copy of chain_hash then)."""
    canonical = json.dumps({
        "seq": seq, "ts": entry["timestamp"].replace(tzinfo=UTC).isoformat(timespec="microseconds"),
        "actor": [entry["actor_kind"], entry["actor_id"], entry["actor_name"]],
        "action": entry["action"],
        "entity": [entry["entity_type"], entry["entity_id"], entry["entity_name"]],
        "result": entry["result"], "ip": entry["remote_ip"], "details": entry["details"],
    }, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


def _write_entries_before_0009(url: str) -> None:
    """Two audit entries as a 0004 Keystead wrote them (no request id, no divisions)."""
    entries = [
        {"actor_kind": "cli", "actor_id": "cli", "actor_name": "cli", "action": "create",
         "entity_type": "OAuthClient", "entity_id": "c-1", "entity_name": "old client",
         "result": "success", "remote_ip": "", "details": {"name": "old client"},
         "timestamp": _naive_utc(2026, 11, 1, 10, 0, 0, 123456)},
        {"actor_kind": "client", "actor_id": "c-1", "actor_name": "", "action": "authenticate",
         "entity_type": "OAuthClient", "entity_id": "c-1", "entity_name": "",
         "result": "failure", "remote_ip": "10.0.0.1", "details": {"reason": "wrong secret"},
         "timestamp": _naive_utc(2026, 11, 2, 11)},
    ]

    def write(conn: Connection) -> None:
        previous = conn.execute(text("SELECT last_hash FROM audit_head")).scalar_one()
        for seq, entry in enumerate(entries, start=1):
            digest = _hash_before_0009(previous, seq, entry)
            conn.execute(text(
                "INSERT INTO audit_events (organization_id, seq, id, timestamp, actor_kind, "
                "actor_id, actor_name, action, entity_type, entity_id, entity_name, result, "
                "remote_ip, details, prev_hash, hash) VALUES (:org, :seq, :id, :timestamp, "
                ":actor_kind, :actor_id, :actor_name, :action, :entity_type, :entity_id, "
                ":entity_name, :result, :remote_ip, :details, :prev, :hash)"),
                entry | {"org": ORG_ID, "seq": seq, "id": str(uuid.uuid4()),
                         "details": json.dumps(entry["details"]), "prev": previous,
                         "hash": digest})
            previous = digest
        conn.execute(text("UPDATE audit_head SET seq = :seq, last_hash = :hash"),
                     {"seq": len(entries), "hash": previous})

    _sync(url, write)


def test_upgrade_to_0009_keeps_the_audit_chain_verifiable(empty_database: str,
                                                          tmp_path: Path) -> None:
    command.upgrade(alembic_config(empty_database), "0004")
    asyncio.run(_seed(empty_database))
    _write_entries_before_0009(empty_database)
    upgrade(empty_database)
    settings = Settings(data_dir=tmp_path, database_url=empty_database,
                        secret_key=SecretStr(SECRET_KEY), issuer="http://testserver")
    env = {"KEYSTEAD_DATA_DIR": str(tmp_path), "KEYSTEAD_DATABASE_URL": empty_database,
           "KEYSTEAD_SECRET_KEY": SECRET_KEY}
    with TestClient(create_app(settings, housekeeping_interval=False)) as http:
        admin = bootstrap(http, name="ops", roles=["Super Admin"])
        headers = bearer(token(http, admin))
        created = http.post("/api/v2/oauth/clients", headers=headers | {
            "ININ-Correlation-Id": "after-0009"}, json=client_body(
                role_id(http, headers, "Super Admin")))
        assert created.status_code == 200, created.text

    def entries(conn: Connection) -> list[Any]:
        return list(conn.execute(text(
            "SELECT seq, request_id, actor_divisions FROM audit_events ORDER BY seq")))

    rows = _sync(empty_database, entries)
    assert [(r.seq, r.request_id) for r in rows[:2]] == [(1, ""), (2, "")]
    (newest,) = [r for r in rows if r.request_id == "after-0009"]
    assert newest.actor_divisions  # stored as JSON: a list on PostgreSQL, text on SQLite
    verified = keystead_cli(env, "audit", "verify")
    assert verified.returncode == 0
    assert verified.stdout.strip().startswith("audit log intact")

    # The new fields are covered for the entries that have them: editing one is detected.
    _sync(empty_database, lambda conn: conn.execute(text(
        "UPDATE audit_events SET request_id = 'forged' WHERE seq = :seq"), {"seq": newest.seq}))
    tampered = keystead_cli(env, "audit", "verify")
    assert tampered.returncode == 1
    assert f"entry {newest.seq}: contents do not match its hash (edited)" in tampered.stderr
