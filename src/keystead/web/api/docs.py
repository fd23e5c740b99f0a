"""/api/v2/docs/openapi.json: the API's own description, for anyone (it holds no data)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keystead.web.errors import json_response
from keystead.web.openapi.document import openapi_document

PATH = "/api/v2/docs/openapi.json"


async def openapi_json(_request: Request) -> Response:
    return json_response(openapi_document())


routes = [Route(PATH, openapi_json, methods=["GET"])]
