"""Paging of the listings the stores answer (clients, users, identity providers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int
