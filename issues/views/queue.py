"""The help desk's triage queue: the page, its live rows, saved views and bulk actions.

Help desk agents and command center leads see every issue of the go-live; support staff the
issues assigned to them and their units'; clinic managers their units' (read and comment only).
Floor staff use the floor pages instead. The page asks for its rows again every few seconds
(htmx), so new issues appear without a reload, with a count of those logged since it opened.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from golive import audit
from golive.lib.csvfile import csv_response
from golive.models import AuditEntry, Membership
from golive.permissions import DESK, role_required
from golive.views.golives import posted_next
from issues.access import VIEWERS, WORKERS, visible_issues
from issues.export import issue_rows
from issues.forms_desk import BulkForm, QueueFilterForm, SaveViewForm, code_number
from issues.models import Issue, SavedView
from issues.queue import (
    PER_PAGE,
    POLL_SECONDS,
    ROW_RELATED,
    QueueFilters,
    ViewRefused,
    bulk_change,
    delete_view,
    filter_issues,
    filter_query,
    queue_choices,
    queue_rows,
    read_filters,
    run_bulk,
    save_view,
    support_people,
    view_links,
)


def row_context(
    membership: Membership, issue: Issue, *, back_url: str, message: str = "", error: str = ""
) -> dict[str, Any]:
    """What the queue row partial needs to draw one issue again after a change."""
    (row,) = queue_rows(
        [issue], now=timezone.now(), since=None, may_claim=membership.role in WORKERS
    )
    return {
        "row": row,
        "back_url": back_url,
        "can_bulk": membership.role in DESK,
        "row_message": message,
        "row_error": error,
    }


def _url(name: str, *queries: str) -> str:
    query = "&".join(part for part in queries if part)
    return reverse(name) + (f"?{query}" if query else "")


def _since(value: str | None) -> dt.datetime | None:
    """The page's opening time, as the poll sends it back; None if it is not a time."""
    if not value:
        return None
    try:
        since = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return since if timezone.is_aware(since) else None


def _live(
    request: HttpRequest,
    membership: Membership,
    form: QueueFilterForm,
    *,
    since: dt.datetime | None,
    count_new: bool,
) -> dict[str, Any]:
    """The part of the queue that refreshes itself: filters applied, one page of rows."""
    filters = read_filters(form)
    query = filter_query(form)
    now = timezone.now()
    issues = filter_issues(visible_issues(membership), filters, user_id=request.user.pk, now=now)
    page = Paginator(issues.select_related(*ROW_RELATED), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return {
        "form": form,
        "filters": filters,
        "query": query,
        "page": page,
        "page_query": f"{query}&" if query else "",
        "rows": queue_rows(
            page.object_list, now=now, since=since, may_claim=membership.role in WORKERS
        ),
        "new_count": issues.filter(created_at__gt=since).count() if count_new and since else 0,
        "back_url": _url("issues:queue", query, f"page={page.number}" if page.number > 1 else ""),
        "poll_url": _url(
            "issues:queue_poll",
            query,
            urlencode({"page": page.number, "since": (since or now).isoformat()}),
        ),
        "can_bulk": membership.role in DESK,
        "poll_seconds": POLL_SECONDS,
    }


@role_required(VIEWERS)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    choices = queue_choices(membership.go_live)
    form = choices.filter_form(request.GET)
    q = read_filters(form).q
    # Searching for an issue's code goes straight to that issue.
    number = code_number(q) if q else None
    if number is not None:
        found = visible_issues(membership).filter(number=number).values_list("pk", flat=True)
        if found:
            return redirect("issues:detail", found[0])
    context = _live(request, membership, form, since=timezone.now(), count_new=False)
    builtins, own = view_links(
        applications=choices.applications,
        saved=SavedView.objects.filter(go_live_id=membership.go_live_id, user=request.user),
        current=context["query"],
    )
    context.update(
        {
            "problems": context["form"].problems(),
            "builtin_views": builtins,
            "own_views": own,
            "bulk_form": BulkForm(None, go_live_id=membership.go_live_id, people=choices.people)
            if context["can_bulk"]
            else None,
            # The filter panel stays open while any filter besides the search is on.
            "filters_open": context["filters"] != QueueFilters(q=context["filters"].q),
        }
    )
    return render(request, "issues/queue.html", context)


@role_required(VIEWERS)
@require_GET
def queue_export(request: HttpRequest) -> HttpResponse:
    """The issues the queue's filters show (every page of them) as a CSV download, streamed."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    form = queue_choices(go_live).filter_form(request.GET)
    issues = filter_issues(
        visible_issues(membership), read_filters(form), user_id=request.user.pk, now=timezone.now()
    )
    filename = f"issues-{go_live.file_stem}-{go_live.local_now():%Y-%m-%d-%H%M}.csv"
    audit.record(
        action=AuditEntry.Action.EXPORT,
        request=request,
        go_live=go_live,
        detail=f"Issues CSV {filter_query(form)}".strip(),
    )
    return csv_response(issue_rows(issues, tz=go_live.tzinfo), filename)


@role_required(VIEWERS)
@require_GET
def queue_poll(request: HttpRequest) -> HttpResponse:
    """The rows again, for the same filters and page, and how many are new since the page opened."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form = queue_choices(membership.go_live).filter_form(request.GET)
    since = _since(request.GET.get("since"))
    context = _live(request, membership, form, since=since, count_new=True)
    return render(request, "issues/queue_poll.html", context)


@role_required(VIEWERS)
@require_POST
def view_save(request: HttpRequest) -> HttpResponse:
    """Name the current filters, to open them again with one click."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    form = SaveViewForm(request.POST)
    # Saved in the queue's own spelling, without any value the filters would ignore.
    filters = queue_choices(membership.go_live).filter_form(
        QueryDict(request.POST.get("query", ""))
    )
    query = filter_query(filters)
    queue_url = _url("issues:queue", query)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(queue_url)
    try:
        view = save_view(
            go_live=membership.go_live,
            user=request.user,
            name=form.cleaned_data["name"],
            query=query,
        )
    except ViewRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(queue_url)


@role_required(VIEWERS)
@require_POST
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    view = get_object_or_404(SavedView, pk=pk, user=request.user, go_live_id=membership.go_live_id)
    delete_view(view=view)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect("issues:queue")


@role_required(DESK)
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on the ticked rows; each issue is changed, or refused, on its own."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    back = posted_next(request, reverse("issues:queue"))
    form = BulkForm(
        request.POST,
        go_live_id=membership.go_live_id,
        people=support_people(membership.go_live_id),
    )
    if not form.is_valid():
        for problem in form.problems():
            messages.error(request, problem)
        return redirect(back)
    versions = dict(form.cleaned_data["issue"])
    issues = list(
        visible_issues(membership).filter(pk__in=versions).select_related("go_live", "category")
    )
    outcome = run_bulk(
        issues=issues,
        versions=versions,
        change=bulk_change(form, actor=request.user),
        missing=len(versions) - len(issues),
    )
    if outcome.done:
        messages.success(request, f"Done: {', '.join(outcome.done)}.")
    for line in outcome.refused:
        messages.warning(request, line)
    return redirect(back)


urlpatterns: list[URLPattern] = [
    path("queue/", queue, name="queue"),
    path("queue/rows/", queue_poll, name="queue_poll"),
    path("queue/export.csv", queue_export, name="queue_export"),
    path("queue/bulk/", bulk, name="queue_bulk"),
    path("queue/views/", view_save, name="queue_view_save"),
    path("queue/views/<int:pk>/delete/", view_delete, name="queue_view_delete"),
]
