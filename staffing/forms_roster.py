"""Forms of the roster pages: the people list's filters, a person, a roster upload, a schedule export.

Every choice is limited to the go-live passed in; uniqueness that involves the go-live (email,
login) is checked here, because the go-live is not a form field and Django's own unique checks
would skip it, leaving the database to answer with an error page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.models import User

from golive.models import Application, GoLive, Site, Unit
from staffing import roster
from staffing.models import SupportPerson, SupportRole

MAX_EXPORT_DAYS = 366


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Unit) -> str:
        return f"{obj.site.name} · {obj.name}"


class LoginChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        full_name = obj.get_full_name()
        return f"{full_name} ({obj.username})" if full_name else obj.username


class PeopleFilterForm(forms.Form):
    """The people list's search, filters and sort (GET); an unknown choice is refused politely."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, email, vendor or phone"}
        ),
    )
    role = forms.ChoiceField(
        choices=[("", "Any role"), *SupportRole.choices],
        required=False,
        error_messages={"invalid_choice": "Choose a role from the list."},
    )
    employer = forms.ChoiceField(
        choices=[("", "Any employer"), *SupportPerson.Employer.choices],
        required=False,
        error_messages={"invalid_choice": "Choose an employer from the list."},
    )
    vendor = forms.ChoiceField(
        required=False, error_messages={"invalid_choice": "Choose a vendor from the list."}
    )
    skill = forms.ModelChoiceField(
        queryset=Application.objects.none(),
        required=False,
        label="Application",
        empty_label="Any application",
        error_messages={"invalid_choice": "Choose an application from the list."},
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        required=False,
        label="Home site",
        empty_label="Any home site",
        error_messages={"invalid_choice": "Choose a site from the list."},
    )
    unit = UnitChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        label="Home unit",
        empty_label="Any home unit",
        error_messages={"invalid_choice": "Choose a unit from the list."},
    )
    active = forms.ChoiceField(
        label="Status",
        choices=[("yes", "Active"), ("no", "Inactive"), ("all", "Active and inactive")],
        required=False,
        error_messages={"invalid_choice": "Choose active, inactive or both."},
    )
    sort = forms.ChoiceField(
        label="Sort by",
        choices=[
            ("name", "Name, A to Z"),
            ("-name", "Name, Z to A"),
            ("role", "Role"),
            ("vendor", "Employer / vendor"),
            ("unit", "Home unit"),
            ("-hours", "Most hours in the next 7 days"),
            ("hours", "Fewest hours in the next 7 days"),
            ("-updated", "Recently changed"),
        ],
        required=False,
        error_messages={"invalid_choice": "Choose an order from the list."},
    )

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        vendors = (
            SupportPerson.objects.filter(go_live=go_live)
            .exclude(vendor_name="")
            .order_by("vendor_name")
            .values_list("vendor_name", flat=True)
            .distinct()
        )
        self.fields["vendor"].choices = [("", "Any vendor"), *((v, v) for v in vendors)]
        self.fields["skill"].queryset = Application.objects.filter(go_live=go_live)
        self.fields["site"].queryset = Site.objects.filter(go_live=go_live)
        self.fields["unit"].queryset = Unit.objects.filter(site__go_live=go_live).select_related(
            "site"
        )


class PersonForm(forms.ModelForm):
    """Pass `instance=SupportPerson(go_live=...)` to add someone; every choice is of that go-live."""

    home_unit = UnitChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        empty_label="No home unit",
        error_messages={"invalid_choice": "Choose a unit of this go-live."},
    )
    user = LoginChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Login",
        empty_label="No login",
        help_text="Link the person's golive login so they see their own shifts. Only members of "
        "this go-live are listed.",
        error_messages={"invalid_choice": "Choose a member of this go-live."},
    )

    class Meta:
        model = SupportPerson
        fields = [
            "name",
            "email",
            "role",
            "employer",
            "vendor_name",
            "skills",
            "home_site",
            "home_unit",
            "phone",
            "sms_number",
            "user",
            "max_hours_per_shift",
            "max_hours_per_day",
            "max_hours_per_week",
            "is_active",
            "notes",
        ]
        widgets = {
            "employer": forms.RadioSelect,
            "skills": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "sms_number": "International form for text reminders, e.g. +13125550100.",
            "max_hours_per_shift": "Hours; 12 unless this person agreed otherwise.",
            "is_active": "Inactive people stay on the roster but cannot be put on shifts.",
        }
        error_messages = {
            "role": {"invalid_choice": "Choose a role from the list."},
            "skills": {"invalid_choice": "Choose applications of this go-live."},
            "home_site": {"invalid_choice": "Choose a site of this go-live."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        go_live_id = self.instance.go_live_id
        self.fields["role"].choices = [("", "Choose a role"), *SupportRole.choices]
        self.fields["skills"].queryset = Application.objects.filter(go_live_id=go_live_id)
        self.fields["home_site"].queryset = Site.objects.filter(go_live_id=go_live_id)
        self.fields["home_site"].empty_label = "No home site"
        self.fields["home_unit"].queryset = Unit.objects.filter(
            site__go_live_id=go_live_id
        ).select_related("site")
        self.fields["user"].queryset = User.objects.filter(
            memberships__go_live_id=go_live_id, memberships__is_active=True
        ).order_by("last_name", "first_name", "username")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        others = SupportPerson.objects.filter(
            go_live_id=self.instance.go_live_id, email__iexact=email
        ).exclude(pk=self.instance.pk)
        taken = others.first()
        if taken is not None:
            raise forms.ValidationError(
                f"{taken.name} on this roster already has this email; each person needs their own."
            )
        return email

    def clean_user(self) -> User | None:
        user: User | None = self.cleaned_data.get("user")
        if user is None:
            return None
        taken = (
            SupportPerson.objects.filter(go_live_id=self.instance.go_live_id, user=user)
            .exclude(pk=self.instance.pk)
            .first()
        )
        if taken is not None:
            raise forms.ValidationError(
                f"This login already belongs to {taken.name} on the roster; choose another."
            )
        return user

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        unit = cleaned.get("home_unit")
        if unit is not None and cleaned.get("home_site") is None and "home_site" not in self.errors:
            # The unit says where the person is based: fill in its site rather than refuse.
            cleaned["home_site"] = unit.site
        return cleaned


class RosterUploadForm(forms.Form):
    """A roster file; once valid, `content` holds its text and `row_count` its number of people."""

    content: str
    row_count: int

    file = forms.FileField(
        label="Roster file (CSV)",
        help_text=f"UTF-8 CSV, at most {roster.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
        error_messages={
            "required": "Choose the CSV file to upload.",
            "empty": "The file is empty. Its first row must name the columns, e.g. name,email,role.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > roster.MAX_UPLOAD_BYTES:
            # Refused before reading: a huge file is not loaded into memory to be refused.
            raise forms.ValidationError(
                f"The file is larger than {roster.MAX_UPLOAD_BYTES // (1024 * 1024)} MB. "
                "Split it into smaller files and import them one after the other."
            )
        try:
            self.content, self.row_count = roster.read_upload(upload.read())
        except roster.RosterFileError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return upload


class ScheduleExportForm(forms.Form):
    first_day = forms.DateField(
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "Give the first day.",
            "invalid": "Enter a date, e.g. 2026-11-01.",
        },
    )
    last_day = forms.DateField(
        label="To (inclusive)",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "Give the last day.",
            "invalid": "Enter a date, e.g. 2026-11-14.",
        },
    )
    unit = UnitChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        empty_label="All units",
        error_messages={"invalid_choice": "Choose a unit from the list."},
    )
    role = forms.ChoiceField(
        choices=[("", "All roles"), *SupportRole.choices],
        required=False,
        error_messages={"invalid_choice": "Choose a role from the list."},
    )

    def __init__(self, *args: Any, go_live: GoLive, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(site__go_live=go_live).select_related(
            "site"
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first_day: dt.date | None = cleaned.get("first_day")
        last_day: dt.date | None = cleaned.get("last_day")
        if first_day and last_day:
            if last_day < first_day:
                self.add_error("last_day", "The last day must not be before the first day.")
            elif (last_day - first_day).days >= MAX_EXPORT_DAYS:
                self.add_error("last_day", f"Export at most {MAX_EXPORT_DAYS} days at a time.")
        return cleaned
