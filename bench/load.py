"""Closed-loop load with wrk: tokens through the peers' bench-token, introspection through ours.

Both print the same ``RESULT`` line (shared/bench/peers/lib/token.lua's format), parsed here into
a ``Measurement``. Server CPU is the user+system time of the server's whole process tree over the
measured window (warm-up excluded), so ``cpu_us_per_op`` is what one request costs the server.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import statistics
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote_plus

from procs import BenchError, Reaper, tree_cpu_seconds

HERE = Path(__file__).resolve().parent
INTROSPECT_LUA = HERE / "introspect.lua"
_KV = re.compile(r"(\w+)=([^\s()]+)")


@dataclass(frozen=True)
class LoadShape:
    duration: float
    connections: int
    threads: int
    warmup: float
    timeout: float = 30.0


@dataclass(frozen=True)
class Measurement:
    """One measured window: OK responses per second, latency, errors, CPU."""

    rate: float  # OK responses per second
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    ok: int
    errors: int  # non-OK responses + socket errors + timeouts
    duration_s: float
    server_cpu_s: float | None
    driver_cpu_s: float | None
    first_error: str | None
    # CPU cores used by other processes over warm-up + window, and busy cores just before:
    # contamination indicators (see procs.ForeignCpu); filled in by the caller.
    foreign_cores: float | None = None
    busy_before_cores: float | None = None
    # On PostgreSQL: the cluster's CPU over the window, its part in the bench database's live
    # backends (procs.postgres_cpu_seconds), the connections the server opened, and those opened
    # to other databases of the cluster (other work, whose ended backends db_cpu_s includes).
    db_cpu_s: float | None = None
    db_backends_cpu_s: float | None = None
    db_sessions: int | None = None
    db_other_sessions: int | None = None

    @property
    def cpu_us_per_op(self) -> float | None:
        if self.server_cpu_s is None or self.ok == 0:
            return None
        return self.server_cpu_s * 1e6 / self.ok

    @property
    def db_cpu_us_per_op(self) -> float | None:
        if self.db_cpu_s is None or self.ok == 0:
            return None
        return self.db_cpu_s * 1e6 / self.ok

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cpu_us_per_op": self.cpu_us_per_op,
                "db_cpu_us_per_op": self.db_cpu_us_per_op}


class DbSample(NamedTuple):
    """What a database server has used so far (None: not visible from here)."""

    cpu_s: float | None
    backends_cpu_s: float | None
    sessions: int | None
    other_sessions: int | None


DbProbe = Callable[[], DbSample]


def median(runs: list[Measurement]) -> Measurement:
    """The run with the median rate (an actual run, so its figures belong together)."""
    ordered = sorted(runs, key=lambda m: m.rate)
    return ordered[(len(ordered) - 1) // 2]  # the lower middle one when the count is even


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-encode id and secret, then Base64 (as bench-token does)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _parse_result(text: str, *, what: str) -> dict[str, str]:
    line = next((ln for ln in text.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise BenchError(f"{what}: no RESULT line from the load driver; output:\n{text[-2000:]}")
    return dict(_KV.findall(line))


def _first_error(text: str) -> str | None:
    line = next((ln for ln in text.splitlines() if ln.startswith("FIRST_NON_OK ")), None)
    return line.removeprefix("FIRST_NON_OK ") if line else None


def _measurement(values: dict[str, str], *, server_cpu_s: float | None,
                 driver_cpu_s: float | None, first_error: str | None) -> Measurement:
    return Measurement(
        rate=float(values["tokens_per_s"]), p50_ms=float(values["p50_ms"]),
        p90_ms=float(values.get("p90_ms", "nan")), p99_ms=float(values["p99_ms"]),
        max_ms=float(values.get("max_ms", "nan")), ok=int(values["ok"]),
        errors=int(values["non_ok"]) + int(values["socket_errors"]),
        duration_s=float(values["duration_s"]), server_cpu_s=server_cpu_s,
        driver_cpu_s=driver_cpu_s, first_error=first_error)


def _bench_token(reaper: Reaper, peers_dir: Path, *, url: str, client_id: str, secret: str,
                 server_pid: int, shape: LoadShape) -> str:
    env = {**os.environ, "DURATION": f"{shape.duration:g}", "CONNECTIONS": str(shape.connections),
           "THREADS": str(shape.threads), "WARMUP": f"{shape.warmup:g}",
           "TIMEOUT": f"{shape.timeout:g}", "DRIVER": "wrk", "SERVER_PID": str(server_pid)}
    done = reaper.run([str(peers_dir / "bench-token"), url, client_id, secret], env=env,
                      timeout=shape.warmup + shape.duration + shape.timeout + 120)
    if done.returncode != 0:
        raise BenchError(f"bench-token {url} failed (exit {done.returncode}):\n"
                         f"{done.stderr.strip()}\n{done.stdout.strip()}")
    return done.stdout


def bench_token(reaper: Reaper, peers_dir: Path, *, url: str, client_id: str, secret: str,
                server_pid: int, shape: LoadShape,
                db_probe: DbProbe | None = None) -> Measurement:
    """client_credentials load through shared/bench/peers/bench-token (wrk + token.lua).

    With ``db_probe`` the warm-up is a bench-token run of its own (then a drain), so the
    database's use can be read just around the measured one.
    """
    if db_probe is not None and shape.warmup > 0:
        _bench_token(reaper, peers_dir, url=url, client_id=client_id, secret=secret,
                     server_pid=server_pid, shape=replace(shape, duration=shape.warmup, warmup=0))
        post_form(url, "grant_type=client_credentials", authorization=basic_auth(client_id, secret),
                  timeout=120)  # drain what the warm-up queued
        shape = replace(shape, warmup=0)
    db0 = db_probe() if db_probe is not None else None
    out = _bench_token(reaper, peers_dir, url=url, client_id=client_id, secret=secret,
                       server_pid=server_pid, shape=shape)
    db1 = db_probe() if db_probe is not None else None
    values = _parse_result(out, what=f"bench-token {url}")
    summary = next((ln for ln in out.splitlines() if ln.startswith("SUMMARY ")), "")
    extra = dict(_KV.findall(summary))
    return _with_db_use(_measurement(
        values, server_cpu_s=float(extra["server_cpu_s"]) if "server_cpu_s" in extra else None,
        driver_cpu_s=float(extra["driver_cpu_s"]) if "driver_cpu_s" in extra else None,
        first_error=_first_error(out)), db0, db1)


def _with_db_use(m: Measurement, before: DbSample | None, after: DbSample | None) -> Measurement:
    if before is None or after is None:
        return m

    def cpu(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(b - a, 3)

    def count(a: int | None, b: int | None) -> int | None:
        return None if a is None or b is None else b - a

    return replace(m, db_cpu_s=cpu(before.cpu_s, after.cpu_s),
                   db_backends_cpu_s=cpu(before.backends_cpu_s, after.backends_cpu_s),
                   db_sessions=count(before.sessions, after.sessions),
                   db_other_sessions=count(before.other_sessions, after.other_sessions))


def post_form(url: str, body: str, *, authorization: str,
              timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - URLs are http://127.0.0.1 built here
        url, data=body.encode(), method="POST",
        headers={"Authorization": authorization,
                 "Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, {}
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"raw": raw[:200].decode(errors="replace")}
    return status, parsed if isinstance(parsed, dict) else {"raw": parsed}


def mint_tokens(token_url: str, authorization: str, count: int) -> list[str]:
    """Fresh access tokens from the server itself (the values introspection will present)."""
    found = []
    for _ in range(count):
        status, body = post_form(token_url, "grant_type=client_credentials",
                                 authorization=authorization)
        if status != 200 or "access_token" not in body:
            raise BenchError(f"could not mint a token at {token_url}: HTTP {status} {body}")
        found.append(str(body["access_token"]))
    return found


def _wrk(reaper: Reaper, *, url: str, authorization: str, tokens_file: Path, seconds: float,
         shape: LoadShape, cpu_file: Path | None) -> str:
    argv = ["wrk", "-t", str(shape.threads), "-c", str(shape.connections), "-d", f"{seconds:g}s",
            "--timeout", f"{shape.timeout:g}s", "-s", str(INTROSPECT_LUA), url, "--",
            authorization, str(tokens_file)]
    timer = shutil.which("time") if cpu_file is not None else None
    if timer == "/usr/bin/time" and cpu_file is not None:
        argv = [timer, "-f", "%U %S", "-o", str(cpu_file), *argv]
    done = reaper.run(argv, timeout=seconds + shape.timeout + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk {url} failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout


def bench_introspect(reaper: Reaper, *, url: str, authorization: str, tokens: list[str],
                     server_pid: int, shape: LoadShape,
                     db_probe: DbProbe | None = None) -> Measurement:
    """POST /oauth/introspect load: the same client authenticates and asks about valid tokens."""
    status, body = post_form(url, f"token={tokens[0]}", authorization=authorization)
    if status != 200 or body.get("active") is not True:
        raise BenchError(f"introspection preflight failed: HTTP {status} {body}")
    with tempfile.TemporaryDirectory(prefix="keystead-bench-") as tmp:
        tokens_file = Path(tmp) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        if shape.warmup > 0:
            _wrk(reaper, url=url, authorization=authorization, tokens_file=tokens_file,
                 seconds=shape.warmup, shape=shape, cpu_file=None)
            post_form(url, f"token={tokens[0]}", authorization=authorization, timeout=120)  # drain
        cpu_file = Path(tmp) / "driver-cpu"
        cpu0, db0 = tree_cpu_seconds(server_pid), db_probe() if db_probe is not None else None
        out = _wrk(reaper, url=url, authorization=authorization, tokens_file=tokens_file,
                   seconds=shape.duration, shape=shape, cpu_file=cpu_file)
        cpu1, db1 = tree_cpu_seconds(server_pid), db_probe() if db_probe is not None else None
        driver = None
        if cpu_file.exists() and cpu_file.read_text().split():
            driver = sum(float(x) for x in cpu_file.read_text().split()[:2])
    return _with_db_use(_measurement(_parse_result(out, what=f"wrk {url}"),
                                     server_cpu_s=cpu1 - cpu0, driver_cpu_s=driver,
                                     first_error=_first_error(out)), db0, db1)


def spread(runs: list[Measurement]) -> str:
    if len(runs) < 2:
        return ""
    rates = [m.rate for m in runs]
    return f"{min(rates):.0f}-{max(rates):.0f} (sd {statistics.stdev(rates):.0f})"
