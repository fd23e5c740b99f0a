"""Each compliance control passes on facts that meet it and fails, naming what fails it, on
facts that do not (the judging is pure: the facts are made here)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from keystead.domain.governance.compliance import (
    CONTROLS,
    AuditCheck,
    ComplianceFacts,
    Deployment,
    Failing,
    Named,
    Regime,
    Target,
    judge,
)
from keystead.domain.governance.findings import FindingKind
from keystead.domain.governance.policy import Policy

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
PAYROLL = Named("c-1", "payroll sync")
ALICE = Named("u-1", "alice@example.com")


def healthy() -> ComplianceFacts:
    """An organisation that meets every control."""
    return ComplianceFacts(
        now=NOW, policy=Policy(deletion_approval=True),
        deployment=Deployment(session_idle_seconds=900, usage_retention_days=400,
                              alert_routes=("e-mail",), subject_rights=("API",)),
        admins_without_mfa=(), admins=2, audit=AuditCheck(40, ()), secrets_stored=3,
        secrets_unverifiable=(), undocumented_rotations=(), scheduled_rotations=1,
        confidential_clients=3, last_review_closed=datetime(2026, 11, 1, tzinfo=UTC),
        detected={}, retention_days={"auditRetentionDays": 365})


def control(facts: ComplianceFacts, control_id: str) -> tuple[bool, str, tuple[Failing, ...]]:
    found = [c for c in judge(facts).controls if c.id == control_id]
    assert len(found) == 1, control_id
    return found[0].passed, found[0].evidence, found[0].failing


def test_compliance_every_regime_has_its_controls_and_a_healthy_organisation_passes() -> None:
    report = judge(healthy())
    assert report.passed
    assert report.summary() == {
        Regime.hipaa: (4, 0), Regime.pci_dss: (4, 0), Regime.soc2: (4, 0), Regime.gdpr: (3, 0)}
    assert len({c.id for c in report.controls}) == len(CONTROLS)
    assert all(c.evidence for c in report.controls)


BROKEN = [
    pytest.param("hipaa-mfa", {"admins_without_mfa": (ALICE,)},
                 (Failing(Target.user, "u-1", "alice@example.com"),), "1 of 2 admins",
                 id="an-admin-without-mfa"),
    pytest.param("hipaa-idle-timeout", {"deployment": Deployment(
        session_idle_seconds=1800, usage_retention_days=400, alert_routes=("e-mail",),
        subject_rights=("API",))}, (Failing(Target.setting, "KEYSTEAD_SESSION_IDLE_SECONDS",
                                            "KEYSTEAD_SESSION_IDLE_SECONDS"),), "30 min",
                 id="idle-timeout-too-long"),
    pytest.param("hipaa-audit", {"audit": AuditCheck(40, ("entry 7: contents do not match its "
                                                          "hash (edited)",))},
                 (Failing(Target.audit, "verify", "audit log"),), "entry 7", id="chain-broken"),
    pytest.param("hipaa-rotations-documented", {"undocumented_rotations": (PAYROLL,)},
                 (Failing(Target.client, "c-1", "payroll sync"),), "payroll sync",
                 id="rotation-not-audited"),
    pytest.param("pci-keyed-digests", {"secrets_unverifiable": (PAYROLL,)},
                 (Failing(Target.client, "c-1", "payroll sync"),), "no longer holds",
                 id="digest-key-gone"),
    pytest.param("pci-secret-age", {"detected": {FindingKind.secret_rotation_due: (PAYROLL,)}},
                 (Failing(Target.client, "c-1", "payroll sync"),), "older than 30 days",
                 id="old-secret"),
    pytest.param("pci-access-control", {"detected": {FindingKind.no_owner: (PAYROLL,),
                                                     FindingKind.over_privileged: (PAYROLL,)}},
                 (Failing(Target.client, "c-1", "payroll sync"),),
                 "1 without an active owner and 1 over-privileged", id="unowned-and-admin"),
    pytest.param("pci-rotation-schedule", {"policy": Policy(deletion_approval=True,
                                                            rotation_max_age_days=365)},
                 (Failing(Target.policy, "rotationMaxAgeDays", "policy rotationMaxAgeDays"),),
                 "every 365 days", id="yearly-rotation"),
    pytest.param("soc2-audit-trail", {"audit": AuditCheck(3, ("entries 2..2 are missing",))},
                 (Failing(Target.audit, "verify", "audit log"),), "missing",
                 id="entry-removed"),
    pytest.param("soc2-access-reviews", {"detected": {FindingKind.review_overdue: (PAYROLL,)}},
                 (Failing(Target.client, "c-1", "payroll sync"),), "not reviewed within 90",
                 id="review-overdue"),
    pytest.param("soc2-change-management", {"policy": Policy(deletion_approval=False,
                                                             deactivation_notice_days=0)},
                 (Failing(Target.policy, "deletionApproval", "policy deletionApproval"),
                  Failing(Target.policy, "deactivationNoticeDays",
                          "policy deactivationNoticeDays")), "deletion approval off",
                 id="no-approval-no-notice"),
    pytest.param("soc2-incident-response", {"deployment": Deployment(
        session_idle_seconds=900, usage_retention_days=400, alert_routes=(),
        subject_rights=("API",))}, (Failing(Target.setting, "KEYSTEAD_SMTP_HOST",
                                            "KEYSTEAD_SMTP_HOST"),), "only the console inbox",
                 id="alerts-go-nowhere"),
    pytest.param("gdpr-processing-log", {"audit": AuditCheck(3, ("entry 1: previous-hash link "
                                                                 "broken",))},
                 (Failing(Target.audit, "verify", "audit log"),), "does not verify",
                 id="log-broken"),
    pytest.param("gdpr-subject-rights", {"deployment": Deployment(
        session_idle_seconds=900, usage_retention_days=400, alert_routes=("e-mail",))},
                 (Failing(Target.setting, "subject-rights", "data subject rights"),),
                 "no export or erasure", id="no-export-or-erasure"),
    pytest.param("gdpr-retention", {"retention_days": {"auditRetentionDays": None}},
                 (Failing(Target.policy, "auditRetentionDays", "policy auditRetentionDays"),),
                 "auditRetentionDays kept without limit", id="audit-kept-forever"),
]


@pytest.mark.parametrize(("control_id", "change", "failing", "said"), BROKEN)
def test_compliance_a_broken_control_fails_and_names_what_fails_it(
        control_id: str, change: dict[str, object], failing: tuple[Failing, ...],
        said: str) -> None:
    assert control(healthy(), control_id)[0], "passes before the change"
    passed, evidence, named = control(replace(healthy(), **change), control_id)  # type: ignore[arg-type]
    assert not passed
    assert named == failing
    assert said in evidence
    assert not judge(replace(healthy(), **change)).passed  # type: ignore[arg-type]


def test_compliance_every_control_can_fail() -> None:
    assert {p.values[0] for p in BROKEN} == {c[1] for c in CONTROLS}


def test_compliance_long_lists_are_shortened_but_every_client_is_linked() -> None:
    many = tuple(Named(f"c-{n}", f"client {n}") for n in range(8))
    passed, evidence, failing = control(
        replace(healthy(), detected={FindingKind.secret_rotation_due: many}), "pci-secret-age")
    assert not passed
    assert "client 4 and 3 more" in evidence
    assert [f.id for f in failing] == [f"c-{n}" for n in range(8)]
