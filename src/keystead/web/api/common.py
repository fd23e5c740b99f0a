"""What every management handler does: one transaction, an authorised caller, audited changes,
and the shapes most answers share (a page of a listing, one entity, a 204)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.clients import Actor
from keystead.domain.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    StoreUnavailableError,
)
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.protocol.errors import InsufficientScopeError, InvalidTokenError
from keystead.request_context import note_client
from keystead.web.api.console_calls import console_caller, is_console_call
from keystead.web.auth import authorize, client_ip, management_token
from keystead.web.errors import json_response
from keystead.web.presenters import listing
from keystead.web.routing import Endpoint
from keystead.web.runtime import Runtime
from keystead.web.schemas import parse_body

MAX_PAGE_SIZE = 500
log = logging.getLogger("keystead.web")
T = TypeVar("T")
E = TypeVar("E")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Call:
    runtime: Runtime
    conn: AsyncConnection
    caller: Caller


@asynccontextmanager
async def call(request: Request, *, scope: str,
               before_transaction: Callable[[], Awaitable[None]] | None = None,
               ) -> AsyncIterator[Call]:
    """Authorise the request's token for ``scope``, then open the request's transaction.

    Authorisation comes before any input is read: without a valid token the answer is 401
    whatever the body holds (SDKs refresh on 401; strangers learn nothing of the input rules).
    Every refusal (401, 403) is audited, in its own transaction since the request's rolls back.
    ``before_transaction`` runs once the token is valid, before the transaction opens (which
    on SQLite holds the write lock). A console call (``console_calls``) acts as the signed-in
    user instead of a token.
    """
    runtime: Runtime = request.app.state.runtime
    actor = Actor("anonymous", "", "")
    divisions: tuple[str, ...] = ()
    try:
        if is_console_call(request):  # the API Explorer, with the admin's console session
            async with runtime.transaction() as conn:
                caller = await console_caller(request, runtime, conn)
                actor, divisions = caller.actor, caller.divisions
                _refuse_nul(request)
                yield Call(runtime, conn, caller)
            return
        token = await management_token(request, runtime)
        actor = Actor("client", token.client_id, "")
        note_client(token.client_id)  # for the request's access line
        if before_transaction is not None:
            await before_transaction()
        async with runtime.transaction() as conn:
            caller = await authorize(request, token, runtime.callers(conn), scope=scope)
            actor, divisions = caller.actor, caller.divisions
            _refuse_nul(request)
            yield Call(runtime, conn, caller)
        if caller.actor.kind == "client":  # committed: a user's token acts as the user
            runtime.recorder.permissions(caller.actor.id, caller.exercised)
    except (InvalidTokenError, InsufficientScopeError, ForbiddenError) as exc:
        await record_denial(runtime, request, actor, exc, divisions=divisions)
        raise


async def record_denial(runtime: Runtime, request: Request, actor: Actor,
                        exc: InvalidTokenError | InsufficientScopeError | ForbiddenError, *,
                        divisions: tuple[str, ...] = ()) -> None:
    """Audit a refused API call and log a warning (no token, a bad one, or too little)."""
    reason = exc.message if isinstance(exc, ForbiddenError) else (exc.description or exc.error)
    target = f"{request.method} {request.url.path}"
    log.warning("access denied to %s: %s", target, reason,
                extra={"fields": {"actor_kind": actor.kind, "actor_id": actor.id}})
    try:
        await runtime.hot.record(AuditEvent(
            timestamp=runtime.clock(), actor_kind=actor.kind, actor_id=actor.id,
            actor_name=actor.name, action="access.denied", entity_type="API",
            entity_id=target[:64], entity_name=target[:320], result=Result.failure,
            remote_ip=client_ip(request), details={"reason": reason},
            actor_divisions=divisions))
    except StoreUnavailableError:
        log.warning("could not audit a refused %s: store unreachable", target)


def _refuse_nul(request: Request) -> None:
    """No id or filter holds NUL, and PostgreSQL text cannot: answer 404/400, never 500.

    Raises:
        NotFoundError, InvalidInputError.
    """
    if any("\x00" in str(value) for value in request.path_params.values()):
        raise NotFoundError("no such entity")
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise InvalidInputError.one(name, "invalid.character", "text must not contain NUL")


def paging(request: Request) -> Page:
    """``pageNumber`` (from 1) and ``pageSize`` (1-500, default 25).

    Raises:
        InvalidInputError: not whole numbers in range.
    """
    values = []
    for name, default, low, high in (("pageNumber", 1, 1, 10**6),
                                     ("pageSize", 25, 1, MAX_PAGE_SIZE)):
        raw = request.query_params.get(name, str(default))
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            raise InvalidInputError.one(name, "out.of.range",
                                        f"{name} must be a whole number from {low} to {high}")
        values.append(int(raw))
    return Page(values[0], values[1])


def query_choice(request: Request, name: str, kind: Callable[[str], E], *,
                 message: str | None = None) -> E | None:
    """The query parameter ``name`` as one of ``kind``'s values (an enum), or None if absent.

    Raises:
        InvalidInputError: not one of them (``message``, or the enum's own words).
    """
    if name not in request.query_params:
        return None
    try:
        return kind(request.query_params[name])
    except ValueError as exc:
        raise InvalidInputError.one(name, "invalid.value", message or str(exc)) from exc


def one_page(found: Sequence[T], page: Page) -> Sequence[T]:
    """The part of a whole (unpaged) result that ``page`` shows."""
    start = (page.number - 1) * page.size
    return found[start:start + page.size]


def listed(found: Sequence[T], present: Callable[[T], dict[str, Any]], *, total: int,
           page: Page, uri: str) -> Response:
    """``found``, one page of ``total`` entities, as a Genesys entity listing."""
    return json_response(listing(found, present, total=total, page_number=page.number,
                                 page_size=page.size, uri=uri))


async def permitted_body(c: Call, request: Request, permission: Permission,
                         model: type[M]) -> M:
    """The request's body, read only once the caller holds ``permission``: a caller who may
    not make the change learns nothing of the input rules (403 whatever it sent).

    Raises:
        ForbiddenError, InvalidInputError.
    """
    c.caller.require(permission)
    return parse_body(model, await request.body())


def listing_handler(scope: str,
                    search: Callable[[Call, Request, Page], Awaitable[tuple[Sequence[T], int]]],
                    present: Callable[[T], dict[str, Any]], *, uri: str) -> Endpoint:
    """A handler that answers a page of entities as a Genesys entity listing.

    ``search(call, request, page)`` gives that page and the total; it reads any filters from
    the request's query."""
    async def handler(request: Request) -> Response:
        async with call(request, scope=scope) as c:
            page = paging(request)
            found, total = await search(c, request, page)
        return listed(found, present, total=total, page=page, uri=uri)
    return handler


def entity_handler(scope: str, use_case: Callable[[Call], Callable[[Caller, str], Awaitable[T]]],
                   present: Callable[[T], dict[str, Any]]) -> Endpoint:
    """A handler that runs ``use_case`` on the entity the path's ``id`` names and answers
    the entity it gives back (``use_case`` picks the method: find, acknowledge, enable...)."""
    async def handler(request: Request) -> Response:
        async with call(request, scope=scope) as c:
            found = await use_case(c)(c.caller, request.path_params["id"])
        return json_response(present(found))
    return handler


def removal_handler(scope: str,
                    use_case: Callable[[Call], Callable[[Caller, str], Awaitable[object]]],
                    ) -> Endpoint:
    """A handler that runs ``use_case`` (a delete) on the entity the path's ``id`` names: 204."""
    async def handler(request: Request) -> Response:
        async with call(request, scope=scope) as c:
            await use_case(c)(c.caller, request.path_params["id"])
        return Response(status_code=204)
    return handler
