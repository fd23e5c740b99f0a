"""Client authentication at the token, introspection and revocation endpoints.

RFC 6749 §2.3.1: ``client_secret_basic`` (HTTP Basic, form-urlencoded id and secret) and
``client_secret_post``; a client MUST NOT use more than one method in a request.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn
from urllib.parse import unquote_plus

from keystead.domain.audit import AuditEvent, Result
from keystead.domain.secrets import Digester, digests_match
from keystead.domain.tokens import ClientRecord, HotStore, SecretRecord
from keystead.protocol.errors import InvalidClientError, InvalidRequestError
from keystead.request_context import note_client

LAST_USED_GRANULARITY = timedelta(seconds=60)
CLIENT_ID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHOWN_PREFIX = 6


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    secret: str
    method: str  # client_secret_basic | client_secret_post


def read_credentials(authorization: str | None, form: dict[str, str]) -> Credentials | None:
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

    async def authenticate(self, credentials: Credentials | None, *, remote_ip: str,
                           endpoint: str) -> ClientRecord:
        """Return the client whose secret matches.

        The same ``invalid_client`` answers an unknown id, a wrong or expired secret and a client
        that is not active, so the response never tells which ids exist; the reason goes to the
        audit log.

        Raises:
            InvalidClientError: the failure, recorded in the audit log.
        """
        if credentials is None:
            raise InvalidClientError("client authentication is required")
        now = self.clock()
        # No client id holds NUL, and PostgreSQL text cannot: such an id is simply unknown.
        shown_id = credentials.client_id[:64].replace("\x00", "")
        client = await self.store.client(credentials.client_id) if len(
            credentials.client_id) <= 64 and shown_id == credentials.client_id else None
        candidate = self.digester.secret(credentials.secret)
        secret = _matching_secret(client, candidate, now) if client else None
        if client is None or secret is None or not client.is_active:
            reason = ("unknown client" if client is None else
                      "wrong or expired secret" if secret is None else f"client is {client.state}")
            await self._refuse(client, shown_id, reason, remote_ip=remote_ip, endpoint=endpoint,
                               method=credentials.method, now=now)
        if secret.date_last_used is None or now - secret.date_last_used > LAST_USED_GRANULARITY:
            await self.store.mark_used(client.id, secret.id, now=now)
        note_client(client.id)  # for the request's access line
        return client

    async def authenticate_public(self, client_id: str, *, remote_ip: str,
                                  endpoint: str) -> ClientRecord:
        """A public client, which authenticates by naming itself (it has no secret).

        Raises:
            InvalidClientError: unknown, not active, or a confidential client (which must
                authenticate with its secret), recorded in the audit log.
        """
        now = self.clock()
        shown_id = client_id[:64].replace("\x00", "")
        client = await self.store.client(client_id) if shown_id == client_id else None
        if client is None or not client.is_public or not client.is_active:
            reason = ("unknown client" if client is None else
                      "confidential client without its secret" if not client.is_public else
                      f"client is {client.state}")
            await self._refuse(client, shown_id, reason, remote_ip=remote_ip, endpoint=endpoint,
                               method="none", now=now)
        note_client(client.id)
        return client

    async def _refuse(self, client: ClientRecord | None, shown_id: str, reason: str, *,
                      remote_ip: str, endpoint: str, method: str, now: datetime) -> NoReturn:
        if client is None and not CLIENT_ID_SHAPE.fullmatch(shown_id):
            # Not shaped like a client id (ours are UUIDs): most likely a secret pasted into
            # the wrong field. The audit keeps a prefix to correlate, never the whole value.
            shown_id = shown_id[:SHOWN_PREFIX] + "..."
        note_client(shown_id)  # the access line and the warning name who tried
        await self.store.record(AuditEvent(
            timestamp=now, actor_kind="client", actor_id=shown_id,
            actor_name=client.name if client else "", action="authenticate",
            entity_type="OAuthClient", entity_id=shown_id,
            entity_name=client.name if client else "", result=Result.failure,
            remote_ip=remote_ip, details={"reason": reason, "endpoint": endpoint,
                                          "method": method},
            actor_divisions=client.divisions if client else ()))
        raise InvalidClientError("client authentication failed", detail=reason)


def _matching_secret(client: ClientRecord, candidate: str, now: datetime) -> SecretRecord | None:
    # Compare against every secret (at most two) so timing does not depend on which matched.
    found = None
    for secret in client.secrets:
        if digests_match(secret.digest, candidate) and secret.is_usable(now):
            found = secret
    return found
