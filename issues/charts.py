"""Charts drawn on the server as SVG: no script, no CDN, and readable printed in black and white
(created issues are solid bars, resolved ones a line with square marks, the backlog a line).
Each chart carries a title and a description for screen readers; the page gives its figures as a
table too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from issues.dashboard import Hour

WIDTH, HEIGHT = 960, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MIN_LABEL_GAP = 40


def _scale(peak: int) -> int:
    """A round top for the y axis at or above `peak` (1, 2, 5, 10, 20, 50...)."""
    top = 1
    while True:
        for factor in (1, 2, 5):
            if top * factor >= peak:
                return top * factor
        top *= 10


def _frame(
    title: str, description: str, top: int, hours: Sequence[Hour], body: SafeString
) -> SafeString:
    # A mark at each local midnight; its date written on every day, or every few days when the
    # days are too narrow to hold one ("Nov 12" needs about 40 units).
    every = max(1, math.ceil(MIN_LABEL_GAP / (24 * PLOT_W / len(hours))))
    midnights = [index for index, hour in enumerate(hours) if hour.start.hour == 0 or index == 0]
    days = format_html_join(
        "",
        '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" class="gl-chart-day"/>'
        '<text x="{0}" y="{3}" class="gl-chart-label">{4}</text>',
        (
            (
                _n(LEFT + index * PLOT_W / len(hours)),
                TOP,
                TOP + PLOT_H,
                HEIGHT - 8,
                f"{hours[index].start:%b} {hours[index].start.day}" if n % every == 0 else "",
            )
            for n, index in enumerate(midnights)
        ),
    )
    return format_html(
        '<svg class="gl-chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-t {id}-d" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{title}</title>'
        '<desc id="{id}-d">{description}</desc>'
        '<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="gl-chart-axis"/>'
        '<line x1="{left}" y1="{top_y}" x2="{left}" y2="{bottom}" class="gl-chart-axis"/>'
        '<text x="{label_x}" y="{top_label}" class="gl-chart-label" text-anchor="end">{top}</text>'
        '<text x="{label_x}" y="{bottom}" class="gl-chart-label" text-anchor="end">0</text>'
        "{days}{body}</svg>",
        w=WIDTH,
        h=HEIGHT,
        id=title.lower().replace(" ", "-"),
        title=title,
        description=description,
        left=LEFT,
        right=WIDTH - RIGHT,
        top_y=TOP,
        bottom=TOP + PLOT_H,
        label_x=LEFT - 6,
        top_label=TOP + 8,
        top=top,
        days=days,
        body=body,
    )


def _n(value: float) -> str:
    """A coordinate, to a tenth of a unit."""
    return f"{value:.1f}"


def _y(value: int, top: int) -> float:
    return TOP + PLOT_H - value * PLOT_H / top


def flow_chart(hours: Sequence[Hour]) -> SafeString:
    """Issues created (bars) and resolved (line with marks) in each hour since the cutover."""
    if not hours:
        return mark_safe("")
    top = _scale(max(max(h.created, h.resolved) for h in hours))
    step = PLOT_W / len(hours)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="gl-chart-created"/>',
        (
            (
                _n(LEFT + i * step),
                _n(_y(h.created, top)),
                _n(max(step * 0.8, 0.5)),
                _n(h.created * PLOT_H / top),
            )
            for i, h in enumerate(hours)
            if h.created
        ),
    )
    points = " ".join(
        f"{LEFT + (i + 0.4) * step:.1f},{_y(h.resolved, top):.1f}" for i, h in enumerate(hours)
    )
    marks = format_html_join(
        "",
        '<rect x="{}" y="{}" width="4" height="4" class="gl-chart-resolved-mark"/>',
        (
            (_n(LEFT + (i + 0.4) * step - 2), _n(_y(h.resolved, top) - 2))
            for i, h in enumerate(hours)
            if h.resolved
        ),
    )
    body = format_html('{}<polyline points="{}" class="gl-chart-resolved"/>{}', bars, points, marks)
    created, resolved = sum(h.created for h in hours), sum(h.resolved for h in hours)
    description = (
        f"{len(hours)} hours since the cutover: {created} issues created (bars) and {resolved} "
        "resolved (line with square marks)."
    )
    return _frame("Created and resolved per hour", description, top, hours, body)


def backlog_chart(hours: Sequence[Hour]) -> SafeString:
    """Open issues at the end of each hour since the cutover."""
    if not hours:
        return mark_safe("")
    top = _scale(max(h.backlog for h in hours))
    step = PLOT_W / len(hours)
    points = " ".join(
        f"{LEFT + (i + 0.4) * step:.1f},{_y(h.backlog, top):.1f}" for i, h in enumerate(hours)
    )
    body = format_html('<polyline points="{}" class="gl-chart-backlog"/>', points)
    peak = max(hours, key=lambda h: h.backlog)
    description = (
        f"Open issues at the end of each of {len(hours)} hours: {hours[-1].backlog} now, at most "
        f"{peak.backlog} (hour from {peak.start:%b} {peak.start.day} {peak.start:%H:%M})."
    )
    return _frame("Backlog over time", description, top, hours, body)
