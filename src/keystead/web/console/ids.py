"""Ids in console addresses: path convertors that match only ids Keystead can hold.

Every client, user, role, division and identity provider id is a lowercase UUID (``uuid4``
text), so routes name theirs ``{id:entity}``; a scope id is free text but never holds NUL
(PostgreSQL text cannot), so scope routes name theirs ``{id:scope}``. An address with any other
id (NUL, a made-up or differently spelt id) matches no page: its twin (``routes.py``) answers
it with the console's 404, the page an id nothing has gets.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

ENTITY = "entity"
SCOPE = "scope"


class EntityIdConvertor(Convertor[str]):
    regex = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class ScopeIdConvertor(Convertor[str]):
    regex = "[^\\x00]+"  # may hold "/", as the path convertor does; never NUL

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Starlette keeps convertors in one registry: routes built after this import may name them.
register_url_convertor(ENTITY, EntityIdConvertor())
register_url_convertor(SCOPE, ScopeIdConvertor())
