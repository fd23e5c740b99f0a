"""`make bench`: Keystead's token and introspection throughput beside peer servers, in one run.

Measures, one server at a time on this machine, with wrk as the closed-loop load driver:
  * asgi-minimal and oidc-provider (shared/bench/peers/run-peer, WORKERS=2): client_credentials
    tokens/s, p50/p99, server CPU per token;
  * Keystead (`keystead serve --workers 2`, a fresh SQLite store in a temp dir): the same, plus
    introspections/s;
  * Keystead again after pre-filling that store with 10^5 clients and 10^6 tokens (--loaded);
  * both Keystead phases again on PostgreSQL (--store), in a throw-away database, with
    PostgreSQL's own CPU per token beside the server's.
Prints a table and the target ratios (met / not met) and writes bench/results/latest.json.
See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pg
from load import (
    DbProbe,
    DbSample,
    LoadShape,
    Measurement,
    basic_auth,
    bench_introspect,
    bench_token,
    median,
    mint_tokens,
    post_form,
    spread,
)
from prefill import counts, fill
from procs import (
    BenchError,
    ForeignCpu,
    Reaper,
    descendants,
    free_port,
    log,
    postgres_cpu_seconds,
    wait_for_quiet,
    wait_until,
)

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "latest.json"
DEFAULT_PEERS_DIR = REPO.parent / "shared" / "bench" / "peers"
PEERS = ("asgi-minimal", "oidc-provider")
# Fixed so digests in a kept data dir stay comparable between runs; never used outside the bench.
BENCH_SECRET_KEY = "keystead-bench-only-secret-key-0123456789abcdefg"  # noqa: S105
FOREIGN_WARN_CORES = 0.15
INTROSPECT_TOKENS = 64  # default count of distinct valid tokens the introspection load cycles
SQLITE_NAME, PG_NAME = "keystead", "keystead-pg"  # the servers' names in the table and targets
EVIDENCE_OFF_NAME = "keystead evidence-off"  # the same tree with governance evidence not recorded
STORES = ("sqlite", "postgres", "both")
assert len(BENCH_SECRET_KEY) == 48  # noqa: S101


# ---------------------------------------------------------------------------------------------
# Command line and preconditions


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured window")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each window")
    p.add_argument("--connections", type=int, default=32, help="wrk connections")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=2, help="server processes (Keystead and peers)")
    p.add_argument("--repeat", type=int, default=1,
                   help="windows per measurement; the median (by rate) is reported")
    p.add_argument("--wait-idle", type=float, default=60.0,
                   help="before each window, wait up to this many seconds for the box to be idle "
                        "(other work skews the figures); 0 = don't wait")
    p.add_argument("--skip-peers", action="store_true", help="measure Keystead only")
    p.add_argument("--loaded", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure with a pre-filled store (--no-loaded skips it)")
    p.add_argument("--loaded-only", action="store_true",
                   help="skip the peers and the empty-store phase; measure the loaded store only")
    p.add_argument("--introspect-tokens", type=int, default=INTROSPECT_TOKENS,
                   help="distinct tokens the introspection load cycles through; past 10,000 a "
                        "worker can no longer keep them all in memory (bench/README.md)")
    p.add_argument("--fill-clients", type=int, default=100_000, help="clients for --loaded")
    p.add_argument("--fill-tokens", type=int, default=1_000_000, help="tokens for --loaded")
    p.add_argument("--store", choices=STORES,
                   help="which Keystead store(s) to measure; default: both when PostgreSQL "
                        "answers at --postgres-url, else sqlite (with a note)")
    p.add_argument("--postgres-url",
                   default=os.environ.get("KEYSTEAD_BENCH_POSTGRES_URL", pg.DEFAULT_URL),
                   help="a PostgreSQL database the bench may connect to as a user allowed to "
                        "CREATE/DROP DATABASE (env KEYSTEAD_BENCH_POSTGRES_URL); the bench "
                        "measures in a throw-away database of its own beside it")
    p.add_argument("--peers-dir", type=Path,
                   default=Path(os.environ.get("KEYSTEAD_BENCH_PEERS", DEFAULT_PEERS_DIR)),
                   help="shared/bench/peers (run-peer, bench-token)")
    p.add_argument("--keep-data", action="store_true",
                   help="keep the temporary data dir, server logs and the PostgreSQL bench "
                        "database (paths and name are printed)")
    p.add_argument("--json", action="store_true",
                   help="print the results as JSON on stdout (the table goes to stderr)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    p.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    p.add_argument("--evidence-cost", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure the SQLite store with KEYSTEAD_EVIDENCE_RECORDING=false "
                        "just before it, and report recording's cost as a ratio")
    p.add_argument("--baseline", metavar="REV",
                   help="also measure Keystead as of this git revision (its src/ checked out in "
                        "the temp dir, same venv) just before the current tree, and report the "
                        "current ÷ baseline ratios: the no-regression check for a change")
    args = p.parse_args(argv)
    if args.loaded_only:
        args.loaded, args.skip_peers = True, True
    if min(args.duration, args.connections, args.threads, args.workers, args.repeat,
           args.introspect_tokens) <= 0:
        p.error("--duration, --connections, --threads, --workers, --repeat and "
                "--introspect-tokens must be positive")
    if args.connections < args.threads:
        p.error("wrk needs at least one connection per thread (--connections >= --threads)")
    return args


def resolve_stores(args: argparse.Namespace) -> tuple[str, ...]:
    """The stores to measure: PostgreSQL only when asked for or when it answers."""
    if args.store == "sqlite":
        return ("sqlite",)
    pg.keystead_url(args.postgres_url)  # a PostgreSQL URL at all?
    why = pg.unreachable(args.postgres_url)
    if why is None:
        return ("postgres",) if args.store == "postgres" else ("sqlite", "postgres")
    where = pg.shown_url(args.postgres_url)
    if args.store is not None:
        raise BenchError(f"--store {args.store}: PostgreSQL at {where} does not answer ({why})")
    log(f"note: PostgreSQL at {where} does not answer ({why}); measuring the SQLite store only "
        "(set --postgres-url or KEYSTEAD_BENCH_POSTGRES_URL for the PostgreSQL phase)")
    return ("sqlite",)


def keystead_command() -> Path:
    local = Path(sys.executable).parent / "keystead"
    if local.exists():
        return local
    found = shutil.which("keystead")
    if found is None:
        raise BenchError("the `keystead` command was not found; run `make bench` (it installs "
                         "the package into .venv) or activate the venv")
    return Path(found)


def check_tools(args: argparse.Namespace) -> None:
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk (the load driver): apt-get install -y wrk")
    if shutil.which("curl") is None:
        missing.append("curl (used by run-peer and bench-token): apt-get install -y curl")
    if not (args.peers_dir / "bench-token").exists():
        missing.append(f"{args.peers_dir}/bench-token (the peers' harness; set --peers-dir or "
                       "KEYSTEAD_BENCH_PEERS)")
    if not args.skip_peers:
        for tool, why in (("npm", "installs oidc-provider on first run"),
                          ("node", "runs oidc-provider")):
            if shutil.which(tool) is None:
                missing.append(f"{tool} ({why}): install Node.js 22+, or pass --skip-peers")
        if not (args.peers_dir / "run-peer").exists():
            missing.append(f"{args.peers_dir}/run-peer")
    if missing:
        raise BenchError("missing prerequisites:\n  - " + "\n  - ".join(missing))


# ---------------------------------------------------------------------------------------------
# Servers


def spawned_workers(root: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawn children; not its resource tracker)."""
    found = []
    for pid in descendants(root):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


@dataclass
class Server:
    """A running server: where to send tokens, as whom, and which process tree to charge."""

    name: str
    proc: subprocess.Popen[Any]
    token_url: str
    client_id: str
    secret: str
    log_file: Path

    @property
    def authorization(self) -> str:
        return basic_auth(self.client_id, self.secret)


@contextlib.contextmanager
def run_peer(reaper: Reaper, peers_dir: Path, peer: str, workdir: Path,
             workers: int) -> Iterator[Server]:
    port = free_port()
    out, err = workdir / f"{peer}.out", workdir / f"{peer}.log"
    log(f"starting {peer} (WORKERS={workers}) on 127.0.0.1:{port} "
        "(installs itself into the peers cache on first run)")
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = reaper.start([str(peers_dir / "run-peer"), peer, str(port)],
                            env={**os.environ, "WORKERS": str(workers)},
                            stdout=stdout, stderr=stderr)
    try:
        wait_until(lambda: "TOKEN_URL=" in out.read_text(), timeout=900, what=f"run-peer {peer}",
                   proc=proc, log_file=err, interval=0.2)
        info = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
        yield Server(peer, proc, info["TOKEN_URL"], info["CLIENT_ID"], info["CLIENT_SECRET"], err)
    finally:
        reaper.stop(proc)


class Keystead:
    """A Keystead installation in a temp dir: init, a bench client, `serve` on demand."""

    def __init__(self, reaper: Reaper, workdir: Path, workers: int, *,
                 name: str = SQLITE_NAME, source: Path | None = None,
                 database_url: str | None = None, db_probe: DbProbe | None = None,
                 settings: dict[str, str] | None = None) -> None:
        self.reaper = reaper
        self.workdir = workdir
        self.workers = workers
        self.name = name
        self.data_dir = workdir / f"{name}-data"
        self.command = keystead_command()
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
        if source is not None:  # another revision's src/ wins over the venv's editable install
            self.env["PYTHONPATH"] = str(source)
        self.env.update(KEYSTEAD_DATA_DIR=str(self.data_dir), KEYSTEAD_SECRET_KEY=BENCH_SECRET_KEY,
                        KEYSTEAD_ISSUER=f"http://127.0.0.1:{self.port}",
                        KEYSTEAD_LOG_LEVEL="WARNING", **(settings or {}))
        self.database_url = database_url  # None: the SQLite file in the data dir
        if database_url is not None:
            self.env["KEYSTEAD_DATABASE_URL"] = database_url
        self.db_probe = db_probe  # what the database server used (PostgreSQL only)
        self.client_id = ""
        self.secret = ""
        self.starts = 0
        self.wal_bytes: dict[str, int] = {}

    @property
    def db_path(self) -> Path:
        return self.data_dir / "keystead.db"

    def _cli(self, *arguments: str) -> str:
        done = self.reaper.run([str(self.command), *arguments], env=self.env, timeout=300)
        if done.returncode != 0:
            raise BenchError(f"keystead {' '.join(arguments)} failed (exit {done.returncode}):\n"
                             f"{done.stderr.strip()}")
        return done.stdout

    def setup(self) -> None:
        where = self.data_dir if self.database_url is None else pg.shown_url(self.database_url)
        log(f"keystead init + bootstrap-client in {where}")
        self._cli("init")
        out = self._cli("bootstrap-client", "--name", "bench", "--role", "Super Admin", "--json")
        try:
            created = json.loads(out)
            self.client_id, self.secret = str(created["id"]), str(created["secret"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"bootstrap-client printed no {{id, secret}} JSON: {out!r}") from exc

    @contextlib.contextmanager
    def serving(self, label: str) -> Iterator[Server]:
        self.starts += 1
        log_file = self.workdir / f"{self.name}-{self.starts}.log"
        token_url = f"http://127.0.0.1:{self.port}/oauth/token"
        log(f"starting keystead serve --workers {self.workers} on 127.0.0.1:{self.port} ({label})")
        with log_file.open("w") as sink:
            proc = self.reaper.start(
                [str(self.command), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers), "--log-level", "warning"],
                env=self.env, stdout=sink, stderr=subprocess.STDOUT)
        server = Server(f"{self.name} ({label})", proc, token_url, self.client_id, self.secret,
                        log_file)
        try:
            auth = server.authorization
            wait_until(lambda: post_form(token_url, "grant_type=client_credentials",
                                         authorization=auth, timeout=2)[0] == 200,
                       timeout=90, what="keystead serve", proc=proc, log_file=log_file)
            # Every worker must be up (each builds its runtime in the lifespan) before load.
            # With one worker uvicorn serves in-process; with more, they are spawned children.
            if self.workers > 1:
                wait_until(lambda: len(spawned_workers(proc.pid)) >= self.workers, timeout=30,
                           what="keystead workers", proc=proc, log_file=log_file)
            time.sleep(1.0)
            yield server
        finally:
            self.reaper.stop(proc)


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Row:
    server: str
    endpoint: str  # token | introspect
    runs: list[Measurement] = field(default_factory=list)

    @property
    def result(self) -> Measurement:
        return median(self.runs)


def measure(args: argparse.Namespace, what: str, server_pid: int,
            once: Callable[[], Measurement],
            db_probe: DbProbe | None = None) -> list[Measurement]:
    runs = []
    for i in range(args.repeat):
        busy = wait_for_quiet(args.wait_idle) if args.wait_idle > 0 else None
        suffix = f" (window {i + 1}/{args.repeat})" if args.repeat > 1 else ""
        log(f"measuring {what}{suffix}")
        also = (lambda: db_probe().cpu_s or 0.0) if db_probe is not None else None
        with ForeignCpu(server_pid, also=also) as foreign:
            m = once()
        m = replace(m, foreign_cores=round(foreign.cores, 3),
                    busy_before_cores=None if busy is None else round(busy, 3))
        cpu = f"{m.cpu_us_per_op:.0f} µs CPU/op" if m.cpu_us_per_op is not None else "CPU n/a"
        if m.db_cpu_us_per_op is not None:
            cpu += f" (+ PostgreSQL {m.db_cpu_us_per_op:.0f} µs, {m.db_sessions} new connections)"
        log(f"  {m.rate:,.0f}/s  p50 {m.p50_ms:.2f} ms  p99 {m.p99_ms:.2f} ms  {cpu}  "
            f"errors {m.errors}  other processes {foreign.cores:.2f} cores"
            + (f"  first error: {m.first_error}" if m.first_error else ""))
        runs.append(m)
    return runs


def measure_keystead(ks: Keystead, reaper: Reaper, args: argparse.Namespace, shape: LoadShape,
                     label: str) -> tuple[Row, Row]:
    tokens_row = Row(f"{ks.name}{'' if label == 'empty' else ' (' + label + ')'}", "token")
    intro_row = Row(tokens_row.server, "introspect")
    with ks.serving(label) as server:
        pid = server.proc.pid
        tokens_row.runs = measure(args, f"{tokens_row.server} tokens", pid, lambda: bench_token(
            reaper, args.peers_dir, url=server.token_url, client_id=server.client_id,
            secret=server.secret, server_pid=pid, shape=shape, db_probe=ks.db_probe), ks.db_probe)
        minted = mint_tokens(server.token_url, server.authorization, args.introspect_tokens)
        intro_url = server.token_url.replace("/oauth/token", "/oauth/introspect")
        intro_row.runs = measure(args, f"{tokens_row.server} introspections", pid,
                                 lambda: bench_introspect(reaper, url=intro_url,
                                                          authorization=server.authorization,
                                                          tokens=minted, server_pid=pid,
                                                          shape=shape,
                                                          db_probe=ks.db_probe),
                                 ks.db_probe)
        if ks.database_url is None:
            # The WAL only shrinks when a checkpoint can restart it; with several writer
            # processes under load it may never get the chance. Its size is a health indicator.
            wal = ks.db_path.with_name(ks.db_path.name + "-wal")
            ks.wal_bytes[label] = wal.stat().st_size if wal.exists() else 0
            log(f"  WAL file at the end of the {label} phase: "
                f"{ks.wal_bytes[label] / 2**20:,.1f} MiB")
    return tokens_row, intro_row


# ---------------------------------------------------------------------------------------------
# Targets and report


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    op: str  # ">=" or "<="
    bound: float
    unit: str = "x"
    note: str = ""

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.value >= self.bound if self.op == ">=" else self.value <= self.bound
        return "met" if ok else "NOT MET"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "op": self.op, "bound": self.bound,
                "unit": self.unit, "status": self.status, "note": self.note}


def _ratio(a: Measurement | None, b: Measurement | None) -> float | None:
    return a.rate / b.rate if a is not None and b is not None and b.rate > 0 else None


def _cpu_ratio(a: Measurement | None, b: Measurement | None) -> float | None:
    if a is None or b is None or a.cpu_us_per_op is None or not b.cpu_us_per_op:
        return None
    return a.cpu_us_per_op / b.cpu_us_per_op


def _db_cpu_note(m: Measurement | None) -> str:
    if m is None or m.db_cpu_us_per_op is None:
        return "PostgreSQL's own CPU not visible" if m is not None else ""
    return f"PostgreSQL's own: {m.db_cpu_us_per_op:,.0f} µs"


def pg_targets(get: Callable[[str, str], Measurement | None]) -> list[Target]:
    """Issue 11 §1: the PostgreSQL store beside the SQLite one and the peers, from one run."""
    ks, intro = get(PG_NAME, "token"), get(PG_NAME, "introspect")
    lite, lite_intro = get(SQLITE_NAME, "token"), get(SQLITE_NAME, "introspect")
    op = get("oidc-provider", "token")
    ks_l, intro_l = get(f"{PG_NAME} (loaded)", "token"), get(f"{PG_NAME} (loaded)", "introspect")
    no_lite = "SQLite empty phase skipped" if lite is None else ""
    found = [
        Target(f"{PG_NAME} tokens/s ÷ SQLite tokens/s", _ratio(ks, lite), ">=", 0.8, note=no_lite),
        Target(f"{PG_NAME} tokens/s ÷ oidc-provider tokens/s", _ratio(ks, op), ">=", 1.5,
               note="peers skipped" if op is None else ""),
        Target(f"{PG_NAME} introspections/s ÷ SQLite introspections/s", _ratio(intro, lite_intro),
               ">=", 0.8, note=no_lite),
        Target(f"{PG_NAME} introspections/s ÷ tokens/s", _ratio(intro, ks), ">=", 1.0),
        Target(f"{PG_NAME} token p99 latency", ks.p99_ms if ks else None, "<=", 15.0, "ms"),
        Target(f"{PG_NAME} server CPU per token", ks.cpu_us_per_op if ks else None, "<=", 250.0,
               "µs", note=_db_cpu_note(ks)),
    ]
    if ks_l is not None:
        found += [
            Target(f"{PG_NAME} loaded ÷ empty: tokens/s", _ratio(ks_l, ks), ">=", 0.9,
                   note="" if ks else "empty phase skipped"),
            Target(f"{PG_NAME} loaded ÷ empty: introspections/s", _ratio(intro_l, intro), ">=",
                   0.9, note="" if intro else "empty phase skipped"),
            Target(f"{PG_NAME} loaded: token p99 latency", ks_l.p99_ms, "<=", 15.0, "ms"),
            Target(f"{PG_NAME} loaded: server CPU per token", ks_l.cpu_us_per_op, "<=", 250.0,
                   "µs", note=_db_cpu_note(ks_l)),
        ]
    return found


def targets(rows: dict[tuple[str, str], Row], baseline: str | None = None, *,
            stores: tuple[str, ...] = ("sqlite",)) -> list[Target]:
    def get(server: str, endpoint: str) -> Measurement | None:
        row = rows.get((server, endpoint))
        return row.result if row is not None and row.runs else None

    ks, intro = get(SQLITE_NAME, "token"), get(SQLITE_NAME, "introspect")
    op, asgi = get("oidc-provider", "token"), get("asgi-minimal", "token")
    ks_l, intro_l = get(f"{SQLITE_NAME} (loaded)", "token"), get(f"{SQLITE_NAME} (loaded)",
                                                                   "introspect")
    if "sqlite" not in stores:
        return pg_targets(get)
    skipped = "peers skipped" if op is None else ""
    found = [
        Target("keystead tokens/s ÷ oidc-provider tokens/s", _ratio(ks, op), ">=", 1.5,
               note=skipped),
        Target("keystead tokens/s ÷ asgi-minimal tokens/s", _ratio(ks, asgi), ">=", 0.7,
               note=skipped),
        Target("keystead token p99 latency", ks.p99_ms if ks else None, "<=", 15.0, "ms"),
        Target("keystead introspections/s ÷ tokens/s", _ratio(intro, ks), ">=", 1.0),
        Target("keystead server CPU per token", ks.cpu_us_per_op if ks else None, "<=", 250.0,
               "µs"),
    ]
    if baseline is not None:
        base, base_intro = get(baseline, "token"), get(baseline, "introspect")
        found += [
            Target(f"keystead tokens/s ÷ {baseline} tokens/s", _ratio(ks, base), ">=", 0.95,
                   note="no regression"),
            Target(f"keystead introspections/s ÷ {baseline} introspections/s",
                   _ratio(intro, base_intro), ">=", 0.95, note="no regression"),
        ]
    if (off := get(EVIDENCE_OFF_NAME, "token")) is not None:
        # CPU per token is the steadier figure on a shared box; both say what recording costs.
        found += [
            Target("keystead tokens/s ÷ tokens/s with evidence recording off", _ratio(ks, off),
                   ">=", 0.95, note="what recording costs"),
            Target("keystead CPU per token ÷ CPU per token with evidence recording off",
                   _cpu_ratio(ks, off), "<=", 1.05, note="what recording costs"),
        ]
    if ks_l is not None:
        found += [
            Target("loaded ÷ empty store: tokens/s", _ratio(ks_l, ks), ">=", 0.9,
                   note="" if ks else "empty phase skipped"),
            Target("loaded ÷ empty store: introspections/s", _ratio(intro_l, intro), ">=", 0.9,
                   note="" if intro else "empty phase skipped"),
            Target("loaded store: token p99 latency", ks_l.p99_ms, "<=", 15.0, "ms"),
            Target("loaded store: server CPU per token", ks_l.cpu_us_per_op, "<=", 250.0, "µs"),
        ]
    if "postgres" in stores:
        found += pg_targets(get)
    return found


def _fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def render(results: dict[str, Any], rows: list[Row], found: list[Target]) -> str:
    cfg, host = results["config"], results["host"]
    lines = [
        "",
        f"Keystead bench, {results['timestamp']}  —  {host['cpus']} CPUs ({host['cpu_model']}), "
        f"load before {host['loadavg_before']}",
        f"keystead source: commit {results['source']['commit']} + working tree "
        f"src sha256 {results['source']['src_sha256']} (newest file "
        f"{results['source']['src_newest_mtime']})",
        f"wrk {cfg['connections']} connections, {cfg['threads']} threads, {cfg['duration']:g} s "
        f"windows after {cfg['warmup']:g} s warm-up, median of {cfg['repeat']}; "
        f"{cfg['workers']} server processes each; the driver shares the CPUs; introspection "
        f"cycles through {cfg.get('introspect_tokens', INTROSPECT_TOKENS):,} tokens",
    ]
    if results.get("postgres"):
        pgi = results["postgres"]
        lines.append(f"{PG_NAME}: a throw-away database {pgi['database']} beside {pgi['url']}; "
                     "pg CPU = the cluster's processes over the window (bench/README.md)"
                     + ("" if pgi["postmaster_pid"] else "; not visible from here"))
    lines.append("")
    with_db = any(row.result.db_cpu_s is not None for row in rows)
    header: tuple[str, ...] = ("server", "endpoint", "ok/s", "p50 ms", "p99 ms", "max ms",
                               "errors", "srv CPU µs/op", "srv cores", "wrk CPU s", "other cores")
    if with_db:
        header += ("pg CPU µs/op", "pg cores", "pg conns")
    table = [header]
    for row in rows:
        m = row.result
        cores = m.server_cpu_s / m.duration_s if m.server_cpu_s is not None else None
        cells: tuple[str, ...] = (
            row.server, row.endpoint, _fmt(m.rate), _fmt(m.p50_ms, 2), _fmt(m.p99_ms, 2),
            _fmt(m.max_ms, 1), str(m.errors), _fmt(m.cpu_us_per_op), _fmt(cores, 2),
            _fmt(m.driver_cpu_s, 2), _fmt(m.foreign_cores, 2))
        if with_db:
            db_cores = m.db_cpu_s / m.duration_s if m.db_cpu_s is not None else None
            cells += (_fmt(m.db_cpu_us_per_op), _fmt(db_cores, 2),
                      "n/a" if m.db_sessions is None else str(m.db_sessions))
        table.append(cells)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        lines.append("  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(r, widths, strict=True))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        if len(row.runs) > 1:
            lines.append(f"  {row.server} {row.endpoint}: windows {spread(row.runs)}")
        if (row.result.foreign_cores or 0.0) > FOREIGN_WARN_CORES:
            lines.append(f"  WARNING {row.server} {row.endpoint}: other processes used "
                         f"{row.result.foreign_cores:.2f} cores during the window; its figures "
                         "are understated (rerun on a quiet box)")
        if row.result.db_other_sessions:
            lines.append(f"  WARNING {row.server} {row.endpoint}: {row.result.db_other_sessions} "
                         "connections to other databases of the PostgreSQL cluster during the "
                         "window; pg CPU counts those that ended (overstated)")
        if row.result.errors:
            lines.append(f"  WARNING {row.server} {row.endpoint}: {row.result.errors} errors, "
                         f"first: {row.result.first_error}")
    if results.get("prefill") or results.get("prefill_postgres"):
        lines.append("")
    for key, store in (("prefill", "loaded store"), ("prefill_postgres", f"{PG_NAME} loaded")):
        if results.get(key):
            pf = results[key]
            lines.append(f"{store}: +{pf['clients']:,} clients, +{pf['tokens']:,} revoked "
                         f"tokens in {pf['seconds']:.1f} s; now {pf['counts']['clients']:,} "
                         f"clients, {pf['counts']['revoked_tokens']:,} revoked tokens, "
                         f"{pf['db_bytes'] / 2**20:,.0f} MiB")
    if results.get("keystead_wal_bytes_at_phase_end"):
        wal = ", ".join(f"{label} {size / 2**20:,.1f} MiB" for label, size
                        in results["keystead_wal_bytes_at_phase_end"].items())
        lines.append(f"keystead WAL file at the end of each phase (1000-page autocheckpoint "
                     f"= 3.9 MiB): {wal}")
    lines += ["", "Targets (ratios from this run)"]
    name_w = max(len(t.name) for t in found)
    for t in found:
        value = _fmt(t.value, 2 if t.unit == "x" else 1 if t.unit == "ms" else 0)
        unit = "x" if t.unit == "x" else f" {t.unit}"
        bound = f"{t.op.replace('>=', '≥').replace('<=', '≤')} {t.bound:g}{unit}"
        note = f"  ({t.note})" if t.note else ""
        shown = value if t.value is None else value + unit
        lines.append(f"  {t.name.ljust(name_w)}  {shown:>10}  {bound:>10}  "
                     f"{t.status}{note}")
    met = sum(t.status == "met" for t in found)
    lines += ["", f"{met}/{len(found)} targets met; results written to {results['output']}", ""]
    return "\n".join(lines)


def source_info() -> dict[str, Any]:
    """What was measured: the commit, and a digest of src/ as it is on disk (it may be dirty)."""
    digest = hashlib.sha256()
    files = sorted((REPO / "src").rglob("*.py"))
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    latest = max((p.stat().st_mtime for p in files), default=0.0)
    return {"commit": commit, "src_sha256": digest.hexdigest()[:16],
            "src_newest_mtime": datetime.fromtimestamp(latest, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def git_commit(revision: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"--baseline {revision}: not a commit ({done.stderr.strip()})")
    return done.stdout.strip()


def checkout_src(revision: str, into: Path) -> Path:
    """``src/`` as of ``revision``, extracted under ``into`` (no worktree left behind)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", git_commit(revision), "src"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def host_info() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version(), "loadavg_before": " ".join(load)}


# ---------------------------------------------------------------------------------------------


PG_CPU_NOTE = ("db_cpu_s: CPU of the local cluster over each window: the postmaster, its live "
               "processes except backends of other databases, and children it reaped during "
               "the window (procs.postgres_cpu_seconds); db_backends_cpu_s: the bench "
               "database's live backends alone; db_sessions: connections opened to the bench "
               "database during the window (pg_stat_database.sessions); db_other_sessions: "
               "to the cluster's other databases (their ended backends are in db_cpu_s)")


def postgres_probe(postmaster: int | None, database: str,
                   sessions: Callable[[], tuple[int, int]]) -> DbProbe:
    def probe() -> DbSample:
        cpu, backends = (postgres_cpu_seconds(postmaster, database) if postmaster is not None
                         else (None, None))
        return DbSample(cpu, backends, *sessions())

    return probe


def measure_postgres(args: argparse.Namespace, reaper: Reaper, workdir: Path, shape: LoadShape,
                     results: dict[str, Any]) -> list[Row]:
    """The Keystead phases again, on a throw-away PostgreSQL database dropped at the end."""
    db = pg.BenchDatabase(args.postgres_url)
    log(f"creating the PostgreSQL database {db.name} beside {pg.shown_url(args.postgres_url)}")
    db.create()
    try:
        postmaster = pg.postmaster_pid(db.url)
        if postmaster is None:
            log("  note: the PostgreSQL server is not a process on this host; its own CPU is "
                "not shown")
        results["postgres"] = {"url": pg.shown_url(args.postgres_url), "database": db.name,
                               "postmaster_pid": postmaster, "cpu": PG_CPU_NOTE}
        rows: list[Row] = []
        with contextlib.closing(pg.SessionCounter(db.admin_url, db.name)) as sessions:
            ks = Keystead(reaper, workdir, args.workers, name=PG_NAME, database_url=db.url,
                          db_probe=postgres_probe(postmaster, db.name, sessions))
            ks.setup()
            if not args.loaded_only:
                rows += measure_keystead(ks, reaper, args, shape, "empty")
            if args.loaded:
                log(f"pre-filling {db.name}: {args.fill_clients:,} clients, "
                    f"{args.fill_tokens:,} tokens")
                report = pg.fill(db.url, clients=args.fill_clients, tokens=args.fill_tokens)
                results["prefill_postgres"] = {**report.as_dict(), "counts": pg.counts(db.url)}
                log(f"  done in {report.seconds:.1f} s ({report.db_bytes / 2**20:,.0f} MiB)")
                rows += measure_keystead(ks, reaper, args, shape, "loaded")
        return rows
    finally:
        if args.keep_data:
            log(f"kept the PostgreSQL database {db.name} ({pg.shown_url(db.url)})")
        else:
            db.drop()


def run(args: argparse.Namespace, reaper: Reaper, workdir: Path,
        stores: tuple[str, ...] = ("sqlite",)) -> tuple[dict[str, Any], str]:
    shape = LoadShape(args.duration, args.connections, args.threads, args.warmup)
    results: dict[str, Any] = {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "host": host_info(),
        "source": source_info(),
        "config": {"duration": args.duration, "warmup": args.warmup,
                   "connections": args.connections, "threads": args.threads,
                   "workers": args.workers, "repeat": args.repeat, "driver": "wrk",
                   "introspect_tokens": args.introspect_tokens, "stores": list(stores)},
        "output": str(args.output),
    }
    rows: list[Row] = []
    if not args.skip_peers:
        for peer in PEERS:
            with run_peer(reaper, args.peers_dir, peer, workdir, args.workers) as server:
                def once(s: Server = server) -> Measurement:
                    return bench_token(reaper, args.peers_dir, url=s.token_url,
                                       client_id=s.client_id, secret=s.secret,
                                       server_pid=s.proc.pid, shape=shape)

                rows.append(Row(peer, "token",
                                measure(args, f"{peer} tokens", server.proc.pid, once)))

    baseline = None
    if args.baseline and not args.loaded_only and "sqlite" in stores:
        base = Keystead(reaper, workdir, args.workers, name=f"baseline {args.baseline}",
                        source=checkout_src(args.baseline, workdir / "baseline-src"))
        base.setup()
        rows += measure_keystead(base, reaper, args, shape, "empty")
        baseline = base.name
        results["baseline"] = {"revision": args.baseline, "commit": git_commit(args.baseline)}

    if args.evidence_cost and not args.loaded_only and "sqlite" in stores:
        off = Keystead(reaper, workdir, args.workers, name=EVIDENCE_OFF_NAME,
                       settings={"KEYSTEAD_EVIDENCE_RECORDING": "false"})
        off.setup()
        rows += measure_keystead(off, reaper, args, shape, "empty")

    if "sqlite" in stores:
        ks = Keystead(reaper, workdir, args.workers)
        ks.setup()
        if not args.loaded_only:
            rows += measure_keystead(ks, reaper, args, shape, "empty")
        if args.loaded:
            log(f"pre-filling the store: {args.fill_clients:,} clients, {args.fill_tokens:,} "
                "tokens")
            report = fill(ks.db_path, clients=args.fill_clients, tokens=args.fill_tokens)
            results["prefill"] = {**report.as_dict(), "counts": counts(ks.db_path)}
            log(f"  done in {report.seconds:.1f} s ({report.db_bytes / 2**20:,.0f} MiB)")
            rows += measure_keystead(ks, reaper, args, shape, "loaded")
        results["keystead_wal_bytes_at_phase_end"] = ks.wal_bytes
    if "postgres" in stores:
        rows += measure_postgres(args, reaper, workdir, shape, results)

    by_key = {(r.server, r.endpoint): r for r in rows}
    found = targets(by_key, baseline, stores=stores)
    results["measurements"] = [
        {"server": r.server, "endpoint": r.endpoint, **r.result.as_dict(),
         "windows": [m.as_dict() for m in r.runs]} for r in rows]
    results["targets"] = [t.as_dict() for t in found]
    results["all_met"] = all(t.status == "met" for t in found)
    return results, render(results, rows, found)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_tools(args)
        stores = resolve_stores(args)
        with Reaper().guard() as reaper:
            workdir = Path(tempfile.mkdtemp(prefix="keystead-bench-"))
            try:
                results, text = run(args, reaper, workdir, stores)
            finally:
                reaper.stop_all()
                if args.keep_data:
                    log(f"kept data dir and logs in {workdir}")
                else:
                    shutil.rmtree(workdir, ignore_errors=True)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130
    except SystemExit as exc:  # SIGTERM/SIGHUP (see Reaper.guard)
        print(f"bench: stopped by a signal; servers stopped (exit {exc.code})", file=sys.stderr)
        raise
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    if args.json:
        print(text, file=sys.stderr)
        print(json.dumps(results, indent=2))
    else:
        print(text)
    return 1 if args.strict and not results["all_met"] else 0


if __name__ == "__main__":
    sys.exit(main())
