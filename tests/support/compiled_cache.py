"""One compiled-statement cache for all the engines a test worker makes.

Every test builds its own app, so its own engine, and SQLAlchemy keys a compiled statement by the
dialect *instance*: each test compiled every statement it ran again (a quarter of the CPU in a
profile of the API tests; with one cache they take a fifth less time). In production a process
keeps one engine, so this is a test-run matter only.

The cache here is handed to every connection through SQLAlchemy's public ``compiled_cache``
execution option. It keys a statement by what its compiled SQL depends on instead: the dialect's
class (so the driver and database), its parameter style and the server version it found. The
tests' engines of one kind all reach the same server.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, MutableMapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.util import LRUCache

# SQLAlchemy's default per engine is 500 entries; one worker's tests use some thousands.
ENTRIES = 5_000


class ByDialectKind(MutableMapping[Hashable, Any]):
    """A compiled cache whose keys name the dialect's kind, not the dialect object.

    SQLAlchemy only gets and sets entries (``get``, ``[key] = compiled``); iterating lists the
    keys by kind, which is all the mapping holds.
    """

    def __init__(self, entries: int = ENTRIES) -> None:
        self._cache: LRUCache[Hashable, Any] = LRUCache(entries)

    @staticmethod
    def _kind(key: Hashable) -> Hashable:
        # SQLAlchemy's key: (dialect, statement key, column keys, schema map?, executemany?)
        assert isinstance(key, tuple), key
        dialect = key[0]
        assert isinstance(dialect, Dialect), key
        return (type(dialect), dialect.paramstyle, dialect.server_version_info, *key[1:])

    def __getitem__(self, key: Hashable) -> Any:
        return self._cache[self._kind(key)]

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self._cache[self._kind(key)] = value

    def __delitem__(self, key: Hashable) -> None:
        del self._cache[self._kind(key)]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)


def share_compiled_statements() -> None:
    """From now on, every connection of every engine in this process uses one cache."""
    cache = ByDialectKind()

    def _use_shared_cache(connection: Connection) -> None:
        connection.execution_options(compiled_cache=cache)

    event.listen(Engine, "engine_connect", _use_shared_cache)
