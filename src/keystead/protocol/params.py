"""Form parameters of the token, introspection and revocation endpoints (RFC 6749 §3.2)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from keystead.protocol.errors import InvalidRequestError


def parse_form(body: bytes) -> dict[str, str]:
    """Parse ``application/x-www-form-urlencoded``.

    Raises:
        InvalidRequestError: a parameter is repeated (RFC 6749 §3.2: MUST NOT be included more
            than once) or the body is not UTF-8.
    """
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise InvalidRequestError("request body must be UTF-8 form data") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise InvalidRequestError(f"parameter {name} is repeated")
        form[name] = value
    # RFC 6749 §3.2: parameters sent without a value MUST be treated as if omitted.
    return {name: value for name, value in form.items() if value != ""}
