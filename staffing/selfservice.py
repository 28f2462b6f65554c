"""Self-service for support staff: their schedule, unavailable windows, claims of open places,
drop and swap requests (decided by a manager) and check-in on a unit's tablet.

Every change to a shift or an assignment goes through staffing.services (which writes the
ShiftEvent rows and tells the person); the request workflow adds its own events and notifications
here, in the transaction of the change. Refusals are AssignmentRefused with a message for people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from golive import outbox
from golive.models import GoLive, Membership, Notification, Unit
from golive.permissions import command_center_leads, unit_managers
from staffing.models import (
    ACTIVE_STATUSES,
    Assignment,
    Shift,
    ShiftRequest,
    StaffingSettings,
    SupportPerson,
    Unavailability,
)
from staffing.rules import PersonLoad, RuleWarning, load_people, overlaps_busy, soft_warnings
from staffing.services import (
    CHECK_IN_OPENS,
    AssignmentRefused,
    assign_person,
    cancel_assignment,
    check_in,
    describe,
    record_event,
    set_assignment_status,
    tell_person,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Statuses of an assignment the person has not checked in to yet.
NOT_ARRIVED = (Assignment.Status.SCHEDULED, Assignment.Status.CONFIRMED)
PAST_DAYS_SHOWN = 7
OPEN_SHIFTS_SHOWN = 100
VIA_OWN_PHONE = "own phone"
VIA_UNIT_TABLET = "unit tablet"


def person_for(user: AbstractBaseUser, go_live: GoLive) -> SupportPerson | None:
    """The user's own entry on the go-live's roster, if they have one."""
    person = (
        SupportPerson.objects.filter(go_live=go_live, user=user).prefetch_related("skills").first()
    )
    if person is not None:
        person.go_live = go_live
    return person


def article(role_label: str) -> str:
    """“a super user”, “an application analyst”."""
    word = role_label.lower()
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def hours(start: dt.datetime, end: dt.datetime) -> float:
    return max((end - start).total_seconds() / 3600, 0.0)


def check_in_is_open(assignment: Assignment, now: dt.datetime) -> bool:
    """The same window services.check_in accepts: an hour before the start until the end."""
    shift = assignment.shift
    return assignment.status in NOT_ARRIVED and shift.start - CHECK_IN_OPENS <= now < shift.end


# --- My shifts ------------------------------------------------------------------------------------


@dataclass
class MyShift:
    """One of the person's assignments as their own page shows it."""

    assignment: Assignment
    others: list[SupportPerson]
    pending: ShiftRequest | None
    can_check_in: bool
    can_confirm: bool
    can_ask: bool

    @property
    def shift(self) -> Shift:
        return self.assignment.shift


@dataclass
class MySchedule:
    upcoming: list[MyShift]
    past: list[Assignment]
    week_start: dt.date
    week_hours: float
    week_limit: float


def my_shift(assignment: Assignment, now: dt.datetime) -> MyShift:
    """Reads the prefetched `shift.active_assignments` and `pending_requests`: no query."""
    pending = assignment.pending_requests[0] if assignment.pending_requests else None  # type: ignore[attr-defined]
    not_started = assignment.shift.start > now
    return MyShift(
        assignment=assignment,
        others=[
            other.person
            for other in assignment.shift.active_assignments  # type: ignore[attr-defined]
            if other.person_id != assignment.person_id
        ],
        pending=pending,
        can_check_in=check_in_is_open(assignment, now),
        can_confirm=assignment.status == Assignment.Status.SCHEDULED and not_started,
        can_ask=assignment.status in NOT_ARRIVED and not_started and pending is None,
    )


def my_assignments(person: SupportPerson) -> QuerySet[Assignment]:
    """The person's assignments with what their page shows of each, in a fixed number of queries."""
    return (
        Assignment.objects.filter(person=person)
        .select_related("shift__unit__site", "shift__go_live", "person")
        .prefetch_related(
            Prefetch(
                "shift__assignments",
                queryset=Assignment.objects.active().select_related("person"),
                to_attr="active_assignments",
            ),
            Prefetch(
                "requests",
                queryset=ShiftRequest.objects.filter(
                    status=ShiftRequest.Status.PENDING
                ).select_related("swap_with"),
                to_attr="pending_requests",
            ),
        )
        .order_by("shift__start")
    )


def my_schedule(*, person: SupportPerson, now: dt.datetime) -> MySchedule:
    """Upcoming active shifts, the last 7 days, and hours in this local week (Monday to Sunday)."""
    tz = person.go_live.tzinfo
    today = timezone.localtime(now, tz).date()
    week_start = today - dt.timedelta(days=today.weekday())
    # In UTC: arithmetic between two datetimes of one zone would ignore a DST change in between.
    week_from = dt.datetime.combine(week_start, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    week_to = dt.datetime.combine(
        week_start + dt.timedelta(days=7), dt.time(), tzinfo=tz
    ).astimezone(dt.UTC)
    # The week started at most 7 days ago, so these rows hold this week's shifts too.
    since = now - dt.timedelta(days=PAST_DAYS_SHOWN)
    rows = list(
        my_assignments(person)
        .filter(shift__end__gt=since)
        .exclude(status=Assignment.Status.CANCELLED)
    )
    upcoming = [my_shift(a, now) for a in rows if a.shift.end > now and a.is_active]
    past = [a for a in reversed(rows) if a.shift.end <= now and a.shift.start >= since]
    week_hours = sum(
        hours(max(a.shift.start, week_from), min(a.shift.end, week_to)) for a in rows if a.is_active
    )
    return MySchedule(
        upcoming=upcoming,
        past=past,
        week_start=week_start,
        week_hours=round(week_hours, 1),
        week_limit=float(person.max_hours_per_week),
    )


def _lock(assignment: Assignment) -> Assignment:
    return (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("shift__go_live", "shift__unit__site", "person__go_live")
        .get(pk=assignment.pk)
    )


@transaction.atomic
def confirm_shift(*, assignment: Assignment, actor: AbstractBaseUser) -> Assignment:
    """The person says they will be there."""
    # Locked first: a check-in landing at the same moment must not be turned back into "confirmed".
    assignment = _lock(assignment)
    if assignment.status != Assignment.Status.SCHEDULED:
        raise AssignmentRefused(
            f"This shift is {assignment.get_status_display().lower()}; only a scheduled shift "
            "can be confirmed."
        )
    if assignment.shift.start <= timezone.now():
        raise AssignmentRefused("This shift has started; check in instead.")
    return set_assignment_status(
        assignment=assignment, status=Assignment.Status.CONFIRMED, actor=actor
    )


def check_in_myself(*, assignment: Assignment, actor: AbstractBaseUser) -> Assignment:
    return check_in(assignment=assignment, actor=actor, via=VIA_OWN_PHONE)


# --- Open shifts ----------------------------------------------------------------------------------


@dataclass
class OpenShift:
    shift: Shift
    open_places: int
    warnings: list[RuleWarning]
    busy: bool

    @property
    def can_claim(self) -> bool:
        return not self.busy and not self.warnings


def claimable_shifts(person: SupportPerson, now: dt.datetime) -> QuerySet[Shift]:
    """Future shifts open for claiming, of the person's role and skills, with a free place."""
    mine = Assignment.objects.active().filter(shift=OuterRef("pk"), person=person)
    return (
        Shift.objects.filter(
            go_live_id=person.go_live_id, allow_claim=True, start__gt=now, role=person.role
        )
        .filter(Q(application__isnull=True) | Q(application_id__in=person.skills.values("pk")))
        .annotate(taken=Count("assignments", filter=Q(assignments__status__in=ACTIVE_STATUSES)))
        .filter(taken__lt=F("needed"))
        .exclude(Exists(mine))
    )


def open_shifts_for(*, person: SupportPerson, now: dt.datetime) -> list[OpenShift]:
    """The shifts the person may claim, soonest first, each with what would stop a claim."""
    if not person.is_active:
        return []
    shifts = list(
        claimable_shifts(person, now)
        .select_related("unit__site", "application", "go_live")
        .order_by("start", "unit__site__name", "unit__name")[:OPEN_SHIFTS_SHOWN]
    )
    if not shifts:
        return []
    load = load_people([person.pk], min(s.start for s in shifts), max(s.end for s in shifts)).get(
        person.pk, PersonLoad()
    )
    staffing = StaffingSettings.for_go_live(person.go_live)
    return [
        OpenShift(
            shift=shift,
            open_places=shift.needed - shift.taken,  # type: ignore[attr-defined]
            warnings=soft_warnings(person, shift, load, staffing),
            busy=overlaps_busy(shift, load),
        )
        for shift in shifts
    ]


@transaction.atomic
def claim_shift(*, shift: Shift, person: SupportPerson, actor: AbstractBaseUser) -> Assignment:
    """The person takes an open place themselves.

    Unlike a manager, they cannot override soft warnings: NeedsOverride reaches the caller, who
    shows the warnings and leaves the place to a manager.
    """
    # The shift's row lock (taken again by assign_person) keeps the checks below true until commit.
    shift = (
        Shift.objects.select_for_update(of=("self",)).select_related("application").get(pk=shift.pk)
    )
    if shift.go_live_id != person.go_live_id:
        raise AssignmentRefused(f"{person.name} is not on this go-live's roster.")
    if not shift.allow_claim:
        raise AssignmentRefused("This shift is not open for claiming. Ask your manager.")
    if shift.start <= timezone.now():
        raise AssignmentRefused("This shift has already started; it can no longer be claimed.")
    if shift.role != person.role:
        raise AssignmentRefused(
            f"This shift is for {article(shift.get_role_display())}; you are on the roster as "
            f"{article(person.get_role_display())}."
        )
    if (
        shift.application_id is not None
        and not person.skills.filter(pk=shift.application_id).exists()
    ):
        raise AssignmentRefused(f"This shift needs someone listed for {shift.application}.")
    return assign_person(shift=shift, person=person, actor=actor)


# --- Availability ---------------------------------------------------------------------------------


def upcoming_unavailability(person: SupportPerson, now: dt.datetime) -> QuerySet[Unavailability]:
    return person.unavailabilities.filter(end__gt=now).order_by("start")


def add_unavailability(
    *, person: SupportPerson, start: dt.datetime, end: dt.datetime, reason: str = ""
) -> Unavailability:
    """Mark a window the person cannot work; planning warns about it from now on."""
    try:
        with transaction.atomic():
            return Unavailability.objects.create(
                person=person, start=start, end=end, reason=reason.strip()
            )
    except IntegrityError as exc:
        if "unavailability_ends_after_start" in str(exc):
            raise AssignmentRefused("The window must end after it starts.") from exc
        raise


def clashing_assignments(window: Unavailability) -> list[Assignment]:
    """The person's active assignments inside the window: they should ask to drop them."""
    return list(
        Assignment.objects.active()
        .filter(person_id=window.person_id, period__overlap=(window.start, window.end))
        .select_related("shift__unit__site", "shift__go_live")
        .order_by("shift__start")
    )


def remove_unavailability(*, window: Unavailability) -> None:
    window.delete()


# --- Drop and swap requests -----------------------------------------------------------------------


def _user_key(user: AbstractBaseUser) -> str:
    return f"user{user.pk}"


def _person_key(person: SupportPerson) -> str:
    return f"person{person.pk}"


def tell_user(
    *, user: AbstractBaseUser, key: str, subject: str, body: str, go_live: GoLive, link: str
) -> None:
    """A member of the go-live (a manager, a lead): in the app and, with an address, by email."""
    outbox.notify(
        dedupe_key=f"{key}:in_app",
        channel=Notification.Channel.IN_APP,
        subject=subject,
        body=body,
        user=user,
        go_live=go_live,
        link=link,
    )
    if getattr(user, "email", ""):
        outbox.notify(
            dedupe_key=f"{key}:email",
            channel=Notification.Channel.EMAIL,
            subject=subject,
            body=body,
            user=user,
            go_live=go_live,
            link=link,
        )


def deciders(unit: Unit) -> list[Membership]:
    """Who decides a request on `unit`: its clinic managers, else the command center leads."""
    managers = list(unit_managers(unit))
    return managers or list(command_center_leads(unit.site.go_live))


def _open_request(
    *,
    assignment: Assignment,
    actor: AbstractBaseUser,
    kind: str,
    reason: str,
    swap_with: SupportPerson | None = None,
) -> ShiftRequest:
    assignment = _lock(assignment)
    shift, person = assignment.shift, assignment.person
    if assignment.status == Assignment.Status.CHECKED_IN:
        raise AssignmentRefused("You have checked in to this shift; call your manager instead.")
    if assignment.status not in NOT_ARRIVED:
        raise AssignmentRefused("This shift is not active any more.")
    if shift.start <= timezone.now():
        raise AssignmentRefused("This shift has already started; call your manager instead.")
    if swap_with is not None:
        if swap_with.pk == person.pk:
            raise AssignmentRefused("Choose someone other than yourself to take the shift.")
        if swap_with.go_live_id != shift.go_live_id or not swap_with.is_active:
            raise AssignmentRefused(
                f"{swap_with.name} is not an active member of this go-live's roster."
            )
    try:
        with transaction.atomic():
            shift_request = ShiftRequest.objects.create(
                assignment=assignment,
                kind=kind,
                swap_with=swap_with,
                reason=reason.strip(),
                requested_by=actor,
            )
    except IntegrityError as exc:
        if "shiftrequest_one_pending_per_assignment" in str(exc):
            raise AssignmentRefused(
                "This shift already has a request waiting for a manager."
            ) from exc
        raise
    what = f"swap with {swap_with.name}" if swap_with is not None else "drop"
    record_event(
        shift=shift,
        assignment=assignment,
        actor=actor,
        action=f"{kind}_requested",
        old=person.name,
        new=f"Asks to {what}",
        note=shift_request.reason,
    )
    link = reverse("staffing:requests")
    subject = f"{person.name} asks to {what}: {describe(shift)}"
    body = f"Reason: {shift_request.reason}" if shift_request.reason else ""
    for membership in deciders(shift.unit):
        tell_user(
            user=membership.user,
            key=f"shiftrequest:{shift_request.pk}:requested:{_user_key(membership.user)}",
            subject=subject,
            body=body,
            go_live=shift.go_live,
            link=link,
        )
    if swap_with is not None:
        tell_person(
            person=swap_with,
            key=f"shiftrequest:{shift_request.pk}:requested:{_person_key(swap_with)}",
            subject=f"{person.name} named you to take a shift: {describe(shift)}",
            body="A manager will decide. You will hear whether the shift becomes yours.",
        )
    return shift_request


@transaction.atomic
def request_drop(*, assignment: Assignment, actor: AbstractBaseUser, reason: str) -> ShiftRequest:
    """Ask a manager to take the person off a shift that has not started."""
    if not reason.strip():
        raise AssignmentRefused("Say why you need to drop the shift.")
    return _open_request(
        assignment=assignment, actor=actor, kind=ShiftRequest.Kind.DROP, reason=reason
    )


@transaction.atomic
def request_swap(
    *,
    assignment: Assignment,
    actor: AbstractBaseUser,
    swap_with: SupportPerson,
    reason: str = "",
) -> ShiftRequest:
    """Ask a manager to give the shift to `swap_with`; the rules for them are checked on approval."""
    return _open_request(
        assignment=assignment,
        actor=actor,
        kind=ShiftRequest.Kind.SWAP,
        reason=reason,
        swap_with=swap_with,
    )


def _lock_request(shift_request: ShiftRequest) -> ShiftRequest:
    shift_request = (
        ShiftRequest.objects.select_for_update(of=("self",))
        .select_related(
            "assignment__shift__go_live",
            "assignment__shift__unit__site",
            "assignment__person__go_live",
            "assignment__person__user",
            "swap_with__go_live",
            "swap_with__user",
        )
        .get(pk=shift_request.pk)
    )
    if shift_request.status != ShiftRequest.Status.PENDING:
        raise AssignmentRefused(
            f"This request is no longer waiting: {shift_request.get_status_display().lower()}."
        )
    return shift_request


def _close(
    shift_request: ShiftRequest, *, status: str, actor: AbstractBaseUser, note: str = ""
) -> None:
    """Record the outcome on the request and on its shift's timeline."""
    shift_request.status = status
    shift_request.decided_at = timezone.now()
    shift_request.decision_note = note.strip()
    fields = ["status", "decided_at", "decision_note"]
    if status != ShiftRequest.Status.WITHDRAWN:
        shift_request.decided_by = actor  # type: ignore[assignment]
        fields.append("decided_by")
    shift_request.save(update_fields=fields)
    assignment = shift_request.assignment
    record_event(
        shift=assignment.shift,
        assignment=assignment,
        actor=actor,
        action=f"request_{status}",
        old=f"{assignment.person.name}: {shift_request.get_kind_display()} request",
        new=shift_request.get_status_display(),
        note=shift_request.decision_note,
    )


def _tell_about_decision(shift_request: ShiftRequest) -> None:
    """The requester and, for a swap, the person named: each once per decision."""
    shift = shift_request.assignment.shift
    subject = f"{shift_request.get_kind_display()} {shift_request.get_status_display().lower()}"
    body = f"Manager's note: {shift_request.decision_note}" if shift_request.decision_note else ""
    people = [shift_request.assignment.person]
    if shift_request.swap_with is not None:
        people.append(shift_request.swap_with)
    for person in people:
        tell_person(
            person=person,
            key=f"shiftrequest:{shift_request.pk}:{shift_request.status}:{_person_key(person)}",
            subject=f"{subject}: {describe(shift)}",
            body=body,
        )


def approval_blocker(assignment: Assignment, now: dt.datetime) -> str:
    """Why a request on this assignment can no longer be approved; "" when it can."""
    if assignment.status not in NOT_ARRIVED:
        return (
            f"{assignment.person.name} is {assignment.get_status_display().lower()} on this "
            "shift, so there is nothing to hand over: refuse the request to close it."
        )
    if assignment.shift.start <= now:
        return "The shift has already started: refuse the request and arrange cover from the shift."
    return ""


@transaction.atomic
def withdraw_request(*, shift_request: ShiftRequest, actor: AbstractBaseUser) -> ShiftRequest:
    """The requester changes their mind while the request still waits."""
    shift_request = _lock_request(shift_request)
    _close(shift_request, status=ShiftRequest.Status.WITHDRAWN, actor=actor)
    assignment = shift_request.assignment
    if shift_request.swap_with is not None:
        tell_person(
            person=shift_request.swap_with,
            key=f"shiftrequest:{shift_request.pk}:withdrawn:{_person_key(shift_request.swap_with)}",
            subject=f"{assignment.person.name} withdrew the swap: {describe(assignment.shift)}",
            body="The shift stays with them; nothing changes for you.",
        )
    return shift_request


@transaction.atomic
def approve_request(
    *,
    shift_request: ShiftRequest,
    actor: AbstractBaseUser,
    note: str = "",
    override_reason: str = "",
) -> ShiftRequest:
    """Carry the request out, all or nothing.

    A drop cancels the assignment. A swap cancels it and assigns the person named in the same
    transaction: when the rules refuse them (AssignmentRefused) or warn without an override reason
    (NeedsOverride), the exception rolls everything back and the requester keeps the shift.
    """
    shift_request = _lock_request(shift_request)
    assignment = shift_request.assignment
    shift = assignment.shift
    blocker = approval_blocker(assignment, timezone.now())
    if blocker:
        raise AssignmentRefused(blocker)
    kind = shift_request.get_kind_display().lower()
    cancel_assignment(
        assignment=assignment,
        actor=actor,
        reason=f"The {kind} request was approved." + (f" {note.strip()}" if note.strip() else ""),
        replacement_follows=shift_request.swap_with is not None,
    )
    if shift_request.swap_with is not None:
        assign_person(
            shift=shift,
            person=shift_request.swap_with,
            actor=actor,
            override_reason=override_reason,
        )
    _close(shift_request, status=ShiftRequest.Status.APPROVED, actor=actor, note=note)
    _tell_about_decision(shift_request)
    return shift_request


@transaction.atomic
def refuse_request(
    *, shift_request: ShiftRequest, actor: AbstractBaseUser, note: str
) -> ShiftRequest:
    """Say no; the requester keeps the shift and reads why."""
    if not note.strip():
        raise AssignmentRefused("Say why, so the requester can plan.")
    shift_request = _lock_request(shift_request)
    _close(shift_request, status=ShiftRequest.Status.REFUSED, actor=actor, note=note)
    _tell_about_decision(shift_request)
    return shift_request


@dataclass
class PendingRequest:
    """A request in a manager's inbox, with what approving it would run into."""

    shift_request: ShiftRequest
    problem: str
    warnings: list[RuleWarning]

    @property
    def shift(self) -> Shift:
        return self.shift_request.assignment.shift


def requests_for(units: QuerySet[Unit]) -> QuerySet[ShiftRequest]:
    return (
        ShiftRequest.objects.filter(
            status=ShiftRequest.Status.PENDING, assignment__shift__unit__in=units
        )
        .select_related(
            "assignment__shift__unit__site",
            "assignment__shift__go_live",
            "assignment__shift__application",
            "assignment__person",
            "swap_with",
            "requested_by",
        )
        .prefetch_related("swap_with__skills")
        .order_by("assignment__shift__start", "created_at")
    )


def pending_requests(
    *, units: QuerySet[Unit], go_live: GoLive, now: dt.datetime
) -> list[PendingRequest]:
    """Pending requests on `units`, soonest shift first; swaps carry the rules for the person named.

    The people named are loaded in bulk, so the inbox costs the same queries for any number of rows.
    """
    rows = list(requests_for(units))
    partners = [r for r in rows if r.swap_with is not None]
    loads: dict[int, PersonLoad] = {}
    staffing = StaffingSettings.for_go_live(go_live)
    if partners:
        loads = load_people(
            {r.swap_with_id for r in partners},
            min(r.assignment.shift.start for r in partners),
            max(r.assignment.shift.end for r in partners),
        )
    inbox = []
    for row in rows:
        assignment, shift = row.assignment, row.assignment.shift
        problem, warnings = approval_blocker(assignment, now), []
        if not problem and row.swap_with is not None:
            partner = row.swap_with
            load = loads.get(partner.pk, PersonLoad())
            if not partner.is_active:
                problem = f"{partner.name} is marked inactive on the roster."
            elif overlaps_busy(shift, load):
                problem = f"{partner.name} already works a shift at that time."
            else:
                warnings = soft_warnings(partner, shift, load, staffing)
        inbox.append(PendingRequest(shift_request=row, problem=problem, warnings=warnings))
    return inbox


# --- Unit tablet check-in -------------------------------------------------------------------------


def unit_arrivals(unit: Unit, now: dt.datetime) -> QuerySet[Assignment]:
    """People on the unit's shifts that are on now or start within the hour."""
    return (
        Assignment.objects.active()
        .filter(shift__unit=unit, shift__start__lte=now + CHECK_IN_OPENS, shift__end__gt=now)
        .select_related("person", "shift")
        .order_by("shift__start", "person__name")
    )


def check_in_at_unit(*, assignment: Assignment, actor: AbstractBaseUser) -> Assignment:
    return check_in(assignment=assignment, actor=actor, via=VIA_UNIT_TABLET)
