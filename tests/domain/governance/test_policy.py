"""The policy's wire form: every field has a name, defaults follow the seed, bad input is named."""

from dataclasses import fields

import pytest

from keystead.domain.clients import GrantType
from keystead.domain.errors import InvalidInputError
from keystead.domain.governance.policy import (
    WIRE_NAMES,
    Policy,
    UnreviewedAction,
    policy_from_document,
    to_document,
)
from keystead.domain.governance.retention import RETENTION_RULES


def test_every_policy_field_has_a_wire_name_and_survives_a_round_trip() -> None:
    changed = Policy(rotation_max_age_days=7, unused_lookback_days=365, owner_required=True,
                     description_required=True, pkce_required=True, deletion_approval=True,
                     deletion_request_ttl_days=2, review_period_days=365,
                     unreviewed_action=UnreviewedAction.disable,
                     production_https_redirects_only=True, deactivation_notice_days=0,
                     deactivation_retention_days=30,
                     max_token_ttl_seconds=dict.fromkeys(GrantType, 600),
                     retention_days={"audit": 400, "evidence": 365, "deliveries": 7})
    assert set(to_document(changed)) == WIRE_NAMES
    # retention_days holds one wire field per retention rule.
    assert len(WIRE_NAMES) == len(fields(Policy)) - 1 + len(RETENTION_RULES)
    assert policy_from_document(to_document(changed)) == changed


def test_defaults_follow_the_seed() -> None:
    document = to_document(Policy())
    assert document["rotationMaxAgeDays"] == 30  # rotate monthly
    assert document["unusedLookbackDays"] == 90
    assert document["reviewPeriodDays"] == 90  # quarterly scope review
    assert document["maxTokenDurationSeconds"] == {
        "CLIENT-CREDENTIALS": 86_400, "CODE": 64_800, "TOKEN": 3_600, "SAML2-BEARER": 86_400}


def test_a_partial_document_changes_only_its_fields() -> None:
    base = Policy(deletion_approval=True)
    updated = policy_from_document({"unusedLookbackDays": 30}, base=base)
    assert updated.unused_lookback_days == 30
    assert updated.deletion_approval is True


@pytest.mark.parametrize(("document", "field", "code"), [
    ({"unusedLookbackDays": 0}, "unusedLookbackDays", "out.of.range"),
    ({"unusedLookbackDays": 366}, "unusedLookbackDays", "out.of.range"),
    ({"rotationMaxAgeDays": True}, "rotationMaxAgeDays", "out.of.range"),
    ({"ownerRequired": "yes"}, "ownerRequired", "not.boolean"),
    ({"unreviewedAction": "delete"}, "unreviewedAction", "unknown.value"),
    ({"maxTokenDurationSeconds": {"PASSWORD": 600}}, "maxTokenDurationSeconds", "unknown.grant"),
    ({"maxTokenDurationSeconds": {"CODE": 10}}, "maxTokenDurationSeconds", "out.of.range"),
    ({"maxTokenDurationSeconds": 600}, "maxTokenDurationSeconds", "not.object"),
    ({"rotationAge": 30}, "rotationAge", "unknown.field"),
])
def test_bad_fields_are_named_and_nothing_changes(document: dict[str, object], field: str,
                                                  code: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        policy_from_document({"ownerRequired": True, **document})
    assert [(p.field, p.code) for p in raised.value.problems] == [(field, code)]
