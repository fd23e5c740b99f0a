"""The Permission enum names exactly the catalogue, and code names permissions only through it."""

import re
from pathlib import Path

from keystead.domain.permissions import ALL_PERMISSIONS, Permission

SRC = Path(__file__).resolve().parents[2] / "src" / "keystead"
# A quoted domain:entity:action with no wildcard: a permission spelled out by hand.
LITERAL = re.compile(r"""["']((?:[a-z-]+):(?:[a-z-]+):(?:[a-z-]+))["']""")


def test_permission_enum_is_the_catalogue() -> None:
    assert {str(p) for p in Permission} == ALL_PERMISSIONS


def test_permission_names_follow_their_values() -> None:
    assert all(p.name == p.value.replace(":", "_").upper() for p in Permission)


def test_python_code_names_permissions_only_through_the_enum() -> None:
    spelled = [f"{path.relative_to(SRC)}: {m.group(1)}"
               for path in SRC.rglob("*.py") if path.name != "permissions.py"
               for m in LITERAL.finditer(path.read_text()) if m.group(1) in ALL_PERMISSIONS]
    assert spelled == []


def test_templates_name_only_permissions_of_the_catalogue() -> None:
    named = {m.group(1) for path in SRC.rglob("*.html")
             for m in LITERAL.finditer(path.read_text())}
    assert named, "the console templates check permissions"
    assert named <= ALL_PERMISSIONS
