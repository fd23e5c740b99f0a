"""`keystead reviews ...`: the operator starts a campaign, lists it, reads its report as JSON and
CSV, attends to due dates and closes it; bad input exits 1 with the field and the rule."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from tests.people import PASSWORD
from tests.support.cli import keystead_cli


def _cli(data_dir: Path, *args: str, stdin: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    return keystead_cli({"KEYSTEAD_DATA_DIR": str(data_dir)}, *args, stdin=stdin)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    assert _cli(tmp_path, "init").returncode == 0
    made = _cli(tmp_path, "users", "create-admin", "--email", "ops@example.com",
                "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    client = _cli(tmp_path, "bootstrap-client", "--name", "=SUM(A1)", "--role", "OAuth Admin")
    assert client.returncode == 0, client.stderr
    return tmp_path


def test_reviews_start_list_report_attend_close(data_dir: Path) -> None:
    started = _cli(data_dir, "reviews", "start", "--name", "Annual security audit",
                   "--due", "2100-12-31", "--all", "--fallback-reviewer", "ops@example.com")
    assert started.returncode == 0, started.stderr
    campaign = json.loads(started.stdout)
    assert (campaign["state"], campaign["itemCount"]) == ("open", 1)

    listed = _cli(data_dir, "reviews", "list")
    assert listed.returncode == 0, listed.stderr
    assert campaign["id"] in listed.stdout
    assert "0/1" in listed.stdout

    report = _cli(data_dir, "reviews", "report", campaign["id"])
    assert report.returncode == 0, report.stderr
    (row,) = json.loads(report.stdout)["entities"]
    assert (row["clientName"], row["reviewerName"], row["decision"]) == (
        "=SUM(A1)", "Administrator", None)
    as_csv = _cli(data_dir, "reviews", "report", campaign["id"], "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    (csv_row,) = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert csv_row["clientName"] == "'=SUM(A1)"

    attended = _cli(data_dir, "reviews", "attend")
    assert attended.returncode == 0, attended.stderr
    assert json.loads(attended.stdout) == {"reminded": 0, "escalated": 0, "disabled": 0,
                                           "closed": 0}

    closed = _cli(data_dir, "reviews", "close", campaign["id"])
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["state"] == "closed"
    again = _cli(data_dir, "reviews", "close", campaign["id"])
    assert again.returncode == 1
    assert "closed already" in again.stderr
    assert _cli(data_dir, "audit", "verify").returncode == 0


BAD_STARTS = [
    (("--all", "--tag", "x"), "exactly one of --all, --tag"),
    (("--tag", "nothing-has-this"), "no active or disabled client matches"),
    (("--all", "--due", "2000-01-01"), "dueDate must be in the future"),
    (("--all", "--due", "soon"), "dueDate must be a date"),
]


def test_reviews_start_refuses_bad_input_and_unknown_campaigns(data_dir: Path) -> None:
    for args, message in BAD_STARTS:
        due = [] if "--due" in args else ["--due", "2100-12-31"]
        result = _cli(data_dir, "reviews", "start", "--name", "r", "--fallback-reviewer",
                      "ops@example.com", *due, *args)
        assert result.returncode == 1, args
        assert message in result.stderr
    assert _cli(data_dir, "reviews", "list").stdout == ""
    result = _cli(data_dir, "reviews", "report", "00000000-0000-4000-8000-00000000dead")
    assert result.returncode == 1
    assert "no access review with id" in result.stderr
