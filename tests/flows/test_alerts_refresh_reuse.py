"""A rotated refresh token replayed after the grace revokes its grant and raises one
``refresh-token-reuse`` alert on the client (issue 13 §2)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from keystead.config import Settings
from tests.flows.test_refresh_tokens import public_tokens, refused
from tests.oauth_flows import after_grace, public_client, refresh
from tests.support.alerts import alerts_of, evaluate_alerts


@pytest.mark.usefixtures("person")
def test_alerts_refresh_token_reuse_raises_a_high_alert_on_the_client(
        http: TestClient, headers: dict[str, str], settings: Settings) -> None:
    app = public_client(http, headers)
    first = public_tokens(http, app)
    assert refresh(http, app, first["refresh_token"]).status_code == 200
    with after_grace(settings) as later:
        assert refused(refresh(later, app, first["refresh_token"])) == "invalid_grant"

    evaluate_alerts(http, headers)

    [alert] = alerts_of(http, headers, rule="refresh-token-reuse")
    assert (alert["clientId"], alert["severity"], alert["count"]) == (app, "high", 1)
    assert first["refresh_token"] not in str(alert)
    assert evaluate_alerts(http, headers)["counted"] == 0  # each audit entry counts once
