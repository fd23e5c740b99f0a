"""Schemathesis against a live server, from /api/v2/docs/openapi.json: for requests that fit
the document and requests that do not, no 5xx, and every response is one the document declares
(status, content type, body schema).

Every operation is run, destructive ones included (their generated ids name nothing, or the
generated body is refused); the caller is a Super Admin client with every scope, so the checks
reach past authorisation. ``KEYSTEAD_FUZZ_EXAMPLES`` raises the examples per operation and
mode (default 6: the whole run stays well under two minutes on a 2-core box), and
``KEYSTEAD_FUZZ_RANDOM=1`` draws new examples instead of the fixed ones.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from keystead.web.openapi.document import openapi_document
from tests.support.clients import Registered

EXAMPLES = int(os.environ.get("KEYSTEAD_FUZZ_EXAMPLES", "6"))
# The same examples every run (CI must not flake); KEYSTEAD_FUZZ_RANDOM=1 explores new ones.
DERANDOMIZE = not os.environ.get("KEYSTEAD_FUZZ_RANDOM")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _token(live_server: str, admin: Registered) -> dict[str, str]:
    response = httpx.post(f"{live_server}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(admin.id, admin.secret))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _fuzz(operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, base_url: str,
          headers: dict[str, str]) -> None:
    """Run ``EXAMPLES`` generated requests; raises the first failure (no shrinking: time)."""

    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None,
                         derandomize=DERANDOMIZE,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Any]) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    run()


def test_schemathesis_finds_no_server_error_and_only_declared_responses(
        live_server: str, admin: Registered) -> None:
    schema = schemathesis.openapi.from_dict(openapi_document())
    failures: list[str] = []
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) > 80  # schemathesis read every operation
    for operation in operations:
        # A fresh token per operation: DELETE /api/v2/tokens/me revokes the one it is sent with.
        headers = _token(live_server, admin)
        # Negative cases need something to break: a body or a query parameter (a path id
        # that breaks "a non-empty string" cannot be sent).
        negatable = operation.body or operation.query
        for mode in (GenerationMode.POSITIVE, *([GenerationMode.NEGATIVE] * bool(negatable))):
            try:
                _fuzz(operation, mode, live_server, headers)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - collect every operation's failures
                failures.append(f"{operation.label} ({mode}): {exc}")
    assert failures == [], "\n\n".join(failures)
