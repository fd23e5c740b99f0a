"""The permission catalogue as the role form's checkbox groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keystead.domain.organization import Role
from keystead.domain.permissions import CATALOGUE
from keystead.domain.principal import Caller


def permission_groups(role: Role | None, caller: Caller,
                      checked: Sequence[str]) -> list[dict[str, Any]]:
    """The catalogue as checkbox groups, one per domain; then any other pattern the role has."""
    held = set(checked)
    groups: list[dict[str, Any]] = []
    for domain, entities in CATALOGUE.items():
        boxes: list[dict[str, Any]] = []
        for entity, actions in entities.items():
            for action in ("*", *actions):
                value = f"{domain}:{entity}:{action}"
                boxes.append({"value": value, "id": "perm-" + value.replace(":", "-").replace(
                    "*", "all"), "label": f"{entity}: {'all actions' if action == '*' else action}",
                    "checked": value in held, "allowed": caller.has_permission(value)})
        groups.append({"name": domain, "boxes": boxes})
    listed = {box["value"] for group in groups for box in group["boxes"]}
    # Patterns the catalogue boxes cannot show (``*:*:*`` on Super Admin, ``oauth:*:*``...).
    others = [p for p in (role.permissions if role else ()) if p not in listed]
    if others:
        groups.append({"name": "other patterns", "boxes": [
            {"value": p, "id": f"perm-other-{index}",
             "label": "every permission" if p == "*:*:*" else "pattern", "checked": p in held,
             "allowed": caller.has_permission(p)} for index, p in enumerate(others)]})
    return groups
