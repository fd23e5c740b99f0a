"""Which identity provider may vouch for which user, and by which NameID (issue 9).

A SAML2 bearer assertion names a user only through a link: the subject key is the pair
(identity provider, NameID), so the same NameID from two providers names the same user only if
both links exist, and a provider can never assert a user it is not linked to, whatever e-mail or
external id it puts in its NameID. A user has at most one NameID per provider.

Linking lets a provider impersonate the user, so it is ruled like taking over an account:
``directory:user:edit``, and the caller must hold every permission the user holds (the same
no-escalation rule as a password reset). Every link and unlink is audited on the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.domain.audit import Auditor, JSONValue
from keystead.domain.clock import Clock
from keystead.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    Problem,
    require_found,
)
from keystead.domain.identity_providers import IdentityProvider
from keystead.domain.permissions import Permission
from keystead.domain.principal import Caller
from keystead.domain.users import User, UserManagement, entity

MAX_NAME_ID = 512  # SAML core §8.3.7 bounds a persistent NameID at 256; e-mails reach 320


@dataclass(frozen=True, slots=True)
class IdentityLink:
    """The provider ``provider_id`` names the user ``user_id`` by ``name_id`` (exact string)."""

    user_id: str
    provider_id: str
    name_id: str
    date_created: datetime


class IdentityLinkStore(Protocol):
    async def links_of(self, user_id: str) -> list[IdentityLink]:
        """The user's links, oldest first."""

    async def holder(self, provider_id: str, name_id: str) -> IdentityLink | None:
        """The link of this subject key, if any."""

    async def put(self, link: IdentityLink) -> None:
        """Add the link, or replace the user's NameID at that provider."""

    async def remove(self, user_id: str, provider_id: str) -> bool:
        """False when the user was not linked to the provider."""


class ProviderDirectory(Protocol):
    async def find(self, provider_id: str) -> IdentityProvider | None: ...


def check_name_id(name_id: str) -> list[Problem]:
    if not 1 <= len(name_id) <= MAX_NAME_ID or not name_id.isprintable() or (
            name_id != name_id.strip()):
        return [Problem("nameId", "invalid.value",
                        f"nameId must be 1 to {MAX_NAME_ID} printable characters without "
                        "surrounding spaces, exactly as the identity provider sends it")]
    return []


@dataclass(slots=True)
class IdentityLinkManagement:
    """Link users to the identity providers that may assert them; each change audited."""

    users: UserManagement
    links: IdentityLinkStore
    providers: ProviderDirectory
    auditor: Auditor
    clock: Clock

    async def links_of(self, caller: Caller, user_id: str
                       ) -> list[tuple[IdentityLink, IdentityProvider]]:
        """A user's links with their providers (anyone may see their own).

        Raises:
            ForbiddenError, NotFoundError.
        """
        user = await self.users.find(caller, user_id)
        found = []
        for link in await self.links.links_of(user.id):
            provider = await self.providers.find(link.provider_id)
            if provider is not None:
                found.append((link, provider))
        return found

    async def link(self, caller: Caller, user_id: str, provider_id: str, name_id: str
                   ) -> tuple[IdentityLink, IdentityProvider]:
        """Let the provider assert the user under ``name_id`` (replacing an earlier NameID).

        Raises:
            ForbiddenError: no ``directory:user:edit``, the user holds permissions the caller
                lacks, or it is the caller's own account.
            NotFoundError: no such user or provider.
            InvalidInputError: ``name_id`` breaks a rule.
            ConflictError: the provider already names another user so.
        """
        user = await self._editable(caller, user_id)
        if user.id == caller.actor.id:
            # A stolen session must not be able to hand the account to an IdP its thief holds.
            raise ForbiddenError("you cannot link your own account to an identity provider; "
                                 "ask another admin")
        provider = await self._provider(provider_id)
        if problems := check_name_id(name_id):
            raise InvalidInputError(problems)
        holder = await self.links.holder(provider.id, name_id)
        if holder is not None and holder.user_id != user.id:
            raise ConflictError(f"nameId: the identity provider {provider.settings.name!r} "
                                f"already names another user {name_id!r}")
        previous = next((link for link in await self.links.links_of(user.id)
                         if link.provider_id == provider.id), None)
        if previous is not None and previous.name_id == name_id:
            return previous, provider
        link = IdentityLink(user.id, provider.id, name_id, self.clock())
        await self.links.put(link)
        details: dict[str, JSONValue] = {"providerId": provider.id,
                                         "providerName": provider.settings.name,
                                         "nameId": name_id}
        if previous is not None:
            details["previousNameId"] = previous.name_id
        # Link entries have never carried the actor's divisions; kept so, byte for byte.
        await self.auditor.record(caller, "identityprovider.link", entity(user), details,
                                  with_divisions=False)
        return link, provider

    async def unlink(self, caller: Caller, user_id: str, provider_id: str) -> None:
        """The provider may no longer assert the user.

        Raises:
            ForbiddenError, NotFoundError: no such user, provider or link.
        """
        user = await self._editable(caller, user_id)
        provider = await self._provider(provider_id)
        if not await self.links.remove(user.id, provider.id):
            raise NotFoundError(f"the user is not linked to the identity provider "
                                f"{provider.settings.name!r}")
        await self.auditor.record(caller, "identityprovider.unlink", entity(user), {
            "providerId": provider.id, "providerName": provider.settings.name},
            with_divisions=False)

    async def _editable(self, caller: Caller, user_id: str) -> User:
        caller.require(Permission.DIRECTORY_USER_EDIT)  # find() lets anyone read themselves
        user = await self.users.find(caller, user_id, permission=Permission.DIRECTORY_USER_EDIT)
        # Linking an IdP to someone stronger than you would hand that IdP their account.
        await self.users.check_covers(caller, user)
        return user

    async def _provider(self, provider_id: str) -> IdentityProvider:
        return require_found(await self.providers.find(provider_id),
                             f"no identity provider with id {provider_id}")
