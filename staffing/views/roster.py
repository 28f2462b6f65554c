"""The support roster: the people list, a person's page, adding and editing people, CSV in and out.

The roster is go-live wide: command center leads and clinic managers both edit it; help desk
agents read it (they need people's phones); support staff see only their own page; floor staff
none of it. A person of a go-live the user is not a member of is answered 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from golive import audit
from golive.lib.csvfile import csv_response
from golive.models import AuditEntry, Membership, Role, Unit
from golive.permissions import MANAGERS, check_role, managed_units, membership_for, role_required
from golive.views.golives import form_page, go_live_membership, posted
from staffing import roster
from staffing.forms_roster import (
    PeopleFilterForm,
    PersonForm,
    RosterUploadForm,
    ScheduleExportForm,
)
from staffing.models import RosterImport, SupportPerson

READERS = MANAGERS | {Role.HELP_DESK_AGENT}
PAGE_SIZE = 50
RECENT_IMPORTS = 10
# While a worker checks or applies a file, its page asks again every second.
POLLING = {RosterImport.Status.CHECKING, RosterImport.Status.IMPORTING}


# --- Access ---------------------------------------------------------------------------------------


def _current(request: HttpRequest) -> Membership:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    return membership


def _get_person_for(request: HttpRequest, pk: int) -> tuple[SupportPerson, Membership]:
    """The person, for a reader of the roster or for the person themself (support staff)."""
    person = get_object_or_404(
        SupportPerson.objects.select_related("home_site", "home_unit__site", "user"), pk=pk
    )
    membership = membership_for(request, person.go_live_id)
    person.go_live = membership.go_live
    if membership.role == Role.SUPPORT_STAFF:
        if person.user_id != request.user.pk:
            raise PermissionDenied("You may see only your own page on the roster.")
    else:
        check_role(membership, READERS)
    return person, membership


def _get_import_for(request: HttpRequest, pk: int) -> tuple[RosterImport, Membership]:
    # The file itself (up to 5 MB) is read only for the preview, not on every poll.
    imports = RosterImport.objects.select_related("uploaded_by").defer("content")
    roster_import = get_object_or_404(imports, pk=pk)
    membership = go_live_membership(request, roster_import.go_live_id, MANAGERS)
    roster_import.go_live = membership.go_live
    return roster_import, membership


# --- People ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    person: SupportPerson
    hours_ahead: float

    @property
    def over_week(self) -> bool:
        return self.hours_ahead > float(self.person.max_hours_per_week)


@role_required(READERS)
def people(request: HttpRequest) -> HttpResponse:
    membership = _current(request)
    go_live = membership.go_live
    form = PeopleFilterForm(request.GET or None, go_live=go_live)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(roster.people_list(go_live, filters, now=timezone.now()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "go_live": go_live,
        "form": form,
        "page": page,
        "rows": [PersonRow(p, roster.hours(p.hours_ahead)) for p in page.object_list],
        "filtering": any(value for name, value in filters.items() if name != "sort"),
        "can_edit": membership.role in MANAGERS,
    }
    return render(request, "staffing/roster_people.html", context)


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person, membership = _get_person_for(request, pk)
    context = {
        "go_live": membership.go_live,
        "person": person,
        "skills": list(person.skills.all()),
        "schedule": roster.person_schedule(person, now=timezone.now()),
        "can_edit": membership.role in MANAGERS,
        "is_reader": membership.role in READERS,
        # A shift links to its page only where the reader may open it: a clinic manager plans
        # only her units, though the people she sees also work elsewhere.
        "openable_units": set(_openable_units(membership).values_list("pk", flat=True)),
    }
    return render(request, "staffing/person_detail.html", context)


def _openable_units(membership: Membership) -> QuerySet[Unit]:
    if membership.role == Role.CLINIC_MANAGER:
        return managed_units(membership)
    return Unit.objects.filter(site__go_live_id=membership.go_live_id)


def _save_person(form: PersonForm) -> SupportPerson | None:
    """Save a valid form; None (and a message on the form) when the database refuses it."""
    try:
        with transaction.atomic():
            return form.save()
    except IntegrityError:
        # The form's own checks passed, so someone else took this email or login meanwhile.
        form.add_error(
            None,
            "Someone else just saved a person with this email or login. Check the roster and "
            "try again.",
        )
        return None


@role_required(MANAGERS)
def person_create(request: HttpRequest) -> HttpResponse:
    membership = _current(request)
    form = PersonForm(posted(request), instance=SupportPerson(go_live=membership.go_live))
    if form.is_valid():
        person = _save_person(form)
        if person is not None:
            messages.success(request, f"{person.name} is on the roster.")
            return redirect(person)
    return form_page(
        request,
        membership,
        form,
        title="Add a person to the roster",
        submit_label="Add person",
        cancel_url=reverse("staffing:people"),
    )


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person, membership = _get_person_for(request, pk)
    check_role(membership, MANAGERS)
    # Validation writes the typed values onto the instance: keep the saved name for the title.
    name = person.name
    form = PersonForm(posted(request), instance=person)
    if form.is_valid():
        saved = _save_person(form)
        if saved is not None:
            messages.success(request, f"{saved.name} is saved.")
            return redirect(saved)
    return form_page(
        request,
        membership,
        form,
        title=f"Edit {name}",
        submit_label="Save person",
        cancel_url=person.get_absolute_url(),
    )


# --- CSV import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnHelp:
    name: str
    required: bool
    meaning: str


COLUMN_HELP = [
    ColumnHelp("name", True, "Full name as colleagues know it."),
    ColumnHelp(
        "email",
        True,
        "Matches people on the next import: a person with this email (in any case) is updated.",
    ),
    ColumnHelp("role", True, "The role's code or name, e.g. super_user or Super user."),
    ColumnHelp("employer", False, "in_house or vendor. Blank: vendor when vendor_name is given."),
    ColumnHelp("vendor_name", False, "The consultancy or vendor; needed for vendor staff."),
    ColumnHelp(
        "skills", False, "Application names of this go-live, separated by “;”, e.g. Orders; ADT."
    ),
    ColumnHelp("home_site", False, "A site's name or code."),
    ColumnHelp("home_unit", False, "A unit's name within the home site."),
    ColumnHelp("phone", False, "Digits, spaces, dashes or brackets; an extension after “x”."),
    ColumnHelp("sms_number", False, "International +E.164 form, e.g. +13125550100."),
    ColumnHelp("max_hours_per_shift", False, "1 to 168 hours; blank means 12."),
    ColumnHelp("max_hours_per_day", False, "1 to 168 hours; blank means 12."),
    ColumnHelp("max_hours_per_week", False, "Per rolling 7 days, 1 to 168 hours; blank means 60."),
    ColumnHelp("active", False, "yes or no (true/false, 1/0); blank means yes."),
]


@role_required(MANAGERS)
def roster_import(request: HttpRequest) -> HttpResponse:
    membership = _current(request)
    go_live = membership.go_live
    form = RosterUploadForm(posted(request), request.FILES or None)
    if form.is_valid():
        upload = roster.create_roster_import(
            go_live=go_live,
            uploaded_by=request.user,  # type: ignore[arg-type]
            filename=form.cleaned_data["file"].name,
            content=form.content,
            total_rows=form.row_count,
        )
        return redirect("staffing:roster_import_detail", pk=upload.pk)
    context = {
        "go_live": go_live,
        "form": form,
        "columns": COLUMN_HELP,
        "example": ",".join(roster.COLUMNS),
        "imports": RosterImport.objects.filter(go_live=go_live)
        .select_related("uploaded_by")
        .defer("content", "errors")[:RECENT_IMPORTS],
    }
    return render(request, "staffing/roster_import.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def roster_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    roster_import, membership = _get_import_for(request, pk)
    if request.method == "POST":
        if request.POST.get("action") == "resend":
            if roster.resend_roster_import(roster_import=roster_import):
                messages.success(request, "The file is on its way to a worker again.")
            else:
                messages.error(request, "The task queue still cannot be reached: try again soon.")
            return redirect("staffing:roster_import_detail", pk=pk)
        try:
            roster.start_roster_import(roster_import=roster_import, actor=request.user)
        except roster.ImportRefused as exc:
            messages.error(request, str(exc))
        return redirect("staffing:roster_import_detail", pk=pk)
    preview = None
    if roster_import.status in {RosterImport.Status.READY, RosterImport.Status.INVALID}:
        preview = roster.preview(roster_import)
    applied = 0
    if roster_import.status == RosterImport.Status.IMPORTING:
        applied = roster.applied_rows(roster_import)
    context = {
        "go_live": membership.go_live,
        "roster_import": roster_import,
        "polling": roster_import.status in POLLING,
        "stalled": roster.is_stalled(roster_import, now=timezone.now()),
        "preview": preview,
        "applied": applied,
        "unchanged_count": roster_import.total_rows
        - roster_import.created_count
        - roster_import.updated_count,
    }
    template = "staffing/roster_import_detail.html"
    if request.htmx:  # type: ignore[attr-defined]
        template = "staffing/roster_import_status.html"
    return render(request, template, context)


# --- CSV export -----------------------------------------------------------------------------------


@role_required(MANAGERS)
def roster_export(request: HttpRequest) -> HttpResponse:
    go_live = _current(request).go_live
    today = go_live.local_now().date()
    filename = f"roster-{go_live.file_stem}-{today:%Y-%m-%d}.csv"
    audit.record(
        action=AuditEntry.Action.EXPORT, request=request, go_live=go_live, detail="Roster CSV"
    )
    return csv_response(roster.roster_rows(go_live), filename)


@role_required(MANAGERS)
def schedule_export(request: HttpRequest) -> HttpResponse:
    membership = _current(request)
    go_live = membership.go_live
    today = go_live.local_now().date()
    form = ScheduleExportForm(
        request.GET or None,
        go_live=go_live,
        initial={"first_day": today, "last_day": today + dt.timedelta(days=13)},
    )
    if form.is_valid():
        first_day, last_day = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
        filename = f"schedule-{go_live.file_stem}-{first_day:%Y-%m-%d}-to-{last_day:%Y-%m-%d}.csv"
        audit.record(
            action=AuditEntry.Action.EXPORT,
            request=request,
            go_live=go_live,
            detail=f"Schedule CSV, {first_day:%Y-%m-%d} to {last_day:%Y-%m-%d}",
        )
        rows = roster.schedule_rows(
            go_live,
            first_day=first_day,
            last_day=last_day,
            unit=form.cleaned_data["unit"],
            role=form.cleaned_data["role"],
        )
        return csv_response(rows, filename)
    return render(request, "staffing/roster_schedule_export.html", {"form": form})


urlpatterns: list[URLPattern] = [
    path("people/", people, name="people"),
    path("people/new/", person_create, name="person_create"),
    path("people/<int:pk>/", person_detail, name="person_detail"),
    path("people/<int:pk>/edit/", person_edit, name="person_edit"),
    path("roster/import/", roster_import, name="roster_import"),
    path("roster/import/<int:pk>/", roster_import_detail, name="roster_import_detail"),
    path("roster/export.csv", roster_export, name="roster_export"),
    path("schedule/export/", schedule_export, name="schedule_export"),
]
