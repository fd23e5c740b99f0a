"""The compliance report: the controls the seed names for HIPAA, PCI-DSS, SOC 2 and GDPR, each
judged live from facts (settings, policy, the audit chain, secrets, what the finding rules find
now) into pass or fail, with the evidence and the clients or settings that fail it.

Judging is pure: ``judge(facts)`` reads nothing else, so every control is tested on facts made
to pass and made to fail. Gathering the facts is ``compliance_facts.ComplianceReporting``'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from keystead.domain.governance.findings import FindingKind
from keystead.domain.governance.policy import Policy

MAX_IDLE_SECONDS = 900  # HIPAA: automatic logoff; the seed asks for 15 minutes at most
MAX_ROTATION_DAYS = 90  # PCI-DSS: a defined cryptoperiod; the seed asks for monthly


class Regime(StrEnum):
    hipaa = "HIPAA"
    pci_dss = "PCI-DSS"
    soc2 = "SOC 2"
    gdpr = "GDPR"


class Target(StrEnum):
    """What a failing control points at (the console links each to its page)."""

    client = "client"
    user = "user"
    policy = "policy"
    setting = "setting"
    audit = "audit"
    reviews = "reviews"


@dataclass(frozen=True, slots=True)
class Failing:
    target: Target
    id: str  # the client's or user's id, the policy field's or setting's name
    label: str


@dataclass(frozen=True, slots=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class AuditCheck:
    entries: int
    problems: tuple[str, ...]  # empty: the chain verifies


@dataclass(frozen=True, slots=True)
class Deployment:
    """What the server's settings say (not the policy)."""

    session_idle_seconds: int
    usage_retention_days: int
    alert_routes: tuple[str, ...]  # where notices and alerts go ("email", webhooks...)
    subject_rights: tuple[str, ...] = ()  # how a person's data is exported and erased


@dataclass(frozen=True, slots=True)
class ComplianceFacts:
    now: datetime
    policy: Policy
    deployment: Deployment
    admins_without_mfa: tuple[Named, ...]
    admins: int
    audit: AuditCheck
    secrets_stored: int
    secrets_unverifiable: tuple[Named, ...]  # clients whose digest key the ring lacks
    undocumented_rotations: tuple[Named, ...]
    scheduled_rotations: int
    confidential_clients: int
    last_review_closed: datetime | None
    # Clients each finding rule finds now, by kind (live, not the stored findings).
    detected: Mapping[FindingKind, tuple[Named, ...]] = field(default_factory=dict)
    retention_days: Mapping[str, int | None] = field(default_factory=dict)

    def found(self, *kinds: FindingKind) -> tuple[Named, ...]:
        return tuple(dict.fromkeys(c for kind in kinds for c in self.detected.get(kind, ())))


@dataclass(frozen=True, slots=True)
class ControlResult:
    regime: Regime
    id: str
    title: str
    passed: bool
    evidence: str
    failing: tuple[Failing, ...] = ()


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    generated_at: datetime
    controls: tuple[ControlResult, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.controls)

    def summary(self) -> dict[Regime, tuple[int, int]]:
        """Per regime: (controls passed, controls failed)."""
        return {regime: (sum(c.passed for c in self.controls if c.regime is regime),
                         sum(not c.passed for c in self.controls if c.regime is regime))
                for regime in Regime}


def _clients(named: Sequence[Named]) -> tuple[Failing, ...]:
    return tuple(Failing(Target.client, c.id, c.name) for c in named)


def _names(named: Sequence[Named], limit: int = 5) -> str:
    shown = ", ".join(c.name or c.id for c in named[:limit])
    return shown + (f" and {len(named) - limit} more" if len(named) > limit else "")


def _policy(name: str) -> tuple[Failing, ...]:
    return (Failing(Target.policy, name, f"policy {name}"),)


def _audit_chain(facts: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    a = facts.audit
    if a.problems:
        return False, (f"the audit chain does not verify: {len(a.problems)} break(s), first: "
                       f"{a.problems[0]}"), (Failing(Target.audit, "verify", "audit log"),)
    return True, (f"{a.entries} audit entries, hash-chained; the chain verifies; every change "
                  "is recorded in the transaction that makes it"), ()


def mfa_for_admins(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    if f.admins_without_mfa:
        return False, (f"{len(f.admins_without_mfa)} of {f.admins} admins have not enrolled "
                       f"MFA: {_names(f.admins_without_mfa)}"), tuple(
            Failing(Target.user, u.id, u.name) for u in f.admins_without_mfa)
    enforced = "sign-in demands the second factor of anyone who holds a permission"
    if not f.admins:
        return True, f"no user holds a permission yet; {enforced}", ()
    return True, f"all {f.admins} users holding a permission have enrolled MFA; {enforced}", ()


def idle_timeout(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    idle = f.deployment.session_idle_seconds
    text = f"console sessions end after {idle // 60} min {idle % 60} s without activity"
    if idle > MAX_IDLE_SECONDS:
        return False, text, (Failing(Target.setting, "KEYSTEAD_SESSION_IDLE_SECONDS",
                                     "KEYSTEAD_SESSION_IDLE_SECONDS"),)
    return True, text, ()


def rotations_documented(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    if f.undocumented_rotations:
        return False, (f"{len(f.undocumented_rotations)} current secret(s) have no audit entry "
                       f"of their creation: {_names(f.undocumented_rotations)}"), _clients(
            f.undocumented_rotations)
    return True, ("every current secret issued since the audit log begins has its creation or "
                  "regeneration audited"), ()


def keyed_digests(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    if f.secrets_unverifiable:
        return False, (f"secrets of {len(f.secrets_unverifiable)} client(s) are keyed with a key "
                       f"the server no longer holds: {_names(f.secrets_unverifiable)}"), _clients(
            f.secrets_unverifiable)
    return True, (f"{f.secrets_stored} client secret(s) stored only as HMAC-SHA256 digests "
                  "under the server's key ring; no secret value is stored"), ()


def secret_age(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    due = f.found(FindingKind.secret_rotation_due)
    days = f.policy.rotation_max_age_days
    if due:
        return False, f"{len(due)} client(s) hold a secret older than {days} days: " + _names(
            due), _clients(due)
    return True, f"no current secret is older than the policy's {days} days", ()


def access_control(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    unowned = f.found(FindingKind.no_owner, FindingKind.orphaned)
    over = f.found(FindingKind.over_privileged)
    if unowned or over:
        parts = [f"{len(unowned)} without an active owner" if unowned else "",
                 f"{len(over)} over-privileged" if over else ""]
        return False, "clients " + " and ".join(p for p in parts if p) + ": " + _names(
            (*unowned, *over)), _clients(tuple(dict.fromkeys((*unowned, *over))))
    return True, "every client has an active owner and none holds an admin role", ()


def rotation_schedule(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    days = f.policy.rotation_max_age_days
    text = (f"secrets rotate at least every {days} days (policy rotationMaxAgeDays); "
            f"{f.scheduled_rotations} of {f.confidential_clients} confidential client(s) rotate "
            "automatically into a secret destination")
    if days > MAX_ROTATION_DAYS:
        return False, text, _policy("rotationMaxAgeDays")
    return True, text, ()


def access_reviews(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    overdue = f.found(FindingKind.review_overdue)
    period = f.policy.review_period_days
    last = ("no access review has been completed" if f.last_review_closed is None
            else f"the last review closed {f.last_review_closed:%Y-%m-%d}")
    if overdue:
        return False, (f"{len(overdue)} client(s) not reviewed within {period} days: "
                       f"{_names(overdue)}; {last}"), _clients(overdue)
    return True, f"every client was reviewed within {period} days; {last}", ()


def change_management(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    failing: list[Failing] = []
    if not f.policy.deletion_approval:
        failing += _policy("deletionApproval")
    if f.policy.deactivation_notice_days <= 0:
        failing += _policy("deactivationNoticeDays")
    text = (f"deletion approval {'on' if f.policy.deletion_approval else 'off'}; owners are "
            f"told {f.policy.deactivation_notice_days} day(s) before a planned deactivation")
    return not failing, text, tuple(failing)


def incident_response(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    routes = f.deployment.alert_routes
    if not routes:
        return False, ("notices and alerts reach only the console inbox: configure e-mail "
                       "(KEYSTEAD_SMTP_HOST) or a webhook"), (
            Failing(Target.setting, "KEYSTEAD_SMTP_HOST", "KEYSTEAD_SMTP_HOST"),)
    return True, "notices and alerts are sent by " + ", ".join(routes), ()


def subject_rights(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    ways = f.deployment.subject_rights
    if not ways:
        return False, "this server offers no export or erasure of a person's data", (
            Failing(Target.setting, "subject-rights", "data subject rights"),)
    return True, "a person's data is exported and erased by " + ", ".join(ways), ()


def retention(f: ComplianceFacts) -> tuple[bool, str, tuple[Failing, ...]]:
    kept = {"usage": f.deployment.usage_retention_days, **f.retention_days}
    unset = sorted(name for name, days in kept.items() if days is None)
    text = "; ".join(f"{name} kept {'without limit' if days is None else f'{days} days'}"
                     for name, days in sorted(kept.items()))
    return not unset, text, tuple(f for name in unset for f in _policy(name))


Judge = Callable[[ComplianceFacts], tuple[bool, str, tuple[Failing, ...]]]
# (regime, id, title, judge), in the order the report shows them.
CONTROLS: tuple[tuple[Regime, str, str, Judge], ...] = (
    (Regime.hipaa, "hipaa-mfa", "MFA enforced for every admin", mfa_for_admins),
    (Regime.hipaa, "hipaa-idle-timeout", "Idle timeout of 15 minutes or less", idle_timeout),
    (Regime.hipaa, "hipaa-audit", "Audit logging on and the chain verifies", _audit_chain),
    (Regime.hipaa, "hipaa-rotations-documented", "Secret rotations documented",
     rotations_documented),
    (Regime.pci_dss, "pci-keyed-digests", "Secrets stored only as keyed digests", keyed_digests),
    (Regime.pci_dss, "pci-secret-age", "No secret older than the rotation policy", secret_age),
    (Regime.pci_dss, "pci-access-control", "Access control: owned, least-privileged clients",
     access_control),
    (Regime.pci_dss, "pci-rotation-schedule", "Rotation schedule", rotation_schedule),
    (Regime.soc2, "soc2-audit-trail", "Audit trail for all changes", _audit_chain),
    (Regime.soc2, "soc2-access-reviews", "Access reviews done within the period",
     access_reviews),
    (Regime.soc2, "soc2-change-management", "Change management: deletion approval and "
     "deactivation notices", change_management),
    (Regime.soc2, "soc2-incident-response", "Incident response: alerts routed somewhere",
     incident_response),
    (Regime.gdpr, "gdpr-processing-log", "Data-processing log", _audit_chain),
    (Regime.gdpr, "gdpr-subject-rights", "Access and erasure supported", subject_rights),
    (Regime.gdpr, "gdpr-retention", "Retention policies set", retention),
)


def judge(facts: ComplianceFacts) -> ComplianceReport:
    results = []
    for regime, control_id, title, rule in CONTROLS:
        passed, evidence, failing = rule(facts)
        results.append(ControlResult(regime, control_id, title, passed, evidence, failing))
    return ComplianceReport(facts.now, tuple(results))


__all__ = ["CONTROLS", "AuditCheck", "ComplianceFacts", "ComplianceReport", "ControlResult",
           "Deployment", "Failing", "Named", "Regime", "Target", "judge"]
