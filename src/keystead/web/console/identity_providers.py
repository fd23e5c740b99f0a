"""Console pages for trusted SAML identity providers: list, add, change and delete.

A trusted provider vouches for users at the token endpoint (RFC 7522, ``saml2-bearer``), so every
change goes through ``IdentityProviderManagement``: permission-checked (``sso:provider:*``) and
audited with the signed-in user as its actor, certificates only by fingerprint. A broken rule
re-renders the form with each message next to its field and what was typed kept; a certificate
problem says which of the pasted certificates it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import Route

from keystead.domain.errors import ConflictError, InvalidInputError, Problem
from keystead.domain.identity_providers import (
    DEFAULT_MFA_CONTEXT_CLASSES,
    PEM_END,
    IdentityProvider,
    IdentityProviderManagement,
    IdentityProviderSettings,
    NameIdFormat,
    fingerprint,
)
from keystead.domain.paging import Page as Paging
from keystead.domain.permissions import Permission
from keystead.protocol.saml_metadata import (
    MAX_METADATA_BYTES,
    IdpMetadata,
    MetadataError,
    read_idp_metadata,
)
from keystead.web.console.forms import Refused, act, sentence, submit
from keystead.web.console.pages import Page, area_routes, path_id, route

BASE = "/admin/identity-providers"
PAGE_SIZE = 25
MAX_PAGE = 1_000_000
# What each NameID format means for the assertions; the user is always found through their
# link to this provider (store/saml.py), never by e-mail or external id alone.
FORMATS = (
    (NameIdFormat.email, "E-mail address (assertions must use this format)"),
    (NameIdFormat.unspecified, "Unspecified (assertions may name any format)"),
    (NameIdFormat.persistent, "Persistent (assertions must use this format)"),
)
FORMAT_NAMES = {NameIdFormat.email: "e-mail address", NameIdFormat.unspecified: "unspecified",
                NameIdFormat.persistent: "persistent"}
FIELDS = ("name", "issuerURI", "relyingPartyIdentifier", "nameIdentifierFormat", "certificates",
          "disabled", "vouchesForMfa", "mfaAuthnContextClassRefs")
# Notices a redirect may ask for: fixed texts, so no request can inject one.
NOTICES = {
    "identity-provider-created": "Identity provider added.",
    "identity-provider-saved": "Changes saved.",
    "identity-provider-deleted": "Identity provider deleted.",
}
METADATA = "metadata"  # the pasted XML; the uploaded file is METADATA_FILE
METADATA_FILE = "metadataFile"


@dataclass(frozen=True, slots=True)
class Certificate:
    """What the pages show of a stored certificate: never more than its public facts."""

    fingerprint: str
    subject: str
    not_after: datetime | None

    @property
    def short(self) -> str:
        """The first eight bytes of the SHA-256 fingerprint, as people compare them."""
        kind, _, digest = self.fingerprint.partition(":")
        pairs = ":".join(digest[i:i + 2] for i in range(0, 16, 2)).upper()
        return f"{'SHA-256' if kind == 'sha256' else kind} {pairs}…"


def describe_certificate(pem: str) -> Certificate:
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:  # stored by an earlier release this library no longer reads
        return Certificate(fingerprint(pem), "(unreadable certificate)", None)
    return Certificate(fingerprint(pem), certificate.subject.rfc4514_string(),
                       certificate.not_valid_after_utc)


def split_certificates(text: str) -> list[str]:
    """The certificates pasted in one textarea, split after each END CERTIFICATE line.

    Anything after the last one (a bare base64 body, or a certificate without its END line)
    is kept as one more entry, so the rules can say what is wrong with it.
    """
    # Browsers send a textarea's line breaks as CRLF; the store keeps PEM with LF.
    parts = text.replace("\r\n", "\n").replace("\r", "\n").split(PEM_END)
    entries = [(part.strip() + "\n" + PEM_END).strip() for part in parts[:-1]]
    if rest := parts[-1].strip():
        entries.append(rest)
    return entries


def _management(ctx: Page, conn: AsyncConnection) -> IdentityProviderManagement:
    return ctx.runtime.identity_providers(conn)


def _render(ctx: Page, template: str, status: int = 200, **context: Any) -> Response:
    return ctx.render_with(NOTICES, template, status, **context)


def _values(ctx: Page) -> dict[str, str]:
    """The form as typed (kept when the form comes back with errors)."""
    return {name: ctx.field(name) for name in FIELDS}


def _values_of(provider: IdentityProvider | None) -> dict[str, str]:
    if provider is None:
        return {"name": "", "issuerURI": "", "relyingPartyIdentifier": "",
                "nameIdentifierFormat": str(NameIdFormat.unspecified), "certificates": "",
                "disabled": "", "vouchesForMfa": "",
                "mfaAuthnContextClassRefs": "\n".join(DEFAULT_MFA_CONTEXT_CLASSES)}
    s = provider.settings
    return {"name": s.name, "issuerURI": s.issuer_uri,
            "relyingPartyIdentifier": s.relying_party_identifier,
            "nameIdentifierFormat": str(s.name_identifier_format),
            "certificates": "\n\n".join(s.certificates), "disabled": "on" if s.disabled else "",
            "vouchesForMfa": "on" if s.vouches_for_mfa else "",
            "mfaAuthnContextClassRefs": "\n".join(s.mfa_authn_context_classes)}


def _settings(values: Mapping[str, str]) -> IdentityProviderSettings:
    """The typed form as settings. Raises: InvalidInputError (an unknown NameID format)."""
    try:
        name_id_format = NameIdFormat(values["nameIdentifierFormat"])
    except ValueError:
        raise InvalidInputError.one("nameIdentifierFormat", "invalid.value",
                                    "choose one of the listed formats") from None
    return IdentityProviderSettings(
        name=values["name"], issuer_uri=values["issuerURI"],
        certificates=tuple(split_certificates(values["certificates"])),
        relying_party_identifier=values["relyingPartyIdentifier"],
        name_identifier_format=name_id_format, disabled=bool(values["disabled"]),
        vouches_for_mfa=bool(values["vouchesForMfa"]),
        # One class per line; blank lines ignored.
        mfa_authn_context_classes=tuple(
            line.strip() for line in values["mfaAuthnContextClassRefs"].splitlines()
            if line.strip()))


def _form_errors(values: Mapping[str, str]) -> Callable[[Sequence[Problem]], dict[str, str]]:
    """Each field's problems under its form field; a certificate's names it by position among
    those typed in ``values``."""
    count = len(split_certificates(values["certificates"]))
    return lambda problems: _problems_by_field(problems, count)


def _problems_by_field(problems: Sequence[Problem], count: int) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        field, message = problem.field, problem.message
        if field.startswith("mfaAuthnContextClassRefs["):
            index = field.removeprefix("mfaAuthnContextClassRefs[").rstrip("]")
            message = f"Line {int(index) + 1}: " + message.removeprefix(f"{field} ")
            field = "mfaAuthnContextClassRefs"
        elif field.startswith("certificates["):
            index = field.removeprefix("certificates[").rstrip("]")
            reason = message.removeprefix(f"{field} ")
            message = f"Certificate {int(index) + 1} of {count}: {reason}"
            field = "certificates"
        errors.setdefault(field, []).append(sentence(message))
    return {field: " ".join(messages) for field, messages in errors.items()}


def _conflict(exc: ConflictError) -> dict[str, str]:
    field, _, message = exc.message.partition(": ")
    return {field: sentence(message)} if field in FIELDS and message else {
        "issuerURI": sentence(exc.message)}


def _form(ctx: Page, provider: IdentityProvider | None, status: int = 200, *,
          values: Mapping[str, str] | None = None,
          errors: Mapping[str, str] | None = None,
          imported: IdpMetadata | None = None) -> Response:
    caller = ctx.signed_in
    token_endpoint = f"{ctx.runtime.tokens.issuer}/oauth/token"
    return _render(
        ctx, "identity_providers/form.html", status, provider=provider,
        values=values or _values_of(provider), errors=errors or {}, formats=FORMATS,
        token_endpoint=token_endpoint, now=ctx.runtime.clock(), imported=imported,
        metadata_kib=MAX_METADATA_BYTES // 1024,
        certificates=[describe_certificate(pem) for pem in provider.settings.certificates]
        if provider else [],
        editable=caller.has_permission(Permission.SSO_PROVIDER_EDIT if provider
                                       else Permission.SSO_PROVIDER_ADD))


async def providers_list(ctx: Page) -> Response:
    raw_page = ctx.request.query_params.get("page", "1")
    whole = raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= len(str(MAX_PAGE))
    number = min(max(int(raw_page) if whole else 1, 1), MAX_PAGE)
    async with ctx.transaction() as conn:
        found, total = await _management(ctx, conn).list(ctx.signed_in,
                                                         Paging(number, PAGE_SIZE))
    rows = [{"provider": p, "certificates": [describe_certificate(pem)
                                             for pem in p.settings.certificates]}
            for p in found]
    return _render(ctx, "identity_providers/list.html", rows=rows, total=total,
                   page_number=number, page_count=max(1, -(-total // PAGE_SIZE)),
                   format_names=FORMAT_NAMES)


async def provider_new_form(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.SSO_PROVIDER_ADD)
    return _form(ctx, None)


async def provider_create(ctx: Page) -> Response:
    # Before the input: a refusal teaches no rules.
    ctx.signed_in.require(Permission.SSO_PROVIDER_ADD)
    values = _values(ctx)

    async def create(conn: AsyncConnection) -> IdentityProvider:
        return await _management(ctx, conn).create(ctx.signed_in, _settings(values))

    async def again(refused: Refused) -> Response:
        return _form(ctx, None, refused.status, values=values, errors=refused.errors)

    return await submit(
        ctx, create, again=again, fields=_form_errors(values), conflict=_conflict,
        done=lambda provider: f"{BASE}/{provider.id}?notice=identity-provider-created")


async def _find(ctx: Page, provider_id: str) -> IdentityProvider:
    async with ctx.transaction() as conn:
        return await _management(ctx, conn).find(ctx.signed_in, provider_id)


async def provider_page(ctx: Page) -> Response:
    return _form(ctx, await _find(ctx, path_id(ctx)))


async def provider_update(ctx: Page) -> Response:
    provider_id = path_id(ctx)
    values = _values(ctx)

    async def update(conn: AsyncConnection) -> None:
        management = _management(ctx, conn)
        # Permission and existence before the input rules (403, then 404, then 400).
        current = await management.find(ctx.signed_in, provider_id,
                                        permission=Permission.SSO_PROVIDER_EDIT)
        await management.update(ctx.signed_in, current.id, _settings(values))

    async def again(refused: Refused) -> Response:
        return _form(ctx, await _find(ctx, provider_id), refused.status, values=values,
                     errors=refused.errors)

    return await submit(
        ctx, update, again=again, fields=_form_errors(values), conflict=_conflict,
        done=lambda _: f"{BASE}/{provider_id}?notice=identity-provider-saved")


async def provider_delete(ctx: Page) -> Response:
    provider_id = path_id(ctx)
    return await act(ctx, lambda conn: _management(ctx, conn).delete(ctx.signed_in, provider_id),
                     f"{BASE}?notice=identity-provider-deleted")


async def _metadata_sent(ctx: Page) -> bytes:
    """The uploaded metadata file if one was chosen, else the pasted XML; at most one byte
    over the cap is read, so an oversized upload is refused without being read whole."""
    upload = ctx.form.get(METADATA_FILE) if ctx.form is not None else None
    if isinstance(upload, UploadFile) and upload.filename:
        return await upload.read(MAX_METADATA_BYTES + 1)
    return ctx.field(METADATA).encode()


def filled_from(metadata: IdpMetadata, values: Mapping[str, str]) -> dict[str, str]:
    """The form as typed, with what the metadata says: its entity ID as the issuer, its signing
    certificates, its name when none is typed, and its NameID format when it offers just one
    Keystead knows (offering several, which one it sends is the IdP's setting for Keystead,
    which the metadata does not say: the format chosen stays)."""
    only = metadata.name_id_formats[0] if len(metadata.name_id_formats) == 1 else ""
    return {**values, "issuerURI": metadata.entity_id,
            "certificates": "\n\n".join(metadata.certificates),
            "name": values["name"].strip() or metadata.display_name[:128],
            "nameIdentifierFormat": only if only in NameIdFormat._value2member_map_
            else values["nameIdentifierFormat"]}


async def _import(ctx: Page, provider: IdentityProvider | None) -> Response:
    """Fill the form from the metadata for the admin to review; nothing is saved here."""
    values = _values(ctx)
    try:
        metadata = read_idp_metadata(await _metadata_sent(ctx))
    except MetadataError as exc:
        return _form(ctx, provider, 400, values=values, errors={METADATA: exc.message})
    return _form(ctx, provider, values=filled_from(metadata, values), imported=metadata)


async def provider_new_import(ctx: Page) -> Response:
    ctx.signed_in.require(Permission.SSO_PROVIDER_ADD)
    return await _import(ctx, None)


async def provider_import(ctx: Page) -> Response:
    async with ctx.transaction() as conn:
        provider = await _management(ctx, conn).find(ctx.signed_in, path_id(ctx),
                                                     permission=Permission.SSO_PROVIDER_EDIT)
    return await _import(ctx, provider)


routes: list[Route] = [
    route(f"{BASE}/new/import", post=provider_new_import),
    *area_routes(BASE, listing=providers_list, new_form=provider_new_form,
                 create=provider_create, view=provider_page, change=provider_update,
                 actions={"delete": provider_delete, "import": provider_import})]
