"""Self-service workflows: my schedule, confirming, claiming open places, availability, and drop
and swap requests that a manager approves or refuses.

The clock stands at Tuesday 3 November 2026 06:00 in Chicago (the `now` fixture).
"""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User

from golive.models import Application, GoLive, Membership, Notification, Role, Unit
from staffing import selfservice
from staffing.models import (
    Assignment,
    Shift,
    ShiftEvent,
    ShiftRequest,
    SupportPerson,
    SupportRole,
    Unavailability,
)
from staffing.services import AssignmentRefused, NeedsOverride, assign_person, check_in
from staffing.tests.conftest import MakePerson, MakeShift, local


@pytest.fixture
def super_sue(mercy: GoLive) -> User:
    user = User.objects.create_user(
        "super_sue", email="super_sue@example.org", first_name="Sue", last_name="Super"
    )
    Membership.objects.create(user=user, go_live=mercy, role=Role.SUPPORT_STAFF)
    return user


@pytest.fixture
def sue(super_sue: User, make_person: MakePerson, four_west: Unit) -> SupportPerson:
    """Another super user of 4 West, with a login: Sam's usual swap partner."""
    return make_person("Sue Swap", user=super_sue, home_unit=four_west)


def keys(**filters: object) -> set[str]:
    return set(Notification.objects.filter(**filters).values_list("dedupe_key", flat=True))


def events(shift: Shift) -> list[str]:
    return list(shift.events.values_list("action", flat=True))


# --- My shifts ------------------------------------------------------------------------------------


def test_my_schedule_shows_upcoming_shifts_who_else_is_on_and_the_hours_this_week(
    sam: SupportPerson,
    sue: SupportPerson,
    day_shift: Shift,
    make_shift: MakeShift,
    lead_lena: User,
    now: dt.datetime,
) -> None:
    with time_machine.travel(local(1, 12), tick=False):
        sunday = make_shift(local(1, 13), local(1, 17))
        monday = make_shift(local(2, 7), local(2, 15))
        for shift in (sunday, monday):
            assign_person(shift=shift, person=sam, actor=lead_lena)
    mine = assign_person(shift=day_shift, person=sam, actor=lead_lena)
    assign_person(shift=day_shift, person=sue, actor=lead_lena)

    schedule = selfservice.my_schedule(person=sam, now=now)

    [upcoming] = schedule.upcoming
    assert upcoming.assignment == mine
    assert [person.name for person in upcoming.others] == ["Sue Swap"]
    assert (upcoming.can_confirm, upcoming.can_ask, upcoming.can_check_in) == (True, True, False)
    # Both past shifts are in the last 7 days; only Monday's and Wednesday's are in this week.
    assert [a.shift for a in schedule.past] == [monday, sunday]
    assert schedule.week_start == dt.date(2026, 11, 2)
    assert schedule.week_hours == 8 + 12
    assert schedule.week_limit == 60


def test_check_in_is_open_from_an_hour_before_the_start_until_the_end(
    sam: SupportPerson, day_shift: Shift, lead_lena: User
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)

    assert not selfservice.check_in_is_open(assignment, local(4, 5, 59))
    assert selfservice.check_in_is_open(assignment, local(4, 6))
    assert selfservice.check_in_is_open(assignment, local(4, 18, 59))
    assert not selfservice.check_in_is_open(assignment, local(4, 19))


def test_a_person_confirms_a_scheduled_shift_and_it_is_recorded(
    sam: SupportPerson, day_shift: Shift, lead_lena: User, super_sam: User
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)

    confirmed = selfservice.confirm_shift(assignment=assignment, actor=super_sam)

    assert confirmed.status == Assignment.Status.CONFIRMED
    event = ShiftEvent.objects.get(shift=day_shift, action="status")
    assert (event.old, event.new, event.actor) == ("Sam Super: Scheduled", "Confirmed", super_sam)
    with pytest.raises(AssignmentRefused, match="only a scheduled shift can be confirmed"):
        selfservice.confirm_shift(assignment=assignment, actor=super_sam)


def test_a_checked_in_shift_is_not_turned_back_into_confirmed(
    sam: SupportPerson, day_shift: Shift, lead_lena: User, super_sam: User
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)
    with time_machine.travel(local(4, 6, 45), tick=False):
        check_in(assignment=assignment, actor=super_sam)
        with pytest.raises(AssignmentRefused, match="This shift is checked in"):
            selfservice.confirm_shift(assignment=assignment, actor=super_sam)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CHECKED_IN


# --- Open shifts and claims -----------------------------------------------------------------------


@pytest.fixture
def open_day(make_shift: MakeShift, now: dt.datetime) -> Shift:
    """Thursday's day shift on 4 West, open for claiming, two places."""
    return make_shift(local(5, 7), local(5, 19), needed=2, allow_claim=True)


def test_open_shifts_are_those_of_my_role_and_skills_with_a_free_place(
    sam: SupportPerson,
    sue: SupportPerson,
    open_day: Shift,
    make_shift: MakeShift,
    orders_app: Application,
    lead_lena: User,
    now: dt.datetime,
) -> None:
    make_shift(local(6, 7), local(6, 19), allow_claim=False)
    make_shift(local(6, 7), local(6, 19), allow_claim=True, role=SupportRole.ANALYST)
    make_shift(local(7, 7), local(7, 19), allow_claim=True, application=orders_app)
    full = make_shift(local(8, 7), local(8, 19), allow_claim=True)
    assign_person(shift=full, person=sue, actor=lead_lena)
    started = make_shift(local(3, 5), local(3, 17), allow_claim=True)

    rows = selfservice.open_shifts_for(person=sam, now=now)

    assert [row.shift for row in rows] == [open_day]
    assert rows[0].open_places == 2
    assert rows[0].can_claim
    assert started not in [row.shift for row in rows]

    sam.skills.add(orders_app)
    sam = SupportPerson.objects.prefetch_related("skills").get(pk=sam.pk)
    assert len(selfservice.open_shifts_for(person=sam, now=now)) == 2


def test_an_open_shift_that_would_break_a_soft_rule_is_shown_with_its_warnings(
    sam: SupportPerson, open_day: Shift, make_shift: MakeShift, lead_lena: User, now: dt.datetime
) -> None:
    assign_person(shift=make_shift(local(4, 19), local(5, 7)), person=sam, actor=lead_lena)

    [row] = selfservice.open_shifts_for(person=sam, now=now)

    assert [warning.code for warning in row.warnings] == ["rest"]
    assert not row.can_claim


def test_a_person_claims_an_open_place_themselves(
    sam: SupportPerson, open_day: Shift, super_sam: User
) -> None:
    assignment = selfservice.claim_shift(shift=open_day, person=sam, actor=super_sam)

    assert assignment.assigned_by == super_sam
    assert assignment.status == Assignment.Status.SCHEDULED
    assert events(open_day) == ["assigned"]


def test_a_claim_may_not_override_soft_warnings(
    sam: SupportPerson, open_day: Shift, make_shift: MakeShift, lead_lena: User, super_sam: User
) -> None:
    assign_person(shift=make_shift(local(4, 19), local(5, 7)), person=sam, actor=lead_lena)

    with pytest.raises(NeedsOverride, match="Only 0 h of rest after the previous shift"):
        selfservice.claim_shift(shift=open_day, person=sam, actor=super_sam)
    assert not open_day.assignments.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"allow_claim": False}, "This shift is not open for claiming. Ask your manager."),
        (
            {"role": SupportRole.ANALYST},
            "This shift is for an application analyst; you are on the roster as a super user.",
        ),
        ({"start": local(3, 5), "end": local(3, 17)}, "This shift has already started"),
    ],
)
def test_a_claim_is_refused_with_a_reason(
    sam: SupportPerson,
    open_day: Shift,
    super_sam: User,
    change: dict[str, object],
    message: str,
) -> None:
    Shift.objects.filter(pk=open_day.pk).update(**change)

    with pytest.raises(AssignmentRefused) as refused:
        selfservice.claim_shift(shift=open_day, person=sam, actor=super_sam)
    assert message in str(refused.value)
    assert not open_day.assignments.exists()


def test_a_claim_needs_the_skill_of_the_shift(
    sam: SupportPerson, open_day: Shift, orders_app: Application, super_sam: User
) -> None:
    Shift.objects.filter(pk=open_day.pk).update(application=orders_app)

    with pytest.raises(AssignmentRefused, match="This shift needs someone listed for Orders"):
        selfservice.claim_shift(shift=open_day, person=sam, actor=super_sam)


def test_a_full_shift_cannot_be_claimed(
    sam: SupportPerson,
    sue: SupportPerson,
    make_person: MakePerson,
    open_day: Shift,
    lead_lena: User,
    super_sam: User,
) -> None:
    assign_person(shift=open_day, person=sue, actor=lead_lena)
    assign_person(shift=open_day, person=make_person("Olga Other"), actor=lead_lena)

    with pytest.raises(AssignmentRefused, match="This shift is full: 2 of 2 places are taken"):
        selfservice.claim_shift(shift=open_day, person=sam, actor=super_sam)


# --- Availability ---------------------------------------------------------------------------------


def test_an_unavailable_window_is_saved_and_the_shifts_inside_it_are_pointed_out(
    sam: SupportPerson, day_shift: Shift, lead_lena: User, now: dt.datetime
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)

    window = selfservice.add_unavailability(
        person=sam, start=local(4, 12), end=local(5, 12), reason=" Flight home "
    )

    assert window.reason == "Flight home"
    assert selfservice.clashing_assignments(window) == [assignment]
    assert list(selfservice.upcoming_unavailability(sam, now)) == [window]


def test_a_window_ending_before_it_starts_is_refused_by_the_database_too(
    sam: SupportPerson, now: dt.datetime
) -> None:
    with pytest.raises(AssignmentRefused, match="The window must end after it starts"):
        selfservice.add_unavailability(person=sam, start=local(5, 12), end=local(5, 12))
    assert not Unavailability.objects.exists()


# --- Drop and swap requests -----------------------------------------------------------------------


@pytest.fixture
def sams_day(sam: SupportPerson, day_shift: Shift, lead_lena: User) -> Assignment:
    return assign_person(shift=day_shift, person=sam, actor=lead_lena)


def test_asking_to_drop_records_it_and_tells_the_units_manager(
    sams_day: Assignment, super_sam: User, manager_maria: User, lead_lena: User
) -> None:
    shift_request = selfservice.request_drop(
        assignment=sams_day, actor=super_sam, reason="Family emergency"
    )

    assert (shift_request.status, shift_request.kind) == ("pending", "drop")
    event = ShiftEvent.objects.get(action="drop_requested")
    assert (event.new, event.note, event.actor) == ("Asks to drop", "Family emergency", super_sam)
    prefix = f"shiftrequest:{shift_request.pk}:requested"
    # Maria manages Mercy General, 4 West's site; the lead is not bothered when a manager exists.
    assert keys(recipient_user=manager_maria) == {
        f"{prefix}:user{manager_maria.pk}:in_app",
        f"{prefix}:user{manager_maria.pk}:email",
    }
    assert not keys(recipient_user=lead_lena, dedupe_key__startswith=prefix)
    notification = Notification.objects.get(recipient_user=manager_maria, channel="in_app")
    assert notification.subject.startswith("Sam Super asks to drop: 4 West Med/Surg")
    assert notification.body == "Reason: Family emergency"


def test_a_request_on_a_unit_without_a_clinic_manager_goes_to_the_command_center(
    sam: SupportPerson,
    make_shift: MakeShift,
    front_desk: Unit,
    manager_maria: User,
    lead_lena: User,
    super_sam: User,
    now: dt.datetime,
) -> None:
    shift = make_shift(local(4, 8), local(4, 16), unit=front_desk)
    assignment = assign_person(shift=shift, person=sam, actor=lead_lena, override_reason="Cover")

    shift_request = selfservice.request_drop(assignment=assignment, actor=super_sam, reason="Ill")

    assert keys(dedupe_key__startswith=f"shiftrequest:{shift_request.pk}:requested:user") == {
        f"shiftrequest:{shift_request.pk}:requested:user{lead_lena.pk}:in_app",
        f"shiftrequest:{shift_request.pk}:requested:user{lead_lena.pk}:email",
    }


def test_a_drop_needs_a_reason(sams_day: Assignment, super_sam: User) -> None:
    with pytest.raises(AssignmentRefused, match="Say why you need to drop the shift"):
        selfservice.request_drop(assignment=sams_day, actor=super_sam, reason="  ")
    assert not ShiftRequest.objects.exists()


def test_a_shift_has_one_waiting_request_at_a_time(
    sams_day: Assignment, sue: SupportPerson, super_sam: User
) -> None:
    selfservice.request_drop(assignment=sams_day, actor=super_sam, reason="Ill")

    with pytest.raises(AssignmentRefused, match="already has a request waiting for a manager"):
        selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)
    assert ShiftRequest.objects.count() == 1


def test_a_started_shift_cannot_be_dropped_from_the_phone(
    sams_day: Assignment, super_sam: User
) -> None:
    with (
        time_machine.travel(local(4, 7, 5), tick=False),
        pytest.raises(AssignmentRefused, match="already started; call your manager"),
    ):
        selfservice.request_drop(assignment=sams_day, actor=super_sam, reason="Ill")


def test_a_swap_names_someone_else_active_on_this_roster(
    sams_day: Assignment,
    sam: SupportPerson,
    sue: SupportPerson,
    lakeside: GoLive,
    super_sam: User,
) -> None:
    stranger = SupportPerson.objects.create(
        go_live=lakeside, name="Lake Person", role="super_user", email="l@lake.example"
    )
    with pytest.raises(AssignmentRefused, match="someone other than yourself"):
        selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sam)
    with pytest.raises(AssignmentRefused, match="Lake Person is not an active member"):
        selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=stranger)
    sue.is_active = False
    sue.save()
    with pytest.raises(AssignmentRefused, match="Sue Swap is not an active member"):
        selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)
    assert not ShiftRequest.objects.exists()


def test_a_swap_request_tells_the_person_named(
    sams_day: Assignment, sue: SupportPerson, super_sam: User, super_sue: User
) -> None:
    shift_request = selfservice.request_swap(
        assignment=sams_day, actor=super_sam, swap_with=sue, reason="Sue agreed"
    )

    named = Notification.objects.get(recipient_user=super_sue, channel="in_app")
    assert named.dedupe_key == f"shiftrequest:{shift_request.pk}:requested:person{sue.pk}:in_app"
    assert named.subject.startswith("Sam Super named you to take a shift")


def test_withdrawing_a_request_keeps_the_shift_and_tells_the_person_named(
    sams_day: Assignment, sue: SupportPerson, super_sam: User
) -> None:
    shift_request = selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)

    selfservice.withdraw_request(shift_request=shift_request, actor=super_sam)

    shift_request.refresh_from_db()
    assert shift_request.status == ShiftRequest.Status.WITHDRAWN
    assert shift_request.decided_by is None
    assert events(sams_day.shift) == ["assigned", "swap_requested", "request_withdrawn"]
    assert f"shiftrequest:{shift_request.pk}:withdrawn:person{sue.pk}:email" in keys()
    with pytest.raises(AssignmentRefused, match="no longer waiting: withdrawn"):
        selfservice.withdraw_request(shift_request=shift_request, actor=super_sam)


def test_approving_a_drop_cancels_the_assignment_and_tells_the_requester(
    sams_day: Assignment, sam: SupportPerson, super_sam: User, manager_maria: User
) -> None:
    shift_request = selfservice.request_drop(assignment=sams_day, actor=super_sam, reason="Ill")

    selfservice.approve_request(
        shift_request=shift_request, actor=manager_maria, note="Get well soon"
    )

    sams_day.refresh_from_db()
    shift_request.refresh_from_db()
    assert sams_day.status == Assignment.Status.CANCELLED
    assert (shift_request.status, shift_request.decided_by, shift_request.decision_note) == (
        "approved",
        manager_maria,
        "Get well soon",
    )
    assert events(sams_day.shift) == [
        "assigned",
        "drop_requested",
        "cancelled",
        "request_approved",
    ]
    told = Notification.objects.get(
        dedupe_key=f"shiftrequest:{shift_request.pk}:approved:person{sam.pk}:in_app"
    )
    assert told.subject.startswith("Drop approved: 4 West Med/Surg")
    assert told.body == "Manager's note: Get well soon"


def test_approving_a_swap_hands_the_shift_over_in_one_step(
    sams_day: Assignment,
    sam: SupportPerson,
    sue: SupportPerson,
    super_sam: User,
    manager_maria: User,
) -> None:
    shift_request = selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)

    selfservice.approve_request(shift_request=shift_request, actor=manager_maria)

    shift = sams_day.shift
    assert list(shift.assignments.active().values_list("person__name", flat=True)) == ["Sue Swap"]
    assert events(shift) == [
        "assigned",
        "swap_requested",
        "cancelled",
        "assigned",
        "request_approved",
    ]
    approved = f"shiftrequest:{shift_request.pk}:approved"
    assert {f"{approved}:person{sam.pk}:email", f"{approved}:person{sue.pk}:email"} <= keys()


def test_a_swap_the_rules_refuse_changes_nothing(
    sams_day: Assignment,
    sue: SupportPerson,
    make_shift: MakeShift,
    ed: Unit,
    super_sam: User,
    manager_maria: User,
    lead_lena: User,
) -> None:
    shift_request = selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)
    assign_person(shift=make_shift(local(4, 9), local(4, 17), unit=ed), person=sue, actor=lead_lena)

    with pytest.raises(AssignmentRefused, match="Sue Swap already works a shift at that time"):
        selfservice.approve_request(shift_request=shift_request, actor=manager_maria)

    sams_day.refresh_from_db()
    shift_request.refresh_from_db()
    assert sams_day.status == Assignment.Status.SCHEDULED
    assert shift_request.status == ShiftRequest.Status.PENDING
    assert events(sams_day.shift) == ["assigned", "swap_requested"]
    assert not keys(dedupe_key__startswith=f"cancelled:{sams_day.pk}")


def test_a_swap_with_warnings_needs_the_managers_reason(
    sams_day: Assignment,
    sue: SupportPerson,
    make_shift: MakeShift,
    super_sam: User,
    manager_maria: User,
    lead_lena: User,
) -> None:
    shift_request = selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)
    assign_person(shift=make_shift(local(3, 19), local(4, 7)), person=sue, actor=lead_lena)

    with pytest.raises(NeedsOverride, match="Only 0 h of rest"):
        selfservice.approve_request(shift_request=shift_request, actor=manager_maria)
    assert sams_day.shift.assignments.active().get().person.name == "Sam Super"

    selfservice.approve_request(
        shift_request=shift_request, actor=manager_maria, override_reason="Sue insists"
    )
    handed = sams_day.shift.assignments.active().get()
    assert (handed.person, handed.override_reason, handed.warnings) == (
        sue,
        "Sue insists",
        ["rest"],
    )


def test_refusing_needs_a_note_and_tells_both_people(
    sams_day: Assignment,
    sam: SupportPerson,
    sue: SupportPerson,
    super_sam: User,
    manager_maria: User,
) -> None:
    shift_request = selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)
    with pytest.raises(AssignmentRefused, match="Say why"):
        selfservice.refuse_request(shift_request=shift_request, actor=manager_maria, note=" ")

    selfservice.refuse_request(
        shift_request=shift_request, actor=manager_maria, note="Sue lacks Orders training"
    )

    shift_request.refresh_from_db()
    assert shift_request.status == ShiftRequest.Status.REFUSED
    sams_day.refresh_from_db()
    assert sams_day.status == Assignment.Status.SCHEDULED
    refused = f"shiftrequest:{shift_request.pk}:refused"
    assert {f"{refused}:person{sam.pk}:in_app", f"{refused}:person{sue.pk}:in_app"} <= keys()
    assert events(sams_day.shift)[-1] == "request_refused"
    with pytest.raises(AssignmentRefused, match="no longer waiting: refused"):
        selfservice.approve_request(shift_request=shift_request, actor=manager_maria)


def test_a_request_whose_shift_has_started_can_only_be_refused(
    sams_day: Assignment, super_sam: User, manager_maria: User
) -> None:
    shift_request = selfservice.request_drop(assignment=sams_day, actor=super_sam, reason="Ill")

    with (
        time_machine.travel(local(4, 7, 30), tick=False),
        pytest.raises(AssignmentRefused, match="The shift has already started"),
    ):
        selfservice.approve_request(shift_request=shift_request, actor=manager_maria)
    sams_day.refresh_from_db()
    assert sams_day.is_active


def test_the_inbox_shows_what_approving_each_swap_would_run_into(
    sams_day: Assignment,
    sue: SupportPerson,
    make_person: MakePerson,
    make_shift: MakeShift,
    ed: Unit,
    mercy: GoLive,
    super_sam: User,
    lead_lena: User,
    now: dt.datetime,
) -> None:
    pat, ola = make_person("Pat Partner"), make_person("Ola Overlap")
    pats_day = assign_person(
        shift=make_shift(local(5, 7), local(5, 19)), person=pat, actor=lead_lena
    )
    assign_person(shift=make_shift(local(5, 9), local(5, 17), unit=ed), person=ola, actor=lead_lena)
    assign_person(shift=make_shift(local(3, 19), local(4, 7)), person=sue, actor=lead_lena)
    to_sue = selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)
    to_ola = selfservice.request_swap(assignment=pats_day, actor=lead_lena, swap_with=ola)

    rows = selfservice.pending_requests(
        units=Unit.objects.filter(site__go_live=mercy), go_live=mercy, now=now
    )

    assert [row.shift_request for row in rows] == [to_sue, to_ola]
    assert ([w.code for w in rows[0].warnings], rows[0].problem) == (["rest"], "")
    assert rows[1].problem == "Ola Overlap already works a shift at that time."
