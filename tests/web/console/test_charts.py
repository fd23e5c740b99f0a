"""The console's server-drawn charts: the numbers a reader sees match the counts given."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from keystead.web.console.charts import Series, daily_chart

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]


def _points_per_line(markup: str) -> list[int]:
    lines = re.findall(r'<polyline [^>]*points="([^"]*)"', markup)
    return [len(points.split()) for points in lines]


def test_each_series_is_a_line_through_one_point_per_day_with_its_total_in_the_legend() -> None:
    tokens = [i * 10 for i in range(30)]
    failures = [3 if i == 5 else 0 for i in range(30)]
    markup = str(daily_chart("usage", "Tokens and failures", DAYS,
                             [Series("Tokens", tokens), Series("Failures", failures)]))
    assert _points_per_line(markup) == [30, 30]
    assert "Tokens: 4,350 in all" in markup
    assert "Failures: 3 in all" in markup
    # The highest count sits on the top grid line's scale (290 -> 500).
    assert ">500</text>" in markup


def test_the_data_table_lists_every_day_newest_first() -> None:
    markup = str(daily_chart("c", "Tokens", DAYS, [Series("Tokens", list(range(30)))]))
    table = markup[markup.index("<tbody>"):]
    assert table.index("30 Nov 2026") < table.index("01 Nov 2026")
    assert table.count("<tr>") == 30


def test_no_traffic_still_draws_a_readable_axis() -> None:
    markup = str(daily_chart("c", "Tokens", DAYS, [Series("Tokens", [0] * 30)]))
    assert ">0</text>" in markup
    assert ">1</text>" in markup
    assert "Tokens: 0 in all" in markup


def test_names_are_escaped() -> None:
    markup = str(daily_chart('x"><script>', "<b>t</b>", DAYS, [Series("<i>", [0] * 30)]))
    assert "<script>" not in markup
    assert "<b>" not in markup
    assert "<i>" not in markup


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="one count per day"):
        daily_chart("c", "Tokens", DAYS, [Series("Tokens", [1, 2])])
