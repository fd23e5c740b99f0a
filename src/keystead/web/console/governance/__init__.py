"""Governance pages: the signed-in user's inbox of notices, and deletion requests."""

from __future__ import annotations

from keystead.web.console.governance import deletion_requests, inbox

routes = [*inbox.routes, *deletion_requests.routes]
