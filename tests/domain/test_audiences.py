"""Who a token is for: the rules of domain/audiences.py, without HTTP."""

from __future__ import annotations

from keystead.domain.audiences import audience_of, is_for_management_api, management_api

ISSUER = "https://id.example.com"
API = "https://id.example.com/api/v2"
BILLING = "https://billing.example.com"


def test_audience_management_api_is_under_the_issuer() -> None:
    assert management_api(ISSUER) == management_api(ISSUER + "/") == API


def test_audience_of_each_kind_of_scope() -> None:
    servers = {"invoices": BILLING}
    assert audience_of(["oauth"], issuer=ISSUER, resource_servers=servers) == (API,)
    assert audience_of(["openid"], issuer=ISSUER, resource_servers=servers) == (ISSUER,)
    assert audience_of(["invoices"], issuer=ISSUER, resource_servers=servers) == (BILLING,)
    assert audience_of(["presence"], issuer=ISSUER, resource_servers=servers) == (ISSUER,)
    assert audience_of(["oauth", "users", "invoices", "openid"], issuer=ISSUER,
                       resource_servers=servers) == (BILLING, ISSUER, API)
    assert audience_of([], issuer=ISSUER, resource_servers=servers) == (ISSUER,)


def test_audience_of_an_implicit_token_never_names_the_management_api() -> None:
    assert audience_of(["oauth", "users"], issuer=ISSUER, resource_servers={},
                       implicit=True) == (ISSUER,)


def test_audience_management_api_refuses_implicit_tokens_whatever_their_audience() -> None:
    assert is_for_management_api((API,), issuer=ISSUER, implicit=False)
    assert not is_for_management_api((API,), issuer=ISSUER, implicit=True)
    assert not is_for_management_api((BILLING, ISSUER), issuer=ISSUER, implicit=False)
    # A look-alike is not the management API: exact string comparison.
    assert not is_for_management_api((API + "/",), issuer=ISSUER, implicit=False)
