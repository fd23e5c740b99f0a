"""A part of the machine a test needs (a server, a program, a setting) that is not there: the
test is skipped, except in a run that must test everything (CI sets KEYSTEAD_TEST_REQUIRE_ALL),
where a skip would hide a gap, so it fails."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


# pytest declares skip.Exception as an attribute of a function, which mypy will not subclass.
class Missing(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """A skip for want of a part. The suite's summary folds these into one line a reason (see
    ``fold_missing``), where pytest would list a skip from a fixture once a test."""


def missing(reason: str) -> NoReturn:
    """Skip (or, in CI, fail) because of ``reason``: what is missing and how to get it."""
    if os.environ.get("KEYSTEAD_TEST_REQUIRE_ALL"):
        pytest.fail(f"KEYSTEAD_TEST_REQUIRE_ALL is set but {reason}")
    raise Missing(reason)


def fold_missing(report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
    """Report a ``Missing`` skip at ``missing`` itself, so that the summary counts each reason
    once over the whole run."""
    if report.skipped and call.excinfo is not None and isinstance(call.excinfo.value, Missing):
        report.longrepr = (__file__, missing.__code__.co_firstlineno, call.excinfo.value.msg)
