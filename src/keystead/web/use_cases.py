"""The use cases, built per transaction's connection: the half of the composition root that
wires stores to domain objects (``Runtime`` is the other half and inherits this one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.config import Settings
from keystead.domain.audiences import management_api
from keystead.domain.audit import Auditor
from keystead.domain.audit_subjects import AuditSubjects
from keystead.domain.audit_trail import AuditTrail
from keystead.domain.callers import Callers
from keystead.domain.client_activity import ClientActivity
from keystead.domain.client_catalogue import ClientCatalogue, ScopeList
from keystead.domain.client_checks import ClientChecks
from keystead.domain.client_management import ClientManagement
from keystead.domain.client_usage import ClientUsage
from keystead.domain.clients import ClientStore
from keystead.domain.clock import Clock
from keystead.domain.connected_apps import ConnectedApps
from keystead.domain.console_search import ConsoleSearch
from keystead.domain.console_sessions import SessionStore
from keystead.domain.dashboard import Dashboard
from keystead.domain.divisions import DivisionManagement
from keystead.domain.governance.alert_engine import AlertsManagement
from keystead.domain.governance.alert_notices import NotifiedAlerts
from keystead.domain.governance.compliance import Deployment
from keystead.domain.governance.compliance_facts import ComplianceReporting
from keystead.domain.governance.deactivation import PlannedDeactivation
from keystead.domain.governance.deactivation_notices import NotifiedDeactivation
from keystead.domain.governance.deletion_requests import ClientDeletion
from keystead.domain.governance.evidence import EvidenceQuery
from keystead.domain.governance.finding_engine import FindingsManagement
from keystead.domain.governance.finding_notices import NotifiedFindings
from keystead.domain.governance.notices import EMAIL, Inbox, Notifier
from keystead.domain.governance.policy import Policy, PolicyManagement, PolicyStore
from keystead.domain.governance.retention import RETENTION_RULES
from keystead.domain.governance.review_management import ReviewManagement
from keystead.domain.governance.review_notices import AuditTrailNotices, NotifiedReviews
from keystead.domain.housekeeping import TimeRulePurges
from keystead.domain.identity_links import IdentityLinkManagement
from keystead.domain.identity_providers import IdentityProviderManagement
from keystead.domain.invitations import Invitations
from keystead.domain.outbox import OutboxSender
from keystead.domain.passwords import Passwords
from keystead.domain.roles import RoleManagement
from keystead.domain.scopes import ScopeManagement
from keystead.domain.secret_delivery import DestinationFactory
from keystead.domain.secret_rotation import SecretDelivery
from keystead.domain.secrets import Digester, SecretBox
from keystead.domain.signin import SignIn
from keystead.domain.subject_rights import SubjectRights
from keystead.domain.subjects import Subjects
from keystead.domain.users import UserManagement
from keystead.domain.webhooks.endpoints import AddressGuard
from keystead.domain.webhooks.management import WebhookManagement
from keystead.domain.webhooks.publishing import PublishingAuditLog, WebhookPublisher
from keystead.protocol.tokens import TokenService
from keystead.store.alerts import ALERTS_LOCK, SqlAlertStore, SqlAuditFeed
from keystead.store.audit import SqlAuditLog
from keystead.store.audit_subjects import SqlSubjectDirectory
from keystead.store.authorizations import SqlAuthorizationStore
from keystead.store.catalog import SqlCatalog
from keystead.store.clients import SqlClientStore, SqlSecretStore
from keystead.store.compliance import SqlComplianceRecords
from keystead.store.dashboard import SqlDashboard
from keystead.store.deactivations import SqlDeactivationStore
from keystead.store.deletion_requests import SqlDeletionRequestStore
from keystead.store.divisions import SqlDivisionStore
from keystead.store.evidence import SqlEvidence
from keystead.store.findings import SqlFindingStore, claim_evaluation
from keystead.store.housekeeping import SqlHousekeeping
from keystead.store.identity_providers import SqlIdentityLinkStore, SqlIdentityProviderStore
from keystead.store.invitations import SqlInvitationStore
from keystead.store.notices import SqlNoticeStore, SqlRecipientDirectory
from keystead.store.outbox import SqlOutbox
from keystead.store.owners import SqlOwnerDirectory
from keystead.store.policy import SqlPolicyStore
from keystead.store.principals import SqlPrincipals
from keystead.store.reviews import SqlCampaignStore, SqlReviewItemStore
from keystead.store.roles import SqlRoleStore
from keystead.store.scopes import SqlScopeStore
from keystead.store.secret_destinations import SqlDeliveryRecord, SqlDeliveryStore
from keystead.store.sessions import SqlSessionStore
from keystead.store.subject_data import SqlSubjectRecords
from keystead.store.tokens import SqlTokenRevoker
from keystead.store.usage_counts import SqlUsageCounts
from keystead.store.users import SqlCredentialStore, SqlUserStore
from keystead.store.webhooks import SqlDeliveryLog, SqlWebhookEndpoints


class UseCaseFactories:
    """Each method builds one use case on ``conn``; the attributes are Runtime's."""

    settings: Settings
    clock: Clock
    digester: Digester
    tokens: TokenService
    passwords: Passwords
    box: SecretBox
    destinations: DestinationFactory
    outbox_sender: OutboxSender
    webhook_guard: AddressGuard

    def callers(self, conn: AsyncConnection) -> Callers:
        return Callers(SqlPrincipals(conn), SqlCatalog(conn))

    def auditor(self, conn: AsyncConnection) -> Auditor:
        """The audit log; client lifecycle entries are published to webhooks as well."""
        return Auditor(PublishingAuditLog(SqlAuditLog(conn), self.webhook_publisher(conn)),
                       self.clock)

    def audit_trail(self, conn: AsyncConnection) -> AuditTrail:
        return AuditTrail(SqlAuditLog(conn), self.auditor(conn))

    def connected_apps(self, conn: AsyncConnection) -> ConnectedApps:
        return ConnectedApps(SqlAuthorizationStore(conn), SqlScopeStore(conn), self.auditor(conn),
                             self.clock)

    def webhook_publisher(self, conn: AsyncConnection) -> WebhookPublisher:
        return WebhookPublisher(SqlWebhookEndpoints(conn), SqlOutbox(conn), self.clock)

    def webhooks(self, conn: AsyncConnection) -> WebhookManagement:
        endpoints = SqlWebhookEndpoints(conn)
        return WebhookManagement(
            endpoints=endpoints, health=endpoints, log=SqlDeliveryLog(conn),
            outbox=SqlOutbox(conn), guard=self.webhook_guard, box=self.box,
            auditor=self.auditor(conn), clock=self.clock)

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
        return ClientUsage(self.management(conn), SqlUsageCounts(conn), self.clock,
                           SqlPolicyStore(conn))

    def client_activity(self, conn: AsyncConnection) -> ClientActivity:
        return ClientActivity(self.management(conn), self.audit_trail(conn))

    def audit_subjects(self, conn: AsyncConnection) -> AuditSubjects:
        return AuditSubjects(SqlSubjectDirectory(conn))

    def dashboard(self, conn: AsyncConnection) -> Dashboard:
        return Dashboard(SqlDashboard(conn), self.clock)

    def compliance(self, conn: AsyncConnection) -> ComplianceReporting:
        s = self.settings
        return ComplianceReporting(
            SqlComplianceRecords(conn), SqlPolicyStore(conn), self.findings(conn), Deployment(
                session_idle_seconds=s.session_idle_seconds,
                usage_retention_days=s.usage_retention_days,
                alert_routes=("e-mail",) if s.smtp_host else (),
                subject_rights=("GET /api/v2/users/{userId}/export",
                                "POST /api/v2/users/{userId}/erase",
                                "keystead users export|erase")),
            self.digester.knows, self.clock, retention_fields=self._retention_fields)

    def _retention_fields(self, policy: Policy) -> dict[str, int | None]:
        """The policy's retention per field; delivered messages fall back to the setting."""
        fallback = {"deliveries": self.settings.notice_retention_days}
        return {rule.wire: policy.retention_days.get(rule.key, rule.default)
                or fallback.get(rule.key) for rule in RETENTION_RULES}

    def findings(self, conn: AsyncConnection) -> FindingsManagement:
        return FindingsManagement(
            findings=SqlFindingStore(conn), clients=SqlClientStore(conn),
            roles=SqlRoleStore(conn), users=SqlUserStore(conn), evidence=SqlEvidence(conn),
            # Its remedies evaluate the client again themselves.
            policies=SqlPolicyStore(conn), management=self._management(conn),
            auditor=self.auditor(conn), reviews=SqlReviewItemStore(conn),
            deliveries=SqlDeliveryRecord(conn), notices=NotifiedFindings(self.notifier(conn)))

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

    def subjects(self, conn: AsyncConnection) -> Subjects:
        return Subjects(self.users(conn), SqlCatalog(conn), SqlDivisionStore(conn))

    def authorization_records(self, conn: AsyncConnection) -> SqlAuthorizationStore:
        """Registered clients, consents, codes and families for the authorization endpoint."""
        return SqlAuthorizationStore(conn)

    def scope_list(self, conn: AsyncConnection) -> ScopeList:
        return SqlScopeStore(conn)

    def client_catalogue(self, conn: AsyncConnection) -> ClientCatalogue:
        return ClientCatalogue(SqlRoleStore(conn), SqlDivisionStore(conn), SqlScopeStore(conn))

    def console_search(self, conn: AsyncConnection) -> ConsoleSearch:
        return ConsoleSearch(clients=self._management(conn), users=self.users(conn))

    def invitations(self, conn: AsyncConnection) -> Invitations:
        return Invitations(
            store=SqlInvitationStore(conn), users=SqlUserStore(conn),
            management=self.users(conn), outbox=SqlOutbox(conn), auditor=self.auditor(conn),
            digester=self.digester, passwords=self.passwords, clock=self.clock,
            base_url=self.settings.issuer,
            ttl=timedelta(hours=self.settings.invite_ttl_hours),
            email=EMAIL in self.outbox_sender.channels)

    def subject_rights(self, conn: AsyncConnection) -> SubjectRights:
        return SubjectRights(records=SqlSubjectRecords(conn), users=self.users(conn),
                             catalog=SqlCatalog(conn), auditor=self.auditor(conn))

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
                        email=EMAIL in self.outbox_sender.channels,
                        events=self.webhook_publisher(conn))

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

    def time_rule_purges(self, conn: AsyncConnection) -> TimeRulePurges:
        return SqlHousekeeping(conn)

    def session_store(self, conn: AsyncConnection) -> SessionStore:
        """Console sign-in sessions (the web layer's sessions module decides their life)."""
        return SqlSessionStore(conn)

    def client_records(self, conn: AsyncConnection) -> ClientStore:
        """Clients read with no caller's permission check: only for a read the caller has
        already earned (the one-time secret page, right after creating or rotating it)."""
        return SqlClientStore(conn)

    async def claim_findings_round(self, conn: AsyncConnection) -> bool:
        """False when another replica is evaluating findings (its transaction holds the lock)."""
        return await claim_evaluation(conn)

    async def claim_alerts_round(self, conn: AsyncConnection) -> bool:
        """False when another replica is evaluating the alert rules."""
        return await claim_evaluation(conn, ALERTS_LOCK)
