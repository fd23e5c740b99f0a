"""People's secrets never show up where they must not: passwords (right and wrong), TOTP keys
and codes, recovery codes, session cookies, authorization codes, refresh and user access tokens.

A realistic session runs — an admin signs in and enrols TOTP, a user fails and then succeeds at
signing in, uses a recovery code, authorizes an app and refreshes — while every log record (all
loggers, DEBUG) is captured. Then each value is searched for in the logs, the audit log, every
table of the database and the console pages that show activity (dashboard, audit log and its
exports, connected apps). The pages that hand a value out once (the enrolment page, the
recovery codes, the token response) are the only places it may appear.
"""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from tests.oauth_flows import answer_of, authorize, code_client, exchange, pkce_pair
from tests.people import PASSWORD, create_user, csrf_of, sign_in
from tests.test_no_secret_leaks import _audit_rows, _tables

WRONG_PASSWORD = "not-the-right-one-77"


def _leaks(haystack: str, needles: dict[str, str]) -> list[str]:
    return [name for name, value in needles.items() if value and value in haystack]


def test_no_user_secret_leaks(http: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    admin = create_user(http, "admin@example.com", roles=("Super Admin",))
    sign_in(http, admin)  # enrols TOTP: the key and recovery codes are shown once
    http.cookies.clear()
    user = create_user(http, "user@example.com")
    page = http.get("/login")
    refused = http.post("/login", data={"email": user.email, "password": WRONG_PASSWORD,
                                        "csrf_token": csrf_of(page.text), "next": "/admin"})
    assert refused.status_code == 401
    sign_in(http, user)
    session_cookie = http.cookies.get("ks_session") or ""
    client = code_client(http)
    pkce = pkce_pair()
    code = answer_of(authorize(http, client.id, pkce=pkce))["code"]
    tokens = exchange(http, client, code, pkce=pkce).json()
    refreshed = http.post("/oauth/token", auth=client.basic_auth, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    # The admin again, with a recovery code this time.
    http.cookies.clear()
    page = http.get("/login")
    mfa = http.post("/login", data={"email": admin.email, "password": admin.password,
                                    "csrf_token": csrf_of(page.text), "next": "/admin"})
    recovery = admin.recovery_codes[0]
    signed = http.post("/login/mfa", data={"code": recovery, "csrf_token": csrf_of(mfa.text)})
    assert signed.url.path == "/admin"
    pages = "\n".join(http.get(path).text for path in (
        "/admin", "/admin/audit", "/admin/audit/export.csv", "/admin/audit/export.json",
        "/admin/connected-apps"))

    needles = {
        "password": PASSWORD, "wrong password": WRONG_PASSWORD,
        "TOTP key": admin.totp_secret or "", "session cookie": session_cookie,
        "authorization code": code, "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"], "id token": tokens["id_token"],
        "refreshed access token": refreshed["access_token"], "client secret": client.secret,
        **{f"recovery code {i}": c for i, c in enumerate(admin.recovery_codes)},
    }
    assert _leaks(caplog.text, needles) == []
    assert _leaks(_audit_rows(http), needles) == []
    assert _leaks(_tables(http, without=set()), needles) == []
    assert _leaks(pages, needles) == []
    assert len(needles) == 20  # the check really looked for every value
