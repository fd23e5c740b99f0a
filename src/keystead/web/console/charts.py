"""Daily charts as inline SVG, drawn on the server: readable without JavaScript, coloured by the
console's CSS variables (so dark mode follows), each with the same numbers as a table for
screen readers and for copying.

Hand-written rather than a plotting library: a line per series over a few dozen days is about
forty lines of SVG arithmetic, and the libraries that draw it (pygal, matplotlib) bring their own
styles and fonts that would not follow the console's colour scheme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 24  # room for the axis labels


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name in the legend and its count on each day of the chart."""

    name: str
    counts: Sequence[int]


def _nice_top(highest: int) -> int:
    """The y-axis' top: 1, 2 or 5 times a power of ten, at least ``highest`` (and at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= highest:
                return step * factor
        step *= 10


def daily_chart(chart_id: str, title: str, days: Sequence[date],
                series: Sequence[Series]) -> Markup:
    """A line chart of ``series`` over ``days`` (oldest first), with a legend and a data table.

    Every series has one count per day. ``chart_id`` names the figure (``id``) and the ids of
    its parts, so several charts can share a page.
    """
    if any(len(s.counts) != len(days) for s in series):
        raise ValueError("each series needs one count per day")
    top = _nice_top(max((max(s.counts, default=0) for s in series), default=0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    last = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return LEFT + inner_w * i / last

    def y(count: int) -> float:
        return TOP + inner_h * (1 - count / top)

    cid = escape(chart_id)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{cid}-title" preserveAspectRatio="none">',
             f'<title id="{cid}-title">{escape(title)}</title>']
    for value in (0, top // 2, top) if top % 2 == 0 else (0, top):  # 5: no line at 2.5
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
                     f'<text class="chart-axis" x="{LEFT - 6}" y="{y(value) + 4:.1f}" '
                     f'text-anchor="end">{value:,}</text>')
    if days:
        for i in sorted({0, len(days) // 2, len(days) - 1}):
            anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
            parts.append(f'<text class="chart-axis" x="{x(i):.1f}" y="{HEIGHT - 6}" '
                         f'text-anchor="{anchor}">{days[i]:%d %b}</text>')
    for n, s in enumerate(series, start=1):
        points = " ".join(f"{x(i):.1f},{y(c):.1f}" for i, c in enumerate(s.counts))
        parts.append(f'<polyline class="chart-line chart-series-{n}" points="{points}"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="chart-key chart-series-{n}"></span>{escape(s.name)}: '
        f'{sum(s.counts):,} in all</li>' for n, s in enumerate(series, start=1))
    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in series)
    rows = "".join(
        f'<tr><th scope="row"><time datetime="{day.isoformat()}">{day:%d %b %Y}</time></th>'
        + "".join(f"<td>{s.counts[i]:,}</td>" for s in series) + "</tr>"
        for i, day in reversed(list(enumerate(days))))
    # Every piece of text in it went through escape() above; the rest is our own markup.
    return Markup(  # noqa: S704
        f'<figure class="chart-figure" id="{cid}">{"".join(parts)}'
        f'<figcaption><ul class="chart-legend plain">{legend}</ul></figcaption>'
        f'<details class="chart-data"><summary>{escape(title)}: the numbers</summary>'
        f'<table id="{cid}-table"><thead><tr><th scope="col">Day</th>'
        f"{head}</tr></thead><tbody>{rows}</tbody></table></details></figure>")
