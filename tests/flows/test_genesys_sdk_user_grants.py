"""The Genesys Cloud Python SDK's user grants against Keystead, unchanged: the code grant
(``get_code_authorization_token``, ``refresh_code_authorization_token``) and PKCE
(``generate_pkce_code_verifier``, ``compute_pkce_code_challenge``, ``get_pkce_token``).

The browser part (sign-in, consent) runs through the app in-process; the SDK exchanges the code
over real HTTP at a live server sharing the database, then calls the API with the user's token.
"""

from __future__ import annotations

from typing import Any

from PureCloudPlatformClientV2 import ApiClient, UsersApi
from starlette.testclient import TestClient

from tests.oauth_flows import REDIRECT_URI, answer_of, authorize, signed_in_person
from tests.support.clients import CLIENTS, bootstrap, code_body, create_client
from tests.support.tokens import bearer, token


def _admin_headers(http: TestClient) -> dict[str, str]:
    return bearer(token(http, bootstrap(http, name="ops", roles=["Super Admin"])))


def test_sdk_code_grant_and_refresh(http: TestClient, live_server: str) -> None:
    # The SDK's code grant sends no code_verifier: a confidential client that relaxes PKCE.
    client = create_client(http, _admin_headers(http), code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"], requirePkce=False))
    person = signed_in_person(http)
    code = answer_of(authorize(http, client.id, scope="users:readonly"))["code"]
    api = ApiClient(host=live_server)
    api, body = api.get_code_authorization_token(client.id, client.secret, code, REDIRECT_URI)
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"]
    me = UsersApi(api).get_users_me()
    assert (me.id, me.email) == (person.id, person.email)
    first = api.access_token
    api, refreshed = api.refresh_code_authorization_token(client.id, client.secret,
                                                          body["refresh_token"])
    assert refreshed["access_token"] != first
    assert UsersApi(api).get_users_me().id == person.id


def test_sdk_pkce_grant_for_a_public_client(http: TestClient, live_server: str) -> None:
    response = http.post(CLIENTS, headers=_admin_headers(http), json=code_body(
        registeredRedirectUri=[REDIRECT_URI], scope=["users:readonly"], clientType="public"))
    client: dict[str, Any] = response.json()
    person = signed_in_person(http)
    api = ApiClient(host=live_server)
    verifier = api.generate_pkce_code_verifier(64)
    challenge = api.compute_pkce_code_challenge(verifier)
    code = answer_of(authorize(http, client["id"], scope="users:readonly",
                               code_challenge=challenge, code_challenge_method="S256"))["code"]
    api, body = api.get_pkce_token(client["id"], verifier, code, REDIRECT_URI)
    assert body["refresh_token"]
    assert UsersApi(api).get_users_me().id == person.id
