"""Issue 9.1's administrator rule as a table: who a provider may vouch for without Keystead's
own MFA, and which assertions count as MFA."""

from __future__ import annotations

import pytest

from keystead.domain.identity_providers import (
    DEFAULT_MFA_CONTEXT_CLASSES,
    IdentityProviderSettings,
    administrative_refusal,
    counts_as_mfa,
)

MFA = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def _provider(*, vouches: bool, classes: tuple[str, ...] = DEFAULT_MFA_CONTEXT_CLASSES
              ) -> IdentityProviderSettings:
    return IdentityProviderSettings(name="IdP", issuer_uri="https://idp.example.com",
                                    certificates=(), relying_party_identifier="rp",
                                    vouches_for_mfa=vouches, mfa_authn_context_classes=classes)


@pytest.mark.parametrize(("vouches", "classes", "sent", "expected"), [
    pytest.param(False, DEFAULT_MFA_CONTEXT_CLASSES, (MFA,), False, id="not-vouching"),
    pytest.param(True, DEFAULT_MFA_CONTEXT_CLASSES, (PASSWORD,), False, id="password-class"),
    pytest.param(True, DEFAULT_MFA_CONTEXT_CLASSES, (), False, id="no-class"),
    pytest.param(True, DEFAULT_MFA_CONTEXT_CLASSES, (MFA,), True, id="mfa-class"),
    pytest.param(True, DEFAULT_MFA_CONTEXT_CLASSES, (PASSWORD, MFA), True,
                 id="one-of-several-statements"),
    pytest.param(True, ("urn:custom:mfa",), (MFA,), False, id="not-in-this-providers-list"),
    pytest.param(True, DEFAULT_MFA_CONTEXT_CLASSES, (MFA.upper(),), False, id="exact-match"),
])
def test_counts_as_mfa(vouches: bool, classes: tuple[str, ...], sent: tuple[str, ...],
                       expected: bool) -> None:
    assert counts_as_mfa(_provider(vouches=vouches, classes=classes), sent) is expected


@pytest.mark.parametrize(("holds", "vouches", "mfa", "refused"), [
    pytest.param(False, False, False, False, id="no-permissions-no-mfa-needed"),
    pytest.param(True, False, False, True, id="admin-provider-not-vouching"),
    pytest.param(True, True, False, True, id="admin-assertion-not-mfa"),
    pytest.param(True, True, True, False, id="admin-vouched-mfa"),
])
def test_administrative_refusal(holds: bool, vouches: bool, mfa: bool, refused: bool) -> None:
    reason = administrative_refusal(holds_permissions=holds, vouches_for_mfa=vouches, mfa=mfa)
    assert (reason is not None) is refused
