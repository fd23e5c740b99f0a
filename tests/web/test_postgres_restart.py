"""A PostgreSQL restart, for real, on a cluster the test owns (``initdb`` + ``pg_ctl``): while it
is down or coming up every answer is 503 with Retry-After (never 500, ``invalid_client``,
``active: false``, a 401 or a revoke 200 that did not revoke); once it is back the same app serves
again without being restarted, and no usage count issued before or during the outage is lost."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.errors import StoreUnavailableError
from tests.outages import PostgresCluster
from tests.support.apps import serve
from tests.support.cli import keystead_cli
from tests.support.clients import Registered
from tests.support.needs import missing
from tests.support.postgres import run_sql
from tests.support.servers import reserved_port
from tests.support.tokens import bearer
from tests.web.test_store_unavailable import assert_unavailable
from tests.web.test_supervision import flush, held, usage_total

CC = {"grant_type": "client_credentials"}
CLIENTS = "/api/v2/oauth/clients"


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    admin: Registered


@pytest.fixture
def owned_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this test's own, started on a free loopback port."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None or (os.geteuid() == 0 and not shutil.which("runuser")):
        missing("initdb and pg_ctl (PostgreSQL's server binaries) are not on PATH")
    # Not under tmp_path: as root the cluster runs as postgres, who cannot enter pytest's
    # root-only directories.
    directory = Path(tempfile.mkdtemp(prefix="keystead-pgcluster-"))
    try:
        cluster = PostgresCluster(directory, initdb=initdb, pg_ctl=pg_ctl, port=reserved_port())
        cluster.start()
        yield cluster
        cluster.destroy()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def deployment(owned_cluster: PostgresCluster, tmp_path: Path) -> Deployment:
    """`keystead init` and `keystead bootstrap-client` run against the owned cluster."""
    asyncio.run(run_sql(owned_cluster.url, "CREATE DATABASE keystead"))
    url = make_url(owned_cluster.url).set(database="keystead").render_as_string(
        hide_password=False)
    env = {"KEYSTEAD_DATA_DIR": str(tmp_path), "KEYSTEAD_DATABASE_URL": url}
    for command in (["init"], ["bootstrap-client", "--name", "restart admin",
                               "--role", "Super Admin", "--json"]):
        done = keystead_cli(env, *command)
        assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key=SecretStr(""),
                        issuer="http://testserver").with_secret_key()
    return Deployment(settings, Registered(printed["id"], printed["secret"]))


@dataclass
class Traffic:
    """Requests of every kind a client makes, each answer checked; counts the tokens issued."""

    app: TestClient
    admin: Registered
    issued: int = 0
    valid: str = ""
    spare: list[str] = field(default_factory=list)  # tokens to revoke, one per round
    revoked: list[str] = field(default_factory=list)  # revoke answered 200
    kept: list[str] = field(default_factory=list)  # revoke answered 503

    def token(self) -> httpx2.Response:
        response = self.app.post("/oauth/token", data=CC, auth=self.admin.basic_auth)
        if response.status_code == 200:
            self.issued += 1
        return response

    def round(self) -> list[tuple[str, httpx2.Response]]:
        """One request of each kind; the answers, named."""
        answers = [("token", self.token()),
                   ("wrong secret", self.app.post("/oauth/token", data=CC,
                                                  auth=(self.admin.id, "wrong"))),
                   ("introspect", self.app.post("/oauth/introspect", data={"token": self.valid},
                                                auth=self.admin.basic_auth)),
                   ("api", self.app.get(CLIENTS, headers=bearer(self.valid)))]
        if self.spare:
            value = self.spare.pop()
            revoked = self.app.post("/oauth/revoke", data={"token": value},
                                    auth=self.admin.basic_auth)
            (self.revoked if revoked.status_code == 200 else self.kept).append(value)
            answers.append(("revoke", revoked))
        return answers


def is_up(kind: str, response: httpx2.Response) -> bool:
    """True for the answer of a served request, False for a retryable 503; fails on any other."""
    if response.status_code == 503:
        if kind == "api":
            assert int(response.headers["retry-after"]) > 0
            assert "www-authenticate" not in response.headers
        else:
            assert_unavailable(response)
        return False
    expected = 401 if kind == "wrong secret" else 200
    assert response.status_code == expected, (kind, response.status_code, response.text)
    if kind == "introspect":
        assert response.json()["active"] is True
    return True


@pytest.fixture
def traffic(deployment: Deployment) -> Iterator[Traffic]:
    """The app serving the owned cluster, with a valid token and tokens to revoke."""
    with serve(deployment.settings) as app:
        traffic = Traffic(app, deployment.admin)
        first = traffic.token()
        assert first.status_code == 200, first.text
        traffic.valid = first.json()["access_token"]
        traffic.spare = [traffic.token().json()["access_token"] for _ in range(30)]
        yield traffic


def assert_recovered(traffic: Traffic, deployment: Deployment) -> None:
    """The same app serves every kind of request; every count reaches the database."""
    assert all(is_up(kind, answer) for kind, answer in traffic.round())
    for value in traffic.revoked:  # a revoke 200 revoked
        assert traffic.app.post("/oauth/introspect", data={"token": value},
                                auth=traffic.admin.basic_auth).json()["active"] is False
    for value in traffic.kept:  # a revoke 503 did not: the client retries it
        assert traffic.app.post("/oauth/introspect", data={"token": value},
                                auth=traffic.admin.basic_auth).json()["active"] is True
    flush(traffic.app)
    assert held(traffic.app) == 0
    assert traffic.app.get("/health/ready").status_code == 200  # every loop alive
    assert usage_total(deployment.settings, traffic.admin.id) == traffic.issued


def test_postgres_stopped_then_started_is_503_then_serves(
        owned_cluster: PostgresCluster, deployment: Deployment, traffic: Traffic) -> None:
    for _ in range(5):
        traffic.token()  # counted in memory, most likely not yet flushed when it stops
    owned_cluster.stop()
    waiting = held(traffic.app)
    for _ in range(3):  # a gap: the database stays down a while
        assert not any(is_up(kind, answer) for kind, answer in traffic.round())
    if waiting:  # the flush loop runs every second: it rarely got there first
        with pytest.raises(StoreUnavailableError):
            flush(traffic.app)
    assert held(traffic.app) == waiting  # kept for the next flush, not dropped
    assert traffic.app.get("/health/live").status_code == 200
    assert traffic.app.get("/health/ready").status_code == 503
    owned_cluster.start()
    assert_recovered(traffic, deployment)


def test_postgres_fast_restart_under_requests_is_503_or_served(
        owned_cluster: PostgresCluster, deployment: Deployment, traffic: Traffic) -> None:
    restarting = owned_cluster.restart()
    outcomes: list[bool] = []
    deadline = time.monotonic() + 60
    while restarting.poll() is None:
        assert time.monotonic() < deadline, "pg_ctl restart did not finish"
        outcomes += [is_up(kind, answer) for kind, answer in traffic.round()]
    assert restarting.returncode == 0
    assert_recovered(traffic, deployment)
    assert outcomes  # requests were made while it restarted
