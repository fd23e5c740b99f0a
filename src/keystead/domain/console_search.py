"""The console's one search box: clients (by name, client id or tag) and users (by name or
e-mail) together, each group only for a caller allowed to view it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from keystead.domain.client_management import ClientManagement
from keystead.domain.clients import Client, ClientFilter
from keystead.domain.errors import InvalidInputError, Problem
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.users import User, UserManagement

MIN_QUERY = 2  # one character matches nearly everything: no use, and a full scan each time
MAX_QUERY = 128

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """The first matches of one kind and how many match in all."""

    items: Sequence[T]
    total: int


@dataclass(frozen=True, slots=True)
class SearchResults:
    clients: Found[Client] | None  # None: the caller may not view clients
    users: Found[User] | None  # None: the caller may not view users


def check_query(query: str) -> list[Problem]:
    """The query's problems (``q``): too short, too long, or holding a control character."""
    if len(query) < MIN_QUERY:
        return [Problem("q", "too.short",
                        f"type at least {MIN_QUERY} characters of a name, client id, tag or "
                        "e-mail address")]
    if len(query) > MAX_QUERY:
        return [Problem("q", "too.long", f"search for at most {MAX_QUERY} characters")]
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in query):
        return [Problem("q", "invalid.character", "the search must be one line of text")]
    return []


@dataclass(slots=True)
class ConsoleSearch:
    clients: ClientManagement
    users: UserManagement

    async def search(self, caller: Caller, query: str, *, limit: int) -> SearchResults:
        """The first ``limit`` clients and users matching ``query`` (surrounding spaces ignored),
        with their totals; a group the caller may not view is None, never searched.

        Raises:
            InvalidInputError: the query is too short, too long or not one line (field ``q``).
        """
        query = query.strip()
        if problems := check_query(query):
            raise InvalidInputError(problems)
        page = Page(1, limit)
        clients = users = None
        if caller.has_permission(Permission.OAUTH_CLIENT_VIEW):
            found, total = await self.clients.search(caller, ClientFilter(text=query), page)
            clients = Found(found, total)
        if caller.has_permission(Permission.DIRECTORY_USER_VIEW):
            people, count = await self.users.search(caller, query, page)
            users = Found(people, count)
        return SearchResults(clients, users)
