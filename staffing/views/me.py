"""Self-service pages of support staff (my shifts, availability, open shifts), the managers'
inbox of drop and swap requests, and the unit tablet's check-in page.

Support staff reach only their own roster entry's data: another person's assignment, request or
window is answered 404. Objects of a go-live the user is not a member of are 404, a member without
the role gets 403, and a clinic manager decides only requests on units they manage.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from golive.models import Membership, Role, Unit
from golive.permissions import (
    ALL_ROLES,
    DESK,
    MANAGERS,
    home_units,
    managed_units,
    role_required,
)
from golive.views.golives import go_live_membership, posted
from staffing import selfservice
from staffing.forms_me import DecisionForm, DropRequestForm, SwapRequestForm, UnavailabilityForm
from staffing.models import Assignment, Shift, ShiftRequest, SupportPerson, Unavailability
from staffing.services import AssignmentRefused, NeedsOverride, describe


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _my_person(request: HttpRequest) -> SupportPerson | None:
    return selfservice.person_for(request.user, _membership(request).go_live)


def _me(request: HttpRequest) -> SupportPerson:
    """The user's roster entry in the current go-live; 404 for someone not on the roster."""
    person = _my_person(request)
    if person is None:
        raise Http404("You are not on this go-live's support roster.")
    return person


def _get_my_assignment(request: HttpRequest, pk: int) -> tuple[Assignment, SupportPerson]:
    """One of the user's own assignments: anyone else's is answered as missing."""
    person = _me(request)
    assignments = Assignment.objects.select_related("shift__unit__site")
    return get_object_or_404(assignments, pk=pk, person=person), person


def _not_on_roster(request: HttpRequest) -> HttpResponse:
    return render(
        request, "staffing/me_not_on_roster.html", {"go_live": _membership(request).go_live}
    )


def _refusal(exc: NeedsOverride) -> str:
    reasons = " ".join(warning.message for warning in exc.warnings)
    return f"You cannot take this shift yourself: {reasons} Ask your manager to assign you."


# --- My shifts ------------------------------------------------------------------------------------


@role_required(ALL_ROLES)
def my_shifts(request: HttpRequest) -> HttpResponse:
    person = _my_person(request)
    if person is None:
        return _not_on_roster(request)
    schedule = selfservice.my_schedule(person=person, now=timezone.now())
    return render(
        request,
        "staffing/me_shifts.html",
        {"person": person, "schedule": schedule, "tab": "my_shifts"},
    )


def _shift_card(
    request: HttpRequest, assignment: Assignment, person: SupportPerson, *, error: str, notice: str
) -> HttpResponse:
    """The assignment's card again, as htmx swaps it in place, with what just happened."""
    fresh = selfservice.my_assignments(person).get(pk=assignment.pk)
    item = selfservice.my_shift(fresh, timezone.now())
    context = {"item": item, "error": error, "notice": notice}
    return render(request, "staffing/me_shift_card.html", context)


def _after_action(
    request: HttpRequest,
    assignment: Assignment,
    person: SupportPerson,
    *,
    error: str = "",
    success: str = "",
) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        return _shift_card(request, assignment, person, error=error, notice=success)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, success)
    return redirect("staffing:my_shifts")


@role_required(ALL_ROLES)
@require_POST
def my_shift_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    assignment, person = _get_my_assignment(request, pk)
    try:
        selfservice.confirm_shift(assignment=assignment, actor=_user(request))
    except AssignmentRefused as exc:
        return _after_action(request, assignment, person, error=str(exc))
    return _after_action(request, assignment, person, success="Thanks: your shift is confirmed.")


@role_required(ALL_ROLES)
@require_POST
def my_shift_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    assignment, person = _get_my_assignment(request, pk)
    try:
        selfservice.check_in_myself(assignment=assignment, actor=_user(request))
    except AssignmentRefused as exc:
        return _after_action(request, assignment, person, error=str(exc))
    return _after_action(request, assignment, person, success="You are checked in.")


def _request_page(
    request: HttpRequest,
    assignment: Assignment,
    form: DropRequestForm | SwapRequestForm,
    *,
    title: str,
    submit_label: str,
) -> HttpResponse:
    return render(
        request,
        "staffing/me_request_form.html",
        {
            "assignment": assignment,
            "form": form,
            "title": title,
            "submit_label": submit_label,
        },
    )


@role_required(ALL_ROLES)
def my_shift_drop(request: HttpRequest, pk: int) -> HttpResponse:
    assignment, _ = _get_my_assignment(request, pk)
    form = DropRequestForm(posted(request))
    if form.is_valid():
        try:
            selfservice.request_drop(
                assignment=assignment, actor=_user(request), reason=form.cleaned_data["reason"]
            )
        except AssignmentRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Your request to drop the shift is with your manager.")
            return redirect("staffing:my_shifts")
    return _request_page(
        request, assignment, form, title="Ask to drop a shift", submit_label="Send request"
    )


@role_required(ALL_ROLES)
def my_shift_swap(request: HttpRequest, pk: int) -> HttpResponse:
    assignment, person = _get_my_assignment(request, pk)
    form = SwapRequestForm(posted(request), person=person)
    if form.is_valid():
        try:
            selfservice.request_swap(
                assignment=assignment,
                actor=_user(request),
                swap_with=form.cleaned_data["swap_with"],
                reason=form.cleaned_data["reason"],
            )
        except AssignmentRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Your swap request is with your manager.")
            return redirect("staffing:my_shifts")
    return _request_page(
        request, assignment, form, title="Ask to swap a shift", submit_label="Send request"
    )


@role_required(ALL_ROLES)
@require_POST
def my_request_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    person = _me(request)
    shift_request = get_object_or_404(ShiftRequest, pk=pk, assignment__person=person)
    try:
        selfservice.withdraw_request(shift_request=shift_request, actor=_user(request))
    except AssignmentRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your request is withdrawn; the shift stays yours.")
    return redirect("staffing:my_shifts")


# --- Availability ---------------------------------------------------------------------------------


@role_required(ALL_ROLES)
def availability(request: HttpRequest) -> HttpResponse:
    person = _my_person(request)
    if person is None:
        return _not_on_roster(request)
    form = UnavailabilityForm(posted(request), go_live=person.go_live)
    if form.is_valid():
        try:
            window = selfservice.add_unavailability(person=person, **form.cleaned_data)
        except AssignmentRefused as exc:
            form.add_error("end", str(exc))
        else:
            messages.success(request, "Saved: planners will see that you are unavailable then.")
            clashes = selfservice.clashing_assignments(window)
            if clashes:
                shifts = "; ".join(describe(a.shift) for a in clashes)
                messages.warning(
                    request,
                    f"You are still on these shifts in that window: {shifts}. "
                    "Ask to drop or swap them from My shifts.",
                )
            return redirect("staffing:availability")
    windows = selfservice.upcoming_unavailability(person, timezone.now())
    return render(
        request,
        "staffing/me_availability.html",
        {"person": person, "form": form, "windows": windows, "tab": "availability"},
    )


@role_required(ALL_ROLES)
@require_POST
def availability_delete(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_object_or_404(Unavailability, pk=pk, person=_me(request))
    selfservice.remove_unavailability(window=window)
    messages.success(request, "The window is removed.")
    return redirect("staffing:availability")


# --- Open shifts ----------------------------------------------------------------------------------


@role_required(ALL_ROLES)
def open_shifts(request: HttpRequest) -> HttpResponse:
    person = _my_person(request)
    if person is None:
        return _not_on_roster(request)
    rows = selfservice.open_shifts_for(person=person, now=timezone.now())
    return render(
        request,
        "staffing/me_open_shifts.html",
        {"person": person, "rows": rows, "tab": "open_shifts"},
    )


@role_required(ALL_ROLES)
@require_POST
def open_shift_claim(request: HttpRequest, pk: int) -> HttpResponse:
    person = _me(request)
    shift = get_object_or_404(Shift, pk=pk, go_live_id=person.go_live_id)
    try:
        assignment = selfservice.claim_shift(shift=shift, person=person, actor=_user(request))
    except NeedsOverride as exc:
        messages.error(request, _refusal(exc))
    except AssignmentRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The shift is yours: {describe(assignment.shift)}.")
        return redirect("staffing:my_shifts")
    return redirect("staffing:open_shifts")


# --- Managers' inbox of drop and swap requests ----------------------------------------------------


def _get_request_for_manager(request: HttpRequest, pk: int) -> ShiftRequest:
    shift_request = get_object_or_404(
        ShiftRequest.objects.select_related("assignment__shift__unit"), pk=pk
    )
    shift = shift_request.assignment.shift
    membership = go_live_membership(request, shift.go_live_id, MANAGERS)
    if not managed_units(membership).filter(pk=shift.unit_id).exists():
        raise PermissionDenied("You decide requests only for the units you manage.")
    return shift_request


def _requests_page(
    request: HttpRequest, bound: dict[int, DecisionForm] | None = None
) -> HttpResponse:
    """The inbox; `bound` holds the submitted form of a request whose decision was refused."""
    membership = _membership(request)
    pending = selfservice.pending_requests(
        units=managed_units(membership), go_live=membership.go_live, now=timezone.now()
    )
    bound = bound or {}
    rows = [
        (row, bound.get(row.shift_request.pk) or DecisionForm(prefix=f"r{row.shift_request.pk}"))
        for row in pending
    ]
    status = 400 if bound else 200
    return render(request, "staffing/requests.html", {"rows": rows}, status=status)


@role_required(MANAGERS)
def requests(request: HttpRequest) -> HttpResponse:
    return _requests_page(request)


@role_required(MANAGERS)
@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    shift_request = _get_request_for_manager(request, pk)
    form = DecisionForm(request.POST, prefix=f"r{pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == ShiftRequest.Status.APPROVED:
                selfservice.approve_request(
                    shift_request=shift_request,
                    actor=_user(request),
                    note=data["note"],
                    override_reason=data["override_reason"],
                )
            else:
                selfservice.refuse_request(
                    shift_request=shift_request, actor=_user(request), note=data["note"]
                )
        except NeedsOverride as exc:
            form.add_error(
                "override_reason",
                f"{exc} Give a reason to approve anyway, or refuse the request.",
            )
        except AssignmentRefused as exc:
            form.add_error(None, str(exc))
        else:
            verb = "approved" if data["decision"] == ShiftRequest.Status.APPROVED else "refused"
            messages.success(request, f"The request is {verb}; everyone concerned is told.")
            return redirect("staffing:requests")
    return _requests_page(request, {pk: form})


# --- Unit tablet check-in -------------------------------------------------------------------------


def _get_unit_for_checkin(request: HttpRequest, pk: int) -> Unit:
    """Floor staff of the unit, its managers, the command center and the help desk."""
    unit = get_object_or_404(Unit.objects.select_related("site__go_live"), pk=pk)
    membership = go_live_membership(request, unit.site.go_live_id, ALL_ROLES)
    if membership.role in DESK:
        return unit
    if membership.role == Role.CLINIC_MANAGER:
        allowed = managed_units(membership)
    elif membership.role == Role.FLOOR_STAFF:
        allowed = home_units(membership)
    else:
        raise PermissionDenied("Support staff check in from My shifts on their own phone.")
    if not allowed.filter(pk=unit.pk).exists():
        raise PermissionDenied("This tablet page is for the unit's own staff and managers.")
    return unit


def _checkin_context(unit: Unit, **extra: object) -> dict[str, object]:
    now = timezone.now()
    arrivals = [
        (assignment, selfservice.check_in_is_open(assignment, now))
        for assignment in selfservice.unit_arrivals(unit, now)
    ]
    return {"unit": unit, "go_live": unit.site.go_live, "arrivals": arrivals, **extra}


@role_required(ALL_ROLES)
def unit_checkin(request: HttpRequest, pk: int) -> HttpResponse:
    """The tablet's page: GET lists who is due (htmx refreshes the list), POST checks one in."""
    unit = _get_unit_for_checkin(request, pk)
    htmx = bool(request.htmx)  # type: ignore[attr-defined]
    template = "staffing/checkin_list.html" if htmx else "staffing/checkin.html"
    if request.method != "POST":
        return render(request, template, _checkin_context(unit))
    assignment_id = request.POST.get("assignment", "")
    if not assignment_id.isdecimal():
        raise Http404("Choose someone on the list.")
    assignment = get_object_or_404(
        selfservice.unit_arrivals(unit, timezone.now()), pk=int(assignment_id)
    )
    try:
        assignment = selfservice.check_in_at_unit(assignment=assignment, actor=_user(request))
    except AssignmentRefused as exc:
        error, notice = f"{assignment.person.name}: {exc}", ""
    else:
        error, notice = "", f"{assignment.person.name} is checked in."
    if htmx:
        return render(request, template, _checkin_context(unit, error=error, notice=notice))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("staffing:unit_checkin", pk=unit.pk)


urlpatterns: list[URLPattern] = [
    path("me/shifts/", my_shifts, name="my_shifts"),
    path("me/shifts/<int:pk>/confirm/", my_shift_confirm, name="my_shift_confirm"),
    path("me/shifts/<int:pk>/check-in/", my_shift_check_in, name="my_shift_check_in"),
    path("me/shifts/<int:pk>/drop/", my_shift_drop, name="my_shift_drop"),
    path("me/shifts/<int:pk>/swap/", my_shift_swap, name="my_shift_swap"),
    path("me/requests/<int:pk>/withdraw/", my_request_withdraw, name="my_request_withdraw"),
    path("me/availability/", availability, name="availability"),
    path("me/availability/<int:pk>/delete/", availability_delete, name="availability_delete"),
    path("me/open-shifts/", open_shifts, name="open_shifts"),
    path("me/open-shifts/<int:pk>/claim/", open_shift_claim, name="open_shift_claim"),
    path("requests/", requests, name="requests"),
    path("requests/<int:pk>/decide/", request_decide, name="request_decide"),
    path("units/<int:pk>/check-in/", unit_checkin, name="unit_checkin"),
]
