"""Password policy and hashing, TOTP acceptance, recovery codes, lockout back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from keystead.domain.mfa import (
    accepted_step,
    new_enrolment,
    new_recovery_codes,
    normalise_recovery_code,
)
from keystead.domain.passwords import Passwords, check_password
from keystead.domain.signin import lock_for

AT = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("password", "code"), [
    pytest.param("short-pw-1", "password.length", id="shorter-than-12"),
    pytest.param("x" * 257, "password.length", id="longer-than-256"),
    pytest.param("Password1234", "password.common", id="common-any-case"),
    pytest.param("qwertyuiop123", "password.common", id="keyboard-walk"),
    pytest.param("password12345", "password.common", id="breached-long-enough"),
    pytest.param("1q2w3e4r5t6y7u", "password.common", id="breached-keyboard-pattern"),
    pytest.param("iloveyou2024", "password.common", id="breached-word-and-year"),
    pytest.param("michael19851", "password.guessable", id="name-and-date"),
    pytest.param("abcdefghijklmnop", "password.guessable", id="alphabet-sequence"),
    pytest.param("Keystead2026!", "password.guessable", id="service-name-and-year"),
    pytest.param("abababababab", "password.repetitive", id="two-characters"),
    pytest.param("my-jane.doe-secret", "password.contains.email", id="contains-email-name"),
])
def test_password_policy_refuses(password: str, code: str) -> None:
    problems = check_password(password, email="jane.doe@example.com")
    assert [p.code for p in problems] == [code]
    assert password not in problems[0].message


@pytest.mark.parametrize("password", [
    pytest.param("violet-harbour-lantern-7", id="passphrase"),
    pytest.param("correct horse battery staple", id="four-words"),
    pytest.param("kG8#pL2!vQ9zW", id="random-characters"),
    pytest.param("saffron-kettle-glacier-umbrella-nimbus-tarragon-velvet-orchard-cobalt-lynx-42",
                 id="longer-than-the-estimated-part"),
])
def test_password_policy_accepts(password: str) -> None:
    assert check_password(password, email="jane@example.com") == []


def test_passwords_are_argon2id_with_the_rfc9106_profile_by_default() -> None:
    stored = Passwords().hash("violet-harbour-lantern-7")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "violet" not in stored


def test_password_verification() -> None:
    passwords = Passwords(memory_kib=8_192, time_cost=1)
    stored = passwords.hash("violet-harbour-lantern-7")
    assert passwords.verify(stored, "violet-harbour-lantern-7")
    assert not passwords.verify(stored, "violet-harbour-lantern-8")
    assert not passwords.verify(None, "violet-harbour-lantern-7")
    assert not passwords.verify("not a hash", "violet-harbour-lantern-7")


def test_password_needs_rehash_only_under_other_parameters() -> None:
    cheap = Passwords(memory_kib=8_192, time_cost=1)
    stored = cheap.hash("violet-harbour-lantern-7")
    assert cheap.needs_rehash(stored) is False
    assert Passwords(memory_kib=8_192, time_cost=2).needs_rehash(stored) is True
    assert Passwords(memory_kib=9_216, time_cost=1).needs_rehash(stored) is True
    assert cheap.needs_rehash("not a hash") is False


def test_totp_accepts_one_step_of_drift_and_no_more() -> None:
    secret = new_enrolment("a@example.com").secret
    totp = pyotp.TOTP(secret)
    step = int(AT.timestamp()) // 30
    for drift, accepted in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        code = totp.at(AT + timedelta(seconds=30 * drift))
        assert (accepted_step(secret, code, at=AT, last_step=None) is not None) is accepted
    assert accepted_step(secret, totp.at(AT), at=AT, last_step=None) == step


def test_totp_refuses_a_step_already_used() -> None:
    secret = new_enrolment("a@example.com").secret
    step = int(AT.timestamp()) // 30
    code = pyotp.TOTP(secret).at(AT)
    assert accepted_step(secret, code, at=AT, last_step=step) is None
    assert accepted_step(secret, code, at=AT, last_step=step - 1) == step


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_totp_refuses_malformed_codes(code: str) -> None:
    assert accepted_step(new_enrolment("a@example.com").secret, code, at=AT,
                         last_step=None) is None


def test_enrolment_uri_names_keystead_and_the_user() -> None:
    enrolment = new_enrolment("jane@example.com")
    assert enrolment.uri.startswith("otpauth://totp/Keystead:jane%40example.com?secret=")


def test_recovery_codes_are_distinct_and_normalise() -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == 10
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    assert normalise_recovery_code(f" {codes[0].upper().replace('-', ' ')} ") == codes[0]
    assert normalise_recovery_code("short") == ""


@pytest.mark.parametrize(("failures", "seconds"), [
    (4, None), (5, 30), (6, 60), (7, 120), (9, 480), (10, 900), (50, 900),
])
def test_lockout_backs_off_to_fifteen_minutes(failures: int, seconds: int | None) -> None:
    lock = lock_for(failures)
    assert (lock.total_seconds() if lock else None) == seconds
