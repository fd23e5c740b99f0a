"""The site icon: ``/static/favicon.svg``, also answered at ``/favicon.ico``.

Browsers ask for ``/favicon.ico`` on their own, whatever the page links; answering it with the
SVG (which every current browser draws there) keeps those requests from ending in 404s.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

ICON = Path(__file__).parent / "static" / "favicon.svg"


async def favicon(_request: Request) -> Response:
    return FileResponse(ICON, media_type="image/svg+xml",
                        headers={"cache-control": "public, max-age=86400",
                                 "x-content-type-options": "nosniff"})


routes: list[Route] = [Route("/favicon.ico", favicon, methods=["GET", "HEAD"])]
