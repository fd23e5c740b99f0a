"""Users: people who hold roles in divisions (sign-in and MFA build on this record later)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from keystead.domain.errors import Problem

MAX_NAME = 128
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    email: str
    state: str
    date_created: datetime


def check_user(name: str, email: str) -> list[Problem]:
    problems = []
    if not 1 <= len(name) <= MAX_NAME:
        problems.append(Problem("name", "length", f"name is required, 1 to {MAX_NAME} characters"))
    if len(email) > 320 or not _EMAIL.match(email):
        problems.append(Problem("email", "invalid.email", "email must look like name@example.com"))
    return problems
