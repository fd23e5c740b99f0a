"""Secret delivery over the API: a client's destination is configured (checked field by field,
only by a caller who may edit the client and holds what its roles give), a rotation with
``deliver`` writes the new secret there and reads it back before it commits, and the value
appears nowhere else: not in the response, the audit, the logs or an error. A failed delivery
changes nothing and is audited as a failure."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.delivery import Destinations
from keystead.domain.audit import JSONValue
from keystead.domain.secret_delivery import DeliveryError, SecretDestination
from tests.people import create_user
from tests.support.apps import runtime_of
from tests.support.clients import CLIENTS, Registered, bootstrap
from tests.support.findings import findings_of
from tests.support.management import audit_events
from tests.support.tokens import bearer, token
from tests.web.governance.support import rows, set_owner

CC = {"grant_type": "client_credentials"}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "secrets" / "apps").mkdir(parents=True)
    return settings.model_copy(update={"secret_file_root": tmp_path / "secrets"})


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    return tmp_path / "secrets" / "apps"


@pytest.fixture
def app_client(http: TestClient) -> Registered:
    return bootstrap(http, name="billing", roles=["OAuth Admin"], scopes=["oauth:readonly"])


def destination(client_id: str) -> str:
    return f"{CLIENTS}/{client_id}/secret/destination"


def gets_token(http: TestClient, client_id: str, secret: str) -> bool:
    return http.post("/oauth/token", data=CC, auth=(client_id, secret)).status_code == 200


def fields(response: Any) -> list[str]:
    assert response.status_code == 400, response.text
    return [d["fieldName"] for d in response.json()["details"]]


def test_rotation_delivers_to_a_file_and_shows_the_secret_to_no_one(
        http: TestClient, headers: dict[str, str], app_client: Registered, secrets_dir: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    configured = http.put(destination(app_client.id), headers=headers, json={
        "kind": "file", "settings": {"directory": str(secrets_dir)}})
    assert configured.status_code == 200, configured.text
    assert configured.json()["kind"] == "file"
    assert configured.json()["rotation"] is None

    rotated = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers,
                        json={"deliver": True, "dualUseSeconds": 3_600})

    assert rotated.status_code == 200, rotated.text
    assert "secret" not in rotated.json()
    delivered = (secrets_dir / app_client.id).read_text()
    assert delivered != app_client.secret
    assert gets_token(http, app_client.id, delivered)
    assert gets_token(http, app_client.id, app_client.secret)  # its dual-use window
    audit = audit_events(http, headers, entity_id=app_client.id)
    assert [e["action"] for e in audit if e["action"].startswith("secret.")] == [
        "secret.deliver", "secret.regenerate", "secret.destination.set"]
    seen = json.dumps(audit) + rotated.text + configured.text + caplog.text
    assert delivered not in seen


class Failing:
    """A destination that takes the secret and then fails, naming it (to test the scrubbing)."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def open(self, kind: str, settings: Mapping[str, str]) -> SecretDestination:  # noqa: ARG002
        return self

    def write(self, client_id: str, secret: str) -> None:  # noqa: ARG002
        self.written.append(secret)

    def read_back(self, client_id: str) -> str:  # noqa: ARG002
        raise DeliveryError(f"vault sealed while reading {self.written[-1]}")

    def describe(self) -> dict[str, JSONValue]:
        return {"kind": "file"}


def test_failed_delivery_changes_nothing_and_is_audited_without_the_secret(
        http: TestClient, headers: dict[str, str], app_client: Registered, secrets_dir: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert http.put(destination(app_client.id), headers=headers, json={
        "kind": "file", "settings": {"directory": str(secrets_dir)}}).status_code == 200
    failing = Failing()
    runtime_of(http).destinations = failing

    refused = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers,
                        json={"deliver": True})

    assert refused.status_code == 502, refused.text
    assert refused.json()["code"] == "secret.delivery.failed"
    assert "vault sealed" in refused.json()["message"]
    [attempted] = failing.written
    assert gets_token(http, app_client.id, app_client.secret)
    assert not gets_token(http, app_client.id, attempted)
    audit = audit_events(http, headers, entity_id=app_client.id)
    assert [(e["action"], e["status"]) for e in audit if e["action"].startswith("secret.")][
        :1] == [("secret.deliver", "FAILURE")]
    assert not any(e["action"] == "secret.regenerate" for e in audit)
    assert attempted not in json.dumps(audit) + refused.text + caplog.text


def test_failed_delivery_is_a_finding_and_a_notice_until_a_delivery_succeeds(
        http: TestClient, headers: dict[str, str], app_client: Registered,
        secrets_dir: Path) -> None:
    owner = create_user(http, "owner@example.com")
    set_owner(http, app_client.id, owner.id)
    assert http.put(destination(app_client.id), headers=headers, json={
        "kind": "file", "settings": {"directory": str(secrets_dir)}}).status_code == 200
    runtime = runtime_of(http)
    failing = Failing()  # its error names the secret it was given: it must be scrubbed
    working, runtime.destinations = runtime.destinations, failing

    refused = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers,
                        json={"deliver": True})

    assert refused.status_code == 502, refused.text
    failed = findings_of(http, headers, app_client.id)["secret-delivery-failed"]
    assert (failed["state"], failed["severity"]) == ("active", "high")
    assert "vault sealed" in failed["evidence"]["error"]
    told = rows(http, "SELECT recipient_id, kind, body FROM notices")
    assert [(n["recipient_id"], n["kind"]) for n in told] == [(owner.id, "finding.opened")]
    assert "secret-delivery-failed" in told[0]["body"]
    [attempted] = failing.written
    assert attempted not in json.dumps(failed) + str(told)
    assert gets_token(http, app_client.id, app_client.secret)  # nothing changed

    runtime.destinations = working  # the destination is fixed
    delivered = http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers,
                          json={"deliver": True})
    assert delivered.status_code == 200, delivered.text
    after = findings_of(http, headers, app_client.id, state="resolved")
    assert after["secret-delivery-failed"]["state"] == "resolved"


def test_destination_input_is_checked_field_by_field(
        http: TestClient, headers: dict[str, str], app_client: Registered, tmp_path: Path
) -> None:
    def put(body: dict[str, Any]) -> Any:
        return http.put(destination(app_client.id), headers=headers, json=body)

    assert fields(put({"kind": "s3"})) == ["kind"]
    assert fields(put({"kind": "file", "settings": {}})) == ["settings.directory"]
    assert fields(put({"kind": "file", "settings": {"directory": str(tmp_path)}})) == [
        "settings.directory"]  # outside KEYSTEAD_SECRET_FILE_ROOT
    assert fields(put({"kind": "vault", "settings": {"path": "a/{clientId}"}})) == [
        "kind"]  # no KEYSTEAD_VAULT_ADDR
    assert fields(put({"kind": "file", "settings": {"directory": str(tmp_path / "secrets"),
                                                    "token": "s.abc"}})) == ["settings.token"]
    assert fields(put({"kind": "file", "settings": {"directory": str(tmp_path / "secrets")},
                       "rotation": {"everyDays": 0}})) == ["rotation.everyDays"]
    assert fields(put({"kind": "file", "settings": {"directory": str(tmp_path / "secrets")},
                       "rotation": {"everyDays": 1, "dualUseSeconds": 86_400}})) == [
        "rotation.dualUseSeconds"]
    assert fields(http.post(f"{CLIENTS}/{app_client.id}/secret", headers=headers,
                            json={"deliver": True})) == ["deliver"]
    assert http.get(destination(app_client.id), headers=headers).status_code == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert put_for(http, headers, unknown, tmp_path).status_code == 404
    assert http.get(destination(unknown), headers=headers).status_code == 404
    assert not audit_events(http, headers, action="secret.destination.set")


def put_for(http: TestClient, headers: dict[str, str], client_id: str, tmp_path: Path) -> Any:
    return http.put(destination(client_id), headers=headers, json={
        "kind": "file", "settings": {"directory": str(tmp_path / "secrets")}})


def test_configuring_a_destination_needs_edit_and_the_clients_powers(
        http: TestClient, headers: dict[str, str], app_client: Registered, admin: Registered,
        tmp_path: Path) -> None:
    made = http.post("/api/v2/authorization/roles", headers=headers, json={
        "name": "Client Viewer", "permissions": ["oauth:client:view"]})
    assert made.status_code == 200, made.text
    viewer = bearer(token(http, bootstrap(http, name="viewer", roles=["Client Viewer"])))
    oauth_admin = bearer(token(http, bootstrap(http, name="oa", roles=["OAuth Admin"])))

    as_viewer = put_for(http, viewer, app_client.id, tmp_path)
    # The admin client holds Super Admin: choosing where its secret goes would give an OAuth
    # Admin permissions it does not hold.
    escalating = put_for(http, oauth_admin, admin.id, tmp_path)

    assert as_viewer.status_code == 403
    assert "oauth:client:edit" in as_viewer.json()["message"]
    assert escalating.status_code == 403
    assert http.delete(destination(app_client.id), headers=viewer).status_code == 403
    assert put_for(http, oauth_admin, app_client.id, tmp_path).status_code == 200
    assert http.get(destination(app_client.id), headers=viewer).status_code == 200
    assert http.delete(destination(app_client.id), headers=viewer).status_code == 403
    assert http.delete(destination(app_client.id), headers=oauth_admin).status_code == 204
    assert http.get(destination(app_client.id), headers=viewer).status_code == 404


def test_destinations_factory_is_the_runtimes(http: TestClient) -> None:
    assert isinstance(runtime_of(http).destinations, Destinations)
