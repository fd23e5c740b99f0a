"""A client's console page shows where its secret is delivered and when it next rotates, and
rotates it into the destination: the new secret is on no page; a failed delivery is shown on
the page and the client keeps its secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.people import Console
from tests.support.clients import CLIENTS, Registered, bootstrap

PAGE = "/admin/integrations/oauth"
CC = {"grant_type": "client_credentials"}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "secrets").mkdir()
    return settings.model_copy(update={"secret_file_root": tmp_path / "secrets"})


@pytest.fixture
def delivered_client(http: TestClient, headers: dict[str, str], tmp_path: Path) -> Registered:
    app = bootstrap(http, name="billing", roles=["OAuth Admin"], scopes=["oauth:readonly"])
    put = http.put(f"{CLIENTS}/{app.id}/secret/destination", headers=headers, json={
        "kind": "file", "settings": {"directory": str(tmp_path / "secrets")},
        "rotation": {"everyDays": 30, "dualUseSeconds": 3_600}})
    assert put.status_code == 200, put.text
    return app


def test_console_shows_the_destination_and_rotates_into_it(
        console: Console, delivered_client: Registered, tmp_path: Path) -> None:
    page = console.http.get(f"{PAGE}/{delivered_client.id}")
    assert 'id="secret-delivery"' in page.text
    assert 'id="next-rotation"' in page.text

    rotated = console.post(f"{PAGE}/{delivered_client.id}/deliver", {"dualUseSeconds": "60"})

    assert rotated.status_code == 200
    assert "written to the client&#39;s destination" in rotated.text
    secret = (tmp_path / "secrets" / delivered_client.id).read_text()
    assert secret not in rotated.text
    assert console.http.post("/oauth/token", data=CC,
                             auth=(delivered_client.id, secret)).status_code == 200


def test_console_shows_a_failed_delivery_and_keeps_the_secret(
        console: Console, delivered_client: Registered, tmp_path: Path) -> None:
    (tmp_path / "secrets").rmdir()

    failed = console.post(f"{PAGE}/{delivered_client.id}/deliver", {"dualUseSeconds": "60"})

    assert failed.status_code == 502
    assert 'id="deliver-error"' in failed.text
    assert "not delivered" in failed.text
    assert console.http.post("/oauth/token", data=CC,
                             auth=delivered_client.basic_auth).status_code == 200
