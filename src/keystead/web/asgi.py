"""Entry point for ``uvicorn --factory keystead.web.asgi:app_from_environment``."""

from __future__ import annotations

from keystead.config import Settings
from keystead.web.app import create_app
from keystead.web.fast_path import ProtocolFastPath


def app_from_environment() -> ProtocolFastPath:
    return create_app(Settings())
