"""The token hot path on SQLite: the stdlib driver on the event-loop thread, no ORM, no pool.

A primary-key read costs ~4 µs this way against ~470 µs through SQLAlchemy's async adapter
(bench/README.md): the difference between meeting the token budget and missing it tenfold.
Reads never wait in WAL mode. A write that finds the lock taken (by a management transaction
on another connection) sleeps asynchronously and retries, for at most the busy timeout: a
blocking wait here would stall the event loop and with it the very transaction holding the lock.

What a read returned is kept until anything in the database changes: ``PRAGMA data_version``
tells, in ~1 µs, whether any other connection (another worker, the management API, a CLI)
has committed since, and this store's own writes drop the kept reads themselves. So a disable,
deletion, rotation or revocation is seen at the very next request, with no read at all while
nothing changes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from keystead.domain.audit import AuditEvent
from keystead.domain.errors import StoreUnavailableError
from keystead.domain.tokens import (
    LAST_USED_GRANULARITY,
    ClientRecord,
    FamilyState,
    LiveState,
    SecretRecord,
    TokenClaims,
)
from keystead.store.audit import chain_entry
from keystead.store.kept_reads import KeptReads, keep
from keystead.store.tables import ORG_ID, audit_events, audit_head
from keystead.store.types import utc_text

MAX_RETRY_DELAY_SECONDS = 0.02
WAL_LIMIT_BYTES = 64 * 1024 * 1024
T = TypeVar("T")
# A token's live state is its client's record (kept once for all the client's tokens) and its
# own revocation (one small primary-key read for a token not seen before).
REVOKED_QUERY = "SELECT revoked_at FROM revoked_tokens WHERE digest = ?"
CLIENT_QUERY = """
SELECT c.id, c.name, c.state, c.grant_types, c.scopes, c.token_ttl_seconds, c.token_format,
       c.date_last_used, c.tokens_valid_after, c.client_type, c.token_endpoint_auth_method,
       (SELECT json_group_array(json_array(r.role_id, r.division_id))
          FROM client_role_divisions r WHERE r.client_id = c.id),
       (SELECT json_group_array(json_array(s.id, s.digest, s.date_expires, s.date_last_used,
                                           s.key_id))
          FROM client_secrets s WHERE s.client_id = c.id),
       (SELECT json_group_array(json_array(o.id, o.resource_server))
          FROM scopes o WHERE o.organization_id = c.organization_id
           AND o.resource_server IS NOT NULL
           AND o.id IN (SELECT value FROM json_each(c.scopes))),
       (SELECT json_array(p.planned_at, p.date) FROM deactivation_plans p
         WHERE p.client_id = c.id AND p.disabled_at IS NULL)
  FROM clients c WHERE c.id = ?
"""


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _aware(value: str | None) -> datetime | None:
    return _utc(value) if value else None


# Parsed JSON columns, keyed by their text: a cache that cannot go stale, since any change to
# a client changes the text it is looked up by. Saves ~20 µs of json.loads per token.
@functools.lru_cache(maxsize=8192)
def _strings(raw: str) -> tuple[str, ...]:
    return tuple(json.loads(raw))


@functools.lru_cache(maxsize=8192)
def _pairs(raw: str) -> tuple[tuple[str, str], ...]:
    return tuple((role, division) for role, division in json.loads(raw))


@functools.lru_cache(maxsize=8192)
def _secrets(raw: str) -> tuple[SecretRecord, ...]:
    return tuple(SecretRecord(i, digest, _aware(expires), _aware(used), key_id)
                 for i, digest, expires, used, key_id in json.loads(raw))


def _client_record(row: tuple[Any, ...]) -> ClientRecord:
    (cid, name, state, grants, scopes, ttl, fmt, last_used, valid_after, client_type,
     auth_method, roles, secrets, resource_servers, plan) = row
    deprecated_at, sunset_at = _plan_dates(plan)
    return ClientRecord(
        id=str(cid), name=str(name), state=str(state), grant_types=_strings(str(grants)),
        scopes=_strings(str(scopes)), token_ttl_seconds=int(str(ttl)), token_format=str(fmt),
        roles=_pairs(str(roles)), secrets=_secrets(str(secrets)), date_last_used=_aware(last_used),
        tokens_valid_after=_aware(valid_after), client_type=str(client_type),
        resource_servers=_pairs(str(resource_servers)),
        token_endpoint_auth_method=str(auth_method), deprecated_at=deprecated_at,
        sunset_at=sunset_at)


def _plan_dates(plan: str | None) -> tuple[datetime | None, datetime | None]:
    """(planned at, date) of the client's pending deactivation plan, if it has one."""
    if plan is None:
        return None, None
    planned_at, date = json.loads(plan)
    return _utc(planned_at), _utc(date)


def _sqlite_value(value: object) -> object:
    """A value as SQLAlchemy's column types store it on SQLite (UTC text, JSON text)."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY,
                                                           sqlite3.SQLITE_LOCKED)


class SqliteHotStore:
    def __init__(self, path: Path, *, busy_timeout_seconds: float) -> None:
        self.path = path
        self.busy_timeout_seconds = busy_timeout_seconds
        self._db: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None  # used only by flush's thread
        self._wal = path.with_name(path.name + "-wal")
        self._issued: Counter[tuple[str, str]] = Counter()  # (client id, UTC day) -> tokens
        self._flush_lock = asyncio.Lock()
        self._data_version: int | None = None
        self.kept = KeptReads()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True,
                                     isolation_level=None, check_same_thread=False,
                                     timeout=0)
                db.execute("PRAGMA foreign_keys=ON")
                db.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise StoreUnavailableError(str(exc)) from exc
            self._db = db
        return self._db

    async def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt``; while the database is locked, yield to the loop and try again.

        Raises:
            StoreUnavailableError: still locked after the busy timeout, or any other failure.
        """
        deadline = time.monotonic() + self.busy_timeout_seconds
        delay = 0.0005
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise StoreUnavailableError(str(exc)) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)

    def _fresh(self) -> sqlite3.Connection:
        """The connection, once kept reads are dropped if another connection has committed."""
        db = self._conn()
        (version,) = db.execute("PRAGMA data_version").fetchone()
        if version != self._data_version:
            self.kept.forget_all()
            self._data_version = version
        return db

    @staticmethod
    def _kept(db: sqlite3.Connection, kept: dict[Any, T | None], key: Hashable, sql: str,
              params: tuple[object, ...], build: Callable[[tuple[Any, ...]], T]) -> T | None:
        """The row ``sql`` reads, built; kept in ``kept`` until ``_forget``."""
        if key in kept:
            return kept[key]
        row = db.execute(sql, params).fetchone()
        value = None if row is None else build(row)
        keep(kept, key, value)
        return value

    def start(self) -> None:
        """Nothing to start: ``PRAGMA data_version`` tells of other connections' commits."""

    def forget(self) -> None:
        self.kept.forget_all()

    async def client(self, client_id: str) -> ClientRecord | None:
        # One statement instead of three: each execute costs ~15 µs of Python-side overhead.
        return await self._retrying(lambda: self._kept(
            self._fresh(), self.kept.clients, client_id, CLIENT_QUERY, (client_id,),
            _client_record))

    async def _write(self, sql: str, params: tuple[object, ...]) -> None:
        await self._retrying(lambda: self._conn().execute(sql, params))
        self.kept.forget_all()  # our own commits leave data_version as it was

    async def mark_used(self, client_id: str, secret_id: str, *, now: datetime) -> None:
        # One write a minute per secret at most: last-used is for humans, not for the hot path.
        cutoff = utc_text(now - LAST_USED_GRANULARITY)
        stale = "(date_last_used IS NULL OR date_last_used < ?)"
        await self._write(f"UPDATE client_secrets SET date_last_used = ? WHERE id = ? AND {stale}",  # noqa: S608 - constant text
                    (utc_text(now), secret_id, cutoff))
        await self._write(f"UPDATE clients SET date_last_used = ? WHERE id = ? AND {stale}",  # noqa: S608
                    (utc_text(now), client_id, cutoff))

    async def rekey_secret(self, client_id: str, secret_id: str, *, old_digest: str,
                           digest: str, key_id: str) -> None:
        # Only while the digest is still the one checked: a rotation in between wins.
        await self._write("UPDATE client_secrets SET digest = ?, key_id = ? "
                          "WHERE id = ? AND client_id = ? AND digest = ?",
                          (digest, key_id, secret_id, client_id, old_digest))

    def count_issued(self, client_id: str, day: date) -> None:
        self._issued[client_id, day.isoformat()] += 1

    async def flush(self) -> None:
        """Add the usage counted since the last flush, on a thread with its own connection.

        One small upsert per client and day, every second: a row per token cost 42 % of the
        token throughput (bench/README.md).
        """
        async with self._flush_lock:
            counts, self._issued = self._issued, Counter()
            if not counts:
                return
            try:
                await asyncio.to_thread(self._add_usage, counts)
            except BaseException:
                # Whatever stopped the write (locked, vanished, cancelled), the counts are kept
                # for the next attempt: they exist nowhere else.
                self._issued.update(counts)
                raise

    def held(self) -> int:
        return sum(self._issued.values())

    def _add_usage(self, counts: Counter[tuple[str, str]]) -> None:
        try:
            if self._writer is None:
                self._writer = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True,
                                               isolation_level=None, check_same_thread=False,
                                               timeout=self.busy_timeout_seconds)
                self._writer.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            with self._writer:
                self._writer.execute("BEGIN IMMEDIATE")
                self._writer.executemany(
                    "INSERT INTO client_usage (client_id, day, tokens_issued) VALUES (?, ?, ?) "
                    "ON CONFLICT (client_id, day) DO UPDATE "
                    "SET tokens_issued = tokens_issued + excluded.tokens_issued",
                    [(client_id, day, n) for (client_id, day), n in counts.items()])
            # Under constant reads from several workers the automatic (passive) checkpoints
            # never let the WAL start over, and it grows by gigabytes; a RESTART waits for the
            # readers of old frames (microseconds each) and lets the next commit rewind it.
            if self._wal.exists() and self._wal.stat().st_size > WAL_LIMIT_BYTES:
                self._writer.execute("PRAGMA wal_checkpoint(RESTART)")
        except sqlite3.Error as exc:
            raise StoreUnavailableError(str(exc)) from exc

    async def live_state(self, client_id: str, digest: str) -> LiveState | None:
        return await self._retrying(lambda: self._read_live_state(client_id, digest))

    def _read_live_state(self, client_id: str, digest: str) -> LiveState | None:
        db = self._fresh()  # one check serves both parts
        client = self._kept(db, self.kept.clients, client_id, CLIENT_QUERY, (client_id,),
                            _client_record)
        if client is None:
            return None
        revoked = self._kept(db, self.kept.revocations_of(client_id), digest, REVOKED_QUERY,
                             (digest,),
                             lambda row: _utc(str(row[0])))
        return LiveState(client_state=client.state, client_scopes=client.scopes,
                         roles=client.roles, tokens_valid_after=client.tokens_valid_after,
                         revoked_at=revoked)

    async def family_state(self, family_id: str) -> FamilyState | None:
        return await self._retrying(lambda: self._kept(
            self._fresh(), self.kept.families, family_id,
            "SELECT f.revoked_at, u.state FROM grant_families f JOIN users u ON u.id = f.user_id "
            "WHERE f.id = ?", (family_id,),
            lambda row: FamilyState(_aware(row[0]), str(row[1]))))

    async def revoke(self, claims: TokenClaims, *, now: datetime) -> None:
        # Revoking twice keeps the first time.
        await self._write(
            "INSERT INTO revoked_tokens (digest, client_id, subject_id, scope, issued_at, "
            "expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
            (claims.digest, claims.client_id, claims.subject_id, claims.scope,
             utc_text(claims.issued_at), utc_text(claims.expires_at), utc_text(now)))

    async def record(self, event: AuditEvent) -> None:
        # Nothing kept reads audit rows: a flood of failed sign-ins leaves the kept reads alone.
        await self._retrying(lambda: self._append((event,)))

    async def record_all(self, events: Sequence[AuditEvent]) -> None:
        if events:
            await self._retrying(lambda: self._append(events))

    def _append(self, events: Sequence[AuditEvent]) -> None:
        # Synchronous from BEGIN to COMMIT: the lock is never held across an await.
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            for event in events:
                self._append_one(db, event)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _append_one(db: sqlite3.Connection, event: AuditEvent) -> None:
        seq, prev = db.execute(
            f"UPDATE {audit_head.name} SET seq = seq + 1 WHERE organization_id = ? "  # noqa: S608 - names from tables.py
            "RETURNING seq, last_hash", (ORG_ID,)).fetchone()
        entry = chain_entry(event, seq=seq, prev_hash=prev)
        db.execute(f"INSERT INTO {audit_events.name} ({', '.join(entry)}) "  # noqa: S608
                   f"VALUES ({', '.join('?' * len(entry))})",
                   [_sqlite_value(value) for value in entry.values()])
        db.execute(f"UPDATE {audit_head.name} SET last_hash = ? WHERE organization_id = ?",  # noqa: S608
                   (entry["hash"], ORG_ID))

    async def close(self) -> None:
        for db in (self._db, self._writer):
            if db is not None:
                db.close()
        self._db = self._writer = None
