"""Password hashes follow the configured argon2 parameters: a successful sign-in re-hashes a
password stored under other parameters (argon2-cffi ``check_needs_rehash``), in the sign-in's own
transaction; a failed one changes nothing."""

from __future__ import annotations

from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.store.users import SqlUserStore
from keystead.web.runtime import Runtime
from tests.people import create_user, csrf_of
from tests.support.apps import run, serve

EMAIL = "reader@example.com"
PASSWORD = "violet-harbour-lantern-7"
CHEAP = "$argon2id$v=19$m=8192,t=1,p=4$"  # the test settings' parameters
STRONGER = "$argon2id$v=19$m=9216,t=2,p=4$"


def stored_hash(http: TestClient, user_id: str) -> str:
    async def work(runtime: Runtime) -> str:
        async with runtime.transaction() as conn:
            found = await SqlUserStore(conn).password_hash(user_id)
        assert found is not None
        return found

    return run(http, work)


def password_step(http: TestClient, password: str) -> int:
    page = http.get("/login")
    response = http.post("/login", follow_redirects=False, data={
        "email": EMAIL, "password": password, "csrf_token": csrf_of(page.text), "next": "/admin"})
    return response.status_code


def stronger(settings: Settings) -> Settings:
    return settings.model_copy(update={"password_hash_memory_kib": 9_216,
                                       "password_hash_time_cost": 2})


def test_sign_in_rehashes_a_password_stored_under_other_parameters(http: TestClient,
                                                                   settings: Settings) -> None:
    user_id = create_user(http, EMAIL, password=PASSWORD).id
    before = stored_hash(http, user_id)
    assert before.startswith(CHEAP)
    with serve(stronger(settings)) as upgraded:
        assert password_step(upgraded, PASSWORD) == 303
        after = stored_hash(upgraded, user_id)
        assert after.startswith(STRONGER)
        # The new hash is the same password: it signs in again, without another re-hash.
        upgraded.cookies.clear()
        assert password_step(upgraded, PASSWORD) == 303
        assert stored_hash(upgraded, user_id) == after
        assert upgraded.get("/admin", follow_redirects=False).status_code == 200
    # Going back to the cheaper parameters re-hashes back, and the password still works.
    http.cookies.clear()
    assert password_step(http, PASSWORD) == 303
    assert stored_hash(http, user_id).startswith(CHEAP)


def test_sign_in_with_current_parameters_keeps_the_hash(http: TestClient) -> None:
    user_id = create_user(http, EMAIL, password=PASSWORD).id
    before = stored_hash(http, user_id)
    assert password_step(http, PASSWORD) == 303
    assert stored_hash(http, user_id) == before


def test_wrong_password_never_rehashes(http: TestClient, settings: Settings) -> None:
    user_id = create_user(http, EMAIL, password=PASSWORD).id
    before = stored_hash(http, user_id)
    with serve(stronger(settings)) as upgraded:
        assert password_step(upgraded, PASSWORD + "x") == 401
        assert stored_hash(upgraded, user_id) == before
