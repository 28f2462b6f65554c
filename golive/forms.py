"""Forms of the command center's set-up pages: validation only, in plain language.

Uniqueness that involves the go-live (or the site) is checked here, not left to the database:
the go-live is not a form field, so Django's own unique checks skip those constraints and a
duplicate would otherwise surface as an IntegrityError (a 500) instead of a message.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.forms.fields import BaseTemporalField
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from golive.lib.widgets import QuickSelect
from golive.models import (
    Application,
    Contact,
    EscalationTier,
    GoLive,
    Membership,
    Role,
    Site,
    Unit,
    WebhookEndpoint,
    WebhookEvent,
)
from golive.webhooks import WebhookUrlRefused, check_url

# Zones of the places go-lives usually happen, listed first; every other zone follows.
COMMON_TIME_ZONES: list[tuple[str, str]] = [
    ("America/New_York", "US Eastern (America/New_York)"),
    ("America/Chicago", "US Central (America/Chicago)"),
    ("America/Denver", "US Mountain (America/Denver)"),
    ("America/Phoenix", "US Arizona (America/Phoenix)"),
    ("America/Los_Angeles", "US Pacific (America/Los_Angeles)"),
    ("America/Anchorage", "US Alaska (America/Anchorage)"),
    ("Pacific/Honolulu", "US Hawaii (Pacific/Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (America/Puerto_Rico)"),
    ("America/Halifax", "Canada Atlantic (America/Halifax)"),
    ("America/Toronto", "Canada Eastern (America/Toronto)"),
    ("America/Winnipeg", "Canada Central (America/Winnipeg)"),
    ("America/Edmonton", "Canada Mountain (America/Edmonton)"),
    ("America/Vancouver", "Canada Pacific (America/Vancouver)"),
    ("Europe/London", "UK (Europe/London)"),
    ("Europe/Dublin", "Ireland (Europe/Dublin)"),
    ("Europe/Amsterdam", "Central Europe (Europe/Amsterdam)"),
    ("Asia/Dubai", "Gulf (Asia/Dubai)"),
    ("Asia/Singapore", "Singapore (Asia/Singapore)"),
    ("Australia/Sydney", "Australia Eastern (Australia/Sydney)"),
    ("Pacific/Auckland", "New Zealand (Pacific/Auckland)"),
    ("UTC", "UTC"),
]


def time_zone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    common = {name for name, _ in COMMON_TIME_ZONES}
    others = sorted(zoneinfo.available_timezones() - common)
    return [
        ("Common time zones", COMMON_TIME_ZONES),
        ("All time zones", [(name, name) for name in others]),
    ]


def is_taken(queryset: models.QuerySet[Any], instance: models.Model) -> bool:
    """Whether a row other than `instance` matches `queryset`."""
    if instance.pk is not None:
        queryset = queryset.exclude(pk=instance.pk)
    return queryset.exists()


def aware_in_zone(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The wall-clock time `value` made aware in `zone`.

    A time the clocks skip (spring forward) or show twice (fall back) has no single meaning, so it
    is refused rather than guessed.
    """
    first = value.replace(tzinfo=zone, fold=0)
    second = value.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    when = f"{value:%H:%M} on {value:%d %b %Y}"
    if first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != value:
        raise ValidationError(
            f"{when} does not exist in {zone.key}: the clocks go forward then. Choose another time."
        )
    raise ValidationError(
        f"{when} happens twice in {zone.key}: the clocks go back then. Choose another time."
    )


class WallClockDateTimeField(forms.DateTimeField):
    """A date and time as read on a clock at the go-live, left naive.

    Django would read it in the server's (or the current go-live's) zone; the form places it in
    the zone chosen on the form instead.
    """

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    default_error_messages = {"invalid": "Enter a date and time, e.g. 2026-11-01 05:00."}

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value
        try:
            result = parse_datetime(str(value).strip())
        except ValueError as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc
        # Other spellings the locale accepts (11/01/2026 05:00) are tried by the base class.
        return result or BaseTemporalField.to_python(self, str(value))


class GoLiveForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        initial="America/Chicago",
        help_text="The cutover and the support window are entered in this zone's local time.",
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )
    cutover_at = WallClockDateTimeField(
        label="Cutover", help_text="Local time at the go-live, in the zone above."
    )
    support_ends_at = WallClockDateTimeField(
        label="Support window end", help_text="Local time at the go-live; after the cutover."
    )

    class Meta:
        model = GoLive
        fields = [
            "name",
            "organization",
            "time_zone",
            "cutover_at",
            "support_ends_at",
            "phase",
            "command_center_phone",
            "command_center_location",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            zone = self.instance.tzinfo
            for name in ("cutover_at", "support_ends_at"):
                instant = getattr(self.instance, name)
                self.initial[name] = timezone.localtime(instant, zone).replace(tzinfo=None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        zone_name = cleaned.get("time_zone")
        for field in ("cutover_at", "support_ends_at"):
            value = cleaned.get(field)
            if value is None or timezone.is_aware(value):
                continue
            if not zone_name:
                # Without a zone a wall-clock time means nothing; it is read again once one is chosen.
                del cleaned[field]
                continue
            try:
                cleaned[field] = aware_in_zone(value, zoneinfo.ZoneInfo(zone_name))
            except ValidationError as error:
                self.add_error(field, error)
        name, organization = cleaned.get("name"), cleaned.get("organization")
        if (
            name
            and organization
            and is_taken(
                GoLive.objects.filter(name__iexact=name, organization__iexact=organization),
                self.instance,
            )
        ):
            self.add_error("name", "This organization already has a go-live with this name.")
        return cleaned


class SiteForm(forms.ModelForm):
    """Pass `instance=Site(go_live=...)` to create one."""

    class Meta:
        model = Site
        fields = ["name", "code", "kind", "address_line", "city", "region", "postal_code", "phone"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        sites = Site.objects.filter(go_live_id=self.instance.go_live_id, name__iexact=name)
        if is_taken(sites, self.instance):
            raise ValidationError("This go-live already has a site with this name.")
        return name

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        sites = Site.objects.filter(go_live_id=self.instance.go_live_id, code__iexact=code)
        if is_taken(sites, self.instance):
            raise ValidationError("Another site of this go-live uses this code; choose another.")
        return code


class UnitForm(forms.ModelForm):
    """Pass `instance=Unit(site=...)` to create one."""

    class Meta:
        model = Unit
        fields = ["name", "kind", "end_user_count", "phone", "is_active"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        units = Unit.objects.filter(site_id=self.instance.site_id, name__iexact=name)
        if is_taken(units, self.instance):
            raise ValidationError("This site already has a unit with this name.")
        return name


class ApplicationForm(forms.ModelForm):
    """Pass `instance=Application(go_live=...)` to create one."""

    class Meta:
        model = Application
        fields = ["name"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        applications = Application.objects.filter(
            go_live_id=self.instance.go_live_id, name__iexact=name
        )
        if is_taken(applications, self.instance):
            raise ValidationError("This go-live already has an application with this name.")
        return name


class EscalationTierForm(forms.ModelForm):
    """Pass `instance=EscalationTier(go_live=...)` to create one."""

    class Meta:
        model = EscalationTier
        fields = ["level", "name", "description", "is_leadership"]

    def clean_level(self) -> int:
        level = self.cleaned_data["level"]
        tiers = EscalationTier.objects.filter(go_live_id=self.instance.go_live_id, level=level)
        if is_taken(tiers, self.instance):
            raise ValidationError("Another tier of this go-live has this level; choose another.")
        return level

    def clean_is_leadership(self) -> bool:
        is_leadership = self.cleaned_data["is_leadership"]
        tiers = EscalationTier.objects.filter(
            go_live_id=self.instance.go_live_id, is_leadership=True
        )
        if is_leadership and is_taken(tiers, self.instance):
            raise ValidationError("This go-live already has a leadership line.")
        return is_leadership


class ContactForm(forms.ModelForm):
    """Pass `instance=Contact(go_live=...)` to create one; every choice is of that go-live only."""

    class Meta:
        model = Contact
        fields = [
            "name",
            "kind",
            "title",
            "tier",
            "phone",
            "pager",
            "sms_number",
            "email",
            "employer",
            "vendor_name",
            "all_applications",
            "applications",
            "all_units",
            "units",
            "hours",
            "window_start",
            "window_end",
            "notes",
            "is_active",
        ]
        widgets = {
            "kind": forms.RadioSelect,
            "employer": forms.RadioSelect,
            "hours": forms.RadioSelect,
            "applications": forms.CheckboxSelectMultiple,
            "units": forms.CheckboxSelectMultiple,
            "window_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "window_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        help_texts = {
            "vendor_name": "Required for a vendor contact.",
            "applications": "Used when “covers all applications” is not ticked.",
            "units": "Used when “covers all units” is not ticked.",
        }
        error_messages = {
            "tier": {"invalid_choice": "Choose a tier of this go-live."},
            "applications": {"invalid_choice": "Choose applications of this go-live only."},
            "units": {"invalid_choice": "Choose units of this go-live only."},
            "window_start": {"invalid": "Enter a time such as 07:00."},
            "window_end": {"invalid": "Enter a time such as 19:00."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        go_live_id = self.instance.go_live_id
        self.fields["tier"].queryset = EscalationTier.objects.filter(go_live_id=go_live_id)
        self.fields["applications"].queryset = Application.objects.filter(go_live_id=go_live_id)
        self.fields["units"].queryset = Unit.objects.filter(
            site__go_live_id=go_live_id
        ).select_related("site")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for all_name, some_name, noun in [
            ("all_applications", "applications", "applications"),
            ("all_units", "units", "units"),
        ]:
            if some_name in self.errors:
                continue
            if cleaned.get(all_name):
                # "All" wins: picks left over from before would only confuse the directory.
                cleaned[some_name] = self.fields[some_name].queryset.none()
            elif not cleaned.get(some_name):
                if self.fields[some_name].queryset.exists():
                    self.add_error(
                        some_name,
                        f"Pick the {noun} this contact covers, or tick “covers all {noun}”.",
                    )
                else:
                    # An empty list of choices has nowhere to show a message: say it at the box.
                    self.add_error(
                        all_name,
                        f"This go-live has no {noun} yet: keep “covers all {noun}” ticked, "
                        f"or add its {noun} first.",
                    )
        if cleaned.get("hours") == Contact.Hours.ALWAYS:
            cleaned["window_start"] = cleaned["window_end"] = None
        if cleaned.get("employer") == Contact.Employer.IN_HOUSE:
            cleaned["vendor_name"] = ""
        return cleaned


class MemberAddForm(forms.Form):
    """Add an existing account to a go-live with a role; limits are of that go-live only."""

    user = forms.CharField(
        label="Username or email",
        max_length=254,
        help_text="The person must already have a golive account.",
    )
    role = forms.ChoiceField(
        choices=[("", "Choose a role"), *Role.choices],
        error_messages={"required": "Choose the person's role in this go-live."},
    )
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Limit a clinic manager to these sites (none: the whole go-live).",
        error_messages={"invalid_choice": "Choose sites of this go-live only."},
    )
    units = forms.ModelMultipleChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Limit to these units (floor staff: their home unit).",
        error_messages={"invalid_choice": "Choose units of this go-live only."},
    )

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_live = go_live
        self.fields["sites"].queryset = Site.objects.filter(go_live=go_live)
        self.fields["units"].queryset = Unit.objects.filter(site__go_live=go_live).select_related(
            "site"
        )

    def clean_user(self) -> User:
        given = self.cleaned_data["user"].strip()
        users = list(User.objects.filter(Q(username__iexact=given) | Q(email__iexact=given))[:2])
        if not users:
            raise ValidationError(
                "No account has this username or email. Check the spelling, or ask an "
                "administrator to create the account first."
            )
        if len(users) > 1:
            raise ValidationError("Several accounts match; enter the username instead.")
        user = users[0]
        if not user.is_active:
            raise ValidationError("This account is switched off; ask an administrator first.")
        if Membership.objects.filter(user=user, go_live=self.go_live, is_active=True).exists():
            raise ValidationError(
                f"{user.get_full_name() or user.username} is already a member; change their role "
                "in the list below."
            )
        return user

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        refuse_lead_limits(self, cleaned)
        return cleaned


class MembershipForm(forms.ModelForm):
    """Change a member's role, limits, or switch their access off."""

    class Meta:
        model = Membership
        fields = ["role", "sites", "units", "is_active"]
        widgets = {
            "sites": forms.CheckboxSelectMultiple,
            "units": forms.CheckboxSelectMultiple,
        }
        labels = {"is_active": "Active (untick to remove their access; their history stays)"}
        error_messages = {
            "sites": {"invalid_choice": "Choose sites of this go-live only."},
            "units": {"invalid_choice": "Choose units of this go-live only."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        go_live_id = self.instance.go_live_id
        self.fields["sites"].queryset = Site.objects.filter(go_live_id=go_live_id)
        self.fields["units"].queryset = Unit.objects.filter(
            site__go_live_id=go_live_id
        ).select_related("site")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        refuse_lead_limits(self, cleaned)
        if "role" not in cleaned:
            return cleaned
        was_lead = self.initial["role"] == Role.COMMAND_CENTER_LEAD and self.initial["is_active"]
        demoted = cleaned["role"] != Role.COMMAND_CENTER_LEAD
        removed = not cleaned.get("is_active")
        if was_lead and (demoted or removed):
            other_leads = Membership.objects.filter(
                go_live_id=self.instance.go_live_id,
                role=Role.COMMAND_CENTER_LEAD,
                is_active=True,
            ).exclude(pk=self.instance.pk)
            if not other_leads.exists():
                self.add_error(
                    "is_active" if removed else "role",
                    "This is the go-live's last active command center lead. Make someone else "
                    "a lead first, then change or remove this one.",
                )
        return cleaned


def refuse_lead_limits(form: forms.BaseForm, cleaned: dict[str, Any]) -> None:
    """A lead runs the whole go-live: site or unit limits on a lead would mean nothing."""
    if cleaned.get("role") != Role.COMMAND_CENTER_LEAD:
        return
    for name in ("sites", "units"):
        if cleaned.get(name):
            form.add_error(
                name, "A command center lead covers the whole go-live; leave this empty."
            )


class DirectoryFilterForm(forms.Form):
    """The directory's filters (GET); an unknown id is refused like any other bad choice."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name, title or vendor", "type": "search"}),
    )
    tier = forms.ModelChoiceField(
        queryset=EscalationTier.objects.none(),
        required=False,
        empty_label="All tiers",
        error_messages={"invalid_choice": "Choose a tier from the list."},
    )
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        empty_label="Any unit",
        error_messages={"invalid_choice": "Choose a unit from the list."},
    )
    application = forms.ModelChoiceField(
        queryset=Application.objects.none(),
        required=False,
        empty_label="Any application",
        error_messages={"invalid_choice": "Choose an application from the list."},
    )
    available_now = forms.BooleanField(label="Available now", required=False)

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].queryset = EscalationTier.objects.filter(go_live=go_live)
        self.fields["unit"].queryset = Unit.objects.filter(
            site__go_live=go_live, is_active=True
        ).select_related("site")
        self.fields["application"].queryset = Application.objects.filter(go_live=go_live)


class SiteFilterForm(forms.Form):
    """A page's site filter (GET), among the go-live's: an unknown id is refused with a message
    and the filter left off."""

    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        required=False,
        empty_label="All sites",
        widget=QuickSelect,
        error_messages={"invalid_choice": "Choose a site from the list."},
    )

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.filter(go_live=go_live)  # type: ignore[attr-defined]


class PlaceFilterForm(SiteFilterForm):
    """A page's site and unit filters (GET): as `SiteFilterForm`, and a unit of another site than
    the one chosen is refused too."""

    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        empty_label="All units",
        widget=QuickSelect,
        error_messages={"invalid_choice": "Choose a unit from the list."},
    )

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, go_live=go_live, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(  # type: ignore[attr-defined]
            site__go_live=go_live, is_active=True
        ).select_related("site")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        site, unit = data.get("site"), data.get("unit")
        if site and unit and unit.site_id != site.pk:
            self.add_error("unit", f"{unit.name} is not at {site.name}: choose one of its units.")
        return data


class WebhookEndpointForm(forms.ModelForm):
    """Pass `instance=WebhookEndpoint(go_live=..., created_by=...)` to create one.

    The URL is refused unless it is http(s) and every address its host resolves to is one the
    server may call (golive.webhooks.check_url); it is checked again before each delivery.
    """

    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="Where golive POSTs each event, e.g. https://hooks.example.org/golive.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one event to send to this URL."},
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events"]

    def clean_url(self) -> str:
        try:
            stored, _ = check_url(self.cleaned_data["url"])
        except WebhookUrlRefused as exc:
            raise ValidationError(str(exc)) from exc
        return stored
