"""Console pages for scopes: the list (with how many clients hold each), adding one, and a
scope's page (change its description and resource server, delete).

A scope id may hold "/": its page's forms post back to its own address, with an intent.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.ids import SCOPE
from keystead.web.console.pages import area_routes
from keystead.web.console.scopes import pages

routes: list[Route] = area_routes(
    "/admin/scopes", listing=pages.scopes_list, new_form=pages.scope_new_form,
    create=pages.scope_create, view=pages.scope_page, change=pages.scope_change, id_type=SCOPE)
