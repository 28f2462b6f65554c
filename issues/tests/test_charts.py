"""The dashboard's SVG charts: a round scale, dates that never overlap, every mark inside the
frame, and nothing for a go-live that has not cut over."""

import datetime as dt
import itertools
import re
import zoneinfo

from issues.charts import HEIGHT, MIN_LABEL_GAP, WIDTH, _scale, backlog_chart, flow_chart
from issues.dashboard import Hour

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def hours(count: int) -> list[Hour]:
    first = dt.datetime(2026, 11, 1, 11, tzinfo=dt.UTC)
    return [
        Hour(
            start=(first + dt.timedelta(hours=n)).astimezone(CHICAGO),
            created=n % 7,
            resolved=n % 5,
            backlog=n // 3,
        )
        for n in range(count)
    ]


def test_the_scale_tops_at_a_round_number() -> None:
    assert [_scale(peak) for peak in (0, 1, 2, 3, 7, 12, 51, 200)] == [1, 1, 2, 5, 10, 20, 100, 200]


def test_four_weeks_of_hours_keep_their_dates_apart_and_every_mark_inside() -> None:
    for chart in (flow_chart(hours(28 * 24)), backlog_chart(hours(28 * 24))):
        labels = re.findall(
            r'<text x="([\d.]+)" y="[\d.]+" class="gl-chart-label">([A-Z][a-z]{2} \d+)<', chart
        )
        xs = [float(x) for x, _ in labels]
        assert len(xs) >= 5
        assert all(b - a >= MIN_LABEL_GAP for a, b in itertools.pairwise(xs))
        for x in re.findall(r' x1?="(-?[\d.]+)"', chart):
            assert 0 <= float(x) <= WIDTH
        for y in re.findall(r' y1?="(-?[\d.]+)"', chart):
            assert 0 <= float(y) <= HEIGHT


def test_a_day_of_hours_labels_its_one_date_and_says_its_totals() -> None:
    chart = flow_chart(hours(5))
    assert "Nov 1" in chart
    total_created = sum(n % 7 for n in range(5))
    total_resolved = sum(n % 5 for n in range(5))
    assert (
        f"5 hours since the cutover: {total_created} issues created (bars) and "
        f"{total_resolved} resolved"
    ) in chart


def test_no_hours_no_chart() -> None:
    assert flow_chart([]) == "" and backlog_chart([]) == ""
