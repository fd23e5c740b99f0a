"""Process plumbing for the benchmark: servers in their own process groups, always reaped.

Every long-running child (servers, wrk, bench-token) starts in a new session, so it and all its
descendants (uvicorn workers, node cluster workers) share one process group that we can signal
as a whole. ``Reaper`` remembers each group and kills them all on exit, error, SIGINT or SIGTERM;
on Linux the children also get SIGTERM if this process dies without cleaning up (PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

_PR_SET_PDEATHSIG = 1
_TICK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A failure that makes the run meaningless; its message is shown to the user as is."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Reaper:
    """Tracks process groups started by this run and kills every one of them at the end."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[Any]] = []

    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
              stdout: IO[Any] | int | None = None, stderr: IO[Any] | int | None = None,
              cwd: Path | None = None, text: bool = False) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(list(argv), env=dict(env) if env is not None else None,
                                stdout=stdout, stderr=stderr, cwd=cwd, stdin=subprocess.DEVNULL,
                                text=text,
                                preexec_fn=_die_with_parent)  # we are single-threaded
        self._procs.append(proc)
        return proc

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            timeout: float) -> subprocess.CompletedProcess[str]:
        """Run to completion (in its own group, killed with the rest if we are interrupted)."""
        proc = self.start(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.stop(proc)
            raise BenchError(f"{Path(argv[0]).name} did not finish within {timeout:.0f} s") from exc
        except BaseException:  # interrupted: take the child (and its wrk) down with us
            self.stop(proc, grace=2.0)
            raise
        self.forget(proc)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def forget(self, proc: subprocess.Popen[Any]) -> None:
        if proc in self._procs:
            self._procs.remove(proc)

    def stop(self, proc: subprocess.Popen[Any], *, grace: float = 10.0) -> None:
        """SIGTERM the process group, wait for it to go, then SIGKILL whatever is left."""
        pgid = proc.pid  # a session leader's pid is its group id
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(0.05)
        if _group_alive(pgid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        self.forget(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc, grace=5.0)

    @contextlib.contextmanager
    def guard(self) -> Iterator[Reaper]:
        """Kill everything on the way out, and turn SIGTERM/SIGHUP into a normal unwinding."""

        def _exit(signum: int, _frame: FrameType | None) -> None:
            raise SystemExit(128 + signum)

        previous: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int | None] = {}
        for sig in (signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, _exit)
        try:
            yield self
        finally:
            # Ignore further TERM/INT while reaping so cleanup itself is not interrupted.
            for ignored in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(ignored, signal.SIG_IGN)
            try:
                self.stop_all()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                signal.signal(signal.SIGINT, signal.default_int_handler)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group made only of zombies (already dead, not yet reaped by their parent) counts as gone.
    return any(_is_live_member(pid, pgid) for pid in _all_pids())


def _all_pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()  # fields from "state" (3rd) on


def _is_live_member(pid: int, pgid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and int(fields[2]) == pgid and fields[0] != "Z"


def tree_cpu_seconds(root: int) -> float:
    """User+system CPU seconds of ``root`` and every live descendant (like peers/lib/cpu.py)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields is None:
            continue
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


# A backend's title: "postgres: [cluster_name: ]user database host(port) activity".
_PG_BACKEND = re.compile(rb"^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")


def postgres_cpu_seconds(postmaster: int, database: str) -> tuple[float, float]:
    """User+system CPU seconds of a local PostgreSQL cluster, as it serves ``database``.

    Returns (cluster, backends): ``cluster`` is the postmaster, every live child of it except
    the backends serving *other* databases (auxiliary processes, WAL writer, checkpointer,
    autovacuum, the bench database's backends), plus the CPU of children the postmaster has
    reaped (backends that exited: their whole lifetime, whatever database they served).
    ``backends`` is the live backends of ``database`` alone, a lower bound.
    """
    fields = _stat_fields(postmaster)
    if fields is None:
        return 0.0, 0.0
    total = sum(int(x) for x in fields[11:15]) / _TICK  # utime stime cutime cstime
    backends = 0.0
    wanted = database.encode()
    for pid in _all_pids():
        child = _stat_fields(pid)
        if child is None or int(child[1]) != postmaster:
            continue
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        cpu = (int(child[11]) + int(child[12])) / _TICK
        backend = _PG_BACKEND.match(title)
        if backend is not None and backend[1] != wanted:
            continue  # someone else's database
        total += cpu
        if backend is not None:
            backends += cpu
    return total, backends


def system_busy_seconds() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat: everything but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / _TICK


def own_cpu_seconds() -> float:
    """CPU of this process plus every child it has waited for (bench-token, wrk, the CLI...)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class ForeignCpu:
    """CPU used during a span by processes that are neither ours nor the server's.

    Anything well above zero means another workload shared the box and the figures are low.
    """

    def __init__(self, server_pid: int, *, also: Callable[[], float] | None = None) -> None:
        self.server_pid = server_pid
        self.also = also or (lambda: 0.0)  # more CPU that is ours (the server's PostgreSQL)
        self._start = (0.0, 0.0, 0.0, 0.0, 0.0)
        self.seconds = 0.0
        self.cores = 0.0

    def __enter__(self) -> ForeignCpu:
        self._start = (time.monotonic(), system_busy_seconds(), own_cpu_seconds(),
                       tree_cpu_seconds(self.server_pid), self.also())
        return self

    def __exit__(self, *_exc: object) -> None:
        t0, busy0, own0, srv0, also0 = self._start
        self.seconds = time.monotonic() - t0
        foreign = (system_busy_seconds() - busy0) - (own_cpu_seconds() - own0) - (
            tree_cpu_seconds(self.server_pid) - srv0) - (self.also() - also0)
        self.cores = max(0.0, foreign) / self.seconds if self.seconds > 0 else 0.0


def wait_for_quiet(max_wait: float, *, threshold_cores: float = 0.15) -> float:
    """Wait (up to ``max_wait`` s) until the box is idle for one second; return the busy cores
    of the last sample (our own servers are idle at this point, so this is someone else)."""
    deadline = time.monotonic() + max_wait
    warned = False
    while True:
        busy0, t0 = system_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        cores = (system_busy_seconds() - busy0) / (time.monotonic() - t0)
        if cores <= threshold_cores or time.monotonic() >= deadline:
            if warned:
                log(f"  box {'quiet' if cores <= threshold_cores else 'still busy'} "
                    f"({cores:.2f} cores busy)")
            return cores
        if not warned:
            log(f"waiting up to {max_wait:.0f} s for other work to finish "
                f"({cores:.2f} cores busy before load; --wait-idle 0 skips this)")
            warned = True


def descendants(root: int) -> list[int]:
    parents = {}
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields is not None:
            parents[pid] = int(fields[1])
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        found.extend(kids)
        stack.extend(kids)
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout: float, what: str,
               proc: subprocess.Popen[Any] | None = None, log_file: Path | None = None,
               interval: float = 0.1) -> None:
    """Poll ``check`` until it is true; fail early if ``proc`` exits, with the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what}: the process exited with code {proc.returncode}"
                             f"{_tail(log_file)}")
        time.sleep(interval)
    raise BenchError(f"{what}: not ready after {timeout:.0f} s{_tail(log_file)}")


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n  last lines of " + str(path) + ":\n    " + "\n    ".join(text)
