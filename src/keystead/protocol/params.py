"""Form parameters of the OAuth endpoints (RFC 6749 §3.1, §3.2).

Every error raised here has fixed text: a parameter's name or value never decides what the error
says, nor whether it can be built (RFC 6749 §5.2 limits ``error_description`` to a charset that
caller input need not respect).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from keystead.protocol.errors import InvalidRequestError


def parse_pairs(body: bytes) -> list[tuple[str, str]]:
    """Parse ``application/x-www-form-urlencoded`` into (name, value) pairs, in order.

    Raises:
        InvalidRequestError: the body is not UTF-8.
    """
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise InvalidRequestError("request body must be UTF-8 form data") from exc
    try:
        # errors="strict": a percent-escape that decodes to invalid UTF-8 is refused too.
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError("request body must be UTF-8 form data") from exc


def repeated_names(pairs: list[tuple[str, str]]) -> bool:
    """True when a parameter name occurs more than once."""
    return len({name for name, _ in pairs}) != len(pairs)


def parse_form(body: bytes) -> dict[str, str]:
    """Parse ``application/x-www-form-urlencoded`` into one value per name.

    Raises:
        InvalidRequestError: a parameter is repeated (RFC 6749 §3.2: MUST NOT be included more
            than once) or the body is not UTF-8.
    """
    pairs = parse_pairs(body)
    if repeated_names(pairs):
        raise InvalidRequestError("a parameter is repeated")
    # RFC 6749 §3.2: parameters sent without a value MUST be treated as if omitted.
    return {name: value for name, value in pairs if value != ""}
