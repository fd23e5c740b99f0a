"""Console pages for access reviews: the campaigns, starting one, a campaign's page (each item
with its client's evidence of use and a decision form), "My reviews" and the printable report.

Everything goes through ``ReviewManagement``: the API's rules, permissions and audit.
"""

from __future__ import annotations

from starlette.routing import Route

from keystead.web.console.pages import route
from keystead.web.console.reviews import pages

BASE = "/admin/reviews"
CAMPAIGN = BASE + "/{id:entity}"

routes: list[Route] = [
    route(BASE, pages.campaigns_list),
    route(f"{BASE}/assigned", pages.my_reviews),
    route(f"{BASE}/new", pages.campaign_new_form, post=pages.campaign_start),
    route(CAMPAIGN, pages.campaign_page),
    route(f"{CAMPAIGN}/report", pages.report_page),
    route(f"{CAMPAIGN}/report.csv", pages.report_csv_download),
    route(f"{CAMPAIGN}/close", post=pages.campaign_close),
    route(CAMPAIGN + "/items/{item:entity}", post=pages.item_decide),
]
