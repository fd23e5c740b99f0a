"""The exit statuses scripts may rely on, in both modes (README, "CLI": "Exit codes").

0 done; 1 the operator's input was refused or names nothing (HTTP 4xx other than 401/403); 2 the
command line itself is wrong (click's own usage errors); 3 the server failed or did not answer
(HTTP 5xx, connection refused, timeout); 4 permission denied (HTTP 401/403).
"""

from __future__ import annotations

from typing import NoReturn

import typer

OK = 0
INPUT = 1
USAGE = 2
SERVER = 3
DENIED = 4


def for_status(status: int) -> int:
    """The exit status for an HTTP (or domain error) status."""
    if status in (401, 403):
        return DENIED
    if status >= 500:
        return SERVER
    if status >= 400:
        return INPUT
    return OK


def stop(message: str, code: int) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=code)
