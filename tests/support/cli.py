"""The ``keystead`` command, run as an operator would: in this process through typer's runner
(``keystead_cli``), or as the installed program (``keystead_process``).

A program costs two to three seconds to start (it imports the whole server), so most tests run
commands in-process; the same ``app`` object answers both ways. The tests of what only a real
process shows (the installed entry point, exit statuses from the shell, ``serve``) use
``keystead_process``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

from typer.testing import CliRunner

from keystead.cli import app

KEYSTEAD_COMMAND = str(Path(sys.executable).with_name("keystead"))


def _only(env: dict[str, str]) -> dict[str, str | None]:
    """``env`` as the only KEYSTEAD_* settings: every other one this process has is unset."""
    unset: dict[str, str | None] = {name: None for name in os.environ
                                    if name.startswith("KEYSTEAD_")}
    return unset | dict(env)


def keystead_cli(env: dict[str, str], *args: str,
                 stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``keystead ARGS`` in this process with ``env`` as its only KEYSTEAD_* settings.

    The result reads as the program's would: an exception the command did not handle exits 1
    with its traceback on standard error, as Python prints it.
    """
    result = CliRunner().invoke(app, list(args), env=_only(env), input=stdin)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["keystead", *args], result.exit_code, result.stdout,
                                       stderr)


def keystead_process(env: dict[str, str], *args: str,
                     stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``keystead`` program with ``env`` as its only KEYSTEAD_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")} | env
    return subprocess.run([KEYSTEAD_COMMAND, *args], env=clean, capture_output=True, text=True,
                          input=stdin, timeout=120, check=False)
