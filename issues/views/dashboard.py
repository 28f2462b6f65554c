"""The command center's dashboard: the go-live at a glance, for a desk or a wall screen.

Open to the help desk and the command center (every issue of the go-live is theirs to see). The
page asks for its figures again every 30 seconds (htmx); `?wall=1` drops the header for a wall
screen. Every count that has a queue behind it links to the queue filtered the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from golive.forms import PlaceFilterForm
from golive.models import Membership
from golive.permissions import DESK, role_required
from issues.charts import backlog_chart, flow_chart
from issues.dashboard import Scope, dashboard
from issues.queue import duration_label

REFRESH_SECONDS = 30


def _span(delta: dt.timedelta | None) -> str:
    return duration_label(delta) if delta is not None else "–"


def _context(request: HttpRequest) -> dict[str, Any]:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    form = PlaceFilterForm(request.GET or None, go_live=go_live)
    chosen = form.cleaned_data if form.is_valid() else {}
    scope = Scope(go_live=go_live, site=chosen.get("site"), unit=chosen.get("unit"))
    now = timezone.now()
    figures = dashboard(scope=scope, now=now)
    place = scope.queue_query()

    def queue(*filters: str) -> str:
        query = "&".join(part for part in (*filters, place) if part)
        return reverse("issues:queue") + (f"?{query}" if query else "")

    wall = request.GET.get("wall") == "1"
    wall_query = request.GET.copy()
    wall_query["wall"] = "1"
    return {
        "go_live": go_live,
        "form": form,
        "d": figures,
        "wall": wall,
        "wall_url": f"{request.path}?{wall_query.urlencode()}",
        "refresh_url": request.get_full_path(),
        "refresh_seconds": REFRESH_SECONDS,
        "links": {
            "open": queue(),
            "overdue": queue("overdue=1"),
            "patient_safety": queue("patient_safety=1"),
        },
        "by_priority": [
            (priority, count, queue(f"priority={priority}"))
            for priority, count in figures.open_by_priority.items()
        ],
        "top_lists": [
            ("Top categories", figures.top_categories, "top-categories"),
            ("Top applications", figures.top_applications, "top-applications"),
            ("Top units", figures.top_units, "top-units"),
        ],
        "flow_chart": flow_chart(figures.hours),
        "backlog_chart": backlog_chart(figures.hours),
        "recent_hours": figures.hours[-24:][::-1],
        "times": [
            {
                "priority": row.priority,
                "acknowledged": row.acknowledged,
                "acknowledge_p50": _span(row.acknowledge_p50),
                "acknowledge_p90": _span(row.acknowledge_p90),
                "resolved": row.resolved,
                "resolve_p50": _span(row.resolve_p50),
                "resolve_p90": _span(row.resolve_p90),
            }
            for row in figures.times
        ],
        "oldest_pending_age": duration_label(now - figures.outbox.oldest_pending)
        if figures.outbox.oldest_pending
        else "",
    }


@role_required(DESK)
@require_GET
def command_center(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "issues/dashboard_live.html", context)
    return render(request, "issues/dashboard.html", context)


urlpatterns: list[URLPattern] = [
    path("dashboard/", command_center, name="dashboard"),
]
