"""Through Debian's pgbouncer in transaction mode (the pooler most PostgreSQL deployments put in
front): with ``KEYSTEAD_DATABASE_TRANSACTION_POOLER=true`` the API and protocol flows work while
consecutive transactions land on different server connections (two server connections shared by
several threads of requests)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.oauth_flows import code_client, refresh, signed_in_person, user_tokens
from tests.support.apps import serve
from tests.support.clients import CLIENTS, Registered, client_body
from tests.support.management import role_id
from tests.support.needs import missing
from tests.support.servers import reserved_port
from tests.support.tokens import bearer, introspect, revoke, token

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture
def pgbouncer(settings: Settings) -> Iterator[str]:
    """pgbouncer in transaction mode in front of the test database; the URL through it."""
    if not Path(PGBOUNCER).exists():
        missing("pgbouncer is not installed (apt-get install pgbouncer; make test does it as "
                "root)")
    direct = make_url(settings.resolved_database_url)
    port = reserved_port()
    # Not under tmp_path: pgbouncer runs as another user, who must be able to read its files.
    workdir = Path(tempfile.mkdtemp(prefix="keystead-pgbouncer-"))
    workdir.chmod(0o755)
    (workdir / "users.txt").write_text(f'"{direct.username}" ""\n')
    (workdir / "pgbouncer.ini").write_text(f"""
[databases]
* = host={direct.host} port={direct.port or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir}/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
ignore_startup_parameters = extra_float_digits
""")
    for path in workdir.iterdir():
        path.chmod(0o644)
    # pgbouncer refuses to run as root: it drops to the postgres user (-u) when started as root.
    user = ["-u", "postgres"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([PGBOUNCER, *user, str(workdir / "pgbouncer.ini")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                said = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"pgbouncer did not start: {said}")
            time.sleep(0.05)
        yield direct.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(params=["nothing kept", "change feed on the database itself"])
def pooled(settings: Settings, pgbouncer: str, request: pytest.FixtureRequest
           ) -> Iterator[TestClient]:
    """The app through pgbouncer; its change feed (LISTEN) either off, or connected to the
    database directly (KEYSTEAD_DATABASE_LISTEN_URL), as the README says to deploy it."""
    listen = settings.resolved_database_url if request.param.startswith("change") else ""
    with serve(settings.model_copy(update={
            "database_url": pgbouncer, "database_transaction_pooler": True,
            "database_listen_url": SecretStr(listen)})) as http:
        yield http


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_pgbouncer_transaction_mode_serves_api_and_protocol_flows(pooled: TestClient,
                                                                  admin: Registered) -> None:
    http = pooled
    headers = bearer(token(http, admin))
    made = http.post(CLIENTS, headers=headers, json=client_body(
        role_id(http, headers, "Super Admin")))
    assert made.status_code == 200, made.text
    service = Registered(made.json()["id"], made.json()["secret"])
    rotated = http.post(f"{CLIENTS}/{service.id}/secret", headers=headers,
                        json={"dualUseSeconds": 0})
    assert rotated.status_code == 200, rotated.text
    service = Registered(service.id, rotated.json()["secret"])

    def round_trip(_: int) -> tuple[int, bool, int, bool]:
        issued = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=service.basic_auth)
        value = issued.json().get("access_token", "")
        active = introspect(http, admin, value).json().get("active") is True
        revoked = revoke(http, service, value).status_code
        return issued.status_code, active, revoked, introspect(http, admin, value).json()["active"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(round_trip, range(60)))
    assert set(results) == {(200, True, 200, False)}

    web = code_client(http)
    signed_in_person(http, roles=())
    tokens = user_tokens(http, web)
    renewed = refresh(http, web, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert http.get(CLIENTS, headers=headers).status_code == 200
