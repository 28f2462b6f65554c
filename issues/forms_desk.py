"""Forms of the help desk's queue and issue page: validation only, in words an agent acts on."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.forms.utils import pretty_name

from golive.forms import SiteFilterForm
from golive.lib.users import display_name
from golive.lib.widgets import QuickSelect
from golive.models import Application, EscalationTier, GoLive, Site, Unit
from issues.models import Category, Issue, Priority

S = Issue.Status
OPEN_STATUS = "open"
ANY_STATUS = "any"
ME = "me"
NOBODY = "nobody"
# "GL-1042", "gl1042" or "1042": the way people say an issue's number.
CODE_PATTERN = re.compile(r"^\s*(?:GL-?)?(\d{1,9})\s*$", re.IGNORECASE)

# How far back before the cutover the huddle goes (dress rehearsals, preparation).
HUDDLE_DAYS_BEFORE_CUTOVER = 90


def code_number(text: str) -> int | None:
    """The issue number a text names, when the whole text is an issue code."""
    match = CODE_PATTERN.match(text)
    return int(match.group(1)) if match else None


def person_choices(people: Sequence[AbstractBaseUser]) -> list[tuple[str, str]]:
    return [(str(person.pk), display_name(person)) for person in people]


class QueueFilterForm(forms.Form):
    """The queue's GET filters. A wrong value is reported and ignored; the others still apply."""

    q = forms.CharField(
        label="Search",
        max_length=200,
        required=False,
        error_messages={"max_length": "Search for at most 200 characters."},
    )
    status = forms.MultipleChoiceField(
        choices=[
            (OPEN_STATUS, "Any open status"),
            (ANY_STATUS, "Any status"),
            *S.choices,
        ],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "“%(value)s” is not a status; showing open issues."},
    )
    priority = forms.MultipleChoiceField(
        choices=Priority.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "“%(value)s” is not a priority: use P1 to P4."},
    )
    site = forms.TypedChoiceField(
        coerce=int,
        required=False,
        widget=QuickSelect,
        empty_value=None,
        error_messages={"invalid_choice": "That site is not part of this go-live."},
    )
    unit = forms.TypedChoiceField(
        coerce=int,
        required=False,
        widget=QuickSelect,
        empty_value=None,
        error_messages={"invalid_choice": "That unit is not part of this go-live."},
    )
    category = forms.TypedChoiceField(
        coerce=int,
        required=False,
        widget=QuickSelect,
        empty_value=None,
        error_messages={"invalid_choice": "That category is not one of this go-live's."},
    )
    application = forms.TypedChoiceField(
        coerce=int,
        required=False,
        widget=QuickSelect,
        empty_value=None,
        error_messages={"invalid_choice": "That application is not one of this go-live's."},
    )
    assignee = forms.ChoiceField(
        required=False,
        widget=QuickSelect,
        error_messages={
            "invalid_choice": "That assignee does not work on this go-live's issues; "
            "choose a person, “me” or “nobody”."
        },
    )
    tier = forms.TypedChoiceField(
        coerce=int,
        required=False,
        widget=QuickSelect,
        empty_value=None,
        error_messages={"invalid_choice": "That tier is not one of this go-live's."},
    )
    overdue = forms.BooleanField(label="Overdue only", required=False)
    patient_safety = forms.BooleanField(label="Patient safety only", required=False)

    def __init__(
        self,
        data: Any,
        *,
        units: Sequence[Unit],
        categories: Sequence[Category],
        applications: Sequence[Application],
        tiers: Sequence[EscalationTier],
        people: Sequence[AbstractBaseUser],
    ) -> None:
        super().__init__(data, auto_id="id_filter_%s")
        sites: dict[int, Site] = {unit.site_id: unit.site for unit in units}
        self.fields["site"].choices = [
            ("", "All sites"),
            *((pk, site.name) for pk, site in sorted(sites.items(), key=lambda s: s[1].name)),
        ]
        self.fields["unit"].choices = [
            ("", "All units"),
            *((unit.pk, f"{unit.name} ({unit.site.name})") for unit in units),
        ]
        self.fields["category"].choices = [
            ("", "All categories"),
            *((category.pk, category.name) for category in categories),
        ]
        self.fields["application"].choices = [
            ("", "All applications"),
            *((application.pk, application.name) for application in applications),
        ]
        self.fields["assignee"].choices = [
            ("", "Anyone or nobody"),
            (ME, "Me"),
            (NOBODY, "Nobody (unassigned)"),
            *person_choices(people),
        ]
        self.fields["tier"].choices = [("", "All tiers"), *((t.pk, str(t)) for t in tiers)]

    def valid_data(self) -> dict[str, Any]:
        """The values that passed; a wrong field is left out (cleaned_data keeps the others)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data

    def problems(self) -> list[str]:
        """One message per wrong field, naming the field."""
        if not self.is_bound:
            return []
        return [
            f"{self.fields[name].label or pretty_name(name)}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        ]


class SaveViewForm(forms.Form):
    name = forms.CharField(
        max_length=60,
        error_messages={
            "required": "Give the view a name.",
            "max_length": "A view's name has at most 60 characters.",
        },
    )


class IssueForm(forms.Form):
    """A change to one issue, refused as stale when the issue changed after the form was shown."""

    expected_version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": "This form is out of date: reload the page and repeat your change.",
            "invalid": "This form is out of date: reload the page and repeat your change.",
            "min_value": "This form is out of date: reload the page and repeat your change.",
        },
    )

    def __init__(self, data: Any = None, *, issue: Issue, key: str, **kwargs: Any) -> None:
        super().__init__(data, auto_id=f"id_{key}_%s", **kwargs)
        self.issue = issue
        self.key = key


class ClaimForm(IssueForm):
    """Claiming needs no version: the claim itself is settled by the database."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AssignForm(IssueForm):
    assignee = forms.ChoiceField(
        label="Assign to",
        error_messages={
            "required": "Choose a person, or nobody to put it back in the queue.",
            "invalid_choice": "That person does not work on this go-live's issues.",
        },
    )

    def __init__(
        self, data: Any = None, *, people: Sequence[AbstractBaseUser], **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        self.people = {str(person.pk): person for person in people}
        self.fields["assignee"].choices = [
            (NOBODY, "Nobody (back to the queue)"),
            *person_choices(people),
        ]
        if self.issue.assignee_id is not None:
            self.fields["assignee"].initial = str(self.issue.assignee_id)

    def assignee_user(self) -> AbstractBaseUser | None:
        return self.people.get(self.cleaned_data["assignee"])


class PriorityForm(IssueForm):
    priority = forms.ChoiceField(
        choices=Priority.choices,
        error_messages={
            "required": "Choose a priority from P1 to P4.",
            "invalid_choice": "Choose a priority from P1 to P4.",
        },
    )
    note = forms.CharField(
        label="Why",
        max_length=200,
        required=False,
        error_messages={"max_length": "Keep the note to 200 characters."},
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["priority"].initial = self.issue.priority


class CommentForm(IssueForm):
    INTERNAL = "internal"
    REPLY = "reply"

    body = forms.CharField(
        label="Comment",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Write the comment before sending it.",
            "max_length": "A comment has at most 4,000 characters.",
        },
    )
    visibility = forms.ChoiceField(
        label="Who sees it",
        choices=[
            (INTERNAL, "Internal note (support team only)"),
            (REPLY, "Reply to the reporter (they are told)"),
        ],
        initial=INTERNAL,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose an internal note or a reply to the reporter.",
            "invalid_choice": "Choose an internal note or a reply to the reporter.",
        },
    )

    @property
    def internal(self) -> bool:
        return self.cleaned_data["visibility"] == self.INTERNAL


class StatusForm(IssueForm):
    to = forms.ChoiceField(
        label="New status",
        choices=S.choices,
        error_messages={
            "required": "Choose the new status.",
            "invalid_choice": "Choose a status from the list.",
        },
    )
    resolution = forms.CharField(
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The reporter is told this.",
        error_messages={"max_length": "A resolution has at most 4,000 characters."},
    )
    note = forms.CharField(
        max_length=1000,
        required=False,
        error_messages={"max_length": "Keep the note to 1,000 characters."},
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        if self.key == "waiting":
            self.fields["note"].label = "What you are waiting for"
            self.fields["note"].help_text = "When it is the reporter, they are told this."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("to") == S.RESOLVED and not cleaned.get("resolution", "").strip():
            self.add_error("resolution", f"Say how {self.issue.code} was resolved.")
        return cleaned


class LinkForm(IssueForm):
    parent = forms.CharField(
        label="Parent issue",
        max_length=20,
        help_text="Its number, e.g. GL-1042.",
        error_messages={"required": "Give the parent issue's number, e.g. GL-1042."},
    )
    kind = forms.ChoiceField(
        label="Link as",
        choices=Issue.Link.choices,
        initial=Issue.Link.DUPLICATE,
        error_messages={
            "required": "Choose duplicate of or part of.",
            "invalid_choice": "Choose duplicate of or part of.",
        },
    )

    def clean_parent(self) -> Issue:
        return parent_issue(self.cleaned_data["parent"], go_live_id=self.issue.go_live_id)


def parent_issue(text: str, *, go_live_id: int) -> Issue:
    """The issue of the go-live a code names, or a message saying what is wrong with it."""
    number = code_number(text)
    if number is None:
        raise forms.ValidationError(f"“{text}” is not an issue number: write it like GL-1042.")
    parent = Issue.objects.filter(go_live_id=go_live_id, number=number).first()
    if parent is None:
        raise forms.ValidationError(f"There is no GL-{number} in this go-live.")
    return parent


class UnlinkForm(IssueForm):
    pass


class TierForm(IssueForm):
    tier = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose a tier of this go-live."},
    )

    def __init__(self, data: Any = None, *, tiers: Sequence[EscalationTier], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.tiers = {tier.pk: tier for tier in tiers}
        self.fields["tier"].choices = [
            ("", "No tier (first line)"),
            *((tier.pk, str(tier)) for tier in tiers),
        ]
        self.fields["tier"].initial = self.issue.tier_id

    def tier_object(self) -> EscalationTier | None:
        tier_id = self.cleaned_data["tier"]
        return self.tiers[tier_id] if tier_id is not None else None


class ExternalRefForm(IssueForm):
    external_ref = forms.CharField(
        label="External ticket",
        max_length=64,
        required=False,
        help_text="The vendor's or the hospital's own ticket number. Empty clears it.",
        error_messages={"max_length": "An external ticket reference has at most 64 characters."},
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["external_ref"].initial = self.issue.external_ref


class SelectionField(forms.Field):
    """The rows ticked on the queue, each as "pk:version" so a stale row is refused."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one issue first.",
        "invalid": "The selection is out of date: reload the queue and select again.",
    }

    def to_python(self, value: Any) -> list[tuple[int, int]]:
        if not value:
            return []
        selected: list[tuple[int, int]] = []
        for item in value:
            pk, _, version = str(item).partition(":")
            if not (pk.isdigit() and version.isdigit()):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            selected.append((int(pk), int(version)))
        return selected

    def validate(self, value: list[tuple[int, int]]) -> None:
        if not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class BulkForm(forms.Form):
    CLAIM = "claim"
    ASSIGN = "assign"
    PRIORITY = "priority"
    WAITING_REPORTER = S.WAITING_REPORTER.value
    WAITING_VENDOR = S.WAITING_VENDOR.value
    RESOLVE = "resolve"
    DUPLICATE = "duplicate"
    MOST = 50

    issue = SelectionField()
    action = forms.ChoiceField(
        label="Action",
        choices=[
            (CLAIM, "Claim (take them myself)"),
            (ASSIGN, "Assign to…"),
            (PRIORITY, "Set priority…"),
            (WAITING_REPORTER, "Waiting on the reporter"),
            (WAITING_VENDOR, "Waiting on the vendor"),
            (RESOLVE, "Resolve with…"),
            (DUPLICATE, "Duplicates of…"),
        ],
        error_messages={
            "required": "Choose what to do with the selected issues.",
            "invalid_choice": "Choose an action from the list.",
        },
    )
    assignee = forms.ChoiceField(
        label="Assign to",
        required=False,
        widget=QuickSelect,
        error_messages={"invalid_choice": "That person does not work on this go-live's issues."},
    )
    priority = forms.ChoiceField(
        label="Priority", choices=[("", "—"), *Priority.choices], required=False
    )
    resolution = forms.CharField(
        label="Resolution",
        max_length=4000,
        required=False,
        error_messages={"max_length": "A resolution has at most 4,000 characters."},
    )
    parent = forms.CharField(label="Duplicates of", max_length=20, required=False)
    note = forms.CharField(
        label="Note",
        max_length=200,
        required=False,
        error_messages={"max_length": "Keep the note to 200 characters."},
    )

    def __init__(self, data: Any, *, go_live_id: int, people: Sequence[AbstractBaseUser]) -> None:
        super().__init__(data, auto_id="id_bulk_%s")
        self.go_live_id = go_live_id
        self.people = {str(person.pk): person for person in people}
        self.fields["assignee"].choices = [
            ("", "—"),
            (NOBODY, "Nobody (back to the queue)"),
            *person_choices(people),
        ]

    def clean_issue(self) -> list[tuple[int, int]]:
        selected: list[tuple[int, int]] = self.cleaned_data["issue"]
        if len(selected) > self.MOST:
            raise forms.ValidationError(f"Select at most {self.MOST} issues at a time.")
        return selected

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        action = cleaned.get("action")
        # A field already refused keeps its own message.
        if action == self.ASSIGN and not cleaned.get("assignee") and "assignee" not in self.errors:
            self.add_error("assignee", "Choose whom to assign the selected issues to.")
        if (
            action == self.PRIORITY
            and not cleaned.get("priority")
            and "priority" not in self.errors
        ):
            self.add_error("priority", "Choose the priority for the selected issues.")
        if action == self.RESOLVE and not cleaned.get("resolution", "").strip():
            self.add_error("resolution", "Say how the selected issues were resolved.")
        if action == self.DUPLICATE:
            text = cleaned.get("parent", "").strip()
            if not text:
                self.add_error(
                    "parent", "Give the number of the issue they duplicate, e.g. GL-1042."
                )
            else:
                try:
                    cleaned["parent_issue"] = parent_issue(text, go_live_id=self.go_live_id)
                except forms.ValidationError as exc:
                    self.add_error("parent", exc)
        return cleaned

    def assignee_user(self) -> AbstractBaseUser | None:
        return self.people.get(self.cleaned_data["assignee"])

    def problems(self) -> list[str]:
        return [error for errors in self.errors.values() for error in errors]


class HuddleForm(SiteFilterForm):
    """The report's day (today unless chosen, at most `HUDDLE_DAYS_BEFORE_CUTOVER` before the
    cutover: rehearsals and go-live preparation) and site."""

    day = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Give the day as a date, e.g. 2026-11-03."},
    )

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, go_live=go_live, **kwargs)
        self.go_live = go_live
        self.today = go_live.local_now().date()
        cutover = go_live.cutover_at.astimezone(go_live.tzinfo).date()
        self.earliest = cutover - dt.timedelta(days=HUDDLE_DAYS_BEFORE_CUTOVER)

    def clean_day(self) -> dt.date:
        day = self.cleaned_data.get("day") or self.today
        if day > self.today:
            raise forms.ValidationError("Choose today or a day before: the huddle looks back.")
        if day < self.earliest:
            raise forms.ValidationError(
                f"Choose a day from {self.earliest:%-d %B %Y} on "
                f"({HUDDLE_DAYS_BEFORE_CUTOVER} days before the cutover)."
            )
        return day
