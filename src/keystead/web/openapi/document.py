"""The OpenAPI 3.1 document of the management API, built from the operation table and the very
pydantic models that validate the request bodies (``model_json_schema``), so it cannot say
something the server does not check."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from keystead import __version__
from keystead.domain.scopes import BUILTIN_SCOPES
from keystead.web.openapi.operations import OPERATIONS, Operation
from keystead.web.openapi.responses import ErrorBody

_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{model}"
_ERRORS = {
    "400": "The input breaks a rule: `details` names each field and rule.",
    "401": "No valid token: missing, expired, revoked, its client disabled or deleted, "
           "or not for this API.",
    "403": "The token lacks the scope, or its holder the permission (the message names it).",
    "404": "No such entity (or not one the caller may see).",
    "409": "The change conflicts with the current state (a duplicate name, a used entity).",
    "503": "The store is unreachable: retry after `Retry-After` seconds.",
}
_INTEGERS = {"pageNumber": (1, 1_000_000), "pageSize": (1, 500), "days": (1, 366)}


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    seen: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorBody, "serialization"): None}
    for op in OPERATIONS:
        if op.body is not None:
            seen[op.body, "validation"] = None
        if op.response is not None:
            seen[op.response, "serialization"] = None
    return list(seen)


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", "minLength": 1}}
        for name in _PARAM.findall(op.path)]
    for name in op.query:
        schema: dict[str, Any] = {"type": "string"}
        if name in _INTEGERS:
            low, high = _INTEGERS[name]
            schema = {"type": "integer", "minimum": low, "maximum": high}
        params.append({"name": name, "in": "query", "required": False, "schema": schema})
    return params


def _operation(op: Operation, refs: Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]]
               ) -> dict[str, Any]:
    needs = f"scope `{op.scope}`" if op.scope else "any valid token for this API"
    needs += f" and permission `{op.permission}`" if op.permission else ""
    ok: dict[str, Any] = {"description": "Done."}
    if op.status != 204:
        schema = refs[op.response, "serialization"] if op.response else {"type": "object"}
        ok["content"] = {"application/json": {"schema": schema}}
    responses: dict[str, Any] = {str(op.status): ok}
    if op.method == "DELETE" and op.path == "/api/v2/oauth/clients/{id}":
        # The policy's deletionApproval: the pending deletion request instead.
        responses["202"] = {"description": "A deletion request awaits a second admin.",
                            "content": {"application/json": {"schema": {"type": "object"}}}}
    responses.update({code: {"$ref": f"#/components/responses/E{code}"} for code in _ERRORS})
    body: dict[str, Any] = {
        "operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
        "description": f"Needs {needs}.",
        "parameters": _parameters(op), "responses": responses,
        "security": [{"oauth2": [op.scope] if op.scope else []}],
        "x-keystead-scope": op.scope, "x-keystead-permission": op.permission,
    }
    if op.body is not None:
        body["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": refs[op.body, "validation"]}}}
    return body


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document (built once: the table and the models are fixed at import)."""
    refs, defs = models_json_schema(_models(), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    error_ref = refs[ErrorBody, "serialization"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Keystead management API", "version": __version__,
                 "description": "The Genesys-shaped management API. Every operation needs a "
                                "token for this API with the scope it names, and its holder "
                                "the permission it names."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "responses": {f"E{code}": {"description": text, "content": {
                "application/json": {"schema": error_ref}}} for code, text in _ERRORS.items()},
            "securitySchemes": {"oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/oauth/token", "scopes": dict(BUILTIN_SCOPES)}}}},
        },
    }
