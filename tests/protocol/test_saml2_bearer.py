"""RFC 7522 bearer assertions: a trusted IdP's signed assertion is accepted once; every forgery,
wrapping, replay, stale or misdirected assertion and hostile XML is refused as invalid_grant,
with the reason in the private detail only.

The verifier runs over the real stores (SQLite and PostgreSQL); providers are registered through
IdentityProviderManagement, as the API does.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from lxml import etree
from signxml.algorithms import SignatureConstructionMethod
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from keystead.domain.audit import Auditor
from keystead.domain.identity_providers import (
    IdentityProvider,
    IdentityProviderManagement,
    IdentityProviderSettings,
    NameIdFormat,
)
from keystead.domain.principal import operator
from keystead.protocol.errors import InvalidGrantError
from keystead.protocol.saml2_bearer import SamlBearerVerifier, SamlSubject
from keystead.protocol.saml_document import PUBLIC_DESCRIPTION
from keystead.store.audit import SqlAuditLog
from keystead.store.database import create_engine
from keystead.store.identity_providers import SqlAssertionLedger, SqlIdentityProviderStore
from keystead.store.tables import saml_assertions
from tests.saml_idp import (
    AUDIENCE,
    EMAIL,
    EXCLUSIVE_C14N,
    HOLDER_OF_KEY,
    PASSWORD_PROTECTED,
    PERSISTENT,
    SAMLP,
    TOKEN_ENDPOINT,
    LegacySha1Signer,
    SamlIdp,
    ds,
    encode,
    found,
    id_of,
    new_id,
    saml,
)
from tests.support.clock import ManualClock

T = TypeVar("T")
SKEW = 60


@dataclass
class Bench:
    """The verifier over a real database, on one event loop for the whole test."""

    runner: asyncio.Runner
    engine: AsyncEngine
    clock: ManualClock

    def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async def transaction() -> T:
            async with self.engine.begin() as conn:
                return await work(conn)

        return self.runner.run(transaction())

    def register(self, idp: SamlIdp, **changes: Any) -> IdentityProvider:
        settings = replace(IdentityProviderSettings(
            name="Corporate IdP", issuer_uri=idp.issuer, certificates=(idp.certificate,),
            relying_party_identifier=AUDIENCE, name_identifier_format=NameIdFormat.email),
            **changes)
        return self.run(lambda conn: IdentityProviderManagement(
            SqlIdentityProviderStore(conn), Auditor(SqlAuditLog(conn), self.clock), self.clock,
        ).create(operator(), settings))

    def verify(self, assertion: str, *, max_lifetime: timedelta = timedelta(seconds=600)
               ) -> SamlSubject:
        return self.run(lambda conn: SamlBearerVerifier(
            SqlIdentityProviderStore(conn), SqlAssertionLedger(conn), self.clock, TOKEN_ENDPOINT,
            max_lifetime,
        ).verify(assertion))

    def refusal(self, assertion: str, **verify: Any) -> str:
        """The private detail of the refusal; the public side is always the same."""
        with pytest.raises(InvalidGrantError) as refused:
            self.verify(assertion, **verify)
        assert (refused.value.error, refused.value.description) == (
            "invalid_grant", PUBLIC_DESCRIPTION)
        assert refused.value.detail is not None
        return refused.value.detail

    def ledger_size(self) -> int:
        async def count(conn: AsyncConnection) -> int:
            return int((await conn.execute(
                select(func.count()).select_from(saml_assertions))).scalar_one())

        return self.run(count)


@pytest.fixture(scope="session")
def idp() -> SamlIdp:
    return SamlIdp.create()


@pytest.fixture(scope="session")
def attacker() -> SamlIdp:
    """Someone with their own key and certificate, claiming to be the trusted issuer."""
    return SamlIdp.create(label="attacker")


@pytest.fixture
def bench(database_url: str, clock: ManualClock) -> Iterator[Bench]:
    with asyncio.Runner() as runner:
        engine = create_engine(database_url)
        yield Bench(runner, engine, clock)
        runner.run(engine.dispose())


@pytest.fixture
def trusted(bench: Bench, idp: SamlIdp) -> IdentityProvider:
    return bench.register(idp)


# -- accepted


def test_saml2_bearer_accepts_a_signed_assertion_and_names_its_subject(
        bench: Bench, idp: SamlIdp, trusted: IdentityProvider) -> None:
    assertion = idp.assertion(bench.clock.now, name_id="ada@example.com")
    subject = bench.verify(encode(idp.sign(assertion)))
    assert subject == SamlSubject(
        provider_id=trusted.id, issuer=idp.issuer, name_id="ada@example.com",
        name_id_format=EMAIL, assertion_id=id_of(assertion),
        not_on_or_after=bench.clock.now + timedelta(minutes=5),
        authn_instant=bench.clock.now, authn_context_classes=(PASSWORD_PROTECTED,))


@pytest.mark.parametrize(("urlsafe", "padding"), [
    pytest.param(True, False, id="2.1-base64url"),
    pytest.param(True, True, id="base64url-padded"),
    pytest.param(False, True, id="standard-base64"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_accepts_each_base64_spelling(bench: Bench, idp: SamlIdp, urlsafe: bool,
                                                   padding: bool) -> None:
    signed = idp.sign(idp.assertion(bench.clock.now))
    assert bench.verify(encode(signed, urlsafe=urlsafe, padding=padding)).name_id == (
        "ada@example.com")


def test_saml2_bearer_accepts_any_registered_certificate_during_a_key_rotation(
        bench: Bench, idp: SamlIdp) -> None:
    retiring = SamlIdp.create(idp.issuer, label="retiring")
    bench.register(idp, certificates=(retiring.certificate, idp.certificate))
    assert bench.verify(idp.issue(bench.clock.now)).name_id == "ada@example.com"
    assert bench.verify(retiring.issue(bench.clock.now)).name_id == "ada@example.com"


def test_saml2_bearer_accepts_an_ecdsa_signature(bench: Bench) -> None:
    ec_idp = SamlIdp.create_ec()
    bench.register(ec_idp)
    assert bench.verify(ec_idp.issue(bench.clock.now)).issuer == ec_idp.issuer


@pytest.mark.parametrize("offset", [
    pytest.param({"not_before": SKEW - 1}, id="NotBefore-59s-ahead"),
    pytest.param({"not_on_or_after": -(SKEW - 1)}, id="NotOnOrAfter-59s-ago"),
    pytest.param({"confirmation_not_on_or_after": -(SKEW - 1)},
                 id="confirmation-NotOnOrAfter-59s-ago"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_allows_sixty_seconds_of_clock_skew(bench: Bench, idp: SamlIdp,
                                                         offset: dict[str, int]) -> None:
    now = bench.clock.now
    times = {name: now + timedelta(seconds=seconds) for name, seconds in offset.items()}
    assert bench.verify(idp.issue(now, **times)).name_id == "ada@example.com"


def test_saml2_bearer_provider_in_unspecified_format_takes_any_name_id_format(
        bench: Bench, idp: SamlIdp) -> None:
    bench.register(idp, name_identifier_format=NameIdFormat.unspecified)
    subject = bench.verify(idp.issue(bench.clock.now, name_id="E-1042",
                                     name_id_format=PERSISTENT))
    assert (subject.name_id, subject.name_id_format) == ("E-1042", PERSISTENT)


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_accepts_an_audience_list_that_names_the_relying_party(
        bench: Bench, idp: SamlIdp) -> None:
    assertion = idp.issue(bench.clock.now, audiences=("https://other-sp.example.com", AUDIENCE))
    assert bench.verify(assertion).name_id == "ada@example.com"


# -- refused: who signed it


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_an_unsigned_assertion(bench: Bench, idp: SamlIdp) -> None:
    assert "not signed" in bench.refusal(encode(idp.assertion(bench.clock.now)))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_signature_by_another_key(bench: Bench, idp: SamlIdp,
                                                         attacker: SamlIdp) -> None:
    forged = attacker.issue(bench.clock.now, issuer=idp.issuer, name_id="root@example.com")
    assert bench.refusal(forged) == "signature by an untrusted key"


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_name_id_changed_after_signing(bench: Bench, idp: SamlIdp) -> None:
    signed = idp.sign(idp.assertion(bench.clock.now, name_id="ada@example.com"))
    found(signed, f"{saml('Subject')}/{saml('NameID')}").text = "root@example.com"
    assert "digest mismatch" in bench.refusal(encode(signed))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_sha1_signature(bench: Bench, idp: SamlIdp) -> None:
    legacy = LegacySha1Signer(method=SignatureConstructionMethod.enveloped,
                              signature_algorithm="rsa-sha1", digest_algorithm="sha1",
                              c14n_algorithm=EXCLUSIVE_C14N)
    signed = idp.sign(idp.assertion(bench.clock.now), signer=legacy)
    assert bench.refusal(encode(signed)) == "signature algorithm not allowed"


def test_saml2_bearer_refuses_a_signature_under_an_expired_certificate(bench: Bench) -> None:
    now = bench.clock.now
    lapsed = SamlIdp.create("https://lapsed.example.com", not_before=now - timedelta(days=400),
                            not_after=now - timedelta(days=1))
    bench.register(lapsed)
    assert "expired" in bench.refusal(lapsed.issue(now))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_an_unknown_issuer(bench: Bench, attacker: SamlIdp) -> None:
    stranger = attacker.issue(bench.clock.now, issuer="https://stranger.example.com")
    assert "unknown issuer" in bench.refusal(stranger)


def test_saml2_bearer_refuses_a_disabled_provider(bench: Bench, idp: SamlIdp) -> None:
    bench.register(idp, disabled=True)
    assert "disabled" in bench.refusal(idp.issue(bench.clock.now))


# -- refused: XML signature wrapping. Each forgery keeps a genuine signed assertion for Ada and
# tries to make the reader see Mallory instead.


def _evil_copy(signed: etree._Element, *, assertion_id: str) -> etree._Element:
    """The signed assertion, re-addressed to Mallory under another ID, without its signature."""
    evil = copy.deepcopy(signed)
    evil.set("ID", assertion_id)
    evil.remove(found(evil, ds("Signature")))
    found(evil, f"{saml('Subject')}/{saml('NameID')}").text = "mallory@example.com"
    return evil


def _original_inside_advice(signed: etree._Element, *, hoist_signature: bool,
                            same_id: bool) -> etree._Element:
    evil = _evil_copy(signed, assertion_id=id_of(signed) if same_id else new_id())
    original = copy.deepcopy(signed)
    if hoist_signature:
        evil.insert(1, found(original, ds("Signature")))
    advice = etree.SubElement(evil, saml("Advice"))
    advice.append(original)
    return evil


def _evil_inside_signature(signed: etree._Element) -> etree._Element:
    document = copy.deepcopy(signed)
    holder = etree.SubElement(found(document, ds("Signature")), ds("Object"))
    holder.append(_evil_copy(signed, assertion_id=new_id()))
    return document


def _evil_sibling_in_a_response(signed: etree._Element) -> etree._Element:
    response = etree.Element(f"{{{SAMLP}}}Response", nsmap={"samlp": SAMLP}, ID=new_id(),
                             Version="2.0")
    response.append(_evil_copy(signed, assertion_id=new_id()))
    response.append(copy.deepcopy(signed))
    return response


def _second_subject(signed: etree._Element) -> etree._Element:
    document = copy.deepcopy(signed)
    evil = copy.deepcopy(found(document, saml("Subject")))
    found(evil, saml("NameID")).text = "mallory@example.com"
    document.insert(2, evil)
    return document


@pytest.mark.parametrize(("forge", "reason"), [
    pytest.param(lambda s: _original_inside_advice(s, hoist_signature=False, same_id=False),
                 "not signed", id="evil-root-signed-original-in-advice"),
    pytest.param(lambda s: _original_inside_advice(s, hoist_signature=True, same_id=False),
                 "signature wrapping: the signed element is not the root assertion",
                 id="evil-root-signature-hoisted-references-original-in-advice"),
    pytest.param(lambda s: _original_inside_advice(s, hoist_signature=True, same_id=True),
                 "malformed signature", id="evil-root-with-the-original-id"),
    pytest.param(_evil_inside_signature,
                 "signature wrapping: unsigned content inside the Signature",
                 id="evil-assertion-beside-the-signed-content-in-ds-object"),
    pytest.param(_evil_sibling_in_a_response, "not a SAML 2.0 Assertion",
                 id="evil-sibling-before-the-signed-assertion"),
    pytest.param(_second_subject, "digest mismatch", id="evil-subject-beside-the-signed-one"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_signature_wrapping(
        bench: Bench, idp: SamlIdp, forge: Callable[[etree._Element], etree._Element],
        reason: str) -> None:
    signed = idp.sign(idp.assertion(bench.clock.now, name_id="ada@example.com"))
    assert reason in bench.refusal(encode(forge(signed)))
    # The genuine assertion is still good: nothing was redeemed by the forgery.
    assert bench.verify(encode(signed)).name_id == "ada@example.com"


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_reads_the_signed_name_id_whole_despite_an_inserted_comment(
        bench: Bench, idp: SamlIdp) -> None:
    # The attacker owns ada@example.com.evil.example at the IdP; a comment inserted after
    # "ada@example.com" leaves the digest intact (comments are not signed) and would cut the
    # name short for a reader of the unsigned document.
    signed = idp.sign(idp.assertion(bench.clock.now, name_id="ada@example.com.evil.example"))
    text = etree.tostring(signed).replace(
        b">ada@example.com.evil.example<", b">ada@example.com<!---->.evil.example<")
    assert bench.verify(encode(text)).name_id == "ada@example.com.evil.example"


# -- refused: meant for someone else, or not now


@pytest.mark.parametrize(("parts", "reason"), [
    pytest.param({"audiences": ("https://other-sp.example.com",)}, "audience mismatch",
                 id="3-wrong-audience"),
    pytest.param({"audiences": ()}, "audience mismatch", id="3-no-audience"),
    pytest.param({"conditions": False}, "no Conditions", id="3-no-conditions"),
    pytest.param({"recipient": "https://other-as.example.com/oauth/token"},
                 "recipient mismatch", id="3-wrong-recipient"),
    pytest.param({"method": HOLDER_OF_KEY}, "no bearer SubjectConfirmation",
                 id="3-no-bearer-confirmation"),
    pytest.param({"name_id_format": PERSISTENT}, "NameID format mismatch",
                 id="core-8.3-other-name-id-format"),
    pytest.param({"name_id": "  "}, "NameID is empty", id="core-2.4.1-empty-name-id"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_an_assertion_meant_for_someone_else(
        bench: Bench, idp: SamlIdp, parts: dict[str, Any], reason: str) -> None:
    assert reason in bench.refusal(idp.issue(bench.clock.now, **parts))


@pytest.mark.parametrize(("offset", "reason"), [
    pytest.param({"not_on_or_after": -(SKEW + 1)}, "assertion expired",
                 id="core-2.5.1.2-expired"),
    pytest.param({"not_before": SKEW + 1}, "not yet valid", id="core-2.5.1.2-not-yet-valid"),
    pytest.param({"confirmation_not_on_or_after": -(SKEW + 1)},
                 "subject confirmation expired", id="3-confirmation-expired"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_an_assertion_outside_its_window_beyond_the_skew(
        bench: Bench, idp: SamlIdp, offset: dict[str, int], reason: str) -> None:
    now = bench.clock.now
    times = {name: now + timedelta(seconds=seconds) for name, seconds in offset.items()}
    assert reason in bench.refusal(idp.issue(now, **times))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_an_assertion_once_its_clock_runs_out(
        bench: Bench, idp: SamlIdp) -> None:
    assertion = idp.issue(bench.clock.now)
    bench.clock.advance(5 * 60 + SKEW)
    assert "expired" in bench.refusal(assertion)


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_needs_the_audience_in_every_restriction(bench: Bench, idp: SamlIdp) -> None:
    # SAML core §2.5.1.4: restrictions are ANDed; within one, audiences are ORed.
    audiences = ((AUDIENCE, "https://other-sp.example.com"), ("https://other-sp.example.com",))
    assertion = idp.assertion(bench.clock.now)
    conditions = found(assertion, saml("Conditions"))
    for restriction in conditions.findall(saml("AudienceRestriction")):
        conditions.remove(restriction)
    for names in audiences:
        restriction = etree.SubElement(conditions, saml("AudienceRestriction"))
        for name in names:
            etree.SubElement(restriction, saml("Audience")).text = name
    assert "audience mismatch" in bench.refusal(encode(idp.sign(assertion)))


# -- refused: lived too long (issue 9.1: at most max_lifetime, 600 s by default)


def _lasting(idp: SamlIdp, now: Any, seconds: int, **parts: Any) -> str:
    until = now + timedelta(seconds=seconds)
    return idp.issue(now, not_on_or_after=until, confirmation_not_on_or_after=until, **parts)


@pytest.mark.parametrize(("expiry", "reason"), [
    pytest.param("not_on_or_after", "lives longer", id="conditions-for-a-year"),
    pytest.param("confirmation_not_on_or_after", "lives longer", id="confirmation-for-a-year"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_an_assertion_valid_for_a_year(bench: Bench, idp: SamlIdp,
                                                            expiry: str, reason: str) -> None:
    year = bench.clock.now + timedelta(days=365)
    assert reason in bench.refusal(idp.issue(bench.clock.now, **{expiry: year}))
    assert bench.ledger_size() == 0


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_accepts_an_assertion_of_exactly_the_maximum_lifetime(
        bench: Bench, idp: SamlIdp) -> None:
    assert bench.verify(_lasting(idp, bench.clock.now, 600)).name_id == "ada@example.com"
    assert "lives longer" in bench.refusal(_lasting(idp, bench.clock.now, 601))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_lifetime_counts_from_the_issue_instant(bench: Bench, idp: SamlIdp) -> None:
    # Issued nine minutes ago, valid for two more: eleven minutes in all.
    now = bench.clock.now
    assertion = idp.issue(now, issue_instant=now - timedelta(minutes=9),
                          not_on_or_after=now + timedelta(minutes=2),
                          confirmation_not_on_or_after=now + timedelta(minutes=2))
    assert "lives longer" in bench.refusal(assertion)


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_max_lifetime_is_configurable(bench: Bench, idp: SamlIdp) -> None:
    hour = timedelta(hours=1)
    assertion = _lasting(idp, bench.clock.now, 3600)
    assert "lives longer" in bench.refusal(assertion)
    assert bench.verify(assertion, max_lifetime=hour).name_id == "ada@example.com"


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_an_issue_instant_in_the_future(bench: Bench, idp: SamlIdp) -> None:
    now = bench.clock.now
    ahead = idp.issue(now, issue_instant=now + timedelta(seconds=SKEW + 1))
    assert "IssueInstant is in the future" in bench.refusal(ahead)
    within_skew = idp.issue(now, issue_instant=now + timedelta(seconds=SKEW - 1))
    assert bench.verify(within_skew).name_id == "ada@example.com"


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_an_assertion_without_issue_instant(bench: Bench,
                                                                 idp: SamlIdp) -> None:
    assertion = idp.assertion(bench.clock.now)
    del assertion.attrib["IssueInstant"]
    assert "no IssueInstant" in bench.refusal(encode(idp.sign(assertion)))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_ledger_keeps_an_assertion_no_longer_than_the_maximum(
        bench: Bench, idp: SamlIdp) -> None:
    bench.verify(_lasting(idp, bench.clock.now, 600))

    async def retention(conn: AsyncConnection) -> Any:
        return (await conn.execute(select(saml_assertions.c.expires_at))).scalar_one()

    kept_until = bench.run(retention)
    assert kept_until <= bench.clock.now + timedelta(seconds=600 + SKEW)


# -- refused: replay


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_replayed_assertion(bench: Bench, idp: SamlIdp) -> None:
    assertion = idp.issue(bench.clock.now)
    assert bench.verify(assertion).name_id == "ada@example.com"
    bench.clock.advance(30)
    assert bench.refusal(assertion) == "assertion replayed: its ID was already redeemed"
    assert bench.ledger_size() == 1


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_replay_is_per_issuer(bench: Bench, idp: SamlIdp) -> None:
    other = SamlIdp.create("https://other-idp.example.com", label="other")
    bench.register(other)
    shared_id = new_id()
    assert bench.verify(idp.issue(bench.clock.now, assertion_id=shared_id)).issuer == idp.issuer
    assert bench.verify(other.issue(bench.clock.now, assertion_id=shared_id)).issuer == (
        other.issuer)


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_a_refused_assertion_is_not_recorded(bench: Bench, idp: SamlIdp) -> None:
    bench.refusal(idp.issue(bench.clock.now, recipient="https://elsewhere.example.com/token"))
    assert bench.ledger_size() == 0


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_ledger_forgets_assertions_once_they_expired(
        bench: Bench, idp: SamlIdp) -> None:
    bench.verify(idp.issue(bench.clock.now))
    purge_at = bench.clock.now + timedelta(minutes=5, seconds=SKEW + 1)
    assert bench.run(lambda conn: SqlAssertionLedger(conn).purge_expired(
        bench.clock.now + timedelta(minutes=5))) == 0  # still within the skew: kept
    assert bench.run(lambda conn: SqlAssertionLedger(conn).purge_expired(purge_at)) == 1
    assert bench.ledger_size() == 0


# -- refused: not an assertion at all, or hostile XML


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0">
<saml2:Issuer>https://idp.example.com</saml2:Issuer>&lol9;</saml2:Assertion>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE saml2:Assertion [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0">
<saml2:Issuer>https://idp.example.com</saml2:Issuer>
<saml2:Subject><saml2:NameID>&xxe;</saml2:NameID></saml2:Subject></saml2:Assertion>"""


@pytest.mark.parametrize("document", [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(EXTERNAL_ENTITY, id="external-entity-file-etc-passwd"),
    pytest.param(EXTERNAL_ENTITY.replace(b"<!DOCTYPE saml2:Assertion [", b"<!DOCTYPE a SYSTEM "
                                         b'"http://attacker.example.com/a.dtd" ['),
                 id="external-dtd"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_document_type_declaration_before_parsing_it(
        bench: Bench, document: bytes) -> None:
    started = time.perf_counter()
    detail = bench.refusal(encode(document))
    assert detail == "a document type declaration or entity is not allowed"
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("document", [
    # Spelled in UTF-16 a declaration would escape a search of the bytes: only UTF-8 is read.
    pytest.param(BILLION_LAUGHS.split(b"\n", 1)[1].decode().encode("utf-16"),
                 id="billion-laughs-in-utf-16"),
    pytest.param(EXTERNAL_ENTITY.split(b"\n", 1)[1].decode().encode("utf-16-le"),
                 id="external-entity-in-utf-16-without-bom"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_document_in_another_encoding(
        bench: Bench, document: bytes) -> None:
    assert bench.refusal(encode(document)) == "the assertion is not UTF-8"


@pytest.mark.parametrize(("assertion", "reason"), [
    pytest.param("not base64!", "not base64url", id="garbage"),
    pytest.param("QUJD" * 100 + "A", "not base64url", id="truncated-base64"),
    pytest.param("", "not base64url", id="empty"),
    pytest.param(encode(b"<saml2:Assertion"), "not well-formed XML", id="not-xml"),
    pytest.param(encode(b"\x00\x01binary"), "not UTF-8", id="binary"),
    pytest.param(encode(b"\xff\xfe<\xe9"), "not UTF-8", id="latin-1"),
    pytest.param("A" * (400 * 1024), "larger than 256 KiB", id="too-large"),
    pytest.param(encode(b"<Assertion ID='_a' Version='2.0'/>"), "not a SAML 2.0 Assertion",
                 id="core-2.3.3-no-saml-namespace"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_what_is_not_an_assertion(bench: Bench, assertion: str,
                                                       reason: str) -> None:
    assert reason in bench.refusal(assertion)


@pytest.mark.parametrize(("attribute", "value", "reason"), [
    pytest.param("Version", "1.1", "Version is not 2.0", id="core-2.3.3-version"),
    pytest.param("ID", None, "has no ID", id="core-2.3.3-no-id"),
])
@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_malformed_assertion_element(
        bench: Bench, idp: SamlIdp, attribute: str,
        value: str | None, reason: str) -> None:
    signed = idp.sign(idp.assertion(bench.clock.now))
    if value is None:
        del signed.attrib[attribute]
    else:
        signed.set(attribute, value)
    assert reason in bench.refusal(encode(signed))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_malformed_instant(bench: Bench, idp: SamlIdp) -> None:
    assertion = idp.assertion(bench.clock.now)
    found(assertion, saml("Conditions")).set("NotOnOrAfter", "tomorrow")
    assert "malformed NotOnOrAfter" in bench.refusal(encode(idp.sign(assertion)))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_refuses_a_signature_that_is_not_xml_dsig(
        bench: Bench, idp: SamlIdp) -> None:
    signed = idp.sign(idp.assertion(bench.clock.now))
    found(signed, f"{ds('Signature')}/{ds('SignatureValue')}").text = ""
    assert "malformed signature" in bench.refusal(encode(signed))


@pytest.mark.usefixtures("trusted")
def test_saml2_bearer_reads_namespaces_not_prefixes(bench: Bench, idp: SamlIdp) -> None:
    # A "saml:" prefix (or any other) is as good as "saml2:": the namespace makes it SAML.
    assertion = etree.fromstring(etree.tostring(idp.assertion(bench.clock.now)).replace(
        b"saml2", b"assertion"))
    assert bench.verify(encode(idp.sign(assertion))).name_id == "ada@example.com"
