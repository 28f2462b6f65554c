"""Known issues: the board every floor sees, and the desk's pages to publish and edit them.

The board is a floor page (an enrolled tablet or any member): a tablet and floor staff see the
known issues of their unit(s) and those of every unit; everyone else sees them all. Command
center leads and help desk agents publish and edit: the desk meets the repeated reports first, and
the detail page of a report links here to publish from it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse

from golive.models import Membership, Role
from golive.permissions import DESK, role_required
from golive.views.golives import go_live_membership, posted
from issues import known as known_issues
from issues.access import Floor, floor_access, floor_of, get_issue_for_user
from issues.forms_known import EditForm, KnownIssueForm, PublishForm
from issues.models import KnownIssue
from issues.offline import offline_copy
from issues.services import IssueRefused


def _board_units(floor: Floor) -> list[int] | None:
    """The units a visitor's board is narrowed to: a tablet's, floor staff's own; else none."""
    if floor.tablet is not None:
        return [floor.tablet.unit_id]
    assert floor.membership is not None
    if floor.membership.role == Role.FLOOR_STAFF:
        return list(floor.units().values_list("pk", flat=True))
    return None


@floor_access
@offline_copy
def board(request: HttpRequest) -> HttpResponse:
    floor = floor_of(request)
    context = {
        "go_live": floor.go_live,
        "known_issues": list(
            known_issues.board(go_live=floor.go_live, unit_ids=_board_units(floor))
        ),
        "can_publish": floor.membership is not None and floor.membership.role in DESK,
        "on_tablet": floor.tablet is not None,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "issues/known_cards.html", context)
    return render(request, "issues/known_board.html", context)


def _form_page(
    request: HttpRequest, form: KnownIssueForm, *, title: str, known: KnownIssue | None = None
) -> HttpResponse:
    context = {"form": form, "title": title, "known": known}
    return render(request, "issues/known_form.html", context)


def _done(request: HttpRequest, known: KnownIssue, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(f"{reverse('issues:known')}#known-{known.pk}")


@role_required(DESK)
def publish(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    initial: dict[str, object] = {}
    if "issue" in request.GET:
        try:
            pk = int(request.GET["issue"])
        except ValueError as exc:
            raise Http404("No such issue.") from exc
        anchor = get_issue_for_user(request, pk)
        initial = {
            "report": anchor.code,
            "title": anchor.title,
            "problem": anchor.description or anchor.title,
        }
    form = PublishForm(posted(request), initial=initial, go_live=membership.go_live)
    if form.is_valid():
        try:
            known = known_issues.publish_known_issue(
                go_live=membership.go_live,
                anchor=form.cleaned_data["report"],
                actor=request.user,
                **form.details(),
            )
        except IssueRefused as exc:
            form.add_error(None, str(exc))
        else:
            return _done(request, known, f"“{known.title}” is on the known-issues board.")
    return _form_page(request, form, title="Publish a known issue")


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    known = get_object_or_404(KnownIssue.objects.select_related("issue"), pk=pk)
    membership = go_live_membership(request, known.go_live_id, DESK)
    form = EditForm(
        posted(request),
        instance=known,
        initial={"version": known.version},
        go_live=membership.go_live,
    )
    if form.is_valid():
        try:
            known = known_issues.update_known_issue(
                known=known,
                expected_version=form.cleaned_data["version"],
                actor=request.user,
                **form.details(),
            )
        except IssueRefused as exc:
            form.add_error(None, str(exc))
        else:
            return _done(request, known, f"“{known.title}” is saved.")
    return _form_page(request, form, title="Edit known issue", known=known)


urlpatterns: list[URLPattern] = [
    path("known/", board, name="known"),
    path("known/publish/", publish, name="known_publish"),
    path("known/<int:pk>/edit/", edit, name="known_edit"),
]
