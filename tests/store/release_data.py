"""A database as release 0.1.0 (schema 0004) leaves it, with a row in every table, kept as JSON.

``python -m tests.store.release_data`` was run once, on the commit that still had schema 0004
(657dc94), to write ``tests/store/data/release-0.1.0.json``; tests/store/test_upgrade.py loads
that file into a database at 0004 on each store and upgrades it. Rerunning it on a newer schema
would describe that schema instead, so the file is kept as it was made.

The JSON holds typed values (``{"$dt": …}``, ``{"$date": …}``) so that the rows load into
PostgreSQL as well as SQLite, the secret key they were made under, and the credentials the
upgrade test uses to show that what worked before still works.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import MetaData, create_engine, select
from starlette.testclient import TestClient

from keystead.config import Settings
from keystead.domain.keyring import KeyRing
from keystead.protocol.keys import generate_key, key_cipher
from keystead.store.database import create_engine as create_async
from keystead.store.migrate import upgrade
from keystead.store.seed import seed
from keystead.web.app import create_app
from tests.oauth_flows import answer_of, authorize, code_client, pkce_pair, user_tokens
from tests.people import create_user, sign_in
from tests.saml_idp import AUDIENCE, EMAIL, SamlIdp
from tests.support.clients import CLIENTS, bootstrap, client_body
from tests.support.management import role_id
from tests.support.tokens import bearer, token

DATA = Path(__file__).parent / "data" / "release-0.1.0.json"
SECRET_KEY = "release-0.1.0-server-key-" + "r" * 40


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes):
        raise TypeError("no binary columns are expected at schema 0004")
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
    return value


def dump(sqlite_file: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, typed as SQLAlchemy reads them."""
    engine = create_engine(f"sqlite:///{sqlite_file}")
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.connect() as conn:
        tables = {table.name: [{k: encode(v) for k, v in row._mapping.items()}
                               for row in conn.execute(select(table))]
                  for table in reflected.sorted_tables}
    engine.dispose()
    return tables


async def _seed(url: str) -> None:
    engine = create_async(url)
    async with engine.begin() as conn:
        await seed(conn, now=datetime.now(UTC),
                   make_key=lambda: generate_key(key_cipher(KeyRing.parse("", single=SECRET_KEY))))
    await engine.dispose()


def make(workdir: Path) -> dict[str, Any]:
    """Use every feature of the release once, then describe the database it left."""
    made_at = datetime.now(UTC)  # sign-in checks TOTP codes against the real time
    db = workdir / "keystead.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url)
    asyncio.run(_seed(url))
    settings = Settings(data_dir=workdir, database_url=url, secret_key=SecretStr(SECRET_KEY),
                        issuer="http://testserver", password_hash_memory_kib=8_192,
                        password_hash_time_cost=1)
    idp = SamlIdp.create(label="release")
    with TestClient(create_app(settings, housekeeping_interval=False),
                    base_url="http://testserver") as http:
        admin = bootstrap(http, name="release admin", roles=["Super Admin", "OAuth Admin"])
        headers = bearer(token(http, admin))
        assert http.post("/api/v2/oauth/scopes", headers=headers, json={
            "id": "contacts:manage", "description": "Manage contacts"}).status_code == 200
        made = http.post(CLIENTS, headers=headers, json=client_body(
            role_id(http, headers, "OAuth Admin"), name="contact sync",
            scope=["contacts:manage", "oauth:readonly"]))
        assert made.status_code == 200, made.text
        service_id = made.json()["id"]
        rotated = http.post(f"{CLIENTS}/{service_id}/secret", headers=headers,
                            json={"dualUseSeconds": 3600})
        disabled = http.post(CLIENTS, headers=headers, json=client_body(
            role_id(http, headers, "OAuth Admin"), name="old batch job"))
        assert rotated.status_code == disabled.status_code == 200
        current = http.get(f"{CLIENTS}/{disabled.json()['id']}", headers=headers).json()
        assert http.put(f"{CLIENTS}/{current['id']}", headers=headers,
                        json=current | {"state": "disabled"}).status_code == 200
        revoked = token(http, admin)
        assert http.post("/oauth/revoke", data={"token": revoked},
                         auth=admin.basic_auth).status_code == 200

        web = code_client(http)  # consent, code, grant family, refresh token
        person = create_user(http, "owner@example.com", roles=("Super Admin",))
        sign_in(http, person)  # console session, TOTP key, recovery codes
        issued = user_tokens(http, web)
        answer_of(authorize(http, web.id, pkce=pkce_pair()))  # a code never redeemed

        assert http.put("/api/v2/identityproviders/generic", headers=headers, json={
            "name": "Corporate IdP", "issuerURI": idp.issuer, "certificates": [idp.certificate],
            "relyingPartyIdentifier": AUDIENCE, "nameIdentifierFormat": EMAIL,
        }).status_code == 200
        create_user(http, "ada@example.com")
        sso = http.post(CLIENTS, headers=headers, json={
            "name": "sso app", "authorizedGrantType": "SAML2-BEARER", "scope": ["users:readonly"]})
        traded = http.post("/oauth/token", auth=(sso.json()["id"], sso.json()["secret"]), data={
            "grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer",
            "assertion": idp.issue(datetime.now(UTC))})
        assert traded.status_code == 200, traded.text
    # Leaving the app flushed the usage counts.
    return {
        "schema": "0004", "made_at": made_at.isoformat(), "secret_key": SECRET_KEY,
        "admin": {"id": admin.id, "secret": admin.secret},
        "service": {"id": service_id, "secret": rotated.json()["secret"],
                    "previous_secret": made.json()["secret"]},
        "web": {"id": web.id, "secret": web.secret, "refresh_token": issued["refresh_token"]},
        "user": {"email": person.email, "password": person.password},
        "tables": dump(db),
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        data = make(Path(tmp))
    empty = [name for name, rows in data["tables"].items() if not rows]
    if empty:
        print(f"tables left empty: {empty}", file=sys.stderr)  # noqa: T201
        return 1
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
