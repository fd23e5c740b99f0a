"""Everything a request needs, built once at start-up from Settings (no per-request set-up)."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import MultiFernet
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.channels.webhook import HttpWebhookTransport, PublicAddressGuard
from keystead.config import Settings
from keystead.delivery import Destinations
from keystead.domain.audit_stream import AuditStreamer
from keystead.domain.errors import StoreUnavailableError
from keystead.domain.governance.evidence import (
    NO_EVIDENCE,
    EvidenceRecorder,
    EvidenceTally,
)
from keystead.domain.governance.policy import Policy
from keystead.domain.outbox import OutboxSender
from keystead.domain.passwords import Passwords
from keystead.domain.secret_delivery import DestinationFactory
from keystead.domain.secrets import Digester, SecretBox
from keystead.domain.tokens import HotStore
from keystead.domain.webhooks.dispatch import DisablePolicy, WebhookDispatch, WebhookUnit
from keystead.domain.webhooks.publishing import WEBHOOK
from keystead.protocol.auth_failures import FailureTally
from keystead.protocol.authorization_issuance import AuthorizationIssuance
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
from keystead.store.audit_archive import Archived, ArchiveRefusedError, archive_before
from keystead.store.authorizations import SqlAuthorizationStore, authorization_transactions
from keystead.store.availability import reachable
from keystead.store.database import create_engine
from keystead.store.evidence import SqlEvidence
from keystead.store.failure_counter import LimitsFailureCounter
from keystead.store.keys import SqlSigningKeys
from keystead.store.outbox import outbox_transactions
from keystead.store.saml import saml_exchanges
from keystead.store.webhooks import SqlDeliveryLog, SqlWebhookEndpoints
from keystead.web.outside_parts import audit_streamer, channels, hot_store, token_signer, vault
from keystead.web.use_cases import UseCaseFactories

log = logging.getLogger("keystead")


def utc_now() -> datetime:
    return datetime.now(UTC)


class NotInitialisedError(RuntimeError):
    """The database has no schema or signing key yet: run ``keystead init``."""


@dataclass(slots=True)
class Runtime(UseCaseFactories):
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
    # What the authorization endpoint issues: families, codes, legacy implicit tokens.
    issuance: AuthorizationIssuance
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
    # Which webhook endpoint addresses may be used (KEYSTEAD_WEBHOOKS_ALLOW_PRIVATE).
    webhook_guard: PublicAddressGuard
    # The audit log streamed to a file or syslog (KEYSTEAD_AUDIT_STREAM); None: no stream.
    audit_streamer: AuditStreamer | None

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

    @asynccontextmanager
    async def webhook_unit(self) -> AsyncIterator[WebhookUnit]:
        """The webhook channel's short transaction (its own, apart from the outbox's)."""
        async with self.transaction() as conn:
            endpoints = SqlWebhookEndpoints(conn)
            yield WebhookUnit(endpoints=endpoints, health=endpoints, log=SqlDeliveryLog(conn),
                              notifier=self.notifier(conn), auditor=self.auditor(conn))

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

    async def archive_audit(self, policy: Policy | None = None) -> list[Archived]:
        """Archive and remove audit entries past ``auditRetentionDays`` (housekeeping's last
        step), a batch per transaction, until none is due; nothing when the policy keeps them
        for ever."""
        done: list[Archived] = []
        while True:
            async with self.transaction() as conn:
                days = (policy or await self.policy_store(conn).find()).retention_days.get("audit")
                if days is None:
                    return done
                now = self.clock()
                try:
                    archived = await archive_before(
                        conn, before=now - timedelta(days=days),
                        folder=self.settings.audit_archive_folder,
                        ring=self.settings.key_ring(), now=now)
                except ArchiveRefusedError as exc:
                    log.error("audit entries past their retention were kept, not archived: the "
                              "chain does not verify (%s); run `keystead audit verify`", exc)
                    return done
            if archived is None:
                return done
            log.info("archived %d audit entries to %s", archived.entries, archived.path)
            done.append(archived)

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
    outbox_channels = channels(settings)
    runtime = Runtime(
        settings=settings, engine=engine, hot=hot, digester=digester, clock=clock,
        tokens=tokens, token_endpoint=TokenEndpoint(authenticator, grants, token_issued, recorder),
        introspection=IntrospectionEndpoint(authenticator, tokens, authorizations, digester,
                                            clock),
        revocation=RevocationEndpoint(authenticator, tokens, authorizations, digester, clock),
        cipher=cipher, passwords=Passwords(
            memory_kib=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost),
        box=SecretBox(ring), signer=signer, authorizations=authorizations,
        issuance=AuthorizationIssuance(
            digester, tokens, clock,
            code_ttl=timedelta(seconds=settings.authorization_code_ttl_seconds),
            family_lifetime=timedelta(seconds=settings.grant_family_max_lifetime_seconds),
            implicit_ttl_seconds=settings.implicit_token_ttl_seconds),
        auth_failures=auth_failures, throttle=throttle, evidence=evidence,
        recorder=recorder,
        outbox_sender=OutboxSender(outbox_transactions(engine), outbox_channels, clock,
                                   owner=f"{socket.gethostname()[:40]}:{os.getpid()}:"
                                         f"{uuid.uuid4().hex[:8]}",
                                   lease=timedelta(seconds=settings.outbox_lease_seconds)),
        destinations=Destinations(file_root=settings.secret_file_root, vault=vault(settings)),
        webhook_guard=PublicAddressGuard(allow_private=settings.webhooks_allow_private),
        audit_streamer=audit_streamer(settings, engine))
    # Webhooks are always on (no endpoint, no message); the channel works in the runtime's
    # transactions, so it joins once the runtime exists.
    outbox_channels[WEBHOOK] = WebhookDispatch(
        runtime.webhook_unit, HttpWebhookTransport(settings.webhooks_timeout_seconds),
        runtime.webhook_guard, runtime.box, clock, DisablePolicy(
            settings.webhooks_disable_after_failures,
            timedelta(seconds=settings.webhooks_disable_after_seconds)))
    return runtime
