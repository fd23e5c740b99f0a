"""A SAML 2.0 bearer assertion as a document: its transport and safe parsing, and how its
elements are read.

RFC 7522 §2.1: base64url (standard base64 and padding accepted), at most 256 KiB decoded. XML
safety: UTF-8 only, parsed with no DTD loading, no entity expansion and no network; a document
with a document type declaration, an internal subset or an entity is refused before it is
parsed (billion laughs, external entities). SAML core §1.3.3: instants are xs:dateTime in UTC.

Every refusal is ``invalid_grant`` with one fixed public description; ``detail`` says why.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

from lxml import etree

from keystead.protocol.errors import InvalidGrantError

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"saml": SAML, "ds": DS}
PUBLIC_DESCRIPTION = "the assertion is not valid"
MAX_ASSERTION_BYTES = 256 * 1024
MAX_ENCODED_CHARS = (MAX_ASSERTION_BYTES + 2) // 3 * 4 + 2
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_URL_SAFE = str.maketrans("-_", "+/")
# SAML core §1.3.3: xs:dateTime in UTC.
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                      r"(Z|[+-][0-9]{2}:[0-9]{2})?")


def refused(detail: str) -> InvalidGrantError:
    return InvalidGrantError(PUBLIC_DESCRIPTION, detail=detail)


def decode_assertion(assertion_b64: str) -> bytes:
    """The assertion's bytes from base64url (RFC 7522 §2.1), or standard base64; padding optional.

    Raises:
        InvalidGrantError: not base64, or larger than 256 KiB.
    """
    text = assertion_b64.strip()
    if len(text) > MAX_ENCODED_CHARS:
        raise refused("the assertion is larger than 256 KiB")
    if not _BASE64.fullmatch(text):
        raise refused("the assertion is not base64url")
    text = text.rstrip("=").translate(_URL_SAFE)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise refused("the assertion is not base64url") from exc
    if len(raw) > MAX_ASSERTION_BYTES:
        raise refused("the assertion is larger than 256 KiB")
    return raw


def xml_parser() -> etree.XMLParser:
    # One per document: lxml parsers keep state and are not safe to share between threads.
    # UTF-8 is imposed, whatever the XML declaration says, so the byte check below sees every
    # declaration as it is spelled.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, dtd_validation=False, encoding="utf-8")


def parse_assertion(raw: bytes) -> etree._Element:
    """Parse ``raw`` safely: UTF-8 only, no DTD, no entities, no network.

    Raises:
        InvalidGrantError: not UTF-8, not well-formed, or with a document type declaration or
            entity.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refused("the assertion is not UTF-8") from exc
    if b"\x00" in raw:
        raise refused("the assertion is not UTF-8")
    # Refused before the parser reads a declaration (billion laughs, external entities); the
    # parser would not expand or fetch one anyway, and the parsed document is checked again.
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise refused("a document type declaration or entity is not allowed")
    try:
        root = etree.fromstring(raw, xml_parser())
    except etree.XMLSyntaxError as exc:
        raise refused("the assertion is not well-formed XML") from exc
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None or (
            info.system_url is not None):
        raise refused("a document type declaration or entity is not allowed")
    if next(root.iter(etree.Entity), None) is not None:
        raise refused("a document type declaration or entity is not allowed")
    return root


def text(element: etree._Element | None) -> str:
    return "" if element is None or element.text is None else str(element.text).strip()


def instant(element: etree._Element, attribute: str) -> datetime | None:
    """An xs:dateTime attribute as aware UTC (SAML core §1.3.3), or None when absent.

    Raises:
        InvalidGrantError: present but not a date and time.
    """
    value = element.get(attribute)
    if value is None:
        return None
    if not _INSTANT.fullmatch(value):
        raise refused(f"malformed {attribute}: not an xs:dateTime")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise refused(f"malformed {attribute}: not an xs:dateTime") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
