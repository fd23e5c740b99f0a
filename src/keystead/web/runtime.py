"""Everything a request needs, built once at start-up from Settings (no per-request set-up)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.config import Settings
from keystead.domain.identity_providers import IdentityProviderManagement
from keystead.domain.management import ClientManagement
from keystead.domain.organization_management import OrganizationManagement
from keystead.domain.passwords import Passwords
from keystead.domain.secrets import Digester, SecretBox
from keystead.domain.signin import SignIn
from keystead.domain.tokens import HotStore
from keystead.domain.users import UserManagement
from keystead.protocol.client_auth import ClientAuthenticator
from keystead.protocol.grants.authorization_code import AuthorizationCodeGrant
from keystead.protocol.grants.base import TokenGrant
from keystead.protocol.grants.client_credentials import ClientCredentialsGrant
from keystead.protocol.grants.refresh_token import RefreshTokenGrant
from keystead.protocol.grants.saml2_bearer import Saml2BearerGrant
from keystead.protocol.grants.user_tokens import UserTokens
from keystead.protocol.introspection import IntrospectionEndpoint
from keystead.protocol.keys import (
    StoredKey,
    jwk_set,
    key_cipher,
    load_private,
    published,
    signing_key,
)
from keystead.protocol.oidc import IdTokens
from keystead.protocol.opaque import OpaqueTokens
from keystead.protocol.revocation import RevocationEndpoint
from keystead.protocol.server import TokenEndpoint
from keystead.protocol.tokens import Signer, TokenService
from keystead.store.audit import SqlAuditLog
from keystead.store.authorizations import SqlAuthorizationStore, authorization_transactions
from keystead.store.catalog import SqlCatalog
from keystead.store.clients import SqlClientStore, SqlSecretStore
from keystead.store.database import create_engine, sqlite_path
from keystead.store.hot_sql import SqlHotStore, reachable
from keystead.store.hot_sqlite import SqliteHotStore
from keystead.store.identity_providers import SqlIdentityProviderStore
from keystead.store.keys import SqlSigningKeys
from keystead.store.saml import saml_exchanges
from keystead.store.tokens import SqlTokenRevoker
from keystead.store.users import SqlCredentialStore, SqlUserStore


def utc_now() -> datetime:
    return datetime.now(UTC)


class NotInitialisedError(RuntimeError):
    """The database has no schema or signing key yet: run ``keystead init``."""


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    hot: HotStore
    digester: Digester
    clock: Callable[[], datetime]
    tokens: TokenService
    token_endpoint: TokenEndpoint
    introspection: IntrospectionEndpoint
    revocation: RevocationEndpoint
    cipher: Fernet
    passwords: Passwords
    box: SecretBox
    signer: Signer
    # Codes, consents, grant families and refresh tokens, one transaction per use.
    authorizations: Callable[[], AbstractAsyncContextManager[SqlAuthorizationStore]]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction per request: commits on success, rolls back on any error."""
        async with reachable(self.engine) as conn:
            yield conn

    def management(self, conn: AsyncConnection) -> ClientManagement:
        return ClientManagement(
            clients=SqlClientStore(conn), secrets=SqlSecretStore(conn), catalog=SqlCatalog(conn),
            audit=SqlAuditLog(conn), tokens=SqlTokenRevoker(conn), digester=self.digester,
            clock=self.clock)

    def users(self, conn: AsyncConnection) -> UserManagement:
        store = SqlUserStore(conn)
        return UserManagement(users=store, grants=store, catalog=SqlCatalog(conn),
                              audit=SqlAuditLog(conn), passwords=self.passwords, clock=self.clock)

    def organization(self, conn: AsyncConnection) -> OrganizationManagement:
        catalog = SqlCatalog(conn)
        return OrganizationManagement(divisions=catalog, roles=catalog, scopes=catalog,
                                      holders=SqlClientStore(conn), audit=SqlAuditLog(conn),
                                      clock=self.clock)

    def identity_providers(self, conn: AsyncConnection) -> IdentityProviderManagement:
        return IdentityProviderManagement(providers=SqlIdentityProviderStore(conn),
                                          audit=SqlAuditLog(conn), clock=self.clock)

    def sign_in(self, conn: AsyncConnection) -> SignIn:
        return SignIn(store=SqlCredentialStore(conn), audit=SqlAuditLog(conn),
                      passwords=self.passwords, box=self.box, digester=self.digester,
                      clock=self.clock)

    @property
    def has_signing_key(self) -> bool:
        return bool(self.signer.kid)

    @property
    def jwks(self) -> dict[str, object]:
        return dict(self.signer.public_jwks)

    async def reload_keys(self) -> None:
        """Pick up rotated keys (every replica does this each housekeeping round)."""
        async with self.transaction() as conn:
            keys = await SqlSigningKeys(conn).all()
        chosen = signing_key(keys, self.clock())
        if chosen is not None:
            self.signer.use(chosen.kid, load_private(self.cipher, chosen.private_jwk_encrypted),
                            [k.public_jwk for k in published(keys, self.clock())])

    async def close(self) -> None:
        if isinstance(self.hot, SqliteHotStore):
            self.hot.close()
        await self.engine.dispose()


def _uncounted(_grant_type: str) -> None:
    return None


async def build_runtime(settings: Settings, *, clock: Callable[[], datetime] = utc_now,
                        token_issued: Callable[[str], None] = _uncounted) -> Runtime:
    """Connect, load signing keys, wire the endpoints; ``token_issued`` is told the grant type
    of every token issued.

    Raises:
        NotInitialisedError: no schema or no signing key.
    """
    settings = settings.with_secret_key()
    server_key = settings.secret_key.get_secret_value().encode()
    url = settings.resolved_database_url
    engine = create_engine(url, busy_timeout_seconds=settings.sqlite_busy_timeout_seconds)
    path = sqlite_path(url)
    hot: HotStore = (SqliteHotStore(path, busy_timeout_seconds=settings.sqlite_busy_timeout_seconds)
                     if path is not None else SqlHotStore(engine))
    cipher = key_cipher(server_key)
    try:
        async with engine.connect() as conn:
            keys = await SqlSigningKeys(conn).all()
    except (SQLAlchemyError, OSError) as exc:
        await engine.dispose()
        raise NotInitialisedError(f"cannot read signing keys ({exc}); run `keystead init`") from exc
    signer = _signer(keys, cipher, clock())
    if signer is None:
        await engine.dispose()
        raise NotInitialisedError("no signing key; run `keystead init`")
    digester = Digester(server_key)
    tokens = TokenService(hot, digester, OpaqueTokens(server_key), clock,
                          settings.issuer.rstrip("/"), signer)
    authenticator = ClientAuthenticator(hot, digester, clock)
    issuer = settings.issuer.rstrip("/")
    authorizations = authorization_transactions(engine)
    user_tokens = UserTokens(tokens, IdTokens(issuer, signer), digester, clock,
                             settings.refresh_token_ttl_seconds)
    grants: dict[str, TokenGrant] = {
        ClientCredentialsGrant.grant_type: ClientCredentialsGrant(tokens),
        AuthorizationCodeGrant.grant_type: AuthorizationCodeGrant(
            authorizations, user_tokens, digester, clock),
        RefreshTokenGrant.grant_type: RefreshTokenGrant(
            authorizations, user_tokens, digester, clock),
        Saml2BearerGrant.grant_type: Saml2BearerGrant(
            saml_exchanges(engine, clock=clock, token_endpoint=f"{issuer}/oauth/token"),
            user_tokens, hot.record, clock),
    }
    return Runtime(
        settings=settings, engine=engine, hot=hot, digester=digester, clock=clock,
        tokens=tokens, token_endpoint=TokenEndpoint(authenticator, grants, token_issued),
        introspection=IntrospectionEndpoint(authenticator, tokens),
        revocation=RevocationEndpoint(authenticator, tokens, authorizations, digester, clock),
        cipher=cipher, passwords=Passwords(
            memory_kib=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost),
        box=SecretBox(server_key), signer=signer, authorizations=authorizations)


def _signer(keys: list[StoredKey], cipher: Fernet, now: datetime) -> Signer | None:
    chosen = signing_key(keys, now)
    if chosen is None:
        return None
    public = [k.public_jwk for k in published(keys, now)]
    return Signer(chosen.kid, load_private(cipher, chosen.private_jwk_encrypted),
                  jwk_set(public), {"keys": public})
