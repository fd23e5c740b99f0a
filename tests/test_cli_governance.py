"""`keystead clients create|update` with owners, tags and environments, and `keystead governance
policy show|set` (issue 12 §1, §4), run as the installed command on both stores."""

from __future__ import annotations

import json

from tests import test_cli
from tests.people import PASSWORD
from tests.support.management import audit_events
from tests.support.tokens import bearer, token
from tests.test_cli import Deployment

# The CLI tests' fixtures: a deployment after `keystead init`, on each store.
deployment = test_cli.deployment
sqlite_initialised = test_cli.sqlite_initialised
postgres_initialised = test_cli.postgres_initialised


def _owner(deployment: Deployment, email: str = "olive@example.com") -> None:
    deployment.ok("users", "create-admin", "--email", email, "--password-stdin",
                  stdin=PASSWORD + "\n")


def test_cli_clients_create_sets_owner_by_email_tags_and_environment(
        deployment: Deployment) -> None:
    _owner(deployment)
    created = json.loads(deployment.ok(
        "clients", "create", "--name", "ledger", "--role", "OAuth Admin", "--scope",
        "oauth:readonly", "--owner", "olive@example.com", "--owner-contact",
        "ledger@example.com", "--tag", "billing", "--tag", "finance", "--environment",
        "production", "--json"))
    shown = json.loads(deployment.ok("clients", "show", created["id"]))
    assert (shown["owner"]["name"], shown["ownerContact"], shown["tags"], shown["environment"],
            shown["orphaned"]) == ("Administrator", "ledger@example.com", ["billing", "finance"],
                                   "production", False)
    assert created["secret"] not in json.dumps(shown)


def test_cli_clients_create_refuses_an_unknown_owner_naming_the_field(
        deployment: Deployment) -> None:
    result = deployment.run("clients", "create", "--name", "ledger", "--role", "OAuth Admin",
                            "--scope", "oauth:readonly", "--owner", "nobody@example.com")
    assert result.returncode == 1
    assert "owner.id" in result.stderr
    assert "Traceback" not in result.stderr
    assert deployment.ok("clients", "list").strip() == ""


def test_cli_clients_update_changes_only_the_named_fields(deployment: Deployment) -> None:
    _owner(deployment)
    created = json.loads(deployment.ok(
        "clients", "create", "--name", "ledger", "--role", "OAuth Admin", "--scope",
        "oauth:readonly", "--tag", "billing", "--json"))
    updated = json.loads(deployment.ok("clients", "update", created["id"], "--owner",
                                       "olive@example.com", "--environment", "staging"))
    assert (updated["name"], updated["tags"], updated["environment"], updated["owner"]["name"]
            ) == ("ledger", ["billing"], "staging", "Administrator")
    cleared = json.loads(deployment.ok("clients", "update", created["id"], "--owner", "none",
                                       "--clear-tags", "--environment", "none"))
    assert {"owner", "environment"} & set(cleared) == set()
    assert cleared["tags"] == []
    bad = deployment.run("clients", "update", created["id"], "--environment", "qa")
    assert (bad.returncode, "production, staging, development" in bad.stderr) == (1, True)


def test_cli_governance_policy_show_and_set_are_audited(deployment: Deployment) -> None:
    admin = deployment.bootstrap("auditor", "Super Admin")  # before owners are required
    shown = json.loads(deployment.ok("governance", "policy", "show"))
    assert (shown["rotationMaxAgeDays"], shown["ownerRequired"]) == (30, False)
    changed = json.loads(deployment.ok("governance", "policy", "set", "rotationMaxAgeDays=60",
                                       "ownerRequired=true", "unreviewedAction=disable"))
    assert (changed["rotationMaxAgeDays"], changed["ownerRequired"],
            changed["unreviewedAction"]) == (60, True, "disable")
    with deployment.serving() as http:
        [event] = audit_events(http, bearer(token(http, admin)), entity_id="organization",
                               action="update")
    assert event["context"]["actorKind"] == "cli"
    assert {c["property"]: (c["oldValues"], c["newValues"]) for c in event["propertyChanges"]
            } == {"rotationMaxAgeDays": (["30"], ["60"]), "ownerRequired": (["False"], ["True"]),
                  "unreviewedAction": (["nothing"], ["disable"])}


def test_cli_governance_policy_set_refuses_bad_values_and_saves_nothing(
        deployment: Deployment) -> None:
    for pair in ("rotationMaxAgeDays=0", "ownerRequired=maybe", "noSuchField=1", "novalue"):
        result = deployment.run("governance", "policy", "set", pair, "deletionApproval=true")
        assert result.returncode == 1, pair
        assert "Traceback" not in result.stderr
    assert json.loads(deployment.ok("governance", "policy", "show"))["deletionApproval"] is False


def test_cli_governance_compliance_reports_each_control_and_exits_1_while_one_fails(
        deployment: Deployment) -> None:
    result = deployment.run("governance", "compliance", "--format", "json")
    assert result.returncode == 1  # deletion approval is off by default: SOC 2 fails
    assert "Traceback" not in result.stderr
    controls = {c["id"]: c["status"] for c in json.loads(result.stdout)["controls"]}
    assert len(controls) == 15
    assert controls["soc2-change-management"] == "fail"
    deployment.ok("governance", "policy", "set", "deletionApproval=true")
    table = deployment.run("governance", "compliance").stdout
    assert "PASS  SOC 2    Change management" in table
    as_csv = deployment.run("governance", "compliance", "--format", "csv").stdout
    assert as_csv.splitlines()[0] == "regime,control,title,status,evidence,failing"
