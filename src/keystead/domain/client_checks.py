"""The rules a client's settings must meet before they are stored, judged against the catalogue,
the owner directory and the governance policy (create, update, the wizard's steps and reduce all
judge the same way)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from keystead.domain.audit import JSONValue
from keystead.domain.clients import ClientSettings, GrantType, RoleDivision, check_settings
from keystead.domain.errors import ForbiddenError, InvalidInputError, Problem
from keystead.domain.governance.ownership import OwnerDirectory, owner_problems, policy_problems
from keystead.domain.governance.policy import PolicyStore
from keystead.domain.organization import Catalog
from keystead.domain.principal import Caller


@dataclass(slots=True)
class ClientChecks:
    catalog: Catalog
    owners: OwnerDirectory
    policies: PolicyStore

    async def with_default_divisions(self, settings: ClientSettings) -> ClientSettings:
        """A role assigned without a division is assigned in the home division."""
        if all(rd.division_id for rd in settings.role_divisions):
            return settings
        home = await self.catalog.home_division_id()
        return replace(settings, role_divisions=tuple(
            rd if rd.division_id else RoleDivision(rd.role_id, home)
            for rd in settings.role_divisions))

    async def judge(self, caller: Caller, settings: ClientSettings, *,
                    added_roles: tuple[RoleDivision, ...],
                    previous_grants: frozenset[GrantType], now: datetime,
                    before: ClientSettings | None) -> None:
        """Raise unless ``settings`` (replacing ``before``; None: a new client) may be stored
        by ``caller``, who assigns ``added_roles``.

        Raises:
            InvalidInputError: every broken rule, each naming its field.
            ForbiddenError: the caller assigns a role they do not hold.
        """
        problems = check_settings(
            settings, known_scopes=await self.catalog.known_scopes(),
            scim_role_ids=await self.catalog.scim_role_ids(), previous_grants=previous_grants,
            now=now)
        owner_id = settings.owner_id
        if owner_id is not None and (before is None or before.owner_id != owner_id):
            # A new owner must be active; a kept one that left makes the client orphaned,
            # which findings report, and does not block other edits.
            problems += owner_problems(owner_id, await self.owners.owners([owner_id]))
        problems += policy_problems(await self.policies.find(), settings, before)
        names = await self.catalog.existing_roles([rd.role_id for rd in settings.role_divisions])
        problems += await self._role_division_problems(settings, names)
        if problems:
            raise InvalidInputError(problems)
        if missing := caller.missing_roles(added_roles):
            listed = ", ".join(f"{names[rd.role_id]!r} in division {rd.division_id}"
                               for rd in missing)
            raise ForbiddenError(f"you can assign only roles you hold; you do not hold {listed}")

    async def _role_division_problems(self, settings: ClientSettings,
                                      role_names: dict[str, str]) -> list[Problem]:
        divisions = await self.catalog.existing_divisions(
            [rd.division_id for rd in settings.role_divisions])
        problems: list[Problem] = []
        for index, rd in enumerate(settings.role_divisions):
            if rd.role_id not in role_names:
                problems.append(Problem(f"roleDivisions[{index}].roleId", "unknown.role",
                                        f"no role with id {rd.role_id!r}"))
            if rd.division_id not in divisions:
                problems.append(Problem(f"roleDivisions[{index}].divisionId", "unknown.division",
                                        f"no division with id {rd.division_id!r}"))
        if len(set(settings.role_divisions)) != len(settings.role_divisions):
            problems.append(Problem("roleDivisions", "duplicate", "a role is assigned twice "
                                    "in the same division"))
        return problems


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
        "ownerId": settings.owner_id,
        "tags": list(settings.tags),
        "environment": None if settings.environment is None else str(settings.environment),
    }
