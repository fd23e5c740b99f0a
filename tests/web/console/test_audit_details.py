"""An audit entry's details as the console shows them: each change as the field's console name
with its old and new value, every other detail as name: value."""

from __future__ import annotations

from keystead.web.console.audit_details import Change, Detail, label, readable, text


def test_changes_read_as_field_old_and_new_with_console_names_in_recorded_order() -> None:
    found = readable({"propertyChanges": {
        "name": {"old": "payroll", "new": "payroll v2"},
        "accessTokenValiditySeconds": {"old": 3600, "new": 900},
        "scopes": {"old": ["read"], "new": ["read", "write"]},
        "requirePkce": {"old": False, "new": True},
        "ownerContact": {"old": None, "new": "ops@example.com"},
    }, "reason": "quarterly review"})

    assert found.changes == [
        Change("Name", "payroll", "payroll v2"),
        Change("Token duration (seconds)", "3600", "900"),
        Change("Scopes", "read", "read, write"),
        Change("PKCE required", "no", "yes"),
        Change("Owner contact", "(none)", "ops@example.com"),
    ]
    assert found.others == [Detail("Reason", "quarterly review")]


def test_a_change_recorded_without_values_says_only_that_it_changed() -> None:
    found = readable({"propertyChanges": {"password": "changed"}})

    assert found.changes == [Change("Password", None, "changed")]
    assert found.others == []


def test_other_details_read_as_name_and_value_unknown_keys_as_words() -> None:
    found = readable({"throughSeq": 41, "filters": {"action": "create"}, "dualUseSeconds": 0,
                      "roles": []})

    assert found.changes == []
    assert found.others == [Detail("Through entry", "41"),
                            Detail("Filters", "", [Detail("Action", "create")]),
                            Detail("Dual use seconds", "0"), Detail("Roles", "(none)")]


def test_ids_read_as_the_names_known_for_them_and_stay_ids_otherwise() -> None:
    role, division, unknown = ("1f42ec70-70a5-420f-b0ac-f2d4db088a47",
                               "e90273ae-2719-4040-b9cb-e5b3ae2c25ca",
                               "00000000-0000-4000-8000-000000000000")
    names = {role: "Super Admin", division: "Home"}

    found = readable({"propertyChanges": {"roleDivisions": {
        "old": [], "new": [f"{role}@{division}", f"{unknown}@{division}"]}},
        "divisionId": division, "settings": {"ownerId": unknown}}, names)

    assert found.changes == [Change("Roles (role@division)", "(none)",
                                    f"Super Admin@Home, {unknown}@Home")]
    assert found.others == [Detail("Division", "Home"),
                            Detail("Settings", "", [Detail("Owner", unknown)])]


def test_labels_and_values() -> None:
    assert label("tokenEndpointAuthMethod") == "Client authentication"
    assert label("someNewField") == "Some new field"
    assert text(None) == "(none)"
    assert text(["a", "b"]) == "a, b"
    assert text(1.5) == "1.5"
