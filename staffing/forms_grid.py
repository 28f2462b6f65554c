"""Forms of the coverage grid and the shift panel: validation only, in words a manager acts on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet

from golive.models import Application, Unit
from staffing.grid import (
    DEFAULT_DAYS,
    MAX_DAYS,
    GridFilters,
    ShiftRefused,
    check_places,
    check_times,
)
from staffing.models import Assignment, SupportRole

LOCAL_DATETIME = "%Y-%m-%dT%H:%M"


class GridFilterForm(forms.Form):
    site = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    unit = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    role = forms.ChoiceField(choices=[("", "All roles"), *SupportRole.choices], required=False)
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        required=False,
        error_messages={
            "min_value": "Show at least one day.",
            "max_value": f"Show at most {MAX_DAYS} days at a time.",
        },
    )

    def __init__(self, data: Any, *, units: list[Unit], today: dt.date) -> None:
        super().__init__(data, initial={"start": today, "days": DEFAULT_DAYS})
        self.today = today
        sites = {unit.site_id: unit.site.name for unit in units}
        self.fields["site"].choices = [("", "All sites"), *sites.items()]
        self.fields["unit"].choices = [
            ("", "All units"),
            *((unit.pk, f"{unit.name} ({unit.site.name})") for unit in units),
        ]
        self.unit_sites = {unit.pk: unit.site_id for unit in units}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        site, unit = cleaned.get("site"), cleaned.get("unit")
        if site is not None and unit is not None and self.unit_sites.get(unit) != site:
            self.add_error("unit", "This unit is at another site: choose one of the site's units.")
        return cleaned

    def filters(self) -> GridFilters:
        """The filters to show: the valid choices, the defaults for anything missing or wrong."""
        values: dict[str, Any] = {}
        if self.is_bound:
            # cleaned_data keeps the valid fields even when another one is wrong.
            self.is_valid()
            values = self.cleaned_data
        return GridFilters(
            start=values.get("start") or self.today,
            days=values.get("days") or DEFAULT_DAYS,
            site_id=values.get("site"),
            unit_id=values.get("unit"),
            role=values.get("role") or "",
        )


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input read in the current time zone (the shift's go-live's)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_DATETIME)


class ShiftTimesForm(forms.Form):
    label = forms.CharField(
        max_length=40, required=False, help_text="The block's name on the grid, e.g. Day or Night."
    )
    start = LocalDateTimeField(help_text="Local time at the go-live.")
    end = LocalDateTimeField(help_text="Local time; a night shift ends the next morning.")
    needed = forms.IntegerField(
        label="Places",
        max_value=99,
        error_messages={"max_value": "A shift has at most 99 places."},
    )

    # People already on the shift: places may not drop below them.
    active_count = 0

    def clean_needed(self) -> int:
        needed: int = self.cleaned_data["needed"]
        try:
            check_places(needed, self.active_count)
        except ShiftRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return needed

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            try:
                check_times(start, end)
            except ShiftRefused as exc:
                self.add_error("end", str(exc))
        return cleaned


class ShiftCreateForm(ShiftTimesForm):
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), empty_label="Choose a unit")
    role = forms.ChoiceField(choices=[("", "Choose a role"), *SupportRole.choices])
    application = forms.ModelChoiceField(
        queryset=Application.objects.none(),
        required=False,
        empty_label="Any",
        help_text="The application people on this shift must know, if one.",
    )
    allow_claim = forms.BooleanField(label="Support staff may claim open places", required=False)

    field_order = ["unit", "role", "label", "start", "end", "needed", "application", "allow_claim"]

    def __init__(
        self, data: Any, *, units: QuerySet[Unit], applications: QuerySet[Application]
    ) -> None:
        super().__init__(data)
        self.fields["unit"].queryset = units.select_related("site").order_by("site__name", "name")
        self.fields["unit"].label_from_instance = lambda unit: f"{unit.name} ({unit.site.name})"
        self.fields["application"].queryset = applications


class ShiftEditForm(ShiftTimesForm):
    def __init__(self, data: Any, *, active_count: int, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.active_count = active_count


class AssignForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    override_reason = forms.CharField(
        label="Reason to go ahead",
        max_length=240,
        required=False,
        help_text="Recorded on the shift's timeline.",
    )


class OverrideForm(AssignForm):
    override_reason = forms.CharField(
        label="Reason to go ahead",
        max_length=240,
        help_text="Recorded on the shift's timeline.",
        error_messages={"required": "Give a reason to go ahead despite the warnings."},
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=240,
        help_text="The person is told, and it is kept on the timeline.",
        error_messages={"required": "Say why the person comes off this shift."},
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Assignment.Status.CONFIRMED, "Confirmed"),
            (Assignment.Status.NO_SHOW, "No-show"),
        ]
    )


class SearchForm(forms.Form):
    q = forms.CharField(label="Find a person", max_length=80, required=False)
