"""Console pages for scopes: the list (with how many clients hold each), adding one, and a
scope's page (change its description and resource server, delete).

A scope id may hold "/": its page's forms post back to its own address, with an intent.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.pages import route
from keystead.web.console.scopes import pages

BASE = "/admin/scopes"

routes: list[Route] = [
    route(BASE, pages.scopes_list),
    route(f"{BASE}/new", pages.scope_new_form),
    route(f"{BASE}/new", pages.scope_create, methods=("POST",)),
    route(BASE + "/{id:scope}", pages.scope_page),
    route(BASE + "/{id:scope}", pages.scope_change, methods=("POST",)),
]
