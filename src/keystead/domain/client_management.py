"""Client-management use cases: create, update, rotate, expire, delete — each checked and audited.

Every use case runs inside the caller's transaction: the change and its audit entry commit
together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from keystead.domain.audit import Auditor, Entity, JSONValue, property_changes
from keystead.domain.client_checks import ClientChecks, describe
from keystead.domain.clients import (
    Actor,
    Client,
    ClientFilter,
    ClientSettings,
    ClientState,
    ClientStore,
    GrantType,
    RoleDivision,
    SecretInfo,
    SecretStore,
    TokenRevoker,
)
from keystead.domain.clock import Clock
from keystead.domain.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    Problem,
    require_found,
)
from keystead.domain.governance.ownership import Owner, OwnerDirectory
from keystead.domain.organization import Catalog
from keystead.domain.paging import Page
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.secrets import Digester, fingerprint, new_secret

MAX_DUAL_USE_SECONDS = 604_800
ENTITY = "OAuthClient"


def _entity(client: Client) -> Entity:
    return Entity(ENTITY, client.id, client.settings.name)


@dataclass(frozen=True, slots=True)
class Issued:
    """A client together with the secret value shown this one time (None: a public client)."""

    client: Client
    secret: str | None


@dataclass(slots=True)
class ClientManagement:
    clients: ClientStore
    secrets: SecretStore
    catalog: Catalog
    auditor: Auditor
    tokens: TokenRevoker
    digester: Digester
    clock: Clock
    owners: OwnerDirectory
    checks: ClientChecks
    # Told the id of a client whose settings or secrets changed (the findings engine evaluates
    # it again, so a fix made by hand shows at once); None: nobody listens.
    changed: Callable[[str], Awaitable[None]] | None = None

    async def _changed(self, client_id: str) -> None:
        if self.changed is not None:
            await self.changed(client_id)

    async def create(self, caller: Caller, settings: ClientSettings, *,
                     date_created: datetime | None = None) -> Issued:
        """Register a client and return it with its secret (shown once).

        ``date_created`` is honoured only for imports by the operator: it is how a client that
        existed before the implicit-grant cut-off keeps ``TOKEN``.

        Raises:
            ForbiddenError: the caller lacks ``oauth:client:add`` or a role it assigns.
            InvalidInputError: a rule is broken (each problem names its field).
        """
        caller.require(Permission.OAUTH_CLIENT_ADD)
        now = self.clock()
        created = date_created if date_created is not None and caller.is_operator else now
        settings = await self.checks.with_default_divisions(settings)
        # Judged as of its creation: an imported client may carry TOKEN only if it was created
        # before the cut-off (it had no grants before that).
        await self.checks.judge(caller, settings, added_roles=settings.role_divisions,
                                previous_grants=frozenset(), now=created, before=None)
        client = Client(id=str(uuid.uuid4()), settings=settings, date_created=created,
                        date_modified=now, created_by=caller.actor, modified_by=caller.actor)
        # A public client cannot keep a secret, so it gets none (RFC 6749 §2.1).
        secret = None if settings.is_public else new_secret()
        secret_id = str(uuid.uuid4())
        await self.clients.add(client, secret_id=secret_id if secret else None,
                               secret_digest=self.digester.secret(secret) if secret else None,
                               key_id=self.digester.current_kid,
                               fingerprint=fingerprint(secret) if secret else None)
        await self.auditor.record(caller, "create", _entity(client),
                                  {"settings": describe(settings)})
        await self._changed(client.id)
        # As the store returns it: role grants in a stable order, the one secret's metadata.
        stored = replace(
            client, settings=replace(settings, role_divisions=tuple(sorted(
                settings.role_divisions, key=lambda rd: (rd.role_id, rd.division_id)))),
            secrets=(SecretInfo(secret_id, now, None, None, current=True,
                                fingerprint=fingerprint(secret)),) if secret else ())
        return Issued(stored, secret)

    async def check(self, caller: Caller, settings: ClientSettings, *,
                    client_id: str | None = None) -> list[Problem]:
        """Judge ``settings`` as ``create`` (or ``update`` of ``client_id``) would; write nothing.

        The console's wizard calls this at each step, so it refuses exactly what the API refuses.
        Returns every broken rule (an empty list means the settings would be accepted).

        Raises:
            ForbiddenError: the caller lacks the permission, or assigns a role it does not hold.
            NotFoundError: no client ``client_id``.
        """
        previous: frozenset[GrantType] = frozenset()
        existing: tuple[RoleDivision, ...] = ()
        before: ClientSettings | None = None
        if client_id is None:
            caller.require(Permission.OAUTH_CLIENT_ADD)
        else:
            client = await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)
            previous = frozenset(client.settings.grant_types)
            existing = client.settings.role_divisions
            before = client.settings
        settings = await self.checks.with_default_divisions(settings)
        added = tuple(rd for rd in settings.role_divisions if rd not in existing)
        try:
            await self.checks.judge(caller, settings, added_roles=added,
                                    previous_grants=previous, now=self.clock(), before=before)
        except InvalidInputError as exc:
            return exc.problems
        return []

    async def update(self, caller: Caller, client_id: str, settings: ClientSettings) -> Client:
        """Replace a client's settings.

        Raises:
            ForbiddenError, InvalidInputError, NotFoundError.
        """
        existing = await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)
        now = self.clock()
        # Fixed at creation: a public client has no secret to become confidential with.
        settings = replace(await self.checks.with_default_divisions(settings),
                           client_type=existing.settings.client_type)
        added = tuple(rd for rd in settings.role_divisions
                      if rd not in existing.settings.role_divisions)
        await self.checks.judge(caller, settings, added_roles=added,
                                previous_grants=frozenset(existing.settings.grant_types),
                                now=now, before=existing.settings)
        return await self._store_change(caller, existing, settings, reason="")

    async def disable(self, caller: Caller, client_id: str, *, reason: str) -> Client:
        """Disable an active client for ``reason`` (a plan's date, a review): its tokens stop at
        once. A client not active is left as it is.

        Raises: ForbiddenError, NotFoundError.
        """
        existing = await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)
        if existing.settings.state is not ClientState.active:
            return existing
        now = self.clock()
        updated = replace(existing, settings=replace(existing.settings,
                                                     state=ClientState.disabled),
                          date_modified=now, modified_by=caller.actor)
        await self.clients.replace(updated)
        await self.auditor.record(caller, "state.change", _entity(updated), {
            "propertyChanges": {"state": {"old": str(ClientState.active),
                                          "new": str(ClientState.disabled)}},
            "reason": reason})
        await self.tokens.revoke_client_tokens(client_id, now=now)
        await self._changed(client_id)
        return updated

    async def regenerate_secret(self, caller: Caller, client_id: str, *,
                                dual_use_seconds: int) -> Issued:
        """Issue a new current secret; the previous one works for ``dual_use_seconds`` more.

        Raises:
            InvalidInputError: the window is outside 0-604,800 seconds.
            ForbiddenError: the client's roles give permissions the caller lacks.
        """
        caller.require(Permission.OAUTH_CLIENT_EDIT)
        if not 0 <= dual_use_seconds <= MAX_DUAL_USE_SECONDS:
            raise InvalidInputError.one(
                "dualUseSeconds", "out.of.range",
                f"dualUseSeconds must be between 0 and {MAX_DUAL_USE_SECONDS} seconds")
        client = await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)
        if client.settings.is_public:
            raise InvalidInputError.one("clientType", "public.no.secret",
                                        "a public client has no secret to regenerate")
        await self.check_may_hold_secret(caller, client)
        now = self.clock()
        secret = new_secret()
        await self.secrets.rotate(client_id, secret_id=str(uuid.uuid4()),
                                  digest=self.digester.secret(secret), now=now,
                                  previous_expires=now + timedelta(seconds=dual_use_seconds),
                                  key_id=self.digester.current_kid,
                                  fingerprint=fingerprint(secret))
        await self.auditor.record(caller, "secret.regenerate", _entity(client),
                                  {"dualUseSeconds": dual_use_seconds})
        await self._changed(client_id)
        fresh = await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)
        return Issued(fresh, secret)

    async def check_may_hold_secret(self, caller: Caller, client: Client) -> None:
        """A secret lets its holder act as the client (so does choosing where it is delivered):
        no one may thereby gain permissions their own roles do not give them.

        Raises:
            ForbiddenError: naming the permissions the client's roles give beyond the caller's.
        """
        powers = await self.catalog.permissions_of([rd.role_id for rd in
                                                    client.settings.role_divisions])
        if beyond := caller.lacks(powers):
            raise ForbiddenError("regenerating this client's secret would give you permissions "
                                 f"you do not hold: {', '.join(beyond)}")

    async def expire_previous_secret(self, caller: Caller, client_id: str) -> Client:
        client = await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)
        expired = await self.secrets.expire_previous(client_id, now=self.clock())
        await self.auditor.record(caller, "secret.expire.previous", _entity(client),
                                  {"expired": expired})
        await self._changed(client_id)
        return await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)

    async def reduce(self, caller: Caller, client_id: str, *, scopes: tuple[str, ...],
                     role_ids: tuple[str, ...], reason: str = "") -> Client:
        """Take ``scopes`` and every grant of the roles ``role_ids`` from a client (least
        privilege: what an access review's *reduce* does).

        Allowed with ``oauth:client:edit``, or to the client's owner without it: removing
        rights gives nobody a permission, and the owner is who attests what the client needs.

        Raises:
            ForbiddenError: neither the owner nor holding ``oauth:client:edit``.
            InvalidInputError: nothing to remove, something the client does not hold, or what
                is left breaks a rule (no scope left; a client-credentials client with no role).
            NotFoundError: no client ``client_id``.
        """
        existing = await self._owned_or_editable(caller, client_id)
        s = existing.settings
        held_roles = {rd.role_id for rd in s.role_divisions}
        problems = [Problem("scopes", "not.held", f"the client does not hold scope {scope!r}")
                    for scope in scopes if scope not in s.scopes]
        problems += [Problem("roleIds", "not.held", f"the client does not hold role {role!r}")
                     for role in role_ids if role not in held_roles]
        if not scopes and not role_ids:
            problems.append(Problem("scopes", "required",
                                    "choose at least one scope or role to remove"))
        if problems:
            raise InvalidInputError(problems)
        settings = replace(s, scopes=tuple(x for x in s.scopes if x not in scopes),
                           role_divisions=tuple(rd for rd in s.role_divisions
                                                if rd.role_id not in role_ids))
        await self.checks.judge(caller, settings, added_roles=(),
                                previous_grants=frozenset(s.grant_types), now=self.clock(),
                                before=s)
        return await self._store_change(caller, existing, settings, reason=reason)

    async def retire(self, caller: Caller, client_id: str, *, retention: timedelta,
                     reason: str = "") -> Client:
        """Stop a client now: it becomes inactive (its tokens are revoked) and housekeeping
        deletes it once ``dateToDelete`` (now + ``retention``, at least a day) passes.
        Allowed as ``reduce`` is.

        Raises:
            ForbiddenError, NotFoundError.
        """
        existing = await self._owned_or_editable(caller, client_id)
        settings = replace(existing.settings, state=ClientState.inactive,
                           date_to_delete=self.clock() + max(retention, timedelta(days=1)))
        return await self._store_change(caller, existing, settings, reason=reason)

    async def _owned_or_editable(self, caller: Caller, client_id: str) -> Client:
        client = await self.clients.find(client_id)
        owner = client is not None and caller.actor.kind == "user" and (
            client.settings.owner_id == caller.actor.id)
        if not owner:
            caller.require(Permission.OAUTH_CLIENT_EDIT)
        if client is None:
            raise NotFoundError(f"no OAuth client with id {client_id}")
        return client

    async def _store_change(self, caller: Caller, existing: Client, settings: ClientSettings,
                            *, reason: str) -> Client:
        """Save checked ``settings``; audit what changed (with ``reason``), each of scopes,
        roles and state also under its own action; a client leaving ``active`` loses its tokens
        at once (re-enabling must not revive them)."""
        now = self.clock()
        updated = replace(existing, settings=settings, date_modified=now,
                          modified_by=caller.actor)
        await self.clients.replace(updated)
        changes = property_changes(describe(existing.settings), describe(settings))
        if not changes:
            return updated
        extra: dict[str, JSONValue] = {"reason": reason} if reason else {}
        await self.auditor.record(caller, "update", _entity(updated),
                                  {"propertyChanges": changes, **extra})
        for prop, action in (("scopes", "scopes.change"), ("roleDivisions", "roles.change"),
                             ("state", "state.change")):
            if prop in changes:
                await self.auditor.record(caller, action, _entity(updated), {"propertyChanges": {
                    prop: changes[prop]}, **extra})
        if existing.settings.state is ClientState.active and (
                settings.state is not ClientState.active):
            await self.tokens.revoke_client_tokens(existing.id, now=now)
        await self._changed(existing.id)
        return updated

    async def delete(self, caller: Caller, client_id: str) -> None:
        """Delete for good: its tokens die with it (same transaction); its audit history stays."""
        client = await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_DELETE)
        await self.clients.delete(client_id)
        await self.auditor.record(caller, "delete", _entity(client), {})

    async def purge_due(self) -> int:
        """Delete inactive clients whose ``dateToDelete`` has passed; return how many."""
        system = Caller(Actor("system", "scheduler", "scheduled deletion"), frozenset(),
                        frozenset({Permission.OAUTH_CLIENT_DELETE}))
        due = await self.clients.due_for_deletion(self.clock())
        for client in due:
            await self.clients.delete(client.id)
            await self.auditor.record(system, "delete", _entity(client),
                                      {"reason": "dateToDelete reached"})
        return len(due)

    async def find(self, caller: Caller, client_id: str, *,
                   permission: Permission = Permission.OAUTH_CLIENT_VIEW) -> Client:
        """The client, for a caller holding ``permission``; a user also sees (only sees) the
        clients they own without ``oauth:client:view``.

        Raises:
            ForbiddenError: without the permission (also when no such client exists, so a
                stranger learns nothing of which ids exist).
            NotFoundError: no client ``client_id``.
        """
        if permission is Permission.OAUTH_CLIENT_VIEW and not caller.has_permission(permission):
            owned = await self.clients.find(client_id)
            if owned is None or not _owned_by(caller, owned):
                raise ForbiddenError(f"missing permission {permission}")
            return owned
        caller.require(permission)
        return require_found(await self.clients.find(client_id),
                             f"no OAuth client with id {client_id}")

    async def search(self, caller: Caller, flt: ClientFilter, page: Page, *,
                     mine: bool = False) -> tuple[Sequence[Client], int]:
        """A page of clients and the total; ``mine``: the calling user's own clients, which
        they see even without ``oauth:client:view``.

        Raises:
            ForbiddenError: without ``oauth:client:view`` (unless ``mine``).
            InvalidInputError: ``mine`` for a caller that is not a user (a client owns nothing).
        """
        if mine:
            if caller.actor.kind != "user":
                raise InvalidInputError.one("owner", "not.a.user",
                                            "owner=me lists a user's own clients; this token "
                                            "acts for a client, which owns none")
            flt = replace(flt, owner_id=caller.actor.id)
        else:
            caller.require(Permission.OAUTH_CLIENT_VIEW)
        return await self.clients.search(flt, page)

    async def owner_choices(self, caller: Caller, *, limit: int = 500) -> Sequence[Owner]:
        """The active users a client's owner may be chosen from (the console's list).

        Raises:
            ForbiddenError: without ``oauth:client:add`` or ``oauth:client:edit``.
        """
        if not caller.has_permission(Permission.OAUTH_CLIENT_ADD):
            caller.require(Permission.OAUTH_CLIENT_EDIT)
        return await self.owners.active(limit=limit)

    async def owners_of(self, clients: Sequence[Client]) -> Mapping[str, Owner]:
        """The owners of these clients that still exist (for names and the orphaned flag)."""
        return await self.owners.owners(
            {c.settings.owner_id for c in clients if c.settings.owner_id is not None})


def _owned_by(caller: Caller, client: Client) -> bool:
    return caller.actor.kind == "user" and client.settings.owner_id == caller.actor.id

