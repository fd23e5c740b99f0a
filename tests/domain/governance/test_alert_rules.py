"""The alert rules as pure functions: each audit event rule, the change window, the rare actor,
and baselines that keep a steady client quiet."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.governance.alert_rules import (
    ClientWindow,
    detect_client,
    event_alerts,
    in_change_window,
    unusual_change,
)
from keystead.domain.governance.alerts import Alert, AlertRule, AlertState, alert_event
from keystead.domain.governance.evidence import Evidence
from keystead.domain.governance.findings import Severity
from keystead.domain.governance.policy import Policy

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday
CLIENT = "6f1c9d0e-0000-4000-8000-000000000001"


def _event(action: str, *, result: Result = Result.success, at: datetime = NOW,
           **details: object) -> AuditEvent:
    return AuditEvent(timestamp=at, actor_kind="user", actor_id="u1", actor_name="Uma",
                      action=action, entity_type="OAuthClient", entity_id=CLIENT,
                      result=result, remote_ip="192.0.2.1", details=dict(details))  # type: ignore[arg-type]


def _steady(days: int, *, tokens: int, failures: int = 0) -> ClientWindow:
    daily = {NOW.date() - timedelta(days=n): Evidence(
        tokens_by_grant={"client_credentials": tokens},
        failures_by_reason={"wrong or expired secret": failures} if failures else {},
        networks=frozenset({"203.0.113.0/24"}), scopes_granted=frozenset({"a"}))
        for n in range(days + 1)}
    return ClientWindow(CLIENT, NOW - timedelta(days=days + 1), today=daily[NOW.date()],
                        days=daily)


def test_alert_rules_reuse_event_is_a_high_alert_on_the_client() -> None:
    [raised] = event_alerts(_event("refresh_token.reuse", result=Result.failure,
                                   familyId="f1", userId="u2", familyRevoked=True))
    assert (raised.rule, raised.severity, raised.client_id) == (
        AlertRule.refresh_token_reuse, Severity.high, CLIENT)
    assert raised.evidence["familyId"] == "f1"


def test_alert_rules_failed_verification_is_critical_and_organisation_wide() -> None:
    [raised] = event_alerts(_event("audit.verify", result=Result.failure, problems=2,
                                   first="entry 4: contents do not match its hash (edited)"))
    assert (raised.rule, raised.severity, raised.client_id) == (
        AlertRule.audit_chain_broken, Severity.critical, None)
    assert event_alerts(_event("audit.verify")) == []


def test_alert_rules_throttled_authentication_names_the_source_for_unknown_ids() -> None:
    [raised] = event_alerts(_event("authenticate", result=Result.failure, reason="throttled",
                                   count=7))
    assert raised.rule is AlertRule.throttling_engaged
    assert (raised.subject_without_client, raised.evidence["refused"]) == ("192.0.2.1", 7)
    assert event_alerts(_event("authenticate", result=Result.failure,
                               reason="wrong or expired secret")) == []


def test_alert_rules_only_added_scopes_raise() -> None:
    removed = _event("scopes.change", propertyChanges={"scopes": {"old": ["a", "b"],
                                                                  "new": ["a"]}})
    added = _event("scopes.change", propertyChanges={"scopes": {"old": ["a"],
                                                                "new": ["a", "c"]}})
    assert event_alerts(removed) == []
    [raised] = event_alerts(added)
    assert raised.evidence["added"] == ["c"]


def test_alert_rules_change_window_is_weekday_office_hours_by_default() -> None:
    policy = Policy()
    assert in_change_window(NOW, policy)
    assert not in_change_window(NOW.replace(hour=19), policy)  # the end hour is excluded
    assert not in_change_window(NOW + timedelta(days=3), policy)  # Saturday
    assert in_change_window(NOW + timedelta(days=3),
                            Policy(change_window_weekdays_only=False))


def test_alert_rules_change_by_a_frequent_actor_in_hours_raises_nothing() -> None:
    assert unusual_change(_event("secret.regenerate"), 5, Policy()) == []
    [raised] = unusual_change(_event("secret.regenerate"), 1, Policy())
    assert raised.evidence["reasons"] == ["rare-actor"]


def test_alert_rules_steady_client_is_quiet() -> None:
    window = _steady(14, tokens=40, failures=3)
    assert detect_client(window, Policy(), NOW) == []


def test_alert_rules_failure_spike_against_the_clients_own_baseline() -> None:
    # 960 failures a day is 40 an hour: 30 in the window is usual for this client...
    noisy = _steady(14, tokens=40, failures=960)
    usual = ClientWindow(noisy.client_id, noisy.created, noisy.today, noisy.days,
                         recent_failures=30)
    assert detect_client(usual, Policy(), NOW) == []
    # ... and a spike for one that rarely fails.
    calm = _steady(14, tokens=40, failures=1)
    spike = ClientWindow(calm.client_id, calm.created, calm.today, calm.days,
                         recent_failures=30)
    assert [r.rule for r in detect_client(spike, Policy(), NOW)] == [
        AlertRule.failed_auth_spike]


def test_alert_rules_young_client_is_not_judged_on_volume() -> None:
    young = _steady(3, tokens=40)
    silent = ClientWindow(young.client_id, young.created, Evidence(),
                          {d: Evidence() if d == date(2026, 12, 1) else e
                           for d, e in young.days.items()})
    assert detect_client(silent, Policy(), NOW) == []


def test_alert_event_is_the_documented_shape_without_secrets() -> None:
    [raised] = event_alerts(_event("refresh_token.reuse", result=Result.failure,
                                   familyId="f1", userId="u2", familyRevoked=True))
    alert = Alert("a1", raised.rule, CLIENT, "", raised.severity, AlertState.open, 1,
                  raised.summary, raised.evidence, NOW, NOW, firing=False, client_name="svc")
    event = alert_event(alert)
    assert (event["type"], event["rule"], event["clientId"], event["selfUri"]) == (
        "alert.raised", "refresh-token-reuse", CLIENT, "/api/v2/governance/alerts/a1")
    assert event["firstSeen"] == "2026-12-02T10:00:00Z"
    assert set(event) == {"type", "id", "rule", "severity", "clientId", "clientName",
                          "subject", "count", "summary", "evidence", "firstSeen", "selfUri"}
