"""``keystead clients plan-deactivation|deactivations|cancel-deactivation`` on both stores: the
operator plans, lists and cancels; bad input exits 1 with the rule, never a traceback."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

from starlette.testclient import TestClient

from keystead.config import Settings
from tests.conftest import SECRET_KEY
from tests.support.cli import keystead_cli
from tests.support.clients import Registered, bootstrap
from tests.support.clock import ManualClock

CC = {"grant_type": "client_credentials"}


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return keystead_cli({"KEYSTEAD_DATA_DIR": str(settings.data_dir),
                         "KEYSTEAD_DATABASE_URL": settings.resolved_database_url,
                         "KEYSTEAD_SECRET_KEY": SECRET_KEY}, "clients", *args)


def test_cli_plans_lists_and_cancels_a_deactivation(http: TestClient, settings: Settings,
                                                    clock: ManualClock) -> None:
    app = bootstrap(http, name="nightly export", roles=["OAuth Admin"])
    day = (clock.now + timedelta(days=60)).date().isoformat()

    planned = cli(settings, "plan-deactivation", app.id, "--on", day,
                  "--reason", "replaced by the streaming export")

    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["date"].startswith(day)
    listed = json.loads(cli(settings, "deactivations").stdout)
    assert [(p["client"]["name"], p["state"]) for p in listed] == [("nightly export",
                                                                    "scheduled")]
    answer = http.post("/oauth/token", data=CC, auth=Registered(app.id, app.secret).basic_auth)
    assert answer.headers["sunset"].startswith(
        (clock.now + timedelta(days=60)).strftime("%a, %d %b %Y"))

    cancelled = cli(settings, "cancel-deactivation", app.id)

    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cli(settings, "deactivations").stdout) == []


def test_cli_deactivation_bad_input_exits_1_with_the_rule(http: TestClient,
                                                          settings: Settings) -> None:
    app = bootstrap(http, name="nightly export", roles=["OAuth Admin"])

    past = cli(settings, "plan-deactivation", app.id, "--on", "2001-01-01", "--reason", "old")
    unknown = cli(settings, "cancel-deactivation", app.id)

    assert past.returncode == 1
    assert "future" in past.stderr
    assert unknown.returncode == 1
    assert "no planned deactivation" in unknown.stderr
    assert "Traceback" not in past.stderr + unknown.stderr
