"""Keystead: an OAuth 2.0 authorization server with governed client management."""

__version__ = "0.1.0"
