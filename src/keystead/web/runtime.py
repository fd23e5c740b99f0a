"""Everything a request needs, built once at start-up from Settings (no per-request set-up)."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import MultiFernet
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.config import Settings
from keystead.delivery import Destinations
from keystead.domain.audiences import management_api
from keystead.domain.audit import Auditor
from keystead.domain.callers import Callers
from keystead.domain.client_checks import ClientChecks
from keystead.domain.client_management import ClientManagement
from keystead.domain.client_usage import ClientUsage
from keystead.domain.divisions import DivisionManagement
from keystead.domain.errors import StoreUnavailableError
from keystead.domain.governance.alert_engine import AlertsManagement
from keystead.domain.governance.alert_notices import NotifiedAlerts
from keystead.domain.governance.deactivation import PlannedDeactivation
from keystead.domain.governance.deactivation_notices import NotifiedDeactivation
from keystead.domain.governance.deletion_requests import ClientDeletion
from keystead.domain.governance.evidence import (
    NO_EVIDENCE,
    EvidenceQuery,
    EvidenceRecorder,
    EvidenceTally,
)
from keystead.domain.governance.finding_engine import FindingsManagement
from keystead.domain.governance.finding_notices import NotifiedFindings
from keystead.domain.governance.notices import EMAIL, Inbox, Notifier
from keystead.domain.governance.policy import PolicyManagement, PolicyStore
from keystead.domain.governance.review_management import ReviewManagement
from keystead.domain.governance.review_notices import AuditTrailNotices, NotifiedReviews
from keystead.domain.identity_links import IdentityLinkManagement
from keystead.domain.identity_providers import IdentityProviderManagement
from keystead.domain.outbox import OutboxSender
from keystead.domain.passwords import Passwords
from keystead.domain.roles import RoleManagement
from keystead.domain.scopes import ScopeManagement
from keystead.domain.secret_delivery import DestinationFactory
from keystead.domain.secret_rotation import SecretDelivery
from keystead.domain.secrets import Digester, SecretBox
from keystead.domain.signin import SignIn
from keystead.domain.tokens import HotStore
from keystead.domain.users import UserManagement
from keystead.protocol.auth_failures import FailureTally
from keystead.protocol.client_auth import ClientAuthenticator
from keystead.protocol.grants.authorization_code import AuthorizationCodeGrant
from keystead.protocol.grants.base import TokenGrant
from keystead.protocol.grants.client_credentials import ClientCredentialsGrant
from keystead.protocol.grants.refresh_token import RefreshTokenGrant
from keystead.protocol.grants.reuse import ReusePolicy
from keystead.protocol.grants.saml2_bearer import Saml2BearerGrant
from keystead.protocol.grants.user_tokens import UserTokens
from keystead.protocol.introspection import IntrospectionEndpoint
from keystead.protocol.keys import key_cipher, load_private, published, signing_key
from keystead.protocol.oidc import IdTokens
from keystead.protocol.opaque import OpaqueTokens
from keystead.protocol.revocation import RevocationEndpoint
from keystead.protocol.server import TokenEndpoint
from keystead.protocol.throttle import Throttle, ThrottlePolicy
from keystead.protocol.tokens import Signer, TokenService
from keystead.store.alerts import SqlAlertStore, SqlAuditFeed
from keystead.store.audit import SqlAuditLog
from keystead.store.authorizations import SqlAuthorizationStore, authorization_transactions
from keystead.store.availability import reachable
from keystead.store.catalog import SqlCatalog
from keystead.store.clients import SqlClientStore, SqlSecretStore
from keystead.store.database import create_engine
from keystead.store.deactivations import SqlDeactivationStore
from keystead.store.deletion_requests import SqlDeletionRequestStore
from keystead.store.divisions import SqlDivisionStore
from keystead.store.evidence import SqlEvidence
from keystead.store.failure_counter import LimitsFailureCounter
from keystead.store.findings import SqlFindingStore
from keystead.store.identity_providers import SqlIdentityLinkStore, SqlIdentityProviderStore
from keystead.store.keys import SqlSigningKeys
from keystead.store.notices import SqlNoticeStore, SqlRecipientDirectory
from keystead.store.outbox import SqlOutbox, outbox_transactions
from keystead.store.owners import SqlOwnerDirectory
from keystead.store.policy import SqlPolicyStore
from keystead.store.principals import SqlPrincipals
from keystead.store.reviews import SqlCampaignStore, SqlReviewItemStore
from keystead.store.roles import SqlRoleStore
from keystead.store.saml import saml_exchanges
from keystead.store.scopes import SqlScopeStore
from keystead.store.secret_destinations import SqlDeliveryStore
from keystead.store.tokens import SqlTokenRevoker
from keystead.store.usage_counts import SqlUsageCounts
from keystead.store.users import SqlCredentialStore, SqlUserStore
from keystead.web.outside_parts import channels, hot_store, token_signer, vault

log = logging.getLogger("keystead")


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
    cipher: MultiFernet
    passwords: Passwords
    box: SecretBox
    signer: Signer
    # Codes, consents, grant families and refresh tokens, one transaction per use.
    authorizations: Callable[[], AbstractAsyncContextManager[SqlAuthorizationStore]]
    # Failed client authentications of this worker; also what a throttle asks
    # (``recent_failures``), without touching the database.
    auth_failures: FailureTally
    # Failed authentications per address (and client): client secrets, console sign-in.
    throttle: Throttle
    # Evidence of use counted by this worker since the last flush (governance), and what
    # requests tell it: the tally, or NO_EVIDENCE when KEYSTEAD_EVIDENCE_RECORDING is off.
    evidence: EvidenceTally
    recorder: EvidenceRecorder
    # Where clients' secrets can be delivered (file root, vault connection from the settings).
    destinations: DestinationFactory

    async def flush_evidence(self) -> None:
        """Add the evidence counted since the last flush to the store.

        Raises:
            StoreUnavailableError: the counts are kept for the next attempt.
        """
        rows = self.evidence.take()
        if not rows:
            return
        try:
            async with self.transaction() as conn:
                await SqlEvidence(conn).add(rows)
        except BaseException:
            self.evidence.give_back(rows)  # they exist nowhere else
            raise
    # Sends what the outbox holds (e-mailed notices) through the configured channels.
    outbox_sender: OutboxSender

    async def flush_auth_failures(self, *, final: bool = False) -> None:
        """Write the failures tallied since the last flush: one row per client, source and
        reason for each interval that has ended (every interval, when ``final``).

        Raises:
            StoreUnavailableError: the events are kept for the next attempt.
        """
        events = self.auth_failures.take(self.clock(), final=final)
        try:
            await self.hot.record_all(events)
        except StoreUnavailableError:
            if dropped := self.auth_failures.give_back(events):
                log.warning("%d aggregated authentication failure(s) dropped: store "
                            "unreachable and too many waiting", dropped)
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction per request: commits on success, rolls back on any error."""
        async with reachable(self.engine) as conn:
            yield conn

    def callers(self, conn: AsyncConnection) -> Callers:
        return Callers(SqlPrincipals(conn), SqlCatalog(conn))

    def auditor(self, conn: AsyncConnection) -> Auditor:
        return Auditor(SqlAuditLog(conn), self.clock)

    def management(self, conn: AsyncConnection) -> ClientManagement:
        """Client management whose changes re-evaluate the client's findings."""
        return self._management(conn, changed=self.findings(conn).reevaluate)

    def _management(self, conn: AsyncConnection, *,
                    changed: Callable[[str], Awaitable[None]] | None = None) -> ClientManagement:
        return ClientManagement(
            clients=SqlClientStore(conn), secrets=SqlSecretStore(conn), catalog=SqlCatalog(conn),
            auditor=self.auditor(conn), tokens=SqlTokenRevoker(conn), digester=self.digester,
            clock=self.clock, owners=SqlOwnerDirectory(conn), checks=ClientChecks(
                SqlCatalog(conn), SqlOwnerDirectory(conn), SqlPolicyStore(conn)),
            changed=changed)

    def client_usage(self, conn: AsyncConnection) -> ClientUsage:
        return ClientUsage(self.management(conn), SqlUsageCounts(conn), self.clock)

    def findings(self, conn: AsyncConnection) -> FindingsManagement:
        return FindingsManagement(
            findings=SqlFindingStore(conn), clients=SqlClientStore(conn),
            roles=SqlRoleStore(conn), users=SqlUserStore(conn), evidence=SqlEvidence(conn),
            # Its remedies evaluate the client again themselves.
            policies=SqlPolicyStore(conn), management=self._management(conn),
            auditor=self.auditor(conn), reviews=SqlReviewItemStore(conn),
            notices=NotifiedFindings(self.notifier(conn)))

    def alerts(self, conn: AsyncConnection) -> AlertsManagement:
        return AlertsManagement(
            alerts=SqlAlertStore(conn), clients=SqlClientStore(conn), evidence=SqlEvidence(conn),
            feed=SqlAuditFeed(conn), policies=SqlPolicyStore(conn), auditor=self.auditor(conn),
            clock=self.clock, notices=NotifiedAlerts(self.notifier(conn)))

    def policy(self, conn: AsyncConnection) -> PolicyManagement:
        return PolicyManagement(policies=self.policy_store(conn), auditor=self.auditor(conn),
                                clock=self.clock)

    def policy_store(self, conn: AsyncConnection) -> PolicyStore:
        """The policy itself, for the rules that read it (the authorization endpoint's PKCE)."""
        return SqlPolicyStore(conn)

    def deactivations(self, conn: AsyncConnection) -> PlannedDeactivation:
        return PlannedDeactivation(
            plans=SqlDeactivationStore(conn), clients=self.management(conn),
            directory=SqlClientStore(conn), policies=SqlPolicyStore(conn),
            notices=NotifiedDeactivation(self.notifier(conn), SqlClientStore(conn)),
            auditor=self.auditor(conn), clock=self.clock,
            deletions=self.client_deletion(conn))

    def reviews(self, conn: AsyncConnection) -> ReviewManagement:
        """Access reviews; selection by finding kind reads the stored findings."""
        auditor = self.auditor(conn)
        return ReviewManagement(
            campaigns=SqlCampaignStore(conn), items=SqlReviewItemStore(conn),
            clients=SqlClientStore(conn), users=SqlUserStore(conn),
            policies=SqlPolicyStore(conn), management=self.management(conn), auditor=auditor,
            notices=NotifiedReviews(AuditTrailNotices(auditor), self.notifier(conn)),
            clock=self.clock, findings=SqlFindingStore(conn))

    def evidence_query(self, conn: AsyncConnection) -> EvidenceQuery:
        return SqlEvidence(conn)

    def secret_delivery(self, conn: AsyncConnection) -> SecretDelivery:
        return SecretDelivery(deliveries=SqlDeliveryStore(conn), clients=self.management(conn),
                              factory=self.destinations, auditor=self.auditor(conn),
                              clock=self.clock)

    def users(self, conn: AsyncConnection) -> UserManagement:
        store = SqlUserStore(conn)
        return UserManagement(users=store, grants=store, catalog=SqlCatalog(conn),
                              auditor=self.auditor(conn), passwords=self.passwords,
                              clock=self.clock)

    def divisions(self, conn: AsyncConnection) -> DivisionManagement:
        return DivisionManagement(divisions=SqlDivisionStore(conn), auditor=self.auditor(conn),
                                  clock=self.clock)

    def roles(self, conn: AsyncConnection) -> RoleManagement:
        return RoleManagement(roles=SqlRoleStore(conn), divisions=SqlDivisionStore(conn),
                              auditor=self.auditor(conn), clock=self.clock)

    def scopes(self, conn: AsyncConnection) -> ScopeManagement:
        return ScopeManagement(
            scopes=SqlScopeStore(conn), holders=SqlClientStore(conn), auditor=self.auditor(conn),
            reserved_audiences=frozenset({management_api(self.tokens.issuer)}))

    def identity_providers(self, conn: AsyncConnection) -> IdentityProviderManagement:
        return IdentityProviderManagement(providers=SqlIdentityProviderStore(conn),
                                          auditor=self.auditor(conn), clock=self.clock)

    def identity_links(self, conn: AsyncConnection) -> IdentityLinkManagement:
        return IdentityLinkManagement(users=self.users(conn), links=SqlIdentityLinkStore(conn),
                                      providers=SqlIdentityProviderStore(conn),
                                      auditor=self.auditor(conn), clock=self.clock)

    def notifier(self, conn: AsyncConnection) -> Notifier:
        return Notifier(notices=SqlNoticeStore(conn), directory=SqlRecipientDirectory(conn),
                        outbox=SqlOutbox(conn), clock=self.clock,
                        email=EMAIL in self.outbox_sender.channels)

    def inbox(self, conn: AsyncConnection) -> Inbox:
        return Inbox(notices=SqlNoticeStore(conn), clock=self.clock)

    def client_deletion(self, conn: AsyncConnection) -> ClientDeletion:
        return ClientDeletion(management=self.management(conn),
                              requests=SqlDeletionRequestStore(conn),
                              policies=SqlPolicyStore(conn), auditor=self.auditor(conn),
                              notifier=self.notifier(conn))

    def sign_in(self, conn: AsyncConnection) -> SignIn:
        return SignIn(store=SqlCredentialStore(conn), auditor=self.auditor(conn),
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
        await self.hot.close()
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
    ring = settings.key_ring()
    url = settings.resolved_database_url
    engine = create_engine(url, busy_timeout_seconds=settings.sqlite_busy_timeout_seconds,
                           transaction_pooler=settings.database_transaction_pooler)
    hot = hot_store(settings, engine)
    cipher = key_cipher(ring)
    try:
        async with engine.connect() as conn:
            keys = await SqlSigningKeys(conn).all()
    except (SQLAlchemyError, OSError) as exc:
        await engine.dispose()
        raise NotInitialisedError(f"cannot read signing keys ({exc}); run `keystead init`") from exc
    signer = token_signer(keys, cipher, clock())
    if signer is None:
        await engine.dispose()
        raise NotInitialisedError("no signing key; run `keystead init`")
    digester = Digester(ring)
    tokens = TokenService(hot, digester, OpaqueTokens(ring), clock,
                          settings.issuer.rstrip("/"), signer)
    auth_failures = FailureTally(started_at=clock(), interval=timedelta(
        seconds=settings.auth_failure_interval_seconds))
    throttle = Throttle(LimitsFailureCounter(settings.redis_url.get_secret_value()),
                        ThrottlePolicy(client_failures=settings.throttle_client_failures,
                                       source_failures=settings.throttle_source_failures,
                                       window_seconds=settings.throttle_window_seconds), clock)
    evidence = EvidenceTally(clock)
    recorder: EvidenceRecorder = evidence if settings.evidence_recording else NO_EVIDENCE
    authenticator = ClientAuthenticator(hot, digester, clock, auth_failures, throttle, recorder)
    issuer = settings.issuer.rstrip("/")
    authorizations = authorization_transactions(engine)
    user_tokens = UserTokens(tokens, IdTokens(issuer, signer), digester, clock,
                             settings.refresh_token_ttl_seconds,
                             settings.grant_family_max_lifetime_seconds)
    reuse = ReusePolicy(timedelta(seconds=settings.grant_reuse_grace_seconds), hot.record, clock)
    grants: dict[str, TokenGrant] = {
        ClientCredentialsGrant.grant_type: ClientCredentialsGrant(tokens),
        AuthorizationCodeGrant.grant_type: AuthorizationCodeGrant(
            authorizations, user_tokens, digester, clock, reuse,
            timedelta(seconds=settings.session_idle_seconds)),
        RefreshTokenGrant.grant_type: RefreshTokenGrant(
            authorizations, user_tokens, digester, clock, reuse),
        Saml2BearerGrant.grant_type: Saml2BearerGrant(
            saml_exchanges(engine, clock=clock, token_endpoint=f"{issuer}/oauth/token",
                           max_lifetime=timedelta(
                               seconds=settings.saml_assertion_max_lifetime_seconds)),
            user_tokens, hot.record, clock),
    }
    return Runtime(
        settings=settings, engine=engine, hot=hot, digester=digester, clock=clock,
        tokens=tokens, token_endpoint=TokenEndpoint(authenticator, grants, token_issued, recorder),
        introspection=IntrospectionEndpoint(authenticator, tokens, authorizations, digester,
                                            clock),
        revocation=RevocationEndpoint(authenticator, tokens, authorizations, digester, clock),
        cipher=cipher, passwords=Passwords(
            memory_kib=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost),
        box=SecretBox(ring), signer=signer, authorizations=authorizations,
        auth_failures=auth_failures, throttle=throttle, evidence=evidence,
        recorder=recorder,
        outbox_sender=OutboxSender(outbox_transactions(engine), channels(settings), clock,
                                   owner=f"{socket.gethostname()[:40]}:{os.getpid()}:"
                                         f"{uuid.uuid4().hex[:8]}"),
        destinations=Destinations(file_root=settings.secret_file_root, vault=vault(settings)))
