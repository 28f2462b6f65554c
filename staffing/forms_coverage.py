"""Forms of coverage planning: requirements, the ratio helper, generation, auto-fill, settings.

Validation only, in plain language. Dates are local dates of the go-live and must lie inside its
support window; times are local wall-clock times (an end at or before the start is the next day).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from golive.models import Application, GoLive, Unit
from staffing.coverage import (
    CUSTOM_PATTERN,
    PATTERNS,
    Block,
    Mix,
    Phase,
    support_window,
)
from staffing.models import CoverageRequirement, StaffingSettings, SupportRole

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE_ERRORS = {"invalid": "Enter a date such as 2026-11-04."}
TIME_ERRORS = {"invalid": "Enter a time such as 07:00."}
MAX_HEADCOUNT = 200
MAX_REMINDER_LEADS = 5
MAX_REMINDER_MINUTES = 7 * 24 * 60


def long_date(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def date_field(label: str, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE_INPUT, error_messages=DATE_ERRORS, **kwargs)


def default_dates(go_live: GoLive, days: int | None = None) -> tuple[dt.date, dt.date]:
    """From today (or the window's first day, if later) to the window's end, or `days` days."""
    first, last = support_window(go_live)
    start = min(max(go_live.local_now().date(), first), last)
    end = last if days is None else min(start + dt.timedelta(days=days - 1), last)
    return start, end


def check_window(form: forms.BaseForm, go_live: GoLive) -> None:
    """Field messages for a start_date / end_date outside the support window or out of order."""
    first, last = support_window(go_live)
    start_date = form.cleaned_data.get("start_date")
    end_date = form.cleaned_data.get("end_date")
    opens = f"The support window runs from {long_date(first)} to {long_date(last)}"
    if start_date is not None and not first <= start_date <= last:
        form.add_error("start_date", f"{opens}; choose a first day inside it.")
    if end_date is not None and not first <= end_date <= last:
        form.add_error("end_date", f"{opens}; choose a last day inside it.")
    if start_date is not None and end_date is not None and end_date < start_date:
        form.add_error("end_date", "The last day must not be before the first day.")


def unit_choices(units: QuerySet[Unit]) -> QuerySet[Unit]:
    """Units for a drop-down: active ones, with their site (the label names it)."""
    return units.filter(is_active=True).select_related("site").order_by("site__name", "name")


def check_same_block(
    form: forms.BaseForm,
    *,
    unit: Unit,
    role: str,
    blocks: list[Block],
    application: Application | None,
    exclude: int | None = None,
) -> None:
    """A second requirement for the same block would double its shifts: point to the first."""
    start_date = form.cleaned_data.get("start_date")
    end_date = form.cleaned_data.get("end_date")
    if start_date is None or end_date is None:
        return
    same = CoverageRequirement.objects.filter(
        unit=unit,
        role=role,
        application=application,
        start_date__lte=end_date,
        end_date__gte=start_date,
    ).exclude(pk=exclude)
    times = Q()
    for block in blocks:
        times |= Q(start_time=block.start, end_time=block.end)
    clash = same.filter(times).order_by("start_date").first()
    if clash is not None:
        form.add_error(
            "start_date",
            f"{unit.name} already has a {clash.get_role_display().lower()} block "
            f"{clash.start_time:%H:%M}–{clash.end_time:%H:%M} ({clash.label}, "
            f"{long_date(clash.start_date)} to {long_date(clash.end_date)}) on some of these "
            "days. Change that requirement instead, or choose other days.",
        )


def check_block_times(form: forms.BaseForm) -> None:
    start, end = form.cleaned_data.get("start_time"), form.cleaned_data.get("end_time")
    if start is not None and start == end:
        form.add_error(
            "end_time",
            "Start and end are the same time. For round-the-clock cover use two blocks, "
            "e.g. the Day + Night pattern.",
        )


def headcount_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="People per block",
        min_value=1,
        max_value=MAX_HEADCOUNT,
        initial=1,
        error_messages={
            "min_value": "At least one person: a requirement for nobody needs no shift.",
            "max_value": f"At most {MAX_HEADCOUNT} people per block.",
        },
    )


class RequirementCreateForm(forms.Form):
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(), error_messages={"invalid_choice": "Choose a unit you plan."}
    )
    role = forms.ChoiceField(choices=SupportRole.choices, initial=SupportRole.SUPER_USER)
    pattern = forms.ChoiceField(
        label="Daily pattern",
        choices=[(key, label) for key, (label, _) in PATTERNS.items()]
        + [(CUSTOM_PATTERN, "Custom: one block with the name and times below")],
        initial="day_night",
        widget=forms.RadioSelect,
    )
    label = forms.CharField(
        label="Block name",
        max_length=40,
        required=False,
        help_text="Custom pattern only, e.g. Evening.",
    )
    start_time = forms.TimeField(
        label="Block starts",
        required=False,
        widget=TIME_INPUT,
        error_messages=TIME_ERRORS,
        help_text="Custom pattern only. Local time at the go-live.",
    )
    end_time = forms.TimeField(
        label="Block ends",
        required=False,
        widget=TIME_INPUT,
        error_messages=TIME_ERRORS,
        help_text="Custom pattern only. At or before the start means the next morning.",
    )
    start_date = date_field("First day")
    end_date = date_field("Last day")
    headcount = headcount_field()
    application = forms.ModelChoiceField(
        queryset=Application.objects.none(),
        required=False,
        empty_label="Any application",
        help_text="The application people on this block must know, if one.",
    )
    allow_claim = forms.BooleanField(label="Support staff may claim open places", required=False)

    def __init__(self, *args: Any, go_live: GoLive, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_live = go_live
        self.fields["unit"].queryset = unit_choices(units)
        self.fields["application"].queryset = go_live.applications.all()
        if not self.is_bound:
            self.initial["start_date"], self.initial["end_date"] = default_dates(go_live)

    def blocks(self) -> list[Block]:
        pattern = self.cleaned_data.get("pattern")
        if pattern in PATTERNS:
            return list(PATTERNS[pattern][1])
        start, end = self.cleaned_data.get("start_time"), self.cleaned_data.get("end_time")
        if start is None or end is None:
            return []
        return [Block(self.cleaned_data.get("label", "").strip(), start, end)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_window(self, self.go_live)
        if cleaned.get("pattern") == CUSTOM_PATTERN:
            if not cleaned.get("label", "").strip():
                self.add_error("label", "Name the block, e.g. Evening.")
            for name, what in (("start_time", "starts"), ("end_time", "ends")):
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, f"Give the local time the block {what}, e.g. 07:00.")
            check_block_times(self)
        unit, role = cleaned.get("unit"), cleaned.get("role")
        if unit is not None and role and not self.errors:
            check_same_block(
                self,
                unit=unit,
                role=role,
                blocks=self.blocks(),
                application=cleaned.get("application"),
            )
        return cleaned


class RequirementEditForm(forms.ModelForm):
    """The unit and the role stay: they are what the requirement is; change the rest."""

    headcount = headcount_field()

    class Meta:
        model = CoverageRequirement
        fields = [
            "label",
            "start_time",
            "end_time",
            "start_date",
            "end_date",
            "headcount",
            "application",
            "allow_claim",
        ]
        labels = {
            "label": "Block name",
            "start_time": "Block starts",
            "end_time": "Block ends",
            "start_date": "First day",
            "end_date": "Last day",
        }
        widgets = {
            "start_time": TIME_INPUT,
            "end_time": TIME_INPUT,
            "start_date": DATE_INPUT,
            "end_date": DATE_INPUT,
        }
        error_messages = {
            "start_time": TIME_ERRORS,
            "end_time": TIME_ERRORS,
            "start_date": DATE_ERRORS,
            "end_date": DATE_ERRORS,
        }

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_live = go_live
        application = self.fields["application"]
        assert isinstance(application, forms.ModelChoiceField)
        application.queryset = go_live.applications.all()
        application.empty_label = "Any application"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_window(self, self.go_live)
        check_block_times(self)
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start is not None and end is not None and not self.errors:
            check_same_block(
                self,
                unit=self.instance.unit,
                role=self.instance.role,
                blocks=[Block(cleaned.get("label", ""), start, end)],
                application=cleaned.get("application"),
                exclude=self.instance.pk,
            )
        return cleaned


class RequirementFilterForm(forms.Form):
    site = forms.ChoiceField(required=False)
    unit = forms.ChoiceField(required=False)
    role = forms.ChoiceField(required=False, choices=[("", "All roles"), *SupportRole.choices])

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sites = {unit.site_id: unit.site.name for unit in units}
        self.fields["site"].choices = [("", "All sites")] + [
            (str(pk), name) for pk, name in sorted(sites.items(), key=lambda item: item[1])
        ]
        self.fields["unit"].choices = [("", "All units")] + [
            (str(unit.pk), str(unit)) for unit in units
        ]

    def value(self, name: str) -> str:
        return self.cleaned_data.get(name, "") if self.is_valid() else ""


class GenerateForm(forms.Form):
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        empty_label="Every unit I plan",
        error_messages={"invalid_choice": "Choose a unit you plan."},
    )
    start_date = date_field("From")
    end_date = date_field("To")

    def __init__(self, *args: Any, go_live: GoLive, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_live = go_live
        self.fields["unit"].queryset = unit_choices(units)
        if not self.is_bound:
            self.initial["start_date"], self.initial["end_date"] = default_dates(go_live)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_window(self, self.go_live)
        return cleaned


class ProposalRoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role of the new requirements",
        choices=SupportRole.choices,
        initial=SupportRole.SUPER_USER,
    )


def user_count_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=10000,
        error_messages={"min_value": "Enter 0 or more.", "max_value": "Enter at most 10,000."},
    )


class ProposalRowForm(forms.Form):
    """One unit of the helper's table: its mix (saved on the unit) and a headcount per phase."""

    unit = forms.IntegerField(widget=forms.HiddenInput)
    include = forms.BooleanField(required=False, initial=True)
    physicians = user_count_field("Physicians")
    nurses = user_count_field("Nurses")
    clerical = user_count_field("Clerical")
    critical_care = forms.BooleanField(label="ED / ICU / OR", required=False)

    def __init__(
        self, *args: Any, phases: list[Phase], units: dict[int, Unit], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.units = units
        for index, phase in enumerate(phases):
            self.fields[f"phase_{index}"] = forms.IntegerField(
                label=phase.name,
                min_value=0,
                max_value=MAX_HEADCOUNT,
                error_messages={
                    "min_value": "Enter 0 (no requirement) or more.",
                    "max_value": f"At most {MAX_HEADCOUNT}.",
                    "required": "Enter a headcount (0 for none).",
                },
            )
        self.phase_count = len(phases)

    def clean_unit(self) -> int:
        pk = self.cleaned_data["unit"]
        if pk not in self.units:
            raise ValidationError("This unit is not one you plan.")
        return pk

    @property
    def shown_unit(self) -> Unit | None:
        """The row's unit, for its heading (also when the row did not validate)."""
        try:
            return self.units.get(int(self["unit"].value()))
        except (TypeError, ValueError):
            return None

    def mix_fields(self) -> list[forms.BoundField]:
        return [self["physicians"], self["nurses"], self["clerical"]]

    def phase_fields(self) -> list[forms.BoundField]:
        return [self[f"phase_{index}"] for index in range(self.phase_count)]

    def mix(self) -> Mix:
        data = self.cleaned_data
        return Mix(
            physicians=data["physicians"],
            nurses=data["nurses"],
            clerical=data["clerical"],
            critical_care=data["critical_care"],
        )

    def headcounts(self) -> tuple[int, ...]:
        return tuple(self.cleaned_data[f"phase_{index}"] for index in range(self.phase_count))


class BaseProposalFormSet(forms.BaseFormSet):
    def __init__(
        self, *args: Any, phases: list[Phase], units: dict[int, Unit], **kwargs: Any
    ) -> None:
        kwargs["form_kwargs"] = {"phases": phases, "units": units}
        super().__init__(*args, **kwargs)

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[int] = set()
        for form in self.forms:
            pk = form.cleaned_data.get("unit")
            if pk in seen:
                raise ValidationError("A unit appears twice in the table; reload the page.")
            seen.add(pk)


ProposalFormSet = forms.formset_factory(
    ProposalRowForm, formset=BaseProposalFormSet, extra=0, max_num=1000, validate_max=True
)


class AutoFillForm(forms.Form):
    start_date = date_field("First day")
    end_date = date_field("Last day")
    units = forms.ModelMultipleChoiceField(
        queryset=Unit.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick at least one unit.",
            "invalid_choice": "Choose units you plan.",
            "invalid_pk_value": "Choose units you plan.",
        },
    )
    roles = forms.MultipleChoiceField(
        choices=SupportRole.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave every box empty to fill the shifts of every role.",
        error_messages={"invalid_choice": "Choose roles from the list."},
    )
    respect_soft_rules = forms.BooleanField(
        label="Respect soft rules",
        required=False,
        initial=True,
        help_text="Rest, hours limits, role, skills and unavailable times. Untick to fill more "
        "places: each proposal then lists the rules it breaks.",
    )

    def __init__(self, *args: Any, go_live: GoLive, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_live = go_live
        choices = unit_choices(units)
        self.fields["units"].queryset = choices
        if not self.is_bound:
            self.initial["start_date"], self.initial["end_date"] = default_dates(go_live, days=7)
            self.initial["units"] = list(choices)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_window(self, self.go_live)
        return cleaned


class MinutesListField(forms.CharField):
    """Comma-separated minutes, e.g. "720, 60", as a list from the longest lead down."""

    def to_python(self, value: Any) -> list[int]:
        text = super().to_python(value)
        parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
        try:
            minutes = [int(part) for part in parts]
        except ValueError as exc:
            raise ValidationError(
                "Enter whole minutes separated by commas, e.g. 720, 60.", code="invalid"
            ) from exc
        if any(value <= 0 for value in minutes):
            raise ValidationError("Each lead time must be at least 1 minute.", code="invalid")
        if any(value > MAX_REMINDER_MINUTES for value in minutes):
            raise ValidationError(
                f"A reminder can go at most a week ({MAX_REMINDER_MINUTES} minutes) ahead.",
                code="invalid",
            )
        if len(set(minutes)) != len(minutes):
            raise ValidationError("Give each lead time once.", code="invalid")
        if len(minutes) > MAX_REMINDER_LEADS:
            raise ValidationError(
                f"At most {MAX_REMINDER_LEADS} reminders per shift.", code="invalid"
            )
        return sorted(minutes, reverse=True)


def ratio_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=100,
        error_messages={
            "min_value": "At least 1 user per support person.",
            "max_value": "At most 100 users per support person.",
        },
    )


class StaffingSettingsForm(forms.ModelForm):
    reminder_leads_minutes = MinutesListField(
        label="Reminders before a shift (minutes)",
        required=False,
        help_text="Comma-separated, e.g. 720, 60 for 12 hours and 1 hour before. "
        "Leave empty to send no reminders.",
    )
    late_after_minutes = forms.IntegerField(
        label="Report a person late after (minutes)",
        min_value=1,
        max_value=240,
        error_messages={
            "min_value": "At least 1 minute.",
            "max_value": "At most 240 minutes (4 hours).",
        },
    )
    min_rest_hours = forms.IntegerField(
        label="Minimum rest between shifts (hours)",
        min_value=0,
        max_value=24,
        help_text="0 turns the rest warning off.",
        error_messages={"min_value": "Enter 0 or more.", "max_value": "At most 24 hours."},
    )
    ratio_physicians = ratio_field("Physicians per support person")
    ratio_critical_nurses = ratio_field("Nurses per support person in ED / ICU / OR")
    ratio_other_nurses = ratio_field("Other nurses per support person")
    ratio_clerical = ratio_field("Clerical staff per support person")

    class Meta:
        model = StaffingSettings
        fields = [
            "reminder_leads_minutes",
            "late_after_minutes",
            "min_rest_hours",
            "ratio_physicians",
            "ratio_critical_nurses",
            "ratio_other_nurses",
            "ratio_clerical",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["reminder_leads_minutes"] = ", ".join(
                str(minutes) for minutes in self.instance.reminder_leads_minutes
            )
