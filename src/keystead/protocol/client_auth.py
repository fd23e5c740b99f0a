"""Client authentication at the token, introspection and revocation endpoints.

RFC 6749 §2.3.1: ``client_secret_basic`` (HTTP Basic, form-urlencoded id and secret) and
``client_secret_post``; a client MUST NOT use more than one method in a request. Each client
registers the one method it uses (RFC 7591 §2 ``token_endpoint_auth_method``), and any other is
refused: a secret sent where the client said it would not be is a mistake or someone else.
A public client (method ``none``) names itself with ``client_id`` alone, at the endpoints that
admit it (RFC 6749 §2.3, RFC 7009 §2.1); introspection does not (RFC 7662 §2.1).

Failures are tallied in memory (``auth_failures``): one audit row per client, source and reason
per interval, not one per failure.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NoReturn
from urllib.parse import unquote_plus

from keystead.domain.errors import StoreUnavailableError
from keystead.domain.governance.evidence import NO_EVIDENCE, EvidenceRecorder
from keystead.domain.secrets import Digester, digests_match
from keystead.domain.tokens import LAST_USED_GRANULARITY, ClientRecord, HotStore, SecretRecord
from keystead.protocol.auth_failures import AuthFailure, FailureTally, shown_client_id
from keystead.protocol.errors import (
    InvalidClientError,
    InvalidRequestError,
    TooManyFailuresError,
)
from keystead.protocol.throttle import Throttle
from keystead.request_context import note_client

# What the endpoints accept; each client registers one of them (RFC 7591 §2).
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
PUBLIC_METHOD = "none"


class Endpoint(StrEnum):
    """Where a client authenticates; the value names it in the audit log."""

    token = "token"  # noqa: S105 (an endpoint name, not a password)
    introspect = "introspect"
    revoke = "revoke"


# RFC 6749 §2.3 / RFC 8252 §8.4 and RFC 7009 §2.1: a public client names itself here; RFC 7662
# §2.1 introspection is for resource servers, which hold a secret.
PUBLIC_ENDPOINTS = frozenset({Endpoint.token, Endpoint.revoke})


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    secret: str
    method: str  # client_secret_basic | client_secret_post


def read_credentials(authorization: str | None,
                     form: Mapping[str, str]) -> Credentials | None:
    """Take the client's credentials from the Authorization header or the form.

    Raises:
        InvalidRequestError: both methods at once.
        InvalidClientError: a malformed Basic header.
    """
    in_form = "client_id" in form or "client_secret" in form
    if authorization and authorization[:6].lower() == "basic ":
        if in_form and "client_secret" in form:
            raise InvalidRequestError("use one client authentication method, not two")
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:  # ValueError: not ASCII
            raise InvalidClientError("malformed Basic credentials") from exc
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise InvalidClientError("malformed Basic credentials")
        return Credentials(unquote_plus(client_id), unquote_plus(secret), "client_secret_basic")
    if "client_id" in form and "client_secret" in form:
        return Credentials(form["client_id"], form["client_secret"], "client_secret_post")
    return None


@dataclass(slots=True)
class ClientAuthenticator:
    store: HotStore
    digester: Digester
    clock: Callable[[], datetime]
    failures: FailureTally
    throttle: Throttle
    evidence: EvidenceRecorder = NO_EVIDENCE  # failures of existing clients, by reason

    async def identify(self, form: Mapping[str, str], authorization: str | None, *,
                       endpoint: Endpoint, remote_ip: str) -> ClientRecord:
        """Return the client that sent the request: by its secret, or, without one and where the
        endpoint admits public clients, by the ``client_id`` it names.

        Raises:
            InvalidRequestError: two authentication methods at once.
            InvalidClientError: no client, or the failure (tallied for the audit log and the
                throttle).
            TooManyFailuresError: see ``_by_secret``.
        """
        credentials = read_credentials(authorization, form)
        if credentials is None and "client_id" in form and endpoint in PUBLIC_ENDPOINTS:
            return await self._by_name(form["client_id"], remote_ip=remote_ip, endpoint=endpoint)
        return await self._by_secret(credentials, remote_ip=remote_ip, endpoint=endpoint)

    async def _by_secret(self, credentials: Credentials | None, *, remote_ip: str,
                         endpoint: Endpoint) -> ClientRecord:
        """Return the client whose secret matches.

        The same ``invalid_client`` answers an unknown id, a wrong or expired secret, a client
        that is not active and a method the client did not register, so the response never
        tells which ids exist; the reason goes to the audit log.

        Raises:
            InvalidClientError: the failure, tallied for the audit log and the throttle.
            TooManyFailuresError: this client id from this address, or this address, failed
                too often lately; refused even with the right secret (a lucky guess would
                otherwise get through).
        """
        if credentials is None:
            raise InvalidClientError("client authentication is required")
        now = self.clock()
        await self._unless_throttled(credentials.client_id, remote_ip=remote_ip,
                                     endpoint=endpoint, method=credentials.method, now=now)
        client = await self._find(credentials.client_id)
        if client is None:
            # One digest all the same, so timing does not tell that the id is unknown.
            self.digester.secret(credentials.secret)
        secret = _matching_secret(client, credentials.secret, self.digester, now) if client \
            else None
        if (client is None or secret is None or not client.is_active
                or credentials.method != client.token_endpoint_auth_method):
            # RFC 7591 §2: the client registered its method; the one it used is checked against
            # the record already read, no further query.
            reason = ("unknown client" if client is None else
                      "wrong or expired secret" if secret is None else
                      f"client is {client.state}" if not client.is_active else
                      f"used {credentials.method}, registered "
                      f"{client.token_endpoint_auth_method}")
            await self._refuse(client, credentials.client_id, reason, remote_ip=remote_ip,
                               endpoint=endpoint, method=credentials.method, now=now)
        if secret.date_last_used is None or now - secret.date_last_used > LAST_USED_GRANULARITY:
            await self.store.mark_used(client.id, secret.id, now=now)
        if not self.digester.is_current(secret.key_id):
            # Keyed by an older ring key: re-key it under the current one, once, so the old key
            # can leave the ring without ending this secret (the only write, and a rare one).
            await self.store.rekey_secret(
                client.id, secret.id, old_digest=secret.digest, key_id=self.digester.current_kid,
                digest=self.digester.secret(credentials.secret))
        note_client(client.id)  # for the request's access line
        return client

    async def _by_name(self, client_id: str, *, remote_ip: str,
                       endpoint: Endpoint) -> ClientRecord:
        """A public client, which authenticates by naming itself (it has no secret).

        Raises:
            InvalidClientError: unknown, not active, or a confidential client (which must
                authenticate with its secret), recorded in the audit log.
            TooManyFailuresError: as for ``_by_secret``.
        """
        now = self.clock()
        await self._unless_throttled(client_id, remote_ip=remote_ip, endpoint=endpoint,
                                     method=PUBLIC_METHOD, now=now)
        client = await self._find(client_id)
        if (client is None or client.token_endpoint_auth_method != PUBLIC_METHOD
                or not client.is_active):
            reason = ("unknown client" if client is None else
                      "confidential client without its secret"
                      if client.token_endpoint_auth_method != PUBLIC_METHOD else
                      f"client is {client.state}")
            await self._refuse(client, client_id, reason, remote_ip=remote_ip,
                               endpoint=endpoint, method=PUBLIC_METHOD, now=now)
        note_client(client.id)
        return client

    async def _find(self, client_id: str) -> ClientRecord | None:
        # No client id holds NUL, and PostgreSQL text cannot: such an id is simply unknown.
        if len(client_id) > 64 or "\x00" in client_id:
            return None
        return await self.store.client(client_id)

    async def _unless_throttled(self, client_id: str, *, remote_ip: str, endpoint: Endpoint,
                                method: str, now: datetime) -> None:
        """Raises: TooManyFailuresError (tallied for the audit log like a failure)."""
        wait = self.throttle.retry_after(client_id, remote_ip)
        if wait is not None:
            await self._tally(None, client_id, "throttled", remote_ip=remote_ip,
                              endpoint=endpoint, method=method, now=now)
            raise TooManyFailuresError(wait)

    async def _refuse(self, client: ClientRecord | None, client_id: str, reason: str, *,
                      remote_ip: str, endpoint: Endpoint, method: str, now: datetime) -> NoReturn:
        """Count the failure for the throttle, tally it for the audit log, and raise."""
        note_client(shown_client_id(client_id))  # the access line and the warning name who tried
        await self.throttle.failed(client_id, remote_ip)
        await self._tally(client, client_id, reason, remote_ip=remote_ip, endpoint=endpoint,
                          method=method, now=now)
        raise InvalidClientError("client authentication failed", detail=reason)

    async def _tally(self, client: ClientRecord | None, client_id: str, reason: str, *,
                     remote_ip: str, endpoint: Endpoint, method: str, now: datetime) -> None:
        """A row now only for its key's first failure in the interval; the rest are counted."""
        name = client.name if client else ""
        if client is not None:
            self.evidence.failure(client.id, reason, remote_ip)
        first = self.failures.note(AuthFailure(
            client_id=shown_client_id(client_id), client_name=name, remote_ip=remote_ip,
            reason=reason, endpoint=endpoint.value, method=method, at=now,
            divisions=client.divisions if client else ()))
        if first is not None:
            try:
                await self.store.record(first)
            except StoreUnavailableError:
                self.failures.give_back([first])  # written by the next flush instead
                raise


def _matching_secret(client: ClientRecord, value: str, digester: Digester,
                     now: datetime) -> SecretRecord | None:
    # Compare against every secret (at most two) so timing does not depend on which matched.
    # Each digest is checked under the ring key stored beside it: one HMAC per distinct key
    # (one, but for the rare secret not yet re-keyed after a key rotation).
    found = None
    kid: str | None = ""  # no stored key id is "": the first secret always computes
    candidate: str | None = None
    for secret in client.secrets:
        if secret.key_id != kid:
            kid, candidate = secret.key_id, digester.secret_under(secret.key_id, value)
        if candidate is not None and digests_match(secret.digest, candidate) \
                and secret.is_usable(now):
            found = secret
    return found

