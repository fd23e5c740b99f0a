"""A client's owner and the policy rules a client's settings must meet when they are saved.

The owner is a user answerable for the client. A client whose owner was deactivated or deleted
is *orphaned*: it keeps the owner's id (no foreign key, on purpose) so governance can say whose
it was.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from keystead.domain.clients import Client, ClientSettings, Environment
from keystead.domain.errors import Problem
from keystead.domain.governance.policy import Policy
from keystead.domain.redirect_uris import LOOPBACK_HOSTS

OWNER_FIELD = "owner.id"  # the wire name an owner problem is reported under


@dataclass(frozen=True, slots=True)
class Owner:
    """What a client's listing shows of its owner."""

    id: str
    name: str
    email: str
    active: bool


class OwnerDirectory(Protocol):
    async def owners(self, user_ids: Collection[str]) -> Mapping[str, Owner]:
        """The users with these ids that still exist (deleted ones are simply absent)."""

    async def active(self, *, limit: int) -> Sequence[Owner]:
        """Active users by name, at most ``limit``: who may be chosen as an owner."""


def is_orphaned(client: Client, owners: Mapping[str, Owner]) -> bool:
    """True when the client has an owner id whose user is deactivated or deleted."""
    owner_id = client.settings.owner_id
    if owner_id is None:
        return False
    owner = owners.get(owner_id)
    return owner is None or not owner.active


def owner_problems(owner_id: str | None, owners: Mapping[str, Owner]) -> list[Problem]:
    """A newly chosen owner must be an existing, active user."""
    if owner_id is None:
        return []
    owner = owners.get(owner_id)
    if owner is None:
        return [Problem(OWNER_FIELD, "unknown.user",
                        f"no user with id {owner_id!r}; the owner must be an existing user")]
    if not owner.active:
        return [Problem(OWNER_FIELD, "inactive.user",
                        f"user {owner.email} is deactivated; choose an active user as owner")]
    return []


def policy_problems(policy: Policy, settings: ClientSettings,
                    before: ClientSettings | None = None) -> list[Problem]:
    """The organisation policy's rules for saving ``settings`` (``before``: the client as it
    was, None on creation).

    An update is held only to the rules whose fields it changes: a client that predates a rule
    can still be edited (disabled, say) and the findings report what it lacks.
    """

    def changed(*names: str) -> bool:
        return before is None or any(getattr(before, n) != getattr(settings, n) for n in names)

    problems: list[Problem] = []
    if policy.owner_required and settings.owner_id is None and changed("owner_id"):
        problems.append(Problem(OWNER_FIELD, "policy.ownerRequired",
                                "an owner is required by the organisation policy "
                                "(ownerRequired); set owner.id to an active user"))
    if (policy.description_required and not settings.description.strip()
            and changed("description")):
        problems.append(Problem("description", "policy.descriptionRequired",
                                "a description of the client's purpose is required by the "
                                "organisation policy (descriptionRequired)"))
    if (policy.production_https_redirects_only
            and settings.environment is Environment.production
            and changed("environment", "redirect_uris")):
        problems += [
            Problem(f"registeredRedirectUri[{index}]", "policy.productionHttpsRedirectsOnly",
                    f"{uri} is a development address; production clients may register only "
                    "https addresses that are not loopback (productionHttpsRedirectsOnly)")
            for index, uri in enumerate(settings.redirect_uris) if is_development_uri(uri)]
    return problems


def is_development_uri(uri: str) -> bool:
    """``http://`` or a loopback host (``localhost``, ``127.0.0.1``, ``[::1]``): fine on a
    laptop, not for production. Private-use schemes (``myapp://``) are how native production
    apps receive their codes (RFC 8252 §7.1), so they are not development addresses."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    host = parts.netloc.rpartition("@")[2]
    host = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
    return parts.scheme == "http" or (parts.scheme == "https" and (
        host.lower() in LOOPBACK_HOSTS or host.startswith("127.")))
