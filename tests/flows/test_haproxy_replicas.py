"""Several replicas for real: Debian's HAProxy, configured by deploy/haproxy.cfg (ports rewritten),
in front of three `keystead serve` processes on one PostgreSQL database and Redis, checking
/health/ready every second. Under a steady mixed load through HAProxy:

- SIGKILL one replica: only requests in flight on it may fail; every change that committed has
  exactly one audit entry, and `keystead audit verify` passes;
- a rolling restart (SIGTERM one replica at a time, which drains, then start it again): no
  request fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET_KEY
from tests.support.cli import KEYSTEAD_COMMAND, keystead_cli
from tests.support.needs import missing
from tests.support.postgres import throwaway_database, url_of
from tests.support.servers import reserved_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
REDIS_URL = os.environ.get("KEYSTEAD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
THREADS = 4

pytestmark = pytest.mark.postgres


@dataclass
class Deployment:
    """Three replicas behind HAProxy; replicas can be killed, stopped and started again."""

    env: dict[str, str]
    ports: list[int]
    workdir: Path
    front: str = ""
    replicas: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    admin: tuple[str, str] = ("", "")

    def start(self, *indexes: int) -> None:
        """Start these replicas side by side, then wait until HAProxy sends them requests."""
        for index in indexes:
            log = (self.workdir / f"replica{index}.log").open("ab")
            self.replicas[index] = subprocess.Popen(
                [KEYSTEAD_COMMAND, "serve", "--host", "127.0.0.1", "--port",
                 str(self.ports[index]), "--workers", "1"],
                env=self._process_env(), stdout=log, stderr=log)
        for index in indexes:
            self.wait_ready(index)
        time.sleep(2.5)  # HAProxy's check: rise 2 at 1 s intervals

    def _process_env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")} | self.env

    def wait_ready(self, index: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.ports[index]}/health/ready"
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.replicas[index].poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"replica {index} not ready: "
                           f"{(self.workdir / f'replica{index}.log').read_text()[-2000:]}")

    def stop(self, index: int, sig: signal.Signals) -> None:
        proc = self.replicas.pop(index)
        proc.send_signal(sig)
        proc.wait(timeout=30)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    if not Path(HAPROXY).exists():
        missing("HAProxy is not installed (apt-get install haproxy; make test does it)")
    with throwaway_database("keystead_replicas") as name:
        yield from _deployment(url_of(name), tmp_path)


def _deployment(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    front_port, *ports = (reserved_port() for _ in range(4))
    env = {"KEYSTEAD_DATABASE_URL": database_url,
           "KEYSTEAD_SECRET_KEY": SECRET_KEY, "KEYSTEAD_REDIS_URL": REDIS_URL,
           "KEYSTEAD_ISSUER": f"http://127.0.0.1:{front_port}",
           "KEYSTEAD_TRUSTED_PROXIES": "127.0.0.1", "KEYSTEAD_LOG_LEVEL": "WARNING",
           "KEYSTEAD_DATA_DIR": str(tmp_path)}
    deployment = Deployment(env, ports, tmp_path, front=f"http://127.0.0.1:{front_port}")
    config = DEPLOY.read_text().replace("127.0.0.1:8080", f"127.0.0.1:{front_port}")
    for index, port in enumerate(ports):
        config = config.replace(f"127.0.0.1:800{index + 1}", f"127.0.0.1:{port}")
    config = re.sub(r"^\s*log .*$", "", config, flags=re.MULTILINE)  # quiet in tests
    (tmp_path / "haproxy.cfg").write_text(config)
    haproxy = None
    try:
        for command in (["init"], ["bootstrap-client", "--name", "load", "--role",
                                   "Super Admin", "--json"]):
            done = keystead_cli(env, *command)
            assert done.returncode == 0, done.stderr
        made = json.loads(done.stdout)
        deployment.admin = (made["id"], made["secret"])
        haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(tmp_path / "haproxy.cfg")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deployment.start(0, 1, 2)
        yield deployment
    finally:
        for proc in deployment.replicas.values():
            proc.kill()
            proc.wait(timeout=10)
        if haproxy is not None:
            haproxy.kill()
            haproxy.wait(timeout=10)


@dataclass
class Load:
    """Threads sending tokens, introspections and audited writes through HAProxy until stopped."""

    deployment: Deployment
    stop: threading.Event = field(default_factory=threading.Event)
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)  # scope id -> status (0: no answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        front, (client_id, secret) = self.deployment.front, self.deployment.admin
        with httpx.Client(base_url=front, timeout=10) as web:
            access = web.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(client_id, secret)).json()["access_token"]
            while not self.stop.is_set():
                scope = f"load:{uuid.uuid4().hex[:12]}"
                steps: list[tuple[str, Callable[[], httpx.Response]]] = [
                    ("token", partial(web.post, "/oauth/token", auth=(client_id, secret),
                                      data={"grant_type": "client_credentials"})),
                    ("introspect", partial(web.post, "/oauth/introspect",
                                           data={"token": access}, auth=(client_id, secret))),
                    ("write", partial(web.post, "/api/v2/oauth/scopes",
                                      headers={"Authorization": f"Bearer {access}"},
                                      json={"id": scope, "description": "load"})),
                ]
                for kind, send in steps:
                    try:
                        status = send().status_code
                    except httpx.HTTPError as exc:
                        status, detail = 0, type(exc).__name__
                    else:
                        detail = str(status)
                    with self.lock:
                        if kind == "write":
                            self.written[scope] = status
                        if status == 200:
                            self.ok += 1
                        else:
                            self.failures.append(f"{kind}: {detail}")

    def __enter__(self) -> Load:
        self.threads = [threading.Thread(target=self.run) for _ in range(THREADS)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def _audited_once(deployment: Deployment, written: dict[str, int]) -> list[str]:
    """Scopes whose audit entries do not match what committed: exactly one per existing scope."""
    front, (client_id, secret) = deployment.front, deployment.admin
    wrong = []
    with httpx.Client(base_url=front, timeout=10) as web:
        access = web.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret)).json()["access_token"]
        headers = {"Authorization": f"Bearer {access}"}
        for scope, status in written.items():
            exists = web.get(f"/api/v2/oauth/scopes/{scope}", headers=headers).status_code == 200
            entries = web.post("/api/v2/audits/query/realtime", headers=headers, json={
                "interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z", "pageSize": 25,
                "filters": [{"property": "entityId", "value": scope}]}).json()["entities"]
            if len(entries) != (1 if exists else 0) or (status == 200 and not exists):
                wrong.append(f"{scope}: answered {status}, exists {exists}, {len(entries)} "
                             "audit entries")
    return wrong


def test_sigkill_of_a_replica_fails_only_requests_in_flight(deployment: Deployment) -> None:
    with Load(deployment) as load:
        time.sleep(3)
        deployment.stop(1, signal.SIGKILL)
        time.sleep(5)
    assert load.ok > 100
    assert len(load.failures) <= THREADS, load.failures
    assert _audited_once(deployment, load.written) == []
    verified = keystead_cli(deployment.env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr


def test_rolling_restart_fails_no_request(deployment: Deployment) -> None:
    with Load(deployment) as load:
        time.sleep(2)
        for index in range(3):
            deployment.stop(index, signal.SIGTERM)
            deployment.start(index)
        time.sleep(1)
    assert load.ok > 100
    assert load.failures == []
