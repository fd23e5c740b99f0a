"""Types in ``--help`` as a person reads them: ``TEXT``, ``N``, ``FILE``, ``SCOPE…``.

Typer labels an option without a ``metavar`` with its Python annotation (``<list[str]>``,
``<int>``, ``<bool>`` even on a flag). Options that name what they take set a ``metavar``
(``URI``, ``DAYS``); this replaces the fallback for the rest, in one place, for every command.
"""

from __future__ import annotations

import typing
from datetime import datetime
from pathlib import Path

from typer.core import TyperOption, _TyperParameter

_LABELS: dict[object, str] = {str: "TEXT", int: "N", float: "NUMBER", Path: "FILE",
                              datetime: "DATE", bool: ""}


def _label(annotation: object) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list and args:
        inner = _label(args[0])
        return f"{inner}…" if inner else ""
    if len(args) == 1:  # X | None
        return _label(args[0])
    return _LABELS.get(annotation, "TEXT")


def display_type(self: _TyperParameter, _ctx: object) -> str:
    """The help's type column: nothing for a flag, the choices, or a plain word."""
    if isinstance(self, TyperOption) and self.is_flag:
        return ""
    descriptor = self.type_descriptor
    if descriptor.is_choice:
        label = "|".join(str(c) for c in descriptor.choices or ())
        return f"{label}…" if descriptor.is_list else label
    return _label(descriptor.annotation)


def install() -> None:
    """Use the readable labels from now on (called once, where the app is built)."""
    _TyperParameter.display_type = display_type  # type: ignore[method-assign,assignment]
