"""Known issues: the board every floor sees, and the desk's pages to publish and edit them.

The board is a floor page (an enrolled tablet or any member): a tablet and floor staff see the
known issues of their unit(s) and those of every unit; everyone else sees them all. Command
center leads and help desk agents publish and edit: the desk meets the repeated reports first, and
the detail page of a report links here to publish from it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse

from golive.models import GoLive, Membership, Role, Unit
from golive.permissions import DESK, role_required
from golive.views.golives import go_live_membership, posted
from issues import known as known_issues
from issues.access import Floor, floor_access, get_issue_for_user
from issues.models import Issue, KnownIssue
from issues.services import IssueRefused

# --- Forms ----------------------------------------------------------------------------------------


class UnitChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Unit) -> str:
        return f"{obj.site.name} · {obj.name}"


class KnownIssueForm(forms.ModelForm):
    """What the floor reads. The reports to link are typed by number: a go-live has thousands."""

    units = UnitChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Affected units",
        help_text="None ticked: every unit sees it.",
        error_messages={"invalid_choice": "Choose units of this go-live."},
    )
    reports = forms.CharField(
        label="Other reports of the same problem",
        max_length=500,
        required=False,
        help_text="Issue numbers, e.g. GL-1043, GL-1050. They become part of this known issue "
        "and are resolved with it.",
    )
    resolution = forms.CharField(
        label="How it was fixed",
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed when the status is fixed: every report is resolved with these words "
        "and its reporter told.",
    )

    class Meta:
        model = KnownIssue
        fields = ["title", "problem", "workaround", "status", "units"]
        widgets = {
            "problem": forms.Textarea(attrs={"rows": 4}),
            "workaround": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "problem": "What the floor sees, in their words.",
            "workaround": "What to do until it is fixed. Reporters are told when you add one.",
        }

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_live = go_live
        self.fields["units"].queryset = (
            Unit.objects.filter(site__go_live=go_live, is_active=True)
            .select_related("site")
            .order_by("site__name", "name")
        )

    def clean_reports(self) -> list[Issue]:
        try:
            return known_issues.issues_by_code(
                go_live=self.go_live, text=self.cleaned_data["reports"]
            )
        except IssueRefused as exc:
            raise ValidationError(str(exc)) from exc

    def details(self) -> dict[str, Any]:
        """The cleaned fields, named as the known-issue services take them."""
        data = self.cleaned_data
        fields = ("title", "problem", "workaround", "status", "units", "resolution")
        return {name: data[name] for name in fields} | {"others": data["reports"]}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            cleaned.get("status") == KnownIssue.Status.FIXED
            and not cleaned.get("resolution", "").strip()
            and not (self.instance.pk and self.instance.status == KnownIssue.Status.FIXED)
        ):
            self.add_error("resolution", "Say how it was fixed: every report is resolved with it.")
        return cleaned


class PublishForm(KnownIssueForm):
    report = forms.CharField(
        label="Published from report",
        max_length=20,
        help_text="The issue number of one report, e.g. GL-1042.",
        error_messages={"required": "Give the number of the report to publish from."},
    )

    field_order = ["report", "title", "problem", "workaround", "status", "resolution", "units"]

    def clean_report(self) -> Issue:
        try:
            issues = known_issues.issues_by_code(
                go_live=self.go_live, text=self.cleaned_data["report"]
            )
        except IssueRefused as exc:
            raise ValidationError(str(exc)) from exc
        if len(issues) != 1:
            raise ValidationError("Give one report here; list the others below.")
        return issues[0]


class EditForm(KnownIssueForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    field_order = ["title", "problem", "workaround", "status", "resolution", "units", "reports"]


# --- Views ----------------------------------------------------------------------------------------


def _board_units(floor: Floor) -> list[int] | None:
    """The units a visitor's board is narrowed to: a tablet's, floor staff's own; else none."""
    if floor.tablet is not None:
        return [floor.tablet.unit_id]
    assert floor.membership is not None
    if floor.membership.role == Role.FLOOR_STAFF:
        return list(floor.units().values_list("pk", flat=True))
    return None


@floor_access
def board(request: HttpRequest) -> HttpResponse:
    floor: Floor = request.floor  # type: ignore[attr-defined]
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
