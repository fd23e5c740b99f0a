"""An identity provider's SAML 2.0 metadata (saml-metadata-2.0-os), read for the facts an admin
would otherwise copy by hand: its entity ID, its signing certificates, its single sign-on
endpoints and the NameID formats it offers.

Metadata is pasted or uploaded by an admin, but it comes from elsewhere (an IdP's download
link, a colleague's e-mail), so it is parsed as untrusted: at most ``MAX_METADATA_BYTES``, with
defusedxml, which refuses a document type declaration (and with it entity expansion, billion
laughs and external entities) before anything is resolved. Nothing here fetches a URL.

Every refusal is a ``MetadataError`` whose message says what is wrong and what to paste instead.
"""

from __future__ import annotations

import base64
import binascii
import textwrap
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
# A single IdP's metadata is a few kilobytes (a handful of certificates); a federation's
# aggregate of thousands is not what this reads.
MAX_METADATA_BYTES = 256 * 1024
# saml-bindings-2.0-os §3.4 and §3.5: the bindings a browser is sent to the IdP by.
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_NAMES = {REDIRECT_BINDING: "HTTP-Redirect", POST_BINDING: "HTTP-POST"}
PEM_LINE = 64


class MetadataError(ValueError):
    """The document is not usable identity provider metadata; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class SingleSignOn:
    binding: str  # "HTTP-Redirect" or "HTTP-POST"
    location: str


@dataclass(frozen=True, slots=True)
class IdpMetadata:
    """What the metadata says of the identity provider."""

    entity_id: str
    certificates: tuple[str, ...]  # PEM, in document order, each once
    single_sign_on: tuple[SingleSignOn, ...]  # the redirect and POST endpoints only
    name_id_formats: tuple[str, ...]
    display_name: str  # mdui:DisplayName or the organisation's display name; "" if none


def read_idp_metadata(raw: bytes) -> IdpMetadata:
    """The identity provider described by ``raw`` (an EntityDescriptor, or an
    EntitiesDescriptor holding exactly one identity provider).

    Raises:
        MetadataError: too large, not well-formed, with a DTD or entities, not SAML metadata,
            no or several identity providers, no entity ID or no signing certificate.
    """
    if len(raw) > MAX_METADATA_BYTES:
        raise MetadataError(
            f"The metadata is larger than {MAX_METADATA_BYTES // 1024} KiB. Paste the metadata "
            "of the one identity provider (its EntityDescriptor), not a federation's list.")
    if not raw.strip():
        raise MetadataError("No metadata was given: paste the XML or choose its file.")
    root = _parse(raw)
    entity = _idp_entity(root)
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id:
        raise MetadataError("The EntityDescriptor has no entityID: the metadata does not say "
                            "which issuer the identity provider's assertions carry.")
    idp = _idp_descriptor(entity)
    certificates = _signing_certificates(idp)
    if not certificates:
        raise MetadataError(
            "The IDPSSODescriptor has no signing certificate (a KeyDescriptor with "
            "use=\"signing\", or with no use, holding an X509Certificate): Keystead needs it "
            "to check the signature of every assertion.")
    return IdpMetadata(
        entity_id=entity_id, certificates=certificates,
        single_sign_on=tuple(
            SingleSignOn(BINDING_NAMES[s.get("Binding", "")], s.get("Location", "").strip())
            for s in idp.findall(f"{{{MD}}}SingleSignOnService")
            if s.get("Binding") in BINDING_NAMES and s.get("Location", "").strip()),
        name_id_formats=tuple(dict.fromkeys(
            (e.text or "").strip() for e in idp.findall(f"{{{MD}}}NameIDFormat")
            if (e.text or "").strip())),
        display_name=_display_name(entity, idp))


def _parse(raw: bytes) -> Element:
    try:
        return SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except DTDForbidden:
        raise MetadataError(
            "The metadata has a document type declaration (<!DOCTYPE …>), which SAML metadata "
            "never needs and which can smuggle in entities: remove it, or export the metadata "
            "again from the identity provider.") from None
    except EntitiesForbidden:
        raise MetadataError("The metadata declares XML entities, which SAML metadata never "
                            "needs: export it again from the identity provider.") from None
    except DefusedXmlException:
        raise MetadataError("The metadata refers to external resources, which Keystead does "
                            "not fetch: export it again from the identity provider.") from None
    except ParseError as exc:
        line, column = exc.position
        raise MetadataError(f"The metadata is not well-formed XML (line {line}, column "
                            f"{column + 1}): paste the whole document, unchanged.") from None
    except (ValueError, LookupError):  # an encoding expat cannot read (multi-byte, unknown)
        raise MetadataError("The metadata declares an encoding Keystead cannot read: export "
                            "it again as UTF-8.") from None


def _idp_entity(root: Element) -> Element:
    if root.tag == f"{{{MD}}}EntityDescriptor":
        return root
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        idps = [e for e in root.iter(f"{{{MD}}}EntityDescriptor")
                if e.find(f"{{{MD}}}IDPSSODescriptor") is not None]
        if len(idps) == 1:
            return idps[0]
        raise MetadataError(
            f"The metadata lists {len(idps) or 'no'} identity provider"
            f"{'' if len(idps) == 1 else 's'}: paste the EntityDescriptor of exactly one.")
    raise MetadataError(
        f"This XML is not SAML 2.0 metadata: its root element is {_shown(root.tag)}, not an "
        f"EntityDescriptor in the namespace {MD}.")


def _idp_descriptor(entity: Element) -> Element:
    for idp in entity.findall(f"{{{MD}}}IDPSSODescriptor"):
        if SAML2_PROTOCOL in (idp.get("protocolSupportEnumeration") or "").split():
            return idp
    if entity.find(f"{{{MD}}}IDPSSODescriptor") is not None:
        raise MetadataError("The IDPSSODescriptor does not support SAML 2.0 (its "
                            f"protocolSupportEnumeration lacks {SAML2_PROTOCOL}).")
    other = "a service provider's" if entity.find(f"{{{MD}}}SPSSODescriptor") is not None \
        else "not an identity provider's"
    raise MetadataError(
        f"The metadata has no IDPSSODescriptor: it is {other} metadata. Paste the metadata "
        "your identity provider publishes for itself.")


def _signing_certificates(idp: Element) -> tuple[str, ...]:
    pems: dict[str, None] = {}
    for number, key in enumerate(idp.findall(f"{{{MD}}}KeyDescriptor"), start=1):
        if key.get("use", "signing") != "signing":  # "encryption" keys sign nothing
            continue
        for cert in key.iter(f"{{{DS}}}X509Certificate"):
            body = "".join((cert.text or "").split())
            try:
                der = base64.b64decode(body, validate=True)
            except binascii.Error:
                der = b""
            if not der:
                raise MetadataError(f"KeyDescriptor {number}: its X509Certificate is not "
                                    "base64: export the metadata again.")
            pems[_pem(der)] = None
    return tuple(pems)


def _pem(der: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), PEM_LINE))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----"


def _display_name(entity: Element, idp: Element) -> str:
    for path in (f"{{{MD}}}Extensions/{{{MDUI}}}UIInfo/{{{MDUI}}}DisplayName",
                 f"{{{MD}}}Organization/{{{MD}}}OrganizationDisplayName",
                 f"{{{MD}}}Organization/{{{MD}}}OrganizationName"):
        for parent in (idp, entity):
            found = parent.find(path)
            if found is not None and (found.text or "").strip():
                return " ".join((found.text or "").split())
    return ""


def _shown(tag: str) -> str:
    """``{namespace}Local`` as people read it: Local (namespace)."""
    namespace, _, local = tag.rpartition("}")
    return f"{local} ({namespace.lstrip('{')})" if namespace else local
