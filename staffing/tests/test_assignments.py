"""Assigning people to shifts: the hard rules PostgreSQL enforces and the soft rules a manager overrides."""

import datetime as dt
import threading
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import Client
from django.urls import reverse

from golive.models import GoLive, Notification, Unit
from staffing.models import (
    Assignment,
    Shift,
    ShiftEvent,
    SupportPerson,
    SupportRole,
    Unavailability,
)
from staffing.services import (
    AssignmentRefused,
    NeedsOverride,
    assign_person,
    cancel_assignment,
    check_in,
    set_assignment_status,
)
from staffing.tests.conftest import MakePerson, MakeShift, local


def codes(exc: NeedsOverride) -> set[str]:
    return {warning.code for warning in exc.warnings}


def test_it_assigns_a_person_records_it_and_tells_them(
    sam: SupportPerson,
    day_shift: Shift,
    manager_maria: User,
    super_sam: User,
    client_for: Callable[[User], Client],
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=manager_maria)

    assert assignment.status == Assignment.Status.SCHEDULED
    assert assignment.assigned_by == manager_maria
    assert (assignment.period.lower, assignment.period.upper) == (day_shift.start, day_shift.end)
    event = ShiftEvent.objects.get(shift=day_shift)
    assert (event.action, event.new, event.actor) == ("assigned", "Sam Super", manager_maria)
    assert set(Notification.objects.values_list("channel", "recipient_address")) == {
        ("in_app", ""),
        ("email", "sam.super@mercy.example"),
    }
    # The notice opens Sam's own shifts, not the planners' shift page (which he may not open).
    notice = Notification.objects.get(channel="in_app")
    assert notice.link == reverse("staffing:my_shifts")
    assert client_for(super_sam).get(notice.link).status_code == 200
    # Reminders start 12 h before; the late check 15 min after the start.
    assert assignment.next_reminder_at == day_shift.start - dt.timedelta(hours=12)
    assert assignment.late_check_at == day_shift.start + dt.timedelta(minutes=15)


def test_it_refuses_a_full_shift_and_saves_nothing(
    sam: SupportPerson, make_person: MakePerson, night_shift: Shift, lead_lena: User
) -> None:
    assign_person(shift=night_shift, person=sam, actor=lead_lena)
    other = make_person("Olga Other")

    with pytest.raises(AssignmentRefused, match="This shift is full: 1 of 1 places are taken"):
        assign_person(shift=night_shift, person=other, actor=lead_lena)
    assert night_shift.assignments.count() == 1


def test_it_refuses_the_same_person_twice_on_a_shift(
    sam: SupportPerson, day_shift: Shift, lead_lena: User
) -> None:
    assign_person(shift=day_shift, person=sam, actor=lead_lena)
    with pytest.raises(AssignmentRefused, match="already on this shift"):
        assign_person(shift=day_shift, person=sam, actor=lead_lena)


def test_it_refuses_an_overlapping_shift_on_another_unit(
    sam: SupportPerson, day_shift: Shift, make_shift: MakeShift, ed: Unit, lead_lena: User
) -> None:
    assign_person(shift=day_shift, person=sam, actor=lead_lena)
    ed_shift = make_shift(local(4, 15), local(4, 23), unit=ed)

    with pytest.raises(AssignmentRefused, match="Sam Super already works a shift at that time"):
        assign_person(shift=ed_shift, person=sam, actor=lead_lena)
    assert not ed_shift.assignments.exists()


def test_a_cancelled_assignment_frees_the_person_and_the_place(
    sam: SupportPerson, night_shift: Shift, make_shift: MakeShift, ed: Unit, lead_lena: User
) -> None:
    first = assign_person(shift=night_shift, person=sam, actor=lead_lena)
    cancel_assignment(assignment=first, actor=lead_lena, reason="Sick")

    ed_night = make_shift(local(3, 21), local(4, 5), unit=ed)
    assign_person(shift=ed_night, person=sam, actor=lead_lena, override_reason="Cover")
    assert Assignment.objects.active().filter(person=sam).count() == 1
    assert ShiftEvent.objects.filter(shift=night_shift, action="cancelled", note="Sick").exists()


def test_it_refuses_an_inactive_person_and_a_past_shift(
    sam: SupportPerson, make_shift: MakeShift, now: dt.datetime, lead_lena: User
) -> None:
    past = make_shift(local(2, 7), local(2, 19))
    with pytest.raises(AssignmentRefused, match="This shift is over"):
        assign_person(shift=past, person=sam, actor=lead_lena)

    sam.is_active = False
    sam.save()
    with pytest.raises(AssignmentRefused, match="marked inactive"):
        assign_person(shift=make_shift(local(5, 7), local(5, 19)), person=sam, actor=lead_lena)


def test_it_refuses_someone_from_another_go_live(
    day_shift: Shift, lakeside: GoLive, lead_lena: User
) -> None:
    stranger = SupportPerson.objects.create(
        go_live=lakeside, name="Lake Person", role=SupportRole.SUPER_USER, email="l@lake.example"
    )
    with pytest.raises(AssignmentRefused, match="not on this go-live's roster"):
        assign_person(shift=day_shift, person=stranger, actor=lead_lena)


# --- Soft rules -----------------------------------------------------------------------------------


def test_short_rest_needs_a_reason_and_the_reason_is_recorded(
    sam: SupportPerson, night_shift: Shift, day_shift: Shift, lead_lena: User
) -> None:
    assign_person(shift=night_shift, person=sam, actor=lead_lena)

    with pytest.raises(NeedsOverride) as refused:
        assign_person(shift=day_shift, person=sam, actor=lead_lena)
    assert codes(refused.value) == {"rest"}
    assert "Only 0 h of rest after the previous shift" in str(refused.value)
    assert not day_shift.assignments.exists()

    assignment = assign_person(
        shift=day_shift, person=sam, actor=lead_lena, override_reason="Nobody else is trained"
    )
    assert assignment.warnings == ["rest"]
    assert assignment.override_reason == "Nobody else is trained"
    event = ShiftEvent.objects.get(shift=day_shift, action="assigned")
    assert event.note.startswith("Override: Nobody else is trained")


def test_a_sixth_twelve_hour_shift_in_a_week_goes_over_sixty_hours(
    sam: SupportPerson, make_shift: MakeShift, now: dt.datetime, lead_lena: User
) -> None:
    for day in range(4, 9):
        assign_person(shift=make_shift(local(day, 7), local(day, 19)), person=sam, actor=lead_lena)

    with pytest.raises(NeedsOverride) as refused:
        assign_person(shift=make_shift(local(9, 7), local(9, 19)), person=sam, actor=lead_lena)
    assert codes(refused.value) == {"week_hours"}
    assert "72 h in 7 days; the limit is 60 h" in str(refused.value)


def test_a_second_shift_the_same_day_goes_over_the_daily_limit(
    sam: SupportPerson, make_shift: MakeShift, now: dt.datetime, lead_lena: User
) -> None:
    sam.max_hours_per_shift = 8
    sam.max_hours_per_day = 10
    sam.save()
    assign_person(shift=make_shift(local(4, 6), local(4, 12)), person=sam, actor=lead_lena)
    with pytest.raises(NeedsOverride) as refused:
        assign_person(shift=make_shift(local(4, 12), local(4, 18)), person=sam, actor=lead_lena)
    assert {"day_hours", "rest"} == codes(refused.value)


def test_role_skill_and_unavailability_are_warned(
    vera: SupportPerson, make_shift: MakeShift, now: dt.datetime, lead_lena: User
) -> None:
    pharmacy = vera.go_live.applications.create(name="Pharmacy / eMAR")
    shift = make_shift(local(5, 7), local(5, 19), application=pharmacy)
    Unavailability.objects.create(person=vera, start=local(5, 17), end=local(6, 9), reason="Flight")

    with pytest.raises(NeedsOverride) as refused:
        assign_person(shift=shift, person=vera, actor=lead_lena)
    assert codes(refused.value) == {"role", "skill", "unavailable"}
    assert "Vera Vendor is not listed for Pharmacy / eMAR" in str(refused.value)


# --- Time zones -----------------------------------------------------------------------------------


def test_a_night_across_the_end_of_summer_time_lasts_thirteen_hours(
    sam: SupportPerson, make_shift: MakeShift, lead_lena: User
) -> None:
    with time_machine.travel(local(30, 12, month=10), tick=False):
        night = make_shift(local(31, 19, month=10), local(1, 7))
        assert night.hours == 13
        with pytest.raises(NeedsOverride) as refused:
            assign_person(shift=night, person=sam, actor=lead_lena)
    assert codes(refused.value) == {"shift_hours", "day_hours"}
    assert "The shift lasts 13 h" in str(refused.value)


def test_a_night_across_the_start_of_summer_time_lasts_eleven_hours(
    sam: SupportPerson, make_shift: MakeShift, lead_lena: User
) -> None:
    # Clocks go forward at 02:00 on Sunday 14 March 2027 in Chicago.
    march_13 = dt.datetime(2027, 3, 13, 19, tzinfo=local(1, 0).tzinfo)
    with time_machine.travel(march_13 - dt.timedelta(days=1), tick=False):
        night = make_shift(march_13, march_13.replace(day=14, hour=7))
        assert night.hours == 11
        assignment = assign_person(shift=night, person=sam, actor=lead_lena)
    assert assignment.warnings == []


# --- Concurrency, settled in PostgreSQL -----------------------------------------------------------


def _in_thread(work: Callable[[], object], results: list[object]) -> threading.Thread:
    def run() -> None:
        try:
            results.append(work())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_the_exclusion_constraint_refuses_the_second_of_two_concurrent_overlapping_inserts(
    mercy: GoLive, four_west: Unit, ed: Unit
) -> None:
    person = SupportPerson.objects.create(
        go_live=mercy, name="Pat", role=SupportRole.SUPER_USER, email="pat@mercy.example"
    )
    start = dt.datetime(2030, 1, 1, 13, tzinfo=dt.UTC)
    shifts = [
        Shift.objects.create(
            go_live=mercy,
            unit=unit,
            role="super_user",
            start=start,
            end=start + dt.timedelta(hours=12),
        )
        for unit in (four_west, ed)
    ]
    first_inserted = threading.Event()
    second_tried = threading.Event()
    results: list[object] = []

    def insert(shift: Shift, *, first: bool) -> str:
        with transaction.atomic():
            if not first:
                first_inserted.wait(10)
                second_tried.set()
            Assignment.objects.create(
                shift=shift, person=person, period=DateTimeTZRange(shift.start, shift.end, "[)")
            )
            if first:
                first_inserted.set()
                # Hold the transaction open while the other one tries: it must wait, then lose.
                second_tried.wait(10)
                threading.Event().wait(0.3)
        return "inserted"

    threads = [
        _in_thread(lambda: insert(shifts[0], first=True), results),
        _in_thread(lambda: insert(shifts[1], first=False), results),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert results.count("inserted") == 1
    [error] = [r for r in results if isinstance(r, Exception)]
    assert isinstance(error, IntegrityError)
    assert "assignment_no_overlap_per_person" in str(error)
    assert Assignment.objects.filter(person=person).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_managers_filling_the_last_place_at_once_cannot_both_win(
    mercy: GoLive, four_west: Unit, lead_lena: User, manager_maria: User
) -> None:
    start = dt.datetime(2030, 1, 1, 13, tzinfo=dt.UTC)
    shift = Shift.objects.create(
        go_live=mercy,
        unit=four_west,
        role="super_user",
        start=start,
        end=start + dt.timedelta(hours=12),
    )
    people = [
        SupportPerson.objects.create(
            go_live=mercy, name=name, role="super_user", email=f"{name}@mercy.example"
        )
        for name in ("ann", "bob")
    ]
    barrier = threading.Barrier(2)
    results: list[object] = []

    def fill(person: SupportPerson, actor: User) -> str:
        barrier.wait(10)
        assign_person(shift=shift, person=person, actor=actor)
        return "assigned"

    threads = [
        _in_thread(lambda: fill(people[0], lead_lena), results),
        _in_thread(lambda: fill(people[1], manager_maria), results),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert results.count("assigned") == 1
    [refused] = [r for r in results if isinstance(r, Exception)]
    assert isinstance(refused, AssignmentRefused)
    assert "This shift is full" in str(refused)
    assert shift.assignments.count() == 1


# --- Status changes -------------------------------------------------------------------------------


def test_check_in_opens_an_hour_before_the_start_and_stops_the_late_check(
    sam: SupportPerson, day_shift: Shift, lead_lena: User, super_sam: User
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)
    with pytest.raises(AssignmentRefused, match="opens one hour before"):
        check_in(assignment=assignment, actor=super_sam)

    with time_machine.travel(local(4, 6, 50), tick=False):
        checked = check_in(assignment=assignment, actor=super_sam, via="own phone")
    assert checked.status == Assignment.Status.CHECKED_IN
    assert checked.late_check_at is None
    assert ShiftEvent.objects.filter(action="checked_in", note="own phone").exists()


def test_nobody_is_a_no_show_before_the_start(
    sam: SupportPerson, day_shift: Shift, lead_lena: User
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)
    with pytest.raises(AssignmentRefused, match="before the shift starts"):
        set_assignment_status(assignment=assignment, status="no_show", actor=lead_lena)
    with time_machine.travel(local(4, 7, 30), tick=False):
        marked = set_assignment_status(assignment=assignment, status="no_show", actor=lead_lena)
    assert marked.status == Assignment.Status.NO_SHOW
    assert marked.late_check_at is None
