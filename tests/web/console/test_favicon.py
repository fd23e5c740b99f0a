"""The site icon: browsers asking for /favicon.ico get the Keystead mark (no 404s in the
logs), and every page links the same SVG: the console, the sign-in and the consent pages."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.people import Console

LINK = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


def test_favicon_ico_answers_the_svg_mark(http: TestClient) -> None:
    icon = http.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert "max-age" in icon.headers["cache-control"]
    assert re.match(r"<svg [^>]*viewBox=\"0 0 32 32\"", icon.text)
    assert "<title>Keystead</title>" in icon.text
    linked = http.get("/static/favicon.svg")
    assert linked.status_code == 200
    assert linked.content == icon.content
    assert http.head("/favicon.ico").status_code == 200


def test_sign_in_and_console_pages_link_the_icon(http: TestClient, console: Console) -> None:
    assert LINK in console.http.get("/admin").text
    console.http.cookies.clear()
    assert LINK in http.get("/login").text
