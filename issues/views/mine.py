"""The reporter's side of an issue: "My issues" for signed-in members, and the floor's view of one
issue (status, public timeline, resolution, reopen within 72 hours) for members and unit tablets.

The floor view never shows internal notes: it reads only the events marked public.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from golive.models import Membership
from golive.permissions import ALL_ROLES, role_required
from issues.access import floor_access, floor_of, get_issue_for_floor, visible_issues
from issues.forms_intake import ReopenForm
from issues.models import Issue, IssueReporter
from issues.offline import offline_copy
from issues.services import REOPEN_WINDOW, IssueRefused, reopen_as_reporter

PAGE_SIZE = 50


@role_required(ALL_ROLES)
@offline_copy
def mine(request: HttpRequest) -> HttpResponse:
    """The issues the member reported or joined ("my problem too"), newest first."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    user_id = request.user.pk
    joined = IssueReporter.objects.filter(issue=OuterRef("pk"), user_id=user_id)
    issues = (
        visible_issues(membership)
        .filter(Q(reporter_user_id=user_id) | Exists(joined))
        .annotate(
            reported=ExpressionWrapper(Q(reporter_user_id=user_id), output_field=BooleanField())
        )
        .select_related("unit__site", "category")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(issues, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "issues/mine.html", {"page": page, "go_live": membership.go_live})


def can_reopen(issue: Issue) -> bool:
    """Resolved or closed less than 72 hours ago (the service decides again on POST)."""
    return (
        not issue.is_open
        and issue.resolved_at is not None
        and timezone.now() - issue.resolved_at <= REOPEN_WINDOW
    )


@floor_access
def floor_issue(request: HttpRequest, pk: int) -> HttpResponse:
    issue = get_issue_for_floor(request, pk)
    return _floor_issue_page(request, issue, ReopenForm())


def _floor_issue_page(
    request: HttpRequest, issue: Issue, form: ReopenForm, *, status: int = 200
) -> HttpResponse:
    floor = floor_of(request)
    context = {
        "issue": issue,
        "floor": floor,
        "events": issue.events.filter(internal=False).select_related("actor"),
        "photos": issue.photos.all(),
        "reopen_form": form if can_reopen(issue) else None,
    }
    return render(request, "issues/floor_issue.html", context, status=status)


@floor_access
@require_POST
def floor_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    floor = floor_of(request)
    issue = get_issue_for_floor(request, pk)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _floor_issue_page(request, issue, form, status=400)
    try:
        reopen_as_reporter(
            issue=issue, actor=floor.user, reason=form.cleaned_data["reason"], tablet=floor.tablet
        )
    except IssueRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{issue.code} is open again: the help desk sees it in its queue."
        )
    return redirect("issues:floor_issue", pk=issue.pk)


urlpatterns: list[URLPattern] = [
    path("mine/", mine, name="mine"),
    path("floor/<int:pk>/", floor_issue, name="floor_issue"),
    path("floor/<int:pk>/reopen/", floor_reopen, name="floor_reopen"),
]
