"""Entry point for ``uvicorn --factory keystead.web.asgi:app_from_environment``."""

from __future__ import annotations

from starlette.applications import Starlette

from keystead.config import Settings
from keystead.web.app import create_app


def app_from_environment() -> Starlette:
    return create_app(Settings())
