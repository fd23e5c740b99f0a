"""What every command shares: JSON output, failing with a reason, and running a use case in
one transaction as the operator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.cli import exit_codes
from keystead.cli.exit_codes import stop
from keystead.cli.remote import named_server
from keystead.config import Settings
from keystead.domain.client_management import ClientManagement
from keystead.domain.errors import DomainError
from keystead.domain.paging import Page
from keystead.domain.principal import Caller, operator
from keystead.web.runtime import NotInitialisedError, Runtime, build_runtime

T = TypeVar("T")


def out(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def run_in_transaction(work: Callable[[ClientManagement, AsyncConnection, Caller],
                                       Awaitable[T]]) -> T:
    """Run ``work`` in one transaction as the operator; domain errors exit 1 with the reason."""

    async def with_management(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> T:
        return await work(runtime.management(conn), conn, caller)

    return run_with_runtime(with_management)


def run_with_runtime(work: Callable[[Runtime, AsyncConnection, Caller], Awaitable[T]]) -> T:
    """Like run_in_transaction, for work that needs more of the runtime than client management."""

    async def in_transaction(runtime: Runtime) -> T:
        async with runtime.transaction() as conn:
            return await work(runtime, conn, operator())

    return run_on_runtime(in_transaction)


def run_on_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``work`` on a runtime built from the settings, opening its own transactions; domain
    errors exit with the reason and the status their HTTP status maps to (exit_codes)."""

    if named_server() is not None:
        # A command with no remote form must not quietly act on a store here instead.
        stop("this command runs locally only, on a host with the server's settings: leave out "
             "--server and --profile (and KEYSTEAD_SERVER, KEYSTEAD_PROFILE)", exit_codes.USAGE)

    async def main() -> T:
        runtime = await build_runtime(Settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        stop(exc.message, exit_codes.for_status(exc.status))
    except NotInitialisedError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


PAGE_SIZE = 500
R = TypeVar("R")


async def every_page(search: Callable[[Page], Awaitable[tuple[Sequence[R], int]]],
                     present: Callable[[R], Any]) -> list[Any]:
    """Every item a paged search finds, each as ``present`` shows it (a JSON list)."""
    listed: list[Any] = []
    number = 1
    while True:
        page, total = await search(Page(number, PAGE_SIZE))
        listed += [present(item) for item in page]
        if len(listed) >= total or not page:
            return listed
        number += 1


M = TypeVar("M")


def print_result(use_cases: Callable[[Runtime, AsyncConnection], M],
                 act: Callable[[M, Caller], Awaitable[R]], present: Callable[[R], Any]) -> None:
    """Run one use case (``act`` on what ``use_cases`` builds) as the operator; print its result
    as ``present`` shows it (JSON)."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> Any:
        return present(await act(use_cases(runtime, conn), caller))

    out(run_with_runtime(work))


def print_every(use_cases: Callable[[Runtime, AsyncConnection], M],
                search: Callable[[M, Caller, Page], Awaitable[tuple[Sequence[R], int]]],
                present: Callable[[R], Any]) -> None:
    """Print as one JSON list every item a paged search of ``use_cases`` finds, as the operator."""

    async def work(runtime: Runtime, conn: AsyncConnection, caller: Caller) -> list[Any]:
        found = use_cases(runtime, conn)
        return await every_page(lambda page: search(found, caller, page), present)

    out(run_with_runtime(work))
