"""Console pages for users: the list, adding one, a user's page with its role grants, its links
to identity providers, its two-step verification and its invitation; the invitation link's own
public pages (``accept``).

Every change goes through the use cases the API calls (``UserManagement``,
``IdentityLinkManagement``), so it obeys the same rules and is audited with the signed-in user as
its actor; forms are saved with ``forms.submit`` (never re-showing a password).
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.pages import area_routes
from keystead.web.console.users import accept, detail, grants, invitations, links, listing

routes: list[Route] = area_routes(
    "/admin/users", listing=listing.users_list, new_form=listing.user_new_form,
    create=listing.user_create, view=detail.user_page, change=detail.user_update,
    actions={"grants": grants.grant_add, "grants/remove": grants.grant_remove,
             "mfa/reset": detail.mfa_reset, "identity-providers": links.idp_link,
             "identity-providers/remove": links.idp_unlink, "delete": detail.user_delete,
             "invitation/send": invitations.send_again,
             "invitation/revoke": invitations.revoke}) + accept.routes
