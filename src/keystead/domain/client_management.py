"""Client-management use cases: create, update, rotate, expire, delete — each checked and audited.

Every use case runs inside the caller's transaction: the change and its audit entry commit
together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from keystead.domain.audit import Auditor, Entity, JSONValue, property_changes
from keystead.domain.clients import (
    Actor,
    Client,
    ClientSettings,
    ClientState,
    ClientStore,
    GrantType,
    RoleDivision,
    SecretInfo,
    SecretStore,
    TokenRevoker,
    check_settings,
)
from keystead.domain.clock import Clock
from keystead.domain.errors import ForbiddenError, InvalidInputError, NotFoundError, Problem
from keystead.domain.organization import Catalog
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.secrets import Digester, new_secret

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
        settings = await self._with_default_divisions(settings)
        # Judged as of its creation: an imported client may carry TOKEN only if it was created
        # before the cut-off (it had no grants before that).
        await self._check(caller, settings, added_roles=settings.role_divisions,
                          previous_grants=frozenset(), now=created)
        client = Client(id=str(uuid.uuid4()), settings=settings, date_created=created,
                        date_modified=now, created_by=caller.actor, modified_by=caller.actor)
        # A public client cannot keep a secret, so it gets none (RFC 6749 §2.1).
        secret = None if settings.is_public else new_secret()
        secret_id = str(uuid.uuid4())
        await self.clients.add(client, secret_id=secret_id if secret else None,
                               secret_digest=self.digester.secret(secret) if secret else None,
                               key_id=self.digester.current_kid)
        await self.auditor.record(caller, "create", _entity(client),
                                  {"settings": describe(settings)})
        # As the store returns it: role grants in a stable order, the one secret's metadata.
        stored = replace(
            client, settings=replace(settings, role_divisions=tuple(sorted(
                settings.role_divisions, key=lambda rd: (rd.role_id, rd.division_id)))),
            secrets=(SecretInfo(secret_id, now, None, None, current=True),) if secret else ())
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
        if client_id is None:
            caller.require(Permission.OAUTH_CLIENT_ADD)
        else:
            client = await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)
            previous = frozenset(client.settings.grant_types)
            existing = client.settings.role_divisions
        settings = await self._with_default_divisions(settings)
        added = tuple(rd for rd in settings.role_divisions if rd not in existing)
        try:
            await self._check(caller, settings, added_roles=added, previous_grants=previous,
                              now=self.clock())
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
        settings = replace(await self._with_default_divisions(settings),
                           client_type=existing.settings.client_type)
        added = tuple(rd for rd in settings.role_divisions
                      if rd not in existing.settings.role_divisions)
        await self._check(caller, settings, added_roles=added,
                          previous_grants=frozenset(existing.settings.grant_types), now=now)
        updated = replace(existing, settings=settings, date_modified=now,
                          modified_by=caller.actor)
        await self.clients.replace(updated)
        changes = property_changes(describe(existing.settings), describe(settings))
        if not changes:
            return updated
        await self.auditor.record(caller, "update", _entity(updated),
                                  {"propertyChanges": changes})
        for prop, action in (("scopes", "scopes.change"), ("roleDivisions", "roles.change"),
                             ("state", "state.change")):
            if prop in changes:
                await self.auditor.record(caller, action, _entity(updated), {"propertyChanges": {
                    prop: changes[prop]}})
        was_active = existing.settings.state is ClientState.active
        if was_active and settings.state is not ClientState.active:
            # Disabling or scheduling deletion stops tokens at once; re-enabling must not revive.
            await self.tokens.revoke_client_tokens(client_id, now=now)
        return updated

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
                                  key_id=self.digester.current_kid)
        await self.auditor.record(caller, "secret.regenerate", _entity(client),
                                  {"dualUseSeconds": dual_use_seconds})
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
        return await self.find(caller, client_id, permission=Permission.OAUTH_CLIENT_EDIT)

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
        caller.require(permission)
        client = await self.clients.find(client_id)
        if client is None:
            raise NotFoundError(f"no OAuth client with id {client_id}")
        return client

    async def _with_default_divisions(self, settings: ClientSettings) -> ClientSettings:
        if all(rd.division_id for rd in settings.role_divisions):
            return settings
        home = await self.catalog.home_division_id()
        return replace(settings, role_divisions=tuple(
            rd if rd.division_id else RoleDivision(rd.role_id, home)
            for rd in settings.role_divisions))

    async def _check(self, caller: Caller, settings: ClientSettings, *,
                     added_roles: tuple[RoleDivision, ...],
                     previous_grants: frozenset[GrantType], now: datetime) -> None:
        problems = check_settings(
            settings, known_scopes=await self.catalog.known_scopes(),
            scim_role_ids=await self.catalog.scim_role_ids(), previous_grants=previous_grants,
            now=now)
        role_ids = [rd.role_id for rd in settings.role_divisions]
        names = await self.catalog.existing_roles(role_ids)
        divisions = await self.catalog.existing_divisions(
            [rd.division_id for rd in settings.role_divisions])
        for index, rd in enumerate(settings.role_divisions):
            if rd.role_id not in names:
                problems.append(Problem(f"roleDivisions[{index}].roleId", "unknown.role",
                                        f"no role with id {rd.role_id!r}"))
            if rd.division_id not in divisions:
                problems.append(Problem(f"roleDivisions[{index}].divisionId", "unknown.division",
                                        f"no division with id {rd.division_id!r}"))
        if len(set(settings.role_divisions)) != len(settings.role_divisions):
            problems.append(Problem("roleDivisions", "duplicate", "a role is assigned twice "
                                    "in the same division"))
        if problems:
            raise InvalidInputError(problems)
        if missing := caller.missing_roles(added_roles):
            listed = ", ".join(f"{names[rd.role_id]!r} in division {rd.division_id}"
                               for rd in missing)
            raise ForbiddenError(f"you can assign only roles you hold; you do not hold {listed}")



def describe(settings: ClientSettings) -> dict[str, JSONValue]:
    """The settings as audit values (a client's settings hold no secret)."""
    return {
        "name": settings.name,
        "description": settings.description,
        "grantTypes": [str(g) for g in settings.grant_types],
        "scopes": list(settings.scopes),
        "redirectUris": list(settings.redirect_uris),
        "roleDivisions": [f"{rd.role_id}@{rd.division_id}" for rd in settings.role_divisions],
        "accessTokenValiditySeconds": settings.token_ttl_seconds,
        "state": str(settings.state),
        "dateToDelete": settings.date_to_delete.isoformat() if settings.date_to_delete else None,
        "tokenFormat": str(settings.token_format),
        "requirePkce": settings.require_pkce,
        "clientType": str(settings.client_type),
        "tokenEndpointAuthMethod": str(settings.token_endpoint_auth_method),
        "ownerContact": settings.owner_contact,
    }

