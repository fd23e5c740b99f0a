"""Bearer authentication for the management API (RFC 6750): scope AND permission."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from keystead.domain.audiences import is_for_management_api, management_api
from keystead.domain.clients import Actor, RoleDivision
from keystead.domain.principal import Caller
from keystead.domain.scopes import has_scope
from keystead.domain.users import User
from keystead.protocol.errors import InsufficientScopeError, InvalidTokenError
from keystead.protocol.tokens import ActiveToken
from keystead.store.catalog import SqlCatalog
from keystead.store.tables import client_role_divisions, clients
from keystead.store.users import SqlUserStore
from keystead.web.runtime import Runtime


def bearer_token(request: Request) -> str:
    """Raises: InvalidTokenError when no Bearer token is presented."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError("a Bearer access token is required")
    return token.strip()


async def active_token(request: Request, runtime: Runtime) -> ActiveToken:
    return await runtime.tokens.validate(bearer_token(request))


async def management_token(request: Request, runtime: Runtime) -> ActiveToken:
    """The request's token, active and meant for the management API (``{issuer}/api/v2``).

    RFC 9068 §4: the resource server MUST validate that ``aud`` contains its own identifier.
    Refused with 401 ``invalid_token``, not 403: no scope or permission would make the token
    acceptable here, so the client must get another token, not ask for more scope. An implicit
    token is refused whatever its scope and whoever its user: it travelled in a URL.

    Raises:
        InvalidTokenError: not active, issued by the implicit grant, or for another audience.
    """
    token = await active_token(request, runtime)
    record, issuer = token.record, runtime.tokens.issuer
    if not is_for_management_api(record.audience, issuer=issuer, implicit=record.implicit):
        reason = ("an implicit grant token" if record.implicit
                  else f"not for this API (its audience must include {management_api(issuer)})")
        raise InvalidTokenError(f"the access token is {reason}")
    return token


async def authorize(request: Request, token: ActiveToken, conn: AsyncConnection, *,
                    scope: str) -> Caller:
    """The caller behind the request's token, which must carry ``scope``.

    The caller's permissions come from the client's roles as they are now, so removing a role
    takes effect on the next call, not when the token expires.

    Raises:
        InsufficientScopeError: the token lacks ``scope``.
    """
    if not has_scope(token.scopes, scope):
        raise InsufficientScopeError(f"the token lacks the scope {scope}")
    if token.record.subject_id is not None:
        # A user's token acts with the user's permissions (as they are now), not the client's.
        user = await SqlUserStore(conn).find(token.record.subject_id)
        if user is None or user.state != "active":
            raise InvalidTokenError("the access token's user is not active")
        return await user_caller(conn, user, client_ip(request))
    name = (await conn.execute(select(clients.c.name).where(
        clients.c.id == token.client_id))).scalar_one_or_none() or ""
    pairs = frozenset(RoleDivision(r.role_id, r.division_id) for r in await conn.execute(
        select(client_role_divisions).where(client_role_divisions.c.client_id == token.client_id)))
    permissions = await SqlCatalog(conn).permissions_of(sorted({p.role_id for p in pairs}))
    return Caller(actor=Actor("client", token.client_id, name), role_divisions=pairs,
                  permissions=permissions, remote_ip=client_ip(request))


async def user_caller(conn: AsyncConnection, user: User, remote_ip: str) -> Caller:
    """A signed-in user as a Caller: their grants and the permissions those give now."""
    pairs = frozenset(await SqlUserStore(conn).grants(user.id))
    permissions = await SqlCatalog(conn).permissions_of(sorted({p.role_id for p in pairs}))
    return Caller(actor=Actor("user", user.id, user.email), role_divisions=pairs,
                  permissions=permissions, remote_ip=remote_ip)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
