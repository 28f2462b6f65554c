"""The coverage grid and the shift panel: see gaps, open a shift, put people on it.

Planning (assigning, cancelling, editing shifts) is for command center leads and clinic managers,
a manager only on the units she manages; help desk agents see the grid and panels read-only.
With htmx the panel loads beside the grid and every change re-renders the panel plus the grid's
cell and day summary out of band; without JavaScript the same views answer as normal pages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from golive.models import Application, Membership, Role
from golive.permissions import MANAGERS, can_edit_unit, managed_units, role_required
from golive.views.golives import form_page, go_live_membership, posted
from staffing.forms_grid import (
    AssignForm,
    CancelForm,
    GridFilterForm,
    OverrideForm,
    SearchForm,
    ShiftCreateForm,
    ShiftEditForm,
    StatusForm,
)
from staffing.grid import (
    ROLE_SHORT,
    STATUSES,
    GridFilters,
    ShiftRefused,
    build_grid,
    create_shift,
    edit_shift,
    eligible_people,
    grid_units,
    hours_label,
    person_facts,
    shift_cell,
    status_of,
    timeline,
    times_label,
)
from staffing.models import Assignment, Shift, StaffingSettings, SupportPerson, SupportRole
from staffing.rules import RuleWarning
from staffing.services import (
    AssignmentRefused,
    NeedsOverride,
    assign_person,
    cancel_assignment,
    set_assignment_status,
)

VIEWERS = MANAGERS | {Role.HELP_DESK_AGENT}


# --- Access ---------------------------------------------------------------------------------------


def _get_shift_for(
    request: HttpRequest, pk: int, roles: frozenset[str]
) -> tuple[Shift, Membership]:
    """The shift and the user's membership: 404 outside the go-live, 403 without the role or unit."""
    shift = get_object_or_404(
        Shift.objects.select_related("go_live", "unit__site", "application"), pk=pk
    )
    membership = go_live_membership(request, shift.go_live_id, roles)
    shift.go_live = membership.go_live
    if membership.role == Role.CLINIC_MANAGER and not can_edit_unit(membership, shift.unit):
        raise PermissionDenied("You plan only the units you manage.")
    return shift, membership


def _get_assignment_for(request: HttpRequest, pk: int) -> tuple[Assignment, Membership]:
    assignment = get_object_or_404(Assignment.objects.select_related("person"), pk=pk)
    shift, membership = _get_shift_for(request, assignment.shift_id, MANAGERS)
    assignment.shift = shift
    return assignment, membership


def _can_plan(membership: Membership) -> bool:
    # _get_shift_for has already refused a clinic manager the units she does not manage.
    return membership.role in MANAGERS


# --- The grid -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RangeLink:
    label: str
    url: str


def _range_links(request: HttpRequest, filters: GridFilters, today: dt.date) -> list[RangeLink]:
    """Earlier / today / later, keeping the other filters."""

    def at(start: dt.date) -> str:
        query = request.GET.copy()
        query["start"] = start.isoformat()
        return f"{request.path}?{query.urlencode()}"

    step = dt.timedelta(days=filters.days)
    return [
        RangeLink(f"Previous {filters.days} days", at(filters.start - step)),
        RangeLink("Today", at(today)),
        RangeLink(f"Next {filters.days} days", at(filters.start + step)),
    ]


@role_required(VIEWERS)
@require_GET
def grid(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    today = go_live.local_now().date()
    units = grid_units(membership)
    form = GridFilterForm(request.GET or None, units=units, today=today)
    filters = form.filters()
    context = {
        "form": form,
        "grid": build_grid(go_live=go_live, units=units, filters=filters),
        "range_links": _range_links(request, filters, today),
        "can_plan": membership.role in MANAGERS,
        "statuses": STATUSES,
        "roles": [(short, SupportRole(role).label) for role, short in ROLE_SHORT.items()],
    }
    return render(request, "staffing/grid.html", context)


def _grid_update(request: HttpRequest, membership: Membership, shift: Shift) -> dict[str, Any]:
    """The grid cell and day summary to swap out of band, when the panel sits on the grid page."""
    current = request.htmx.current_url if request.htmx else None  # type: ignore[attr-defined]
    if not current or shift.go_live_id != request.membership.go_live_id:  # type: ignore[attr-defined]
        return {}
    parts = urlsplit(current)
    if parts.path != reverse("staffing:grid"):
        return {}
    # The grid page's own address holds its filters: the cell is redrawn as that page shows it.
    units = grid_units(membership)
    today = shift.go_live.local_now().date()
    filters = GridFilterForm(QueryDict(parts.query) or None, units=units, today=today).filters()
    found = shift_cell(go_live=shift.go_live, units=units, filters=filters, shift=shift)
    if found is None:
        return {}
    cell, day = found
    return {"oob_cell": cell, "oob_day": day}


# --- The shift panel ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    assignment: Assignment
    can_confirm: bool
    can_no_show: bool
    cancel_form: CancelForm


@dataclass(frozen=True)
class Override:
    person: SupportPerson
    warnings: list[RuleWarning]
    form: OverrideForm


def _panel(
    request: HttpRequest,
    shift: Shift,
    membership: Membership,
    *,
    message: str = "",
    error: str = "",
    override: Override | None = None,
    failed_cancel: tuple[int, CancelForm] | None = None,
) -> HttpResponse:
    """The shift panel: a partial for htmx (with the grid's cell out of band), else a page."""
    can_plan = _can_plan(membership)
    now = timezone.now()
    assignments = list(shift.assignments.select_related("person").order_by("assigned_at", "pk"))
    active = [a for a in assignments if a.is_active]
    rows = [
        PersonRow(
            assignment=a,
            can_confirm=a.status == Assignment.Status.SCHEDULED,
            can_no_show=a.status != Assignment.Status.CHECKED_IN and shift.start <= now,
            cancel_form=failed_cancel[1]
            if failed_cancel and failed_cancel[0] == a.pk
            else CancelForm(prefix=f"cancel-{a.pk}"),
        )
        for a in active
    ]
    is_over = shift.end <= now
    open_places = max(shift.needed - len(active), 0)
    search = SearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    context: dict[str, Any] = {
        "shift": shift,
        "can_plan": can_plan,
        "times": times_label(shift.start, shift.end, shift.go_live),
        "length": hours_label(shift.hours),
        "status": status_of(len(active), shift.needed),
        "active_count": len(active),
        "open_places": open_places,
        "is_over": is_over,
        "rows": rows,
        "earlier": [a for a in assignments if not a.is_active],
        "events": timeline(shift),
        "message": message,
        "error": error,
        "override": override,
        "search": search,
        "grid_url": _grid_url_for(shift),
    }
    if can_plan and open_places and not is_over:
        context.update(_candidates(shift, query))
    if request.htmx:  # type: ignore[attr-defined]
        if request.method == "POST":
            context.update(_grid_update(request, membership, shift))
        return render(request, "staffing/shift_panel.html", context)
    return render(request, "staffing/shift_detail.html", context)


def _candidates(shift: Shift, query: str) -> dict[str, Any]:
    eligible = eligible_people(
        shift=shift, staffing=StaffingSettings.for_go_live(shift.go_live), search=query
    )
    return {"eligible": eligible, "people": person_facts(eligible.candidates, shift)}


def _grid_url_for(shift: Shift) -> str:
    day = timezone.localtime(shift.start, shift.go_live.tzinfo).date()
    return f"{reverse('staffing:grid')}?start={day.isoformat()}"


def _done(request: HttpRequest, shift: Shift, membership: Membership, message: str) -> HttpResponse:
    """After a change: the fresh panel for htmx, else back to the shift page (post/redirect/get)."""
    if request.htmx:  # type: ignore[attr-defined]
        return _panel(request, shift, membership, message=message)
    messages.success(request, message)
    return redirect(shift)


@login_required
@require_GET
def shift_detail(request: HttpRequest, pk: int) -> HttpResponse:
    shift, membership = _get_shift_for(request, pk, VIEWERS)
    return _panel(request, shift, membership)


@login_required
@require_GET
def shift_candidates(request: HttpRequest, pk: int) -> HttpResponse:
    """The eligible-people list alone, for the panel's search box."""
    shift, _ = _get_shift_for(request, pk, MANAGERS)
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    context = {"shift": shift, **_candidates(shift, query)}
    return render(request, "staffing/shift_candidates.html", context)


@login_required
@require_POST
def shift_assign(request: HttpRequest, pk: int) -> HttpResponse:
    shift, membership = _get_shift_for(request, pk, MANAGERS)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _panel(request, shift, membership, error="Choose a person from the list.")
    person = SupportPerson.objects.filter(
        pk=form.cleaned_data["person"], go_live_id=shift.go_live_id
    ).first()
    if person is None:
        return _panel(request, shift, membership, error="This person is not on the roster.")
    reason = form.cleaned_data["override_reason"]
    try:
        assign_person(shift=shift, person=person, actor=request.user, override_reason=reason)
    except NeedsOverride as exc:
        # A second submission that left the reason empty gets the field's own message.
        retry = "override_reason" in request.POST
        override_form = OverrideForm(request.POST if retry else None, initial={"person": person.pk})
        if retry:
            override_form.is_valid()
        override = Override(person=person, warnings=exc.warnings, form=override_form)
        return _panel(request, shift, membership, override=override)
    except AssignmentRefused as exc:
        return _panel(request, shift, membership, error=str(exc))
    return _done(request, shift, membership, f"{person.name} is on this shift.")


@login_required
@require_POST
def shift_cancel_assignment(request: HttpRequest, pk: int) -> HttpResponse:
    assignment, membership = _get_assignment_for(request, pk)
    shift = assignment.shift
    form = CancelForm(request.POST, prefix=f"cancel-{assignment.pk}")
    if not form.is_valid():
        return _panel(
            request,
            shift,
            membership,
            error=f"{assignment.person.name} is still on the shift: give a reason to cancel.",
            failed_cancel=(assignment.pk, form),
        )
    try:
        cancel_assignment(
            assignment=assignment, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except AssignmentRefused as exc:
        return _panel(request, shift, membership, error=str(exc))
    return _done(request, shift, membership, f"{assignment.person.name} is off this shift.")


@login_required
@require_POST
def shift_assignment_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm an assignment, or mark a no-show once the shift has started."""
    assignment, membership = _get_assignment_for(request, pk)
    shift = assignment.shift
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _panel(request, shift, membership, error="Choose confirmed or no-show.")
    status = form.cleaned_data["status"]
    try:
        set_assignment_status(assignment=assignment, status=status, actor=request.user)
    except AssignmentRefused as exc:
        return _panel(request, shift, membership, error=str(exc))
    label = Assignment.Status(status).label.lower()
    return _done(request, shift, membership, f"{assignment.person.name}: {label}.")


# --- One-off shifts and shift edits ---------------------------------------------------------------


@role_required(MANAGERS)
def shift_create(request: HttpRequest) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    go_live = membership.go_live
    form = ShiftCreateForm(
        posted(request),
        units=managed_units(membership).filter(is_active=True),
        applications=Application.objects.filter(go_live=go_live),
    )
    if form.is_valid():
        try:
            shift = create_shift(actor=request.user, **form.cleaned_data)
        except ShiftRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "The shift is added. Put people on it below.")
            return redirect(shift)
    return form_page(
        request,
        membership,
        form,
        title="New one-off shift",
        submit_label="Add shift",
        cancel_url=reverse("staffing:grid"),
        intro=f"Times are local to {go_live.name} ({go_live.time_zone}).",
    )


@login_required
def shift_edit(request: HttpRequest, pk: int) -> HttpResponse:
    shift, membership = _get_shift_for(request, pk, MANAGERS)
    # Times are read and shown in the shift's go-live's zone, whichever go-live is current.
    with timezone.override(shift.go_live.tzinfo):
        active_count = shift.assignments.active().count()
        form = ShiftEditForm(
            posted(request),
            active_count=active_count,
            initial={
                "label": shift.label,
                "start": shift.start,
                "end": shift.end,
                "needed": shift.needed,
            },
        )
        if form.is_valid():
            try:
                edit_shift(shift=shift, actor=request.user, **form.cleaned_data)
            except ShiftRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "The shift is saved.")
                return redirect(shift)
        intro = "Times are local to the go-live."
        if active_count:
            intro += (
                f" {active_count} {'person moves' if active_count == 1 else 'people move'} "
                "with new times and will be told."
            )
        return form_page(
            request,
            membership,
            form,
            title=f"Edit shift: {shift.unit.name}, {shift.get_role_display()}",
            submit_label="Save shift",
            cancel_url=shift.get_absolute_url(),
            intro=intro,
        )


urlpatterns: list[URLPattern] = [
    path("grid/", grid, name="grid"),
    path("shifts/new/", shift_create, name="shift_create"),
    path("shifts/<int:pk>/", shift_detail, name="shift_detail"),
    path("shifts/<int:pk>/edit/", shift_edit, name="shift_edit"),
    path("shifts/<int:pk>/people/", shift_candidates, name="shift_candidates"),
    path("shifts/<int:pk>/assign/", shift_assign, name="shift_assign"),
    path(
        "shifts/assignments/<int:pk>/cancel/",
        shift_cancel_assignment,
        name="shift_cancel_assignment",
    ),
    path(
        "shifts/assignments/<int:pk>/status/",
        shift_assignment_status,
        name="shift_assignment_status",
    ),
]
