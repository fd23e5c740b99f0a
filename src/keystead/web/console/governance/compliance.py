"""The compliance page: every control of each regime with pass or fail, its evidence and links
to what fails it; prints cleanly (the console's print rules) and downloads as JSON or CSV."""

from __future__ import annotations

from starlette.responses import Response

from keystead.domain.governance.compliance import ComplianceReport
from keystead.web.compliance_report import attachment, console_href, report_csv, report_json
from keystead.web.console.pages import Page, route
from keystead.web.errors import json_response

BASE = "/admin/governance/compliance"


async def _report(ctx: Page) -> ComplianceReport:
    async with ctx.transaction() as conn:
        return await ctx.runtime.compliance(conn).report(ctx.signed_in)


async def compliance_page(ctx: Page) -> Response:
    report = await _report(ctx)
    return ctx.render("governance/compliance.html", report=report, summary=report.summary(),
                      href=console_href, base=BASE)


async def compliance_json(ctx: Page) -> Response:
    report = await _report(ctx)
    return json_response(report_json(report), headers=attachment(report, "json"))


async def compliance_csv(ctx: Page) -> Response:
    report = await _report(ctx)
    return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                    headers=attachment(report, "csv"))


routes = [route(BASE, compliance_page), route(f"{BASE}.json", compliance_json),
          route(f"{BASE}.csv", compliance_csv)]
