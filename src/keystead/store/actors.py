"""Who did something, as the stores keep it in a JSON column: ``{"kind", "id", "name"}``."""

from __future__ import annotations

from collections.abc import Mapping

from keystead.domain.clients import Actor


def to_json(actor: Actor) -> dict[str, str]:
    return actor.as_json()


def from_json(data: Mapping[str, str]) -> Actor:
    # Rows written before names were kept have none.
    return Actor(data["kind"], data["id"], data.get("name", ""))


def to_json_or_none(actor: Actor | None) -> dict[str, str] | None:
    return None if actor is None else to_json(actor)


def from_json_or_none(data: Mapping[str, str] | None) -> Actor | None:
    return None if data is None else from_json(data)
