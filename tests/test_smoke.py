from starlette.testclient import TestClient

from tests.support.clients import Registered
from tests.support.tokens import bearer, token


def test_token_then_list_clients(http: TestClient, admin: Registered) -> None:
    headers = bearer(token(http, admin))
    response = http.get("/api/v2/oauth/clients", headers=headers)
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["entities"]] == [admin.id]
