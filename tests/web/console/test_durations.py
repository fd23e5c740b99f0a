"""The ``duration`` filter: seconds as people say them."""

from __future__ import annotations

import pytest

from keystead.web.console.durations import duration
from keystead.web.console.pages import templates


@pytest.mark.parametrize(("seconds", "said"), [
    pytest.param(86_400, "1 day", id="a-day"),
    pytest.param(3_600, "1 hour", id="an-hour"),
    pytest.param(5_400, "1 hour 30 minutes", id="hour-and-a-half"),
    pytest.param(45, "45 seconds", id="seconds"),
    pytest.param(1, "1 second", id="singular"),
    pytest.param(0, "0 seconds", id="zero"),
    pytest.param(604_800, "7 days", id="a-week-in-days"),
    pytest.param(64_800, "18 hours", id="recommended-code-ttl"),
    pytest.param(86_430, "1 day 30 seconds", id="exact-with-a-gap"),
    pytest.param(90_061, "1 day 1 hour 1 minute 1 second", id="every-unit"),
    pytest.param(100 * 86_400, "100 days", id="many-days"),
    pytest.param(10_000 * 86_400, "10,000 days", id="thousands-separated"),
])
def test_duration_says_seconds_in_units(seconds: int, said: str) -> None:
    assert duration(seconds) == said


@pytest.mark.parametrize(("value", "said"), [
    pytest.param("3600", "1 hour", id="digits-as-text"),
    pytest.param("an hour", "an hour", id="typed-text-unchanged"),
    pytest.param("", "", id="empty"),
    pytest.param(-5, "-5", id="negative-unchanged"),
    pytest.param(None, "—", id="none"),
])
def test_duration_shows_what_is_not_a_count_as_it_is(value: int | str | None, said: str) -> None:
    assert duration(value) == said


def test_duration_is_a_template_filter() -> None:
    assert templates.env.from_string("{{ 5400|duration }}").render() == "1 hour 30 minutes"
