"""`keystead governance policy show|set`: the organisation's governance policy, as the operator.

``set`` takes KEY=VALUE pairs in the policy's wire names (as ``GET /api/v2/governance/policy``
shows them); a value is read as JSON (``true``, ``60``, ``{"CODE": 3600}``), else as text
(``unreviewedAction=disable``). Every change is audited with its old and new values.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from keystead.cli.compliance import compliance
from keystead.cli.run import fail, print_result
from keystead.domain.governance.policy import to_document
from keystead.web.runtime import Runtime

governance_app = typer.Typer(help="Governance: the organisation's policy and compliance.",
                             no_args_is_help=True)
policy_app = typer.Typer(help="Show or change the governance policy.", no_args_is_help=True)
governance_app.add_typer(policy_app, name="policy")
governance_app.command("compliance")(compliance)


@policy_app.command("show")
def policy_show() -> None:
    """Print the policy as JSON (its wire form)."""
    print_result(Runtime.policy, lambda policy, caller: policy.view(caller), to_document)


@policy_app.command("set")
def policy_set(
    pairs: Annotated[list[str], typer.Argument(help="KEY=VALUE, e.g. ownerRequired=true "
                                                    "rotationMaxAgeDays=60")],
) -> None:
    """Change the named fields (the others keep their value); print the policy."""
    document: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            fail(f"{pair!r} is not KEY=VALUE")
        try:
            document[key] = json.loads(raw)
        except json.JSONDecodeError:
            document[key] = raw
    print_result(Runtime.policy, lambda policy, caller: policy.update(caller, document),
                 to_document)
