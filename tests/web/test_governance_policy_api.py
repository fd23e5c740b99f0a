"""GET|PUT /api/v2/governance/policy (issue 12 §4), and the policy's pkceRequired switch at
/oauth/authorize."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from keystead.domain.governance.policy import WIRE_NAMES
from tests.oauth_flows import answer_of, authorize, code_client, signed_in_person
from tests.support.clients import bootstrap
from tests.support.management import audit_events
from tests.support.tokens import bearer, token
from tests.web.test_clients_api import refused

POLICY = "/api/v2/governance/policy"


def test_policy_get_shows_every_field_with_the_seed_defaults(
        http: TestClient, headers: dict[str, str]) -> None:
    response = http.get(POLICY, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {*WIRE_NAMES, "selfUri"}
    assert (body["rotationMaxAgeDays"], body["unusedLookbackDays"], body["ownerRequired"],
            body["deletionApproval"], body["pkceRequired"]) == (30, 90, False, False, False)


def test_policy_put_changes_the_named_fields_and_audits_old_and_new(
        http: TestClient, headers: dict[str, str]) -> None:
    response = http.put(POLICY, headers=headers,
                        json={"rotationMaxAgeDays": 60, "ownerRequired": True})
    assert response.status_code == 200, response.text
    after = http.get(POLICY, headers=headers).json()
    assert (after["rotationMaxAgeDays"], after["ownerRequired"], after["unusedLookbackDays"]) == (
        60, True, 90)
    [event] = audit_events(http, headers, entity_id="organization", action="update")
    assert event["entityType"] == "GovernancePolicy"
    assert sorted((c["property"], c["oldValues"], c["newValues"])
                  for c in event["propertyChanges"]) == [
        ("ownerRequired", ["False"], ["True"]), ("rotationMaxAgeDays", ["30"], ["60"])]


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"rotationMaxAgeDays": 0}, "rotationMaxAgeDays", id="below-range"),
    pytest.param({"unusedLookbackDays": 366}, "unusedLookbackDays", id="above-range"),
    pytest.param({"ownerRequired": "yes"}, "ownerRequired", id="not-boolean"),
    pytest.param({"unreviewedAction": "explode"}, "unreviewedAction", id="unknown-action"),
    pytest.param({"maxTokenDurationSeconds": {"CODE": 10}}, "maxTokenDurationSeconds",
                 id="duration-too-short"),
    pytest.param({"rotationAge": 5}, "rotationAge", id="unknown-field"),
])
def test_policy_put_refuses_bad_fields_and_saves_nothing(
        http: TestClient, headers: dict[str, str], body: dict[str, Any], field: str) -> None:
    response = http.put(POLICY, headers=headers, json=body | {"deletionApproval": True})
    assert field in {f for f, _ in refused(response)}
    assert http.get(POLICY, headers=headers).json()["deletionApproval"] is False


def test_policy_put_is_forbidden_without_policy_edit(http: TestClient) -> None:
    # OAuth Admin holds governance:policy:view but not :edit.
    reader = bootstrap(http, name="reader", roles=["OAuth Admin"],
                       scopes=["governance", "oauth:readonly"])
    reader_headers = bearer(token(http, reader))
    assert http.get(POLICY, headers=reader_headers).status_code == 200
    response = http.put(POLICY, headers=reader_headers, json={"ownerRequired": True})
    assert response.status_code == 403
    assert "governance:policy:edit" in response.json()["message"]


def test_policy_needs_the_governance_scope(http: TestClient) -> None:
    admin = bootstrap(http, name="narrow", roles=["Super Admin"],
                      scopes=["governance:readonly"])
    narrow = bearer(token(http, admin))
    assert http.get(POLICY, headers=narrow).status_code == 200
    assert http.put(POLICY, headers=narrow, json={"ownerRequired": True}).status_code == 403


# -- pkceRequired at /oauth/authorize ---------------------------------------------------------


def test_pkce_required_by_policy_refuses_a_code_request_without_challenge(
        http: TestClient, headers: dict[str, str]) -> None:
    app = code_client(http, requirePkce=False)  # as the Genesys SDK's code helper needs
    assert http.put(POLICY, headers=headers, json={"pkceRequired": True}).status_code == 200
    answer = answer_of(authorize(http, app.id))
    assert answer["error"] == "invalid_request"
    assert "pkceRequired" in answer["error_description"]


def test_pkce_off_in_policy_lets_the_client_flag_decide(
        http: TestClient, headers: dict[str, str]) -> None:
    app = code_client(http, requirePkce=False)
    for switch in (True, False):  # switched on, then off again
        assert http.put(POLICY, headers=headers,
                        json={"pkceRequired": switch}).status_code == 200
    signed_in_person(http)
    assert "code" in answer_of(authorize(http, app.id))  # the SDK-style request, no PKCE
