"""The client form: the fields as typed, the settings they ask for, and each problem by form
field (the domain names fields as the API does; the form shows them beside its own, in the
form's words: ``field_labels``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from keystead.domain.clients import (
    DEFAULT_TOKEN_TTL,
    MAX_TOKEN_TTL,
    MIN_TOKEN_TTL,
    REDIRECT_GRANTS,
    REFUSED_GRANTS,
    ClientSettings,
    ClientType,
    Environment,
    GrantType,
    RoleDivision,
    TokenEndpointAuthMethod,
    default_auth_method,
)
from keystead.domain.errors import Problem
from keystead.web.console.field_labels import in_words
from keystead.web.console.pages import Page

# A domain Problem's field (``registeredRedirectUri[2]``) to the form field that shows it.
FORM_FIELDS = {
    "name": "name", "description": "description", "authorizedGrantTypes": "grantTypes",
    "authorizedGrantType": "grantTypes", "accessTokenValiditySeconds": "accessTokenValiditySeconds",
    "scope": "scopes", "roleDivisions": "roles", "roleIds": "roles",
    "registeredRedirectUri": "redirectUris", "dateToDelete": "dateToDelete",
    "clientType": "clientType", "requirePkce": "clientType",
    "tokenEndpointAuthMethod": "tokenEndpointAuthMethod",
    "owner": "owner", "ownerContact": "ownerContact", "tags": "tags",
    "environment": "environment",
}
OWNERSHIP_FIELDS = {"owner", "ownerContact", "tags", "environment"}
STEP_FIELDS = ({"name", "description", "grantTypes", *OWNERSHIP_FIELDS},
               {"roles", "accessTokenValiditySeconds", "redirectUris", "scopes", "clientType",
                "tokenEndpointAuthMethod"})
GENERAL = "client-form"  # problems no single field shows (the form's id)


@dataclass(frozen=True, slots=True)
class ClientForm:
    """A client's fields as typed: re-shown unchanged when a rule is broken."""

    name: str = ""
    description: str = ""
    grant_types: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()  # "<roleId>:<divisionId>"
    ttl: str = str(DEFAULT_TOKEN_TTL)
    redirect_uris: str = ""  # one per line
    scopes: tuple[str, ...] = ()
    client_type: str = str(ClientType.confidential)
    auth_method: str = ""  # "": the default for the client type (or, when editing, unchanged)
    owner: str = ""  # a user id; "": no owner
    owner_contact: str = ""
    tags: str = ""  # separated by spaces or commas
    environment: str = ""  # "": not labelled

    @classmethod
    def posted(cls, ctx: Page) -> ClientForm:
        return cls(name=ctx.field("name").strip(), description=ctx.field("description").strip(),
                   grant_types=tuple(dict.fromkeys(ctx.fields("grantTypes"))),
                   roles=tuple(dict.fromkeys(ctx.fields("roles"))),
                   ttl=ctx.field("accessTokenValiditySeconds",
                                 str(DEFAULT_TOKEN_TTL)).strip(),
                   redirect_uris="\n".join(ctx.fields("redirectUris")),
                   scopes=tuple(dict.fromkeys(ctx.fields("scopes"))),
                   client_type=ctx.field("clientType", str(ClientType.confidential)),
                   auth_method=ctx.field("tokenEndpointAuthMethod", ""),
                   owner=ctx.field("owner").strip(),
                   owner_contact=ctx.field("ownerContact").strip(),
                   tags=ctx.field("tags").strip(), environment=ctx.field("environment"))

    @classmethod
    def of(cls, settings: ClientSettings) -> ClientForm:
        return cls(name=settings.name, description=settings.description,
                   grant_types=tuple(str(g) for g in settings.grant_types),
                   roles=tuple(f"{rd.role_id}:{rd.division_id}"
                               for rd in settings.role_divisions),
                   ttl=str(settings.token_ttl_seconds),
                   redirect_uris="\n".join(settings.redirect_uris), scopes=settings.scopes,
                   client_type=str(settings.client_type),
                   auth_method=str(settings.token_endpoint_auth_method),
                   owner=settings.owner_id or "", owner_contact=settings.owner_contact,
                   tags=" ".join(settings.tags),
                   environment=str(settings.environment or ""))

    @property
    def tag_list(self) -> tuple[str, ...]:
        return tuple(self.tags.replace(",", " ").split())

    @property
    def uri_lines(self) -> list[tuple[int, str]]:
        """The non-blank lines of the redirect URIs, with their line numbers (from 1)."""
        return [(number, line.strip()) for number, line in
                enumerate(self.redirect_uris.splitlines(), start=1) if line.strip()]

    def has(self, grant: GrantType) -> bool:
        return str(grant) in self.grant_types

    def for_wizard(self) -> ClientForm:
        """Only what the chosen grants use: roles for client credentials, URIs for CODE."""
        return replace(
            self, roles=self.roles if self.has(GrantType.client_credentials) else (),
            redirect_uris=self.redirect_uris if any(self.has(g) for g in REDIRECT_GRANTS)
            else "")

    def settings(self, base: ClientSettings | None = None) -> tuple[ClientSettings, Errors]:
        """The settings these fields ask for (over ``base``), and the fields that cannot even
        be read as values (those keep ``base``'s or the default value)."""
        errors = Errors()
        for name, values in self._texts():
            if any("\x00" in value for value in values):
                errors.add(name, "must not contain the NUL character")
        grants = []
        for value in self.grant_types:
            if value.upper() in REFUSED_GRANTS:
                errors.add("grantTypes", f"{value.upper()}: {REFUSED_GRANTS[value.upper()]}")
            elif value not in GrantType._value2member_map_:
                errors.add("grantTypes", f"{value!r} is not a grant type")
            else:
                grants.append(GrantType(value))
        pairs = []
        for value in self.roles:
            role_id, sep, division_id = value.partition(":")
            if not (sep and role_id and division_id):
                errors.add("roles", f"{value!r} is not a role in a division")
            else:
                pairs.append(RoleDivision(role_id, division_id))
        client_type = ClientType.confidential
        if self.client_type in ClientType._value2member_map_:
            client_type = ClientType(self.client_type)
        else:
            errors.add("clientType", "choose confidential or public")
        auth_method = (base.token_endpoint_auth_method if base
                       else default_auth_method(client_type))
        if self.auth_method in TokenEndpointAuthMethod._value2member_map_:
            auth_method = TokenEndpointAuthMethod(self.auth_method)
        elif self.auth_method:
            errors.add("tokenEndpointAuthMethod",
                       "choose client_secret_basic, client_secret_post or none")
        ttl = base.token_ttl_seconds if base else DEFAULT_TOKEN_TTL
        if not (self.ttl.isascii() and self.ttl.isdigit()) or len(self.ttl) > 12:
            errors.add("accessTokenValiditySeconds",
                       "token duration must be a whole number of seconds, from "
                       f"{MIN_TOKEN_TTL} to {MAX_TOKEN_TTL}")
        else:
            ttl = int(self.ttl)
        environment = None
        if self.environment in Environment._value2member_map_:
            environment = Environment(self.environment)
        elif self.environment:
            errors.add("environment", "choose production, staging or development")
        settings = replace(base or ClientSettings(name=""), name=self.name,
                           description=self.description, grant_types=tuple(grants),
                           role_divisions=tuple(pairs), token_ttl_seconds=ttl,
                           scopes=self.scopes,
                           redirect_uris=tuple(uri for _, uri in self.uri_lines),
                           client_type=client_type, token_endpoint_auth_method=auth_method,
                           owner_id=self.owner or None, owner_contact=self.owner_contact,
                           tags=self.tag_list, environment=environment)
        return settings, errors

    def has_nul(self) -> bool:
        return any("\x00" in value for _, values in self._texts() for value in values)

    def _texts(self) -> tuple[tuple[str, Sequence[str]], ...]:
        return (("name", [self.name]), ("description", [self.description]),
                ("grantTypes", self.grant_types), ("roles", self.roles),
                ("accessTokenValiditySeconds", [self.ttl]),
                ("redirectUris", [self.redirect_uris]), ("scopes", self.scopes),
                ("clientType", [self.client_type]),
                ("tokenEndpointAuthMethod", [self.auth_method]), ("owner", [self.owner]),
                ("ownerContact", [self.owner_contact]), ("tags", [self.tags]),
                ("environment", [self.environment]))


class Errors(dict[str, str]):
    """Form field -> what is wrong with it (several problems of one field joined)."""

    def add(self, name: str, message: str) -> None:
        message = in_words(message)
        message = message[:1].upper() + message[1:]
        self[name] = f"{self[name]} {message}" if name in self else message

    @classmethod
    def of(cls, problems: Iterable[Problem], form: ClientForm) -> Errors:
        errors = cls()
        errors.extend(problems, form)
        return errors

    def extend(self, problems: Iterable[Problem], form: ClientForm, *,
               keep: frozenset[str] = frozenset()) -> None:
        """Add the domain's problems by form field; fields in ``keep`` keep their own error."""
        lines = [number for number, _ in form.uri_lines]
        for problem in problems:
            base = problem.field.split("[", 1)[0].split(".", 1)[0]
            name = FORM_FIELDS.get(base, GENERAL)
            if name in keep:
                continue
            message = problem.message
            if name == "redirectUris" and "[" in problem.field:
                index = int(problem.field.split("[", 1)[1].split("]", 1)[0])
                if index < len(lines):
                    message = f"line {lines[index]}: {message}"
            self.add(name, message)

    def on_step(self, step: int) -> Errors:
        return Errors({k: v for k, v in self.items() if k in STEP_FIELDS[step - 1]})
