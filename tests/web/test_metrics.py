"""GET /metrics: Prometheus text, only to the metrics bearer token; bounded labels, no secrets.

The exposition is checked by Prometheus's own ``promtool check metrics`` on a scrape of a real
uvicorn, and once of ``keystead serve --workers 2`` (multiprocess mode: every worker counted).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.keyring import KeyRing
from keystead.domain.secrets import Digester
from keystead.protocol.opaque import OpaqueTokens
from tests.outages import CutOff
from tests.support.apps import serve
from tests.support.cli import KEYSTEAD_COMMAND
from tests.support.clients import Registered, bootstrap
from tests.support.clock import ManualClock
from tests.support.needs import missing
from tests.support.servers import reserved_port, uvicorn_on
from tests.support.tokens import bearer, token
from tests.web.test_store_unavailable import CC

METRICS_TOKEN = "metrics-scrape-token-" + "m" * 24
SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every app in this module has KEYSTEAD_METRICS_TOKEN set."""
    return settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})


@pytest.fixture
def metered(http: TestClient) -> TestClient:
    return http


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels``; 0 when absent (a child not yet made)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def scrape(app: TestClient) -> str:
    response = app.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def test_metrics_is_not_found_without_the_token_setting(settings: Settings) -> None:
    with serve(settings.model_copy(update={"metrics_token": SecretStr("")})) as app:
        assert app.get("/metrics").status_code == 404
        assert app.get("/metrics", headers=SCRAPE).status_code == 404


@pytest.mark.parametrize("authorization", [
    pytest.param(None, id="missing"),
    pytest.param("Bearer wrong-token", id="wrong-token"),
    pytest.param(f"Bearer {METRICS_TOKEN}x", id="token-plus-one"),
    pytest.param(f"Basic {METRICS_TOKEN}", id="other-scheme"),
])
def test_metrics_refuses_a_wrong_or_missing_token(metered: TestClient,
                                                  authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = metered.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert "keystead_" not in response.text


def test_metrics_counts_tokens_by_grant_type(metered: TestClient, admin: Registered) -> None:
    before = value(scrape(metered), "keystead_tokens_issued_total",
                   grant_type="client_credentials")
    for _ in range(3):
        token(metered, admin)
    text = scrape(metered)
    assert value(text, "keystead_tokens_issued_total",
                 grant_type="client_credentials") == before + 3
    assert value(text, "keystead_request_duration_seconds_count", endpoint="/oauth/token") >= 3
    assert value(text, "keystead_responses_total", endpoint="/oauth/token", status="2xx") >= 3


def test_metrics_counts_authentication_failures_by_reason(metered: TestClient,
                                                          admin: Registered) -> None:
    metered.post("/oauth/token", data=CC, auth=(admin.id, "wrong"))
    metered.post("/oauth/token", data=CC, auth=("0" * 8 + "-0000-0000-0000-" + "0" * 12, "x"))
    metered.post("/oauth/token", data=CC)
    metered.get("/api/v2/tokens/me", headers=bearer("not-a-token"))
    text = scrape(metered)
    for reason in ("wrong_secret", "unknown_client", "no_credentials", "invalid_token"):
        assert value(text, "keystead_authentication_failures_total", reason=reason) == 1, reason
    assert value(text, "keystead_responses_total", endpoint="/oauth/token", status="4xx") == 3


def test_metrics_labels_requests_by_route_template_never_by_id(metered: TestClient,
                                                               admin: Registered) -> None:
    headers = bearer(token(metered, admin))
    assert metered.get(f"/api/v2/oauth/clients/{admin.id}", headers=headers).status_code == 200
    metered.get("/no/such/page")
    text = scrape(metered)
    assert value(text, "keystead_request_duration_seconds_count",
                 endpoint="/api/v2/oauth/clients/{id}") == 1
    assert value(text, "keystead_responses_total", endpoint="unmatched", status="4xx") == 1
    assert admin.id not in text
    assert "/no/such/page" not in text


def test_metrics_secrets_past_rotation_age(settings: Settings, clock: ManualClock) -> None:
    with serve(settings, clock=clock) as app:
        bootstrap(app, name="rotated late", roles=["Super Admin"])
        assert value(scrape(app), "keystead_secrets_past_rotation_age") == 0
        clock.advance((settings.secret_rotation_days + 1) * 86_400)
        assert value(scrape(app), "keystead_secrets_past_rotation_age") >= 1


def test_metrics_audit_events_follow_the_audit_log(metered: TestClient,
                                                   admin: Registered) -> None:
    before = value(scrape(metered), "keystead_audit_events_total")
    metered.post("/oauth/token", data=CC, auth=(admin.id, "wrong"))  # audited
    assert value(scrape(metered), "keystead_audit_events_total") == before + 1


def test_metrics_report_the_database_down(cut_off: CutOff, admin: Registered) -> None:
    app, sever = cut_off
    assert value(scrape(app), "keystead_database_up") == 1
    sever()
    assert app.post("/oauth/token", data=CC, auth=admin.basic_auth).status_code == 503
    text = scrape(app)  # still answered: the figures only the database knows are left out
    assert value(text, "keystead_database_up") == 0
    assert "keystead_secrets_past_rotation_age" not in text
    assert value(text, "keystead_store_unavailable_total", where="protocol") >= 1


def test_metrics_loops_are_counted(metered: TestClient) -> None:
    text = scrape(metered)
    assert value(text, "keystead_loop_failures_total", loop="usage-flush") == 0
    assert value(text, "keystead_database_up") == 1
    assert value(text, "keystead_usage_held_tokens") == 0


def promtool() -> str:
    """Prometheus's promtool: Debian's `prometheus` package, installed here when missing."""
    found = shutil.which("promtool")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "prometheus"], capture_output=True,
                       timeout=600, check=False, env={**os.environ,
                                                     "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("promtool")
    if found is None:
        missing("promtool is missing and could not be installed (apt-get install -y prometheus "
                "as root)")
    return found


def assert_promtool_accepts(text: str) -> None:
    result = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metrics_real_scrape_passes_promtool_and_holds_no_secret(settings: Settings,
                                                                 admin: Registered) -> None:
    port = reserved_port()
    url = f"http://127.0.0.1:{port}"
    live = settings.model_copy(update={"issuer": url})
    with uvicorn_on(live, port), httpx.Client(base_url=url, timeout=10) as client:
        values = []
        for _ in range(3):
            issued = client.post("/oauth/token", data=CC, auth=admin.basic_auth)
            assert issued.status_code == 200
            values.append(issued.json()["access_token"])
        form = {"token": values[0]}
        assert client.post("/oauth/introspect", data=form, auth=admin.basic_auth).status_code == 200
        form = {"token": values[1]}
        assert client.post("/oauth/revoke", data=form, auth=admin.basic_auth).status_code == 200
        client.post("/oauth/token", data=CC, auth=(admin.id, admin.secret + "x"))
        client.get("/api/v2/oauth/clients", headers=bearer(values[0]))
        client.get("/health/ready")
        client.get("/admin")
        response = client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    text = response.text
    assert_promtool_accepts(text)
    ring = KeyRing.parse("", single=live.secret_key.get_secret_value())
    digester, opaque = Digester(ring), OpaqueTokens(ring)
    digests = [digester.token(v, sealed.key_id) for v in values
               if (sealed := opaque.open(v)) is not None]
    assert len(digests) == len(values)
    for forbidden in [admin.secret, admin.secret + "x", admin.id, METRICS_TOKEN,
                      digester.secret(admin.secret), *values, *digests]:
        assert forbidden is not None
        assert forbidden not in text
    assert value(text, "keystead_tokens_issued_total", grant_type="client_credentials") == 3


@pytest.mark.parametrize("store", ["sqlite"])  # worker start-up is the cost; the store is not
def test_metrics_count_every_worker_of_keystead_serve(settings: Settings, tmp_path: Path,
                                                      admin: Registered) -> None:
    port = reserved_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYSTEAD_", "PROMETHEUS"))}
    env |= {"KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
            "KEYSTEAD_DATA_DIR": str(tmp_path), "KEYSTEAD_ISSUER": url,
            "KEYSTEAD_SECRET_KEY": settings.secret_key.get_secret_value(),
            "KEYSTEAD_METRICS_TOKEN": METRICS_TOKEN}
    server = subprocess.Popen([KEYSTEAD_COMMAND, "serve", "--port", str(port), "--workers", "2",
                               "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_ready(url, server)
        issued = 0
        for _ in range(40):  # a new connection each: the workers share them out
            with httpx.Client(base_url=url, timeout=10) as client:
                response = client.post("/oauth/token", data=CC, auth=admin.basic_auth)
            assert response.status_code == 200
            issued += 1
        with httpx.Client(base_url=url, timeout=10) as client:
            text = client.get("/metrics", headers=SCRAPE).text
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert value(text, "keystead_tokens_issued_total", grant_type="client_credentials") == issued
    assert_promtool_accepts(text)
    assert "Traceback" not in errors, errors


def _wait_until_ready(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120  # a loaded CI host starts workers slowly
    while time.monotonic() < deadline:
        if server.poll() is not None:
            errors = server.stderr.read() if server.stderr else ""
            raise AssertionError(f"keystead serve exited: {errors}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("keystead serve did not become ready")
