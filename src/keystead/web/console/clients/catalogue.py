"""What the organisation offers a client: roles in divisions, scopes, grant types."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.domain.clients import GrantType, RoleDivision
from keystead.domain.organization import Scope
from keystead.domain.principal import Caller
from keystead.web.runtime import Runtime

GRANT_LABELS = {
    GrantType.client_credentials: "Client Credentials",
    GrantType.code: "Authorization Code with PKCE",
    GrantType.token: "Implicit grant (legacy)",
    GrantType.saml2_bearer: "SAML2 Bearer",
}
GRANT_HINTS = {
    GrantType.client_credentials: "Service to service: the application acts as itself.",
    GrantType.code: "Web, mobile and single-page apps acting for a signed-in user.",
    GrantType.saml2_bearer: "Enterprise SSO: trade a SAML assertion from a trusted IdP for a "
                            "token.",
    GrantType.token: "Legacy: this client had it before March 2026. Prefer Authorization Code "
                     "with PKCE: the implicit grant leaks tokens through the browser.",
}
IMPLICIT_NOTE = ("Implicit grant (legacy) — deprecated; cannot be selected for new clients "
                 "since March 2026")
ROLE_NOT_HELD = "You can assign only roles you hold"


@dataclass(frozen=True, slots=True)
class RoleChoice:
    value: str
    role: str
    division: str
    selectable: bool


@dataclass(frozen=True, slots=True)
class Catalogue:
    roles: list[RoleChoice]
    scopes: list[Scope]
    role_names: dict[str, str]
    division_names: dict[str, str]

    def describe(self, value: str) -> str:
        role_id, _, division_id = value.partition(":")
        return (f"{self.role_names.get(role_id, role_id)} in "
                f"{self.division_names.get(division_id, division_id)}")

    def scope_text(self, scope_id: str) -> str:
        return next((s.description for s in self.scopes if s.id == scope_id), "")


async def catalogue(runtime: Runtime, conn: AsyncConnection, caller: Caller, *,
                    keep: Iterable[RoleDivision] = ()) -> Catalogue:
    """Every (role, division) the org has, selectable as ``ClientCatalogue`` decides."""
    offer = await runtime.client_catalogue(conn).offer(caller, keep=keep)
    choices = [RoleChoice(f"{c.role.id}:{c.division.id}", c.role.name, c.division.name,
                          selectable=c.selectable) for c in offer.choices]
    return Catalogue(choices, list(offer.scopes), {r.id: r.name for r in offer.roles},
                     {d.id: d.name for d in offer.divisions})


def grant_choices(*, keep_token: bool) -> list[dict[str, str | bool]]:
    choices: list[dict[str, str | bool]] = []
    for grant in (GrantType.client_credentials, GrantType.code, GrantType.token,
                  GrantType.saml2_bearer):
        refused = grant is GrantType.token and not keep_token
        choices.append({
            "value": str(grant), "id": f"grant-{grant}",
            "label": IMPLICIT_NOTE if refused else GRANT_LABELS[grant],
            "hint": ("Use Authorization Code with PKCE instead: the implicit grant leaks "
                     "tokens through the browser." if refused else GRANT_HINTS[grant]),
            "disabled": refused})
    return choices
