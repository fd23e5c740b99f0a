"""How soon a change committed on one PostgreSQL replica is refused on another, under load.

Starts two `keystead serve` replicas (A and B, `--workers 2` each) on one fresh PostgreSQL
database, puts a steady client_credentials load on B with wrk, and for each kind of change
(disable, secret cut, revocation, deletion) repeats: B has just served the target client (so it
keeps its record), A makes the change, A must refuse at once (its very next request), and B is
asked again and again until it refuses. The time from A's answer to B's first refusal is the
propagation; the report gives p50, p99 and max per kind and overall against the 100 ms target.

    python bench/propagation.py [--rounds 40] [--postgres-url URL]

Needs wrk (apt-get install -y wrk) and a PostgreSQL server (the database is created and
dropped here). Figures go to bench/results/propagation.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from load import basic_auth
from procs import BenchError, Reaper, free_port, log, wait_until
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "propagation.json"
TARGET_P99_MS = 100.0
SECRET_KEY = "keystead-bench-only-secret-key-0123456789abcdefg"  # noqa: S105 - bench only
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
LOAD_LUA = """
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"
"""


def _admin(url: str, sql: str) -> None:
    async def run() -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()
    asyncio.run(run())


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    name = f"keystead_propagation_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Replica:
    def __init__(self, http: httpx.Client, url: str) -> None:
        self.http, self.url = http, url

    def token(self, client_id: str, secret: str) -> httpx.Response:
        return self.http.post(f"{self.url}/oauth/token", data={
            "grant_type": "client_credentials"}, auth=(client_id, secret))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/propagation.py", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=40, help="changes per kind")
    p.add_argument("--connections", type=int, default=16, help="wrk connections on replica B")
    p.add_argument("--workers", type=int, default=2, help="processes per replica")
    p.add_argument("--postgres-url", default=os.environ.get("KEYSTEAD_BENCH_POSTGRES_URL",
                                                            DEFAULT_URL))
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    keystead = Path(sys.executable).with_name("keystead")
    with fresh_database(args.postgres_url) as db_url, Reaper().guard() as reaper, \
            tempfile.TemporaryDirectory(prefix="keystead-propagation-") as tmp:
        env = {**os.environ, "KEYSTEAD_DATABASE_URL": db_url, "KEYSTEAD_SECRET_KEY": SECRET_KEY,
               "KEYSTEAD_DATA_DIR": tmp, "KEYSTEAD_LOG_LEVEL": "WARNING",
               "KEYSTEAD_THROTTLE_CLIENT_FAILURES": "10000",
               "KEYSTEAD_THROTTLE_SOURCE_FAILURES": "100000"}
        _run(reaper, [str(keystead), "init"], env)
        admin = json.loads(_run(reaper, [str(keystead), "bootstrap-client", "--name", "admin",
                                         "--role", "Super Admin", "--json"], env))
        urls = []
        for name in ("A", "B"):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            proc = reaper.start([str(keystead), "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--workers", str(args.workers)],
                                env={**env, "KEYSTEAD_ISSUER": url})
            wait_until(lambda: _ready(url), timeout=90, what=f"replica {name}", proc=proc)  # noqa: B023 - called at once
            urls.append(url)
        with httpx.Client(timeout=10) as http:
            figures = measure(reaper, http, Replica(http, urls[0]), Replica(http, urls[1]),
                              admin, rounds=args.rounds, connections=args.connections)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2))
    print(report(figures))
    return 0 if figures["overall"]["p99_ms"] <= TARGET_P99_MS and not figures["late_on_a"] else 1


def _run(reaper: Reaper, argv: list[str], env: dict[str, str]) -> str:
    done = reaper.run(argv, env=env, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv[1:])} failed: {done.stderr.strip()}")
    return done.stdout


def _ok(response: httpx.Response) -> None:
    response.raise_for_status()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def measure(reaper: Reaper, http: httpx.Client, a: Replica, b: Replica, admin: dict[str, str],
            *, rounds: int, connections: int) -> dict[str, Any]:
    api = f"{a.url}/api/v2"
    issued = a.token(admin["id"], admin["secret"]).json()["access_token"]
    headers = {"Authorization": f"Bearer {issued}"}
    roles = http.get(f"{api}/authorization/roles", params={"name": "Super Admin"},
                     headers=headers).json()["entities"]

    def new_client() -> tuple[str, str]:
        made = http.post(f"{api}/oauth/clients", headers=headers, json={
            "name": f"target-{uuid.uuid4().hex[:8]}", "authorizedGrantType": "CLIENT-CREDENTIALS",
            "roleIds": [roles[0]["id"]], "scope": ["oauth:readonly"]})
        if made.status_code != 200:
            raise BenchError(f"creating a client: {made.status_code} {made.text}")
        body = made.json()
        return body["id"], body["secret"]

    load_id, load_secret = new_client()
    authorization = basic_auth(load_id, load_secret)
    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    lua.write_text(LOAD_LUA.format(authorization=authorization))
    wrk = reaper.start(["wrk", "-t2", f"-c{connections}", "-d3600s", "-s", str(lua),
                        f"{b.url}/oauth/token"])
    time.sleep(2.0)  # warm-up
    late_on_a = 0
    results: dict[str, list[float]] = {}  # until B's first refusal was answered
    stale: dict[str, list[float]] = {}  # until B's last stale answer was asked for

    def round_trip(kind: str, setup: Callable[[], tuple[Callable[[], bool], Callable[[], bool],
                                                        Callable[[], None]]]) -> None:
        # B applied the change somewhere between sending the last request it answered with the
        # old state and answering the first refusal: both ends are recorded.
        nonlocal late_on_a
        for _ in range(rounds):
            refused_on_a, refused_on_b, change = setup()
            change()
            committed = time.perf_counter()
            if not refused_on_a():
                late_on_a += 1
            last_stale_sent = committed
            while True:
                sent = time.perf_counter()
                if refused_on_b():
                    break
                last_stale_sent = sent
                if sent - committed > 10:
                    raise BenchError(f"{kind}: replica B never refused")
            results.setdefault(kind, []).append((time.perf_counter() - committed) * 1000)
            stale.setdefault(kind, []).append((last_stale_sent - committed) * 1000)

    def disable() -> tuple[Callable[[], bool], Callable[[], bool], Callable[[], None]]:
        cid, secret = new_client()
        b.token(cid, secret).raise_for_status()  # B keeps the record
        body = http.get(f"{api}/oauth/clients/{cid}", headers=headers).json()
        wanted = {k: body[k] for k in ("name", "authorizedGrantType", "roleDivisions", "scope")}
        return (lambda: a.token(cid, secret).status_code == 401,
                lambda: b.token(cid, secret).status_code == 401,
                lambda: _ok(http.put(f"{api}/oauth/clients/{cid}", headers=headers,
                                 json=wanted | {"state": "disabled"})))

    def secret_cut() -> tuple[Callable[[], bool], Callable[[], bool], Callable[[], None]]:
        cid, secret = new_client()
        b.token(cid, secret).raise_for_status()
        return (lambda: a.token(cid, secret).status_code == 401,
                lambda: b.token(cid, secret).status_code == 401,
                lambda: _ok(http.post(f"{api}/oauth/clients/{cid}/secret", headers=headers,
                                  json={"dualUseSeconds": 0})))

    def revocation() -> tuple[Callable[[], bool], Callable[[], bool], Callable[[], None]]:
        value = b.token(load_id, load_secret).json()["access_token"]

        def active(replica: Replica) -> bool:
            return bool(http.post(f"{replica.url}/oauth/introspect", data={"token": value},
                                  auth=(admin["id"], admin["secret"])).json()["active"])
        if not active(b):
            raise BenchError("a fresh token is not active on B")
        return (lambda: not active(a), lambda: not active(b),
                lambda: _ok(http.post(f"{a.url}/oauth/revoke", data={"token": value},
                                  auth=(load_id, load_secret))))

    def deletion() -> tuple[Callable[[], bool], Callable[[], bool], Callable[[], None]]:
        cid, secret = new_client()
        b.token(cid, secret).raise_for_status()
        return (lambda: a.token(cid, secret).status_code == 401,
                lambda: b.token(cid, secret).status_code == 401,
                lambda: _ok(http.delete(f"{api}/oauth/clients/{cid}",
                                    headers=headers)))

    try:
        for kind, setup in (("disable", disable), ("secret cut", secret_cut),
                            ("revocation", revocation), ("deletion", deletion)):
            log(f"propagation: {kind} x {rounds}")
            round_trip(kind, setup)
    finally:
        reaper.stop(wrk)
        lua.unlink()
    everything = [ms for spent in results.values() for ms in spent]
    return {
        "target_p99_ms": TARGET_P99_MS, "rounds": rounds, "load_connections": connections,
        "late_on_a": late_on_a,
        "kinds": {kind: _summary(spent) for kind, spent in results.items()},
        "overall": _summary(everything),
        "stale_asked_until": _summary([ms for spent in stale.values() for ms in spent])}


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(values), 2),
            "p99_ms": round(percentile(values, 0.99), 2), "max_ms": round(max(values), 2),
            "n": len(values)}


def report(figures: dict[str, Any]) -> str:
    lines = [f"propagation A -> B under load ({figures['load_connections']} connections on B), "
             f"{figures['rounds']} changes per kind"]
    for kind, s in [*figures["kinds"].items(), ("overall", figures["overall"])]:
        lines.append(f"  {kind:<11} p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms  "
                     f"max {s['max_ms']:7.2f} ms")
    s = figures["stale_asked_until"]
    lines.append(f"  (a stale answer was last asked for at p50 {s['p50_ms']:.2f} ms, p99 "
                 f"{s['p99_ms']:.2f} ms, max {s['max_ms']:.2f} ms after A's answer)")
    met = figures["overall"]["p99_ms"] <= figures["target_p99_ms"]
    lines.append(f"  target p99 <= {figures['target_p99_ms']:g} ms: {'met' if met else 'NOT met'}; "
                 f"refused at once on A: {'always' if not figures['late_on_a'] else 'NOT always'}"
                 f" ({figures['late_on_a']} late)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
