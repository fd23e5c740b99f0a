"""/api/v2/identityproviders: trusted SAML identity providers in the Genesys ``GenericSAML`` shape.

Genesys keeps one generic provider per organisation (``/identityproviders/generic``); Keystead
keeps that path for the organisation's first provider and adds ``/generic/{id}`` (and ``POST
/generic``) for several. Two Keystead fields extend the shape: ``vouchesForMfa`` (default
false) and ``mfaAuthnContextClassRefs`` (default: well-known MFA classes). Every change goes
through IdentityProviderManagement, so it is permission-checked and audited; the permission is
checked before the body is read.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from keystead.domain.identity_providers import (
    DEFAULT_MFA_CONTEXT_CLASSES,
    IdentityProvider,
    IdentityProviderManagement,
    IdentityProviderSettings,
    NameIdFormat,
)
from keystead.domain.permissions import Permission
from keystead.web.api.common import Call, call, listing_handler
from keystead.web.errors import json_response
from keystead.web.routing import route_at
from keystead.web.schemas import parse_body

BASE = "/api/v2/identityproviders"
GENERIC = f"{BASE}/generic"
READ_SCOPE, WRITE_SCOPE = "identity-providers:readonly", "identity-providers"
# Fields of a fetched provider that may come back in a PUT after a GET; they are read-only.
READ_ONLY_FIELDS = frozenset({"id", "selfUri"})


class GenericSamlRequest(BaseModel):
    """``GenericSAML`` as Keystead keeps it; ``certificate`` (Genesys's older single field) is
    accepted and joins ``certificates``. Absent text fields are reported by the domain rules."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(default="", max_length=10_000)
    issuerURI: str = Field(default="", max_length=10_000)  # noqa: N815 - Genesys wire name
    certificates: list[str] | None = Field(default=None, max_length=100)
    certificate: str | None = None
    relyingPartyIdentifier: str = Field(default="", max_length=10_000)  # noqa: N815
    nameIdentifierFormat: NameIdFormat = NameIdFormat.unspecified  # noqa: N815
    disabled: bool = False
    # Keystead extensions (issue 9): may the provider vouch for MFA, and by which classes.
    vouchesForMfa: bool = False  # noqa: N815
    mfaAuthnContextClassRefs: list[str] | None = Field(  # noqa: N815
        default=None, max_length=100)

    def to_settings(self) -> IdentityProviderSettings:
        certificates = list(self.certificates or [])
        if self.certificate and self.certificate not in certificates:
            certificates.append(self.certificate)
        return IdentityProviderSettings(
            name=self.name, issuer_uri=self.issuerURI, certificates=tuple(certificates),
            relying_party_identifier=self.relyingPartyIdentifier,
            name_identifier_format=self.nameIdentifierFormat, disabled=self.disabled,
            vouches_for_mfa=self.vouchesForMfa,
            mfa_authn_context_classes=DEFAULT_MFA_CONTEXT_CLASSES
            if self.mfaAuthnContextClassRefs is None else tuple(self.mfaAuthnContextClassRefs))


def generic_saml_json(provider: IdentityProvider) -> dict[str, Any]:
    s = provider.settings
    return {
        "id": provider.id, "name": s.name, "issuerURI": s.issuer_uri,
        "certificates": list(s.certificates),
        "relyingPartyIdentifier": s.relying_party_identifier,
        "nameIdentifierFormat": str(s.name_identifier_format), "disabled": s.disabled,
        "vouchesForMfa": s.vouches_for_mfa,
        "mfaAuthnContextClassRefs": list(s.mfa_authn_context_classes),
        "selfUri": f"{GENERIC}/{provider.id}",
    }


def _management(c: Call) -> IdentityProviderManagement:
    return c.runtime.identity_providers(c.conn)


async def _settings(request: Request) -> IdentityProviderSettings:
    body = parse_body(GenericSamlRequest, await request.body(), ignore=READ_ONLY_FIELDS)
    return body.to_settings()


list_providers = listing_handler(
    READ_SCOPE, lambda c, _request, page: _management(c).list(c.caller, page), generic_saml_json,
    uri=BASE)


async def get_generic(request: Request) -> Response:
    async with call(request, scope=READ_SCOPE) as c:
        provider = await _management(c).first(c.caller)
    return json_response(generic_saml_json(provider))


async def put_generic(request: Request) -> Response:
    async with call(request, scope=WRITE_SCOPE) as c:
        raw = await request.body()  # parsed by put_first only once the caller is permitted
        provider = await _management(c).put_first(
            c.caller, lambda: parse_body(GenericSamlRequest, raw,
                                         ignore=READ_ONLY_FIELDS).to_settings())
    return json_response(generic_saml_json(provider))


async def delete_generic(request: Request) -> Response:
    async with call(request, scope=WRITE_SCOPE) as c:
        management = _management(c)
        provider = await management.first(c.caller, permission=Permission.SSO_PROVIDER_DELETE)
        await management.delete(c.caller, provider.id)
    return Response(status_code=204)


async def create_provider(request: Request) -> Response:
    async with call(request, scope=WRITE_SCOPE) as c:
        c.caller.require(Permission.SSO_PROVIDER_ADD)
        provider = await _management(c).create(c.caller, await _settings(request))
    return json_response(generic_saml_json(provider))


async def get_provider(request: Request) -> Response:
    async with call(request, scope=READ_SCOPE) as c:
        provider = await _management(c).find(c.caller, request.path_params["id"])
    return json_response(generic_saml_json(provider))


async def update_provider(request: Request) -> Response:
    async with call(request, scope=WRITE_SCOPE) as c:
        management = _management(c)
        # Permission and existence before the body (403, then 404, then 400).
        current = await management.find(c.caller, request.path_params["id"],
                                        permission=Permission.SSO_PROVIDER_EDIT)
        provider = await management.update(c.caller, current.id, await _settings(request))
    return json_response(generic_saml_json(provider))


async def delete_provider(request: Request) -> Response:
    async with call(request, scope=WRITE_SCOPE) as c:
        await _management(c).delete(c.caller, request.path_params["id"])
    return Response(status_code=204)


routes = [
    route_at(BASE, get=list_providers),
    route_at(GENERIC, get=get_generic, put=put_generic, delete=delete_generic,
             post=create_provider),
    route_at(GENERIC + "/{id}", get=get_provider, put=update_provider, delete=delete_provider),
]
