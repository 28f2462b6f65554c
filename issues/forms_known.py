"""The known-issue forms: what the floor reads, and the reports to link, typed by number."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from golive.models import GoLive, Unit
from issues import known as known_issues
from issues.models import Issue, KnownIssue
from issues.services import IssueRefused


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
