"""Console sign-in over HTTP: password, TOTP enrolment, codes, lockout, sessions, CSRF."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.people import Console, create_user, csrf_of, sign_in


def test_console_sends_strangers_to_sign_in(http: TestClient) -> None:
    response = http.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_admin_enrols_totp_at_first_sign_in(console: Console) -> None:
    assert console.person.totp_secret is not None
    assert len(console.person.recovery_codes) == 10
    assert console.http.get("/admin").status_code == 200
