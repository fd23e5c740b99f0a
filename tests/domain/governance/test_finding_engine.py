"""The findings engine on the real stores, fed evidence by a test double (the per-day evidence
records are not stored yet): unused scopes and roles fire, resolve themselves when used again,
come back with the same identity, and are fixed in one step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from starlette.testclient import TestClient

from keystead.domain.governance.evidence import Evidence
from keystead.domain.governance.findings import Finding, FindingFilter, FindingState
from keystead.domain.paging import Page
from keystead.domain.principal import operator
from keystead.web.runtime import Runtime
from tests.support.apps import run
from tests.support.clients import bootstrap
from tests.support.clock import ManualClock
from tests.support.findings import DAY, make_role


@dataclass
class FixedEvidence:
    """EvidenceQuery double: the same evidence for every client asked about."""

    evidence: Evidence = field(default_factory=Evidence)

    async def over(self, client_ids: list[str], _since: date) -> Mapping[str, Evidence]:
        return dict.fromkeys(client_ids, self.evidence)


def used(*scopes: str, permissions: tuple[str, ...] = ()) -> Evidence:
    return Evidence(tokens_by_grant={"CLIENT-CREDENTIALS": 12}, scopes_granted=frozenset(scopes),
                    permissions_exercised=frozenset(permissions))


def evaluate(http: TestClient, client_id: str, evidence: Evidence) -> dict[str, Finding]:
    async def work(runtime: Runtime) -> dict[str, Finding]:
        async with runtime.transaction() as conn:
            engine = replace(runtime.findings(conn), evidence=FixedEvidence(evidence))
            await engine.evaluate(operator(), client_ids=[client_id])
            found, _ = await engine.search(operator(), FindingFilter(client_id=client_id),
                                           Page(1, 100))
        return {f"{f.kind}/{f.subject}": f for f in found}

    return run(http, work)


def remedy(http: TestClient, finding_id: str, evidence: Evidence) -> Finding:
    async def work(runtime: Runtime) -> Finding:
        async with runtime.transaction() as conn:
            engine = replace(runtime.findings(conn), evidence=FixedEvidence(evidence))
            return await engine.remedy(operator(), finding_id)

    return run(http, work)


def scopes_and_roles(http: TestClient, client_id: str) -> tuple[tuple[str, ...], set[str]]:
    async def work(runtime: Runtime) -> tuple[tuple[str, ...], set[str]]:
        async with runtime.transaction() as conn:
            client = await runtime.management(conn).find(operator(), client_id)
        return client.settings.scopes, {rd.role_id for rd in client.settings.role_divisions}

    return run(http, work)


def test_finding_engine_unused_scope_and_role_resolve_return_and_are_fixed(
        http: TestClient, headers: dict[str, str], clock: ManualClock) -> None:
    reader = make_role(http, headers, "Reader", ["oauth:client:view"])
    auditor = make_role(http, headers, "Auditor", ["audits:audit:view"])
    svc = bootstrap(http, name="svc", roles=["Reader", "Auditor"],
                    scopes=["oauth:readonly", "audits:readonly"])
    clock.advance(91 * DAY)  # older than the lookback window: judged on its use
    partial = used("oauth:readonly", permissions=("oauth:client:view",))

    found = evaluate(http, svc.id, partial)
    scope, role = found["unused-scope/audits:readonly"], found[f"unused-role/{auditor}"]
    assert scope.evidence["scopesGranted"] == ["oauth:readonly"]
    assert role.evidence["roleName"] == "Auditor"
    assert f"unused-role/{reader}" not in found

    everything = used("oauth:readonly", "audits:readonly",
                      permissions=("oauth:client:view", "audits:audit:view"))
    cleared = evaluate(http, svc.id, everything)
    assert cleared["unused-scope/audits:readonly"].state is FindingState.resolved
    assert cleared[f"unused-role/{auditor}"].resolved_at is not None

    back = evaluate(http, svc.id, partial)["unused-scope/audits:readonly"]
    assert (back.id, back.state, back.first_seen) == (scope.id, FindingState.active,
                                                      scope.first_seen)

    assert remedy(http, scope.id, partial).state is FindingState.resolved
    assert evaluate(http, svc.id, partial)[f"unused-role/{auditor}"].state is (
        FindingState.active)  # re-evaluated after the fix: only the scope's finding cleared
    assert remedy(http, role.id, partial).state is FindingState.resolved
    assert scopes_and_roles(http, svc.id) == (("oauth:readonly",), {reader})
