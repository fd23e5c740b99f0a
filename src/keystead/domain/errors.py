"""Domain errors: what went wrong, named by field and rule, never carrying a secret.

    DomainError
     ├── InvalidInputError     400  one or more fields break a rule (``problems`` lists them)
     ├── NotFoundError         404
     ├── ConflictError         409
     └── ForbiddenError        403  the caller lacks a permission or a role it tries to assign
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: the field, a stable code, and a message that says how to fix it."""

    field: str
    code: str
    message: str


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad.request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(DomainError):
    code = "invalid.value"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems

    @classmethod
    def one(cls, field: str, code: str, message: str) -> InvalidInputError:
        return cls([Problem(field, code, message)])


class NotFoundError(DomainError):
    status = 404
    code = "not.found"


def require_found(found: T | None, message: str) -> T:
    """What a lookup found; NotFoundError with ``message`` when it found nothing."""
    if found is None:
        raise NotFoundError(message)
    return found


class ConflictError(DomainError):
    status = 409
    code = "conflict"


class ForbiddenError(DomainError):
    status = 403
    code = "missing.permissions"


class StoreUnavailableError(Exception):
    """The database cannot be reached: callers must answer 503, never 'invalid credentials'."""
