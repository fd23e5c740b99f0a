"""Single-core costs of the token hot path's building blocks, against a real Keystead database.

usage: .venv/bin/python bench/micro.py [--tokens N]
Creates a throw-away data dir (keystead init + one client), optionally pre-fills N tokens, and
prints µs per operation for: the stdlib-sqlite3 client read Keystead's hot path does (and the
same read through SQLAlchemy's async engine), one token INSERT in autocommit, the token lookup
introspection does, the keyed digests, and token generation. Compare with `make bench`'s
"server CPU µs per token" to see how much of a request is store work vs HTTP/ASGI overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from prefill import fill

SECRET_KEY = "keystead-bench-only-secret-key-0123456789abcdefg"  # noqa: S105


def bench(name: str, fn: Callable[[], object], min_time: float = 0.5) -> float:
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time and n >= 10:
            break
    per = dt / n * 1e6
    print(f"{name:<62} {per:>9.1f} µs/op")
    return per


async def abench(name: str, fn: Callable[[], Awaitable[object]], min_time: float = 0.5) -> float:
    await fn()
    n, t0 = 0, time.perf_counter()
    while True:
        await fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time and n >= 10:
            break
    per = dt / n * 1e6
    print(f"{name:<62} {per:>9.1f} µs/op")
    return per


def setup(workdir: Path) -> tuple[Path, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env.update(KEYSTEAD_DATA_DIR=str(workdir), KEYSTEAD_SECRET_KEY=SECRET_KEY)
    command = str(Path(sys.executable).parent / "keystead")
    subprocess.run([command, "init"], env=env, check=True, capture_output=True)
    out = subprocess.run([command, "bootstrap-client", "--name", "micro", "--role", "Super Admin",
                          "--json"], env=env, check=True, capture_output=True, text=True).stdout
    return workdir / "keystead.db", str(json.loads(out)["id"])


CLIENT_SQL = "SELECT id, name, state, scopes, token_ttl_seconds FROM clients WHERE id = ?"
LOOKUP_SQL = ("SELECT t.client_id, t.scope, t.expires_at, t.revoked_at, c.state "
              "FROM revoked_tokens t LEFT JOIN clients c ON c.id = t.client_id WHERE t.digest = ?")
# A row per token, as the first design wrote on every issue (now: a revocation).
INSERT_SQL = ("INSERT INTO revoked_tokens (digest, client_id, subject_id, scope, issued_at, "
              "expires_at, revoked_at) VALUES (?, ?, NULL, 'oauth', ?, ?, datetime('now'))")


def store_costs(db_path: Path, client_id: str) -> None:
    db = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True, isolation_level=None)
    db.execute("PRAGMA synchronous=NORMAL")
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    later = (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    known = secrets.token_hex(32)
    db.execute(INSERT_SQL, (known, client_id, stamp, later))
    bench("sqlite3: client row by primary key (1 statement)",
          lambda: db.execute(CLIENT_SQL, (client_id,)).fetchall())
    bench("sqlite3: PRAGMA data_version (has another connection committed?)",
          lambda: db.execute("PRAGMA data_version").fetchone())
    bench("sqlite3: token by digest, joined with its client",
          lambda: db.execute(LOOKUP_SQL, (known,)).fetchall())
    # Long windows: WAL checkpoints (with an fsync) happen every ~1000 pages written.
    bench("sqlite3: INSERT one token, autocommit (WAL, synchronous=NORMAL)",
          lambda: db.execute(INSERT_SQL, (secrets.token_hex(32), client_id, stamp, later)),
          min_time=3.0)

    def data_version_changed_elsewhere() -> None:
        # What every read pays after another process committed: the page cache is dropped.
        other.execute(INSERT_SQL, (secrets.token_hex(32), client_id, stamp, later))
        db.execute(CLIENT_SQL, (client_id,)).fetchall()

    other = sqlite3.connect(f"file:{db_path}?mode=rw", uri=True, isolation_level=None)
    other.execute("PRAGMA synchronous=NORMAL")
    base = bench("  (a second connection's INSERT alone)",
                 lambda: other.execute(INSERT_SQL, (secrets.token_hex(32), client_id, stamp,
                                                    later)), min_time=3.0)
    both = bench("  (that INSERT + our client read on a now-stale page cache)",
                 data_version_changed_elsewhere, min_time=3.0)
    print(f"{'=> client read after another writer committed':<62} {both - base:>9.1f} µs/op")
    other.close()
    db.close()


async def sqlalchemy_costs(db_path: Path, client_id: str) -> None:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from keystead.store.tables import clients

    engine = create_async_engine(f"sqlite+aiosqlite:///{db_path}")
    query = select(clients.c.id, clients.c.name, clients.c.state, clients.c.scopes,
                   clients.c.token_ttl_seconds).where(clients.c.id == client_id)

    async def read() -> object:
        async with engine.connect() as conn:
            return (await conn.execute(query)).first()

    await abench("SQLAlchemy async (aiosqlite): same client read, pooled conn", read)
    await engine.dispose()


def json_costs() -> None:
    body = {"active": True, "scope": "oauth oauth:readonly authorization audits:readonly",
            "client_id": str(uuid.uuid4()), "sub": str(uuid.uuid4()), "token_type": "Bearer",
            "exp": 1_800_000_000, "iat": 1_799_996_400, "iss": "http://127.0.0.1:8000",
            "roles": [{"roleId": str(uuid.uuid4()), "divisionId": str(uuid.uuid4())}]}
    bench("json.dumps of an introspection response (compact, encoded)",
          lambda: json.dumps(body, separators=(",", ":")).encode())
    bench("orjson.dumps of the same", lambda: orjson.dumps(body))


def crypto_costs() -> None:
    key = hashlib.sha256(SECRET_KEY.encode()).digest()
    value = secrets.token_urlsafe(32)
    bench("HMAC-SHA-256 hexdigest of a 43-char secret", lambda: hmac.new(
        key, value.encode(), hashlib.sha256).hexdigest())
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    bench("hmac.compare_digest of two 64-hex digests", lambda: hmac.compare_digest(digest, digest))
    bench("secrets.token_urlsafe(32)", lambda: secrets.token_urlsafe(32))


def evidence_costs() -> None:
    """What governance evidence adds to one token, and what a flush's take costs per token."""
    from keystead.domain.governance.evidence import NO_EVIDENCE, EvidenceTally

    client_id, scope = str(uuid.uuid4()), "oauth oauth:readonly authorization"
    tally = EvidenceTally(lambda: datetime.now(UTC))
    bench("evidence recording off: NO_EVIDENCE.token (the call alone)",
          lambda: NO_EVIDENCE.token(client_id, "client_credentials", scope, "203.0.113.7"))
    bench("evidence recording on: EvidenceTally.token", lambda: tally.token(
        client_id, "client_credentials", scope, "203.0.113.7"))
    sources = [f"198.51.100.{n}" for n in range(100)]

    def flush_of_100_tokens() -> None:
        for source in sources:
            tally.token(client_id, "client_credentials", scope, source)
        tally.take()

    bench("100 tokens from 100 addresses, then take() (off the request path)",
          flush_of_100_tokens)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tokens", type=int, default=0, help="pre-fill this many tokens first")
    parser.add_argument("--clients", type=int, default=0, help="pre-fill this many clients first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keystead-micro-") as tmp:
        db_path, client_id = setup(Path(tmp))
        if args.tokens or args.clients:
            report = fill(db_path, clients=args.clients, tokens=args.tokens)
            print(f"# pre-filled {report.clients:,} clients, {report.tokens:,} tokens "
                  f"in {report.seconds:.1f} s")
        print(f"# single core, one process; python {sys.version.split()[0]}, "
              f"sqlite {sqlite3.sqlite_version}")
        store_costs(db_path, client_id)
        asyncio.run(sqlalchemy_costs(db_path, client_id))
        crypto_costs()
        json_costs()
        evidence_costs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
