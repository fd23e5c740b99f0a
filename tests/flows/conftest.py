"""Fixtures the code-grant flow tests share: a confidential CODE client and a signed-in user.

A module that needs another client or user (other redirect URIs, a named person) defines its own
fixture of the same name, which takes precedence."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.oauth_flows import code_client, signed_in_person
from tests.people import Person
from tests.support.clients import Registered


@pytest.fixture
def client(http: TestClient) -> Registered:
    """A confidential CODE client registered through the API (tests.oauth_flows.REDIRECT_URI)."""
    return code_client(http)


@pytest.fixture
def person(http: TestClient) -> Person:
    """A user without roles, signed in on ``http``."""
    return signed_in_person(http)
