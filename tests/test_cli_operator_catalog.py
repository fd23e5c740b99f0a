"""`keystead scopes|roles|divisions|audit|keys|health …` in both modes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.support.operator_cli import MODES, Site, api_call, serving_site

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=STORES)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    with serving_site(str(request.param), tmp_path_factory.mktemp("site") / "data") as made:
        yield made


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _header(text: str) -> list[str]:
    return text.splitlines()[0].split("  ")


def test_scopes_list_show_and_create(site: Site, mode: str) -> None:
    assert _header(site.ok(mode, "scopes", "list"))[0] == "ID"
    listed = site.json(mode, "scopes", "list")
    assert isinstance(listed, list)
    assert "oauth:readonly" in {s["id"] for s in listed}
    name = f"billing{uuid.uuid4().hex[:6]}:read"
    created = site.json(mode, "scopes", "create", name, "--description", "Read invoices",
                        "--resource-server", "https://billing.example.com")
    assert isinstance(created, dict)
    assert (created["id"], created["builtin"]) == (name, False)
    shown = site.ok(mode, "scopes", "show", name)
    assert "https://billing.example.com" in shown
    assert site.run(mode, "scopes", "show", "no:such").exit_code == 1


def test_roles_list_show_and_create(site: Site, mode: str) -> None:
    listed = site.json(mode, "roles", "list")
    assert isinstance(listed, list)
    by_name = {r["name"]: r for r in listed}
    assert {"OAuth Admin", "Super Admin"} <= set(by_name)
    assert "OAuth Admin" in site.ok(mode, "roles", "list")
    shown = site.json(mode, "roles", "show", by_name["OAuth Admin"]["id"])
    assert isinstance(shown, dict)
    assert "oauth:client:*" in shown["permissions"]
    name = f"Viewer {uuid.uuid4().hex[:6]}"
    created = site.json(mode, "roles", "create", "--name", name, "--permission",
                        "oauth:client:view")
    assert isinstance(created, dict)
    assert created["permissions"] == ["oauth:client:view"]
    bad = site.run(mode, "roles", "create", "--name", "x", "--permission", "nope")
    assert bad.exit_code == 1


def test_divisions_list_show_and_create(site: Site, mode: str) -> None:
    name = f"Ops {uuid.uuid4().hex[:6]}"
    created = site.json(mode, "divisions", "create", "--name", name)
    assert isinstance(created, dict)
    listed = site.json(mode, "divisions", "list")
    assert isinstance(listed, list)
    assert {("Home", True), (name, False)} <= {(d["name"], d["homeDivision"]) for d in listed}
    assert _header(site.ok(mode, "divisions", "list"))[0] == "ID"
    assert name in site.ok(mode, "divisions", "show", created["id"])


def test_audit_query_finds_what_a_command_did(site: Site, mode: str) -> None:
    division = site.json(mode, "divisions", "create", "--name", f"Audited {uuid.uuid4().hex}")
    assert isinstance(division, dict)
    found = site.json(mode, "audit", "query", "--entity-id", division["id"])
    assert isinstance(found, list)
    assert [(e["action"], e["entityType"]) for e in found] == [("create", "Division")]
    table = site.ok(mode, "audit", "query", "--entity-id", division["id"])
    assert table.splitlines()[0].split()[:2] == ["TIME", "ACTION"]
    bad = site.run(mode, "audit", "query", "--since", "yesterday")
    assert bad.exit_code == 2


def test_audit_export_writes_every_entry_oldest_first(site: Site, mode: str) -> None:
    site.ok(mode, "divisions", "create", "--name", f"Exported {uuid.uuid4().hex}")
    lines = site.ok(mode, "audit", "export").splitlines()
    entries = [json.loads(line) for line in lines]
    sequences = [int(e["context"]["sequence"]) for e in entries]
    assert sequences == sorted(sequences)
    assert len(entries) == sequences[-1]  # nothing left out
    assert site.admin.secret not in "".join(lines)


def test_audit_tail_shows_the_newest_entries(site: Site, mode: str) -> None:
    name = f"Tailed {uuid.uuid4().hex}"
    site.ok(mode, "divisions", "create", "--name", name)
    tail = site.ok(mode, "audit", "tail", "-n", "3", "--json").splitlines()
    assert len(tail) == 3
    assert json.loads(tail[-1])["entity"]["name"] == name


def test_audit_verify_counts_entries_locally_and_refuses_remotely(site: Site, mode: str) -> None:
    result = site.run(mode, "audit", "verify")
    if mode == "remote":
        assert result.exit_code == 2
        assert "locally" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    total = api_call(site, "POST", "/api/v2/audits/query/realtime", json={
        "interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z", "pageSize": 1}).json()["total"]
    checked = int(result.stdout.split(":")[1].split()[0])
    assert checked >= total > 0
    assert f"{checked} entries checked" in result.stdout


def test_keys_list_shows_the_published_keys(site: Site, mode: str) -> None:
    published = {k["kid"] for k in api_call(site, "GET", "/oauth/jwks").json()["keys"]}
    listed = site.json(mode, "keys", "list")
    assert isinstance(listed, list)
    assert {k["kid"] for k in listed if k["state"] == "published"} == published
    assert _header(site.ok(mode, "keys", "list"))[0] == "KID"


def test_keys_rotate_runs_locally_only(site: Site, mode: str) -> None:
    if mode == "remote":
        result = site.remote("keys", "rotate")
        assert (result.exit_code, "locally" in result.stderr) == (2, True)
        return
    before = site.json("local", "keys", "list")
    assert "new signing key" in site.ok("local", "keys", "rotate")
    after = site.json("local", "keys", "list")
    assert isinstance(before, list)
    assert isinstance(after, list)
    assert len(after) == len(before) + 1


def test_health_asks_the_named_server(site: Site, mode: str) -> None:
    result = (site.local("health", "--url", site.server) if mode == "local"
              else site.remote("health"))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] == "ready"


def test_health_exits_3_when_no_server_answers(site: Site) -> None:
    result = site.local("--server", "http://127.0.0.1:1", "health")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["status"] == "unreachable"
