"""Secret delivery against a real OpenBao server (``bao server -dev``, KV v2 at ``secret/``).

The test plays the application: it reads its client secret from the vault and gets tokens with
it, again and again, while a scheduled rotation runs (the manual clock moved to the due date, the
rotation loop's function called in another thread). Not one token request may fail, and the
vault must end up holding the new secret. AppRole sign-in is tested too, and a vault that
refuses the write (a policy without the path) leaves the client's secret unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.delivery import Destinations
from keystead.delivery.vault import VaultConnection
from keystead.web.app import create_app, rotate_secrets
from tests.support.apps import run, runtime_of
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.management import audit_events
from tests.support.openbao import OpenBao, openbao_dev_server
from tests.support.servers import reserved_port
from tests.support.tokens import bearer, token

CC = {"grant_type": "client_credentials"}
DAY = 86_400
PATH = "keystead/clients/{clientId}"
MIN_REQUESTS = 20


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    with openbao_dev_server(tmp_path_factory.mktemp("bao")) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, bao: OpenBao) -> Settings:
    return settings.model_copy(update={"vault_addr": bao.address,
                                       "vault_token": SecretStr(bao.root_token)})


def vault_secret(bao: OpenBao, client_id: str, *, mount: str = "secret") -> str:
    """What the application reads: the client secret the vault holds for it."""
    answer = bao.client().secrets.kv.v2.read_secret_version(
        path=PATH.replace("{clientId}", client_id), mount_point=mount,
        raise_on_deleted_version=True)
    data = answer["data"]["data"]
    assert data["client_id"] == client_id
    return str(data["client_secret"])


def configure(http: TestClient, headers: dict[str, str], client_id: str,
              **body: Any) -> None:
    put = http.put(f"{CLIENTS}/{client_id}/secret/destination", headers=headers,
                   json={"kind": "vault", "settings": {"mount": "secret", "path": PATH}} | body)
    assert put.status_code == 200, put.text


def deliver(http: TestClient, headers: dict[str, str], client_id: str) -> Any:
    return http.post(f"{CLIENTS}/{client_id}/secret", headers=headers, json={"deliver": True})


def test_application_reading_the_vault_never_fails_across_a_scheduled_rotation(
        http: TestClient, clock: ManualClock, headers: dict[str, str], bao: OpenBao,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, hvac's and urllib3's included
    app = bootstrap(http, name="billing", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    configure(http, headers, app.id, rotation={"everyDays": 30, "dualUseSeconds": 3_600})
    first = deliver(http, headers, app.id)
    assert first.status_code == 200, first.text
    assert "secret" not in first.json()
    initial = vault_secret(bao, app.id)
    clock.advance(30 * DAY)  # the rotation is due

    outcomes: list[int] = []
    used: set[str] = set()

    def application_gets_a_token() -> None:
        secret = vault_secret(bao, app.id)  # the application reads the vault each time
        used.add(secret)
        outcomes.append(http.post("/oauth/token", data=CC, auth=(app.id, secret)).status_code)

    for _ in range(5):
        application_gets_a_token()
    with ThreadPoolExecutor(1) as pool:
        rotation = pool.submit(run, http, rotate_secrets)
        while not rotation.done() or len(outcomes) < MIN_REQUESTS:
            application_gets_a_token()
        rotation.result()
    # The rotation may finish just after the last read: read once more, as the app would next.
    application_gets_a_token()

    assert [code for code in outcomes if code != 200] == []
    rotated = vault_secret(bao, app.id)
    assert rotated != initial
    assert used == {initial, rotated}  # the application went across the rotation
    assert initial not in caplog.text
    assert rotated not in caplog.text
    assert http.post("/oauth/token", data=CC, auth=(app.id, rotated)).status_code == 200
    fresh = bearer(token(http, bootstrap(http, name="auditor", roles=["Super Admin"])))
    assert len(audit_events(http, fresh, entity_id=app.id, action="secret.regenerate")) == 2
    versions = bao.client().secrets.kv.v2.read_secret_metadata(
        path=PATH.replace("{clientId}", app.id), mount_point="secret")["data"]["versions"]
    assert len(versions) == 2
    shown = http.get(f"{CLIENTS}/{app.id}/secret/destination", headers=fresh)
    assert shown.json()["settings"] == {"mount": "secret", "path": PATH}
    audit = str(audit_events(http, fresh, entity_id=app.id))
    for value in (bao.root_token, initial, rotated):  # no credential, no secret
        assert value not in shown.text + audit


@pytest.fixture
def approle(bao: OpenBao) -> tuple[str, str]:
    """An AppRole allowed to write and read ``secret/data/keystead/*`` only."""
    root = bao.client()
    if "approle/" not in root.sys.list_auth_methods()["data"]:
        root.sys.enable_auth_method("approle")
    root.sys.create_or_update_policy("keystead-delivery", """
        path "secret/data/keystead/*" { capabilities = ["create", "update", "read"] }""")
    root.auth.approle.create_or_update_approle("keystead", token_policies=["keystead-delivery"])
    role_id = root.auth.approle.read_role_id("keystead")["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("keystead")["data"]["secret_id"]
    return str(role_id), str(secret_id)


@pytest.fixture
def approle_http(settings: Settings, clock: ManualClock, approle: tuple[str, str],
                 http: TestClient) -> Iterator[TestClient]:  # noqa: ARG001 - http seeds the db
    signed_in = settings.model_copy(update={
        "vault_token": SecretStr(""), "vault_role_id": SecretStr(approle[0]),
        "vault_secret_id": SecretStr(approle[1])})
    with TestClient(create_app(signed_in, clock=clock, housekeeping_interval=False),
                    base_url="http://testserver") as client:
        yield client


def test_approle_delivery_and_a_refused_path_changes_nothing(
        approle_http: TestClient, bao: OpenBao, approle: tuple[str, str]) -> None:
    http = approle_http
    admin = bootstrap(http, name="admin", roles=["Super Admin"])
    headers = bearer(token(http, admin))
    app = bootstrap(http, name="billing", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    other = bootstrap(http, name="reports", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    configure(http, headers, app.id)
    put = http.put(f"{CLIENTS}/{other.id}/secret/destination", headers=headers, json={
        "kind": "vault", "settings": {"mount": "secret", "path": "elsewhere/{clientId}"}})
    assert put.status_code == 200, put.text
    shown = http.get(f"{CLIENTS}/{app.id}/secret/destination", headers=headers)
    assert approle[0] not in shown.text
    assert approle[1] not in shown.text

    delivered = deliver(http, headers, app.id)
    refused = deliver(http, headers, other.id)

    assert delivered.status_code == 200, delivered.text
    secret = vault_secret(bao, app.id)
    assert http.post("/oauth/token", data=CC, auth=(app.id, secret)).status_code == 200
    assert refused.status_code == 502
    assert "elsewhere" in refused.json()["message"]
    assert approle[1] not in refused.text
    assert http.post("/oauth/token", data=CC, auth=Registered(
        other.id, other.secret).basic_auth).status_code == 200
    [failure] = audit_events(http, headers, entity_id=other.id, action="secret.deliver")
    assert failure["status"] == "FAILURE"


def test_unreachable_vault_fails_clearly(http: TestClient, headers: dict[str, str]) -> None:
    app = bootstrap(http, name="billing", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    configure(http, headers, app.id)
    runtime_of(http).destinations = Destinations(
        file_root=None, vault=VaultConnection(f"http://127.0.0.1:{reserved_port()}",
                                              token="t", timeout_seconds=2))
    refused = deliver(http, headers, app.id)

    assert refused.status_code == 502
    assert "unreachable" in refused.json()["message"]
    assert http.post("/oauth/token", data=CC, auth=app.basic_auth).status_code == 200
