"""How commands print: a plain-text table with headers by default, the API's JSON with --json.

Hand-written rather than a library: a table is a dozen lines, and ``rich`` (which typer pulls in)
draws boxes and wraps cells to the terminal, which scripts reading columns with ``awk`` do not
want.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a "
                                                         "table")]
# A column: its header and how to read the cell from one JSON entity.
Column = tuple[str, Callable[[Mapping[str, Any]], Any]]


def field(name: str) -> Callable[[Mapping[str, Any]], Any]:
    """A column reading one top-level field (lists joined with commas)."""
    return lambda row: row.get(name)


def cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return str(value.get("name") or value.get("id") or json.dumps(value))
    return str(value).replace("\n", " ")


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """Rows under a header, columns padded to their widest cell (the last one not padded)."""
    cells = [[header for header, _ in columns]]
    cells += [[cell(read(row)) for _, read in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)
                               ).rstrip() for line in cells)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def emit_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, as_json: bool,
              listing: Any = None) -> None:
    """A listing: its JSON (``listing`` when given, else the rows) or a table; nothing at all for
    no rows, so that ``[ -z "$(keystead … list)" ]`` means empty."""
    if as_json:
        emit_json(rows if listing is None else listing)
    elif rows:
        typer.echo(table(rows, columns))


def emit_one(entity: Mapping[str, Any], columns: Sequence[Column], *, as_json: bool) -> None:
    """One entity: its JSON, or one ``Header: value`` line per column."""
    if as_json:
        emit_json(entity)
        return
    width = max(len(header) for header, _ in columns)
    for header, read in columns:
        typer.echo(f"{(header + ':').ljust(width + 1)} {cell(read(entity))}")
