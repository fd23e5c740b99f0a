"""One class per grant type (RFC 6749 §4 and extensions)."""
