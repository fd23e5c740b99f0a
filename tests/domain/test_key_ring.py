"""The server key ring: its setting, its key ids, and what a key taken out of it stops."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from keystead.config import Environment, Settings
from keystead.domain.keyring import KeyRing, fingerprint
from keystead.domain.secrets import Digester, SecretBox
from keystead.protocol.keys import key_cipher
from keystead.protocol.opaque import OpaqueTokens, Sealed

K1 = "k1:" + "a" * 40
K2 = "k2:" + "b" * 40
OLD = "the-former-single-key-" + "c" * 20
CLAIMS = Sealed("client", None, "oauth:readonly", 1, 2)


@pytest.mark.parametrize(("ring", "single", "message"), [
    pytest.param(f"{K1},{K1}", "", "appears twice", id="duplicate-kid"),
    pytest.param(f"{K1},k2:short", "", "entry 2 (k2): the key must be at least 32", id="short-key"),
    pytest.param(f"{K1},bad.id:{'d' * 40}", "", "entry 2: the key id must be", id="bad-kid"),
    pytest.param(f"{K1},,{K2}", "", "entry 2 is empty", id="empty-entry"),
    pytest.param(f"{K1},k3:", "", "entry 2 is empty", id="no-key"),
    pytest.param(f"{'d' * 40},{K1}", "e" * 40, "only one key may be given without a key id",
                 id="two-unnamed"),
])
def test_key_ring_bad_setting_stops_start_up_naming_the_entry(ring: str, single: str,
                                                              message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(secret_keys=SecretStr(ring), secret_key=SecretStr(single))
    text = str(caught.value)
    assert message in text
    # The error never echoes a key.
    assert "a" * 32 not in text
    assert "d" * 32 not in text
    assert "e" * 32 not in text


def test_key_ring_in_production_refuses_a_placeholder_single_key_beside_it() -> None:
    with pytest.raises(ValidationError):
        Settings(environment=Environment.production, secret_keys=SecretStr(K1),
                 secret_key=SecretStr("change-me"))
    ring = Settings(environment=Environment.production, secret_keys=SecretStr(K1)).key_ring()
    assert [k.kid for k in ring.keys] == ["k1"]


def test_key_ring_single_key_is_a_ring_of_one_named_by_its_fingerprint() -> None:
    ring = Settings(secret_key=SecretStr(OLD)).key_ring()
    assert [(k.kid, k.legacy) for k in ring.keys] == [(fingerprint(OLD.encode()), True)]
    # Written out in the ring, with or without its id, it is the same key.
    for entry in (OLD, f"{fingerprint(OLD.encode())}:{OLD}"):
        again = KeyRing.parse(f"{K2},{entry}")
        assert [(k.kid, k.legacy) for k in again.keys] == [
            ("k2", False), (fingerprint(OLD.encode()), True)]


def test_key_ring_single_key_joins_the_ring_last_once() -> None:
    assert [k.kid for k in KeyRing.parse(K2, single=OLD).keys] == [
        "k2", fingerprint(OLD.encode())]
    assert len(KeyRing.parse(f"{K2},{OLD}", single=OLD).keys) == 2


def test_key_ring_subkeys_differ_per_key_and_purpose() -> None:
    ring = KeyRing.parse(f"{K2},{K1}")
    one, two = Digester(KeyRing.parse(K1)), Digester(ring)
    assert one.secret("s") != two.secret("s")  # new secrets: under k2
    assert two.secret_under("k1", "s") == one.secret("s")
    assert one.secret("s") != one.grant("k1.s")


def test_key_ring_opaque_tokens_open_under_the_key_they_name_until_it_leaves() -> None:
    sealed = OpaqueTokens(KeyRing.parse(K1)).seal(CLAIMS)
    assert sealed.startswith("ks2-k1.")
    opened = OpaqueTokens(KeyRing.parse(f"{K2},{K1}")).open(sealed)
    assert opened is not None
    assert opened.key_id == "k1"
    assert OpaqueTokens(KeyRing.parse(f"{K2},{K1}")).seal(CLAIMS).startswith("ks2-k2.")
    assert OpaqueTokens(KeyRing.parse(K2)).open(sealed) is None
    # The key id is bound to the token: naming another key of the ring opens nothing.
    assert OpaqueTokens(KeyRing.parse(f"{K2},{K1}")).open(
        sealed.replace("ks2-k1.", "ks2-k2.")) is None


def test_key_ring_tagged_values_are_found_under_their_key_until_it_leaves() -> None:
    value, digest = Digester(KeyRing.parse(K1)).new_grant()
    assert value.startswith("k1.")
    assert Digester(KeyRing.parse(f"{K2},{K1}")).grant(value) == digest
    assert Digester(KeyRing.parse(K2)).grant(value) is None
    untagged = "no-key-id-in-front"
    assert Digester(KeyRing.parse(K2)).grant(untagged) is None  # no former single key
    assert Digester(KeyRing.parse(K2, single=OLD)).grant(untagged) == \
        Digester(KeyRing.parse("", single=OLD)).grant(untagged)


def test_key_ring_encrypted_values_read_under_any_key_and_reseal_under_the_current() -> None:
    old = SecretBox(KeyRing.parse(K1)).seal("totp")
    both = SecretBox(KeyRing.parse(f"{K2},{K1}"))
    assert both.open(old) == "totp"
    fresh = both.reseal(old)
    assert fresh is not None
    assert SecretBox(KeyRing.parse(K2)).open(old) is None
    assert SecretBox(KeyRing.parse(K2)).open(fresh) == "totp"
    key = key_cipher(KeyRing.parse(K1)).encrypt(b"jwk")
    assert key_cipher(KeyRing.parse(f"{K2},{K1}")).decrypt(key) == b"jwk"


def test_key_ring_csrf_tokens_made_before_a_rotation_still_match() -> None:
    before = Digester(KeyRing.parse(K1)).csrf("binding")
    after = Digester(KeyRing.parse(f"{K2},{K1}"))
    assert after.csrf("binding") != before
    assert after.csrf_matches("binding", before)
    assert not Digester(KeyRing.parse(K2)).csrf_matches("binding", before)
