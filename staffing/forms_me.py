"""Forms of the self-service pages and the managers' request inbox: validation only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from golive.forms import WallClockDateTimeField, aware_in_zone
from golive.models import GoLive
from staffing.models import ShiftRequest, SupportPerson


class DropRequestForm(forms.Form):
    reason = forms.CharField(
        max_length=240,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Your manager reads this to decide; say what came up.",
        error_messages={"required": "Say why you need to drop the shift."},
    )


class SwapRequestForm(forms.Form):
    swap_with = forms.ModelChoiceField(
        queryset=SupportPerson.objects.none(),
        label="Who would take the shift",
        help_text="Someone who agreed to take it. A manager checks their hours and rest.",
        error_messages={
            "required": "Choose who would take the shift.",
            "invalid_choice": "Choose someone from the list: active people on this go-live's roster.",
        },
    )
    reason = forms.CharField(
        max_length=240, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, person: SupportPerson, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["swap_with"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            SupportPerson.objects.active()
            .filter(go_live_id=person.go_live_id)
            .exclude(pk=person.pk)
            .order_by("name")
        )
        field.label_from_instance = lambda other: f"{other.name} · {other.get_role_display()}"


class UnavailabilityForm(forms.Form):
    """A window in the go-live's local time; it must end after it starts and not be over."""

    start = WallClockDateTimeField(help_text="Local time at the go-live.")
    end = WallClockDateTimeField(help_text="Local time at the go-live; after the start.")
    reason = forms.CharField(
        max_length=120, required=False, help_text="Optional, e.g. travel or leave."
    )

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_live = go_live

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        zone = self.go_live.tzinfo
        for name in ("start", "end"):
            value = cleaned.get(name)
            if value is None or timezone.is_aware(value):
                continue
            try:
                cleaned[name] = aware_in_zone(value, zone)
            except ValidationError as error:
                self.add_error(name, error)  # also drops the field from cleaned_data
        start, end = cleaned.get("start"), cleaned.get("end")
        # The form is read to the minute: the current minute still counts as now.
        this_minute = timezone.now().replace(second=0, microsecond=0)
        if start is not None and start < this_minute:
            self.add_error("start", "The window cannot start in the past; start it now or later.")
        if start is not None and end is not None and end <= start:
            self.add_error("end", "The window must end after it starts.")
        return cleaned


class DecisionForm(forms.Form):
    """Approve or refuse a drop or swap request."""

    decision = forms.ChoiceField(
        choices=[
            (ShiftRequest.Status.APPROVED, "Approve"),
            (ShiftRequest.Status.REFUSED, "Refuse"),
        ],
        error_messages={
            "required": "Choose approve or refuse.",
            "invalid_choice": "Choose approve or refuse.",
        },
    )
    note = forms.CharField(
        max_length=240,
        required=False,
        label="Note to the requester",
        help_text="Needed when you refuse, so they can plan.",
    )
    override_reason = forms.CharField(
        max_length=240,
        required=False,
        label="Reason to override the warnings",
        help_text="Only for a swap whose new person has warnings (rest, hours, role, skill).",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            cleaned.get("decision") == ShiftRequest.Status.REFUSED
            and not cleaned.get("note", "").strip()
        ):
            self.add_error("note", "Say why you refuse, so the requester can plan.")
        return cleaned
