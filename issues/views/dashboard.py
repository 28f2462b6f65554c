"""The command center's dashboard and its daily huddle report.

Both are open to the help desk and the command center (every issue of the go-live is theirs to
see). The dashboard asks for its figures again every 30 seconds (htmx); `?wall=1` drops the
header for a wall screen. Every count that has a queue behind it links to the queue filtered the
same way. The huddle report is one day (and optionally one site) as a printable page, a PDF
(WeasyPrint renders the same template) and the CSV of the issues behind it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from golive import audit
from golive.forms import PlaceFilterForm
from golive.lib.csvfile import csv_response
from golive.models import AuditEntry, Membership
from golive.permissions import DESK, role_required
from issues.charts import backlog_chart, flow_chart
from issues.dashboard import Scope, dashboard
from issues.export import issue_rows
from issues.forms_desk import HuddleForm
from issues.huddle import Huddle, huddle_issues, huddle_report
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


def _huddle_form(request: HttpRequest) -> HuddleForm:
    go_live = request.membership.go_live  # type: ignore[attr-defined]
    data = request.GET.copy()
    # Today unless chosen, shown in the date field.
    data.setdefault("day", go_live.local_now().date().isoformat())
    return HuddleForm(data, go_live=go_live)


def _report(request: HttpRequest, form: HuddleForm) -> Huddle:
    return huddle_report(
        go_live=request.membership.go_live,  # type: ignore[attr-defined]
        day=form.cleaned_data["day"],
        site=form.cleaned_data["site"],
        now=timezone.now(),
    )


def _refused(request: HttpRequest, form: HuddleForm) -> HttpResponse:
    """The form again, saying what was wrong (a day to come, not a date, an unknown site)."""
    return render(request, "issues/huddle.html", {"form": form, "report": None}, status=400)


def _fetch_nothing(url: str) -> dict[str, Any]:
    """The PDF's document is self-contained: nothing it names is fetched, from anywhere."""
    raise ValueError(f"The huddle PDF fetches nothing ({url}).")


def _file_name(form: HuddleForm, extension: str) -> str:
    site = form.cleaned_data["site"]
    stem = form.go_live.file_stem + (f"-{slugify(site.name)}" if site is not None else "")
    return f"huddle-{stem}-{form.cleaned_data['day']:%Y-%m-%d}.{extension}"


@role_required(DESK)
@require_GET
def huddle(request: HttpRequest) -> HttpResponse:
    form = _huddle_form(request)
    if not form.is_valid():
        return _refused(request, form)
    query = request.GET.urlencode()
    context = {
        "form": form,
        "report": _report(request, form),
        "pdf_url": reverse("issues:huddle_pdf") + (f"?{query}" if query else ""),
        "csv_url": reverse("issues:huddle_csv") + (f"?{query}" if query else ""),
    }
    return render(request, "issues/huddle.html", context)


@role_required(DESK)
@require_GET
def huddle_pdf(request: HttpRequest) -> HttpResponse:
    form = _huddle_form(request)
    if not form.is_valid():
        return _refused(request, form)
    # Imported here: it loads its fonts and stylesheets, which no other page needs.
    from weasyprint import HTML

    report = _report(request, form)
    html = render_to_string("issues/huddle_document.html", {"report": report}, request=request)
    pdf = HTML(string=html, url_fetcher=_fetch_nothing).write_pdf()
    _audit_export(request, form, "Daily huddle PDF")
    return HttpResponse(
        pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_file_name(form, "pdf")}"'},
    )


@role_required(DESK)
@require_GET
def huddle_csv(request: HttpRequest) -> HttpResponse:
    """The issues behind the report, without making the report."""
    form = _huddle_form(request)
    if not form.is_valid():
        return _refused(request, form)
    go_live = form.go_live
    data = form.cleaned_data
    issues = huddle_issues(go_live, data["site"], data["day"], timezone.now())
    _audit_export(request, form, "Daily huddle issues CSV")
    return csv_response(issue_rows(issues, tz=go_live.tzinfo), _file_name(form, "csv"))


def _audit_export(request: HttpRequest, form: HuddleForm, what: str) -> None:
    site = form.cleaned_data["site"]
    audit.record(
        action=AuditEntry.Action.EXPORT,
        request=request,
        go_live=form.go_live,
        detail=f"{what}, {form.cleaned_data['day']:%Y-%m-%d}" + (f", {site.name}" if site else ""),
    )


urlpatterns: list[URLPattern] = [
    path("dashboard/", command_center, name="dashboard"),
    path("huddle/", huddle, name="huddle"),
    path("huddle/report.pdf", huddle_pdf, name="huddle_pdf"),
    path("huddle/issues.csv", huddle_csv, name="huddle_csv"),
]
