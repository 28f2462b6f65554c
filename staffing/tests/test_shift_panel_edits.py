"""One-off shifts and shift edits: times, places and the people who move with them."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from golive.models import Notification, Unit
from staffing.grid import ShiftRefused, check_times, edit_shift
from staffing.models import Shift, ShiftEvent, SupportPerson, SupportRole
from staffing.services import assign_person
from staffing.tests.conftest import MakeShift, local

SignIn = Callable[[User], Client]
CREATE = reverse("staffing:shift_create")


def edit_url(shift: Shift) -> str:
    return reverse("staffing:shift_edit", args=[shift.pk])


def new_shift(unit: Unit, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "unit": unit.pk,
        "role": SupportRole.SUPER_USER,
        "label": "Extra",
        "start": "2026-11-05T09:00",
        "end": "2026-11-05T17:00",
        "needed": "2",
    }
    data.update(changes)
    return data


def times(shift: Shift, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "label": shift.label,
        "start": "2026-11-04T07:00",
        "end": "2026-11-04T19:00",
        "needed": str(shift.needed),
    }
    data.update(changes)
    return data


# --- One-off shifts -------------------------------------------------------------------------------


def test_a_manager_adds_a_one_off_shift_in_local_time(
    client_for: SignIn, manager_maria: User, four_west: Unit, now: dt.datetime
) -> None:
    response = client_for(manager_maria).post(CREATE, new_shift(four_west))

    shift = Shift.objects.get()
    assert response.status_code == 302
    assert response["Location"] == shift.get_absolute_url()
    assert (shift.start, shift.end) == (local(5, 9), local(5, 17))
    assert (shift.unit, shift.role, shift.needed, shift.label) == (
        four_west,
        SupportRole.SUPER_USER,
        2,
        "Extra",
    )
    event = ShiftEvent.objects.get(shift=shift)
    assert (event.action, event.actor, event.new) == (
        "created",
        manager_maria,
        "Thu 5 Nov 09:00–17:00, 2 places",
    )


def test_she_may_add_shifts_only_on_her_units(
    client_for: SignIn, manager_maria: User, front_desk: Unit, now: dt.datetime
) -> None:
    response = client_for(manager_maria).post(CREATE, new_shift(front_desk))

    assert response.status_code == 200
    assertContains(response, "Select a valid choice.")
    assert not Shift.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end": "2026-11-05T08:00"}, "The shift must end after it starts."),
        ({"end": "2026-11-06T12:00"}, "A shift lasts at most 24 hours; split longer cover."),
        (
            {"start": "2026-11-02T07:00", "end": "2026-11-02T19:00"},
            "This shift would already be over; choose times still to come.",
        ),
        ({"needed": "0"}, "A shift needs at least one place."),
        ({"role": "pilot"}, "Select a valid choice."),
        ({"start": "tomorrow"}, "Enter a valid date/time."),
        # 02:30 on the morning summer time starts does not exist in Chicago.
        (
            {"start": "2027-03-14T02:30", "end": "2027-03-14T12:00"},
            "may be ambiguous or it may not exist",
        ),
    ],
)
def test_bad_shifts_are_refused_with_a_message_and_nothing_saved(
    client_for: SignIn,
    lead_lena: User,
    four_west: Unit,
    now: dt.datetime,
    changes: dict[str, object],
    message: str,
) -> None:
    response = client_for(lead_lena).post(CREATE, new_shift(four_west, **changes))

    assert response.status_code == 200
    assertContains(response, message)
    assert not Shift.objects.exists()


@pytest.mark.parametrize("username", ["agent_alex", "super_sam", "nurse_nina"])
def test_only_planners_add_shifts(
    request: pytest.FixtureRequest, client_for: SignIn, username: str, four_west: Unit
) -> None:
    client = client_for(request.getfixturevalue(username))

    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, new_shift(four_west)).status_code == 403


# --- Editing a shift ------------------------------------------------------------------------------


def test_the_edit_form_shows_local_times(
    client_for: SignIn, lead_lena: User, day_shift: Shift
) -> None:
    response = client_for(lead_lena).get(edit_url(day_shift))

    assertContains(response, 'value="2026-11-04T07:00"')
    assertContains(response, 'value="2026-11-04T19:00"')


def test_new_times_move_the_people_on_it_and_tell_them(
    client_for: SignIn, lead_lena: User, sam: SupportPerson, day_shift: Shift
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)

    response = client_for(lead_lena).post(
        edit_url(day_shift), times(day_shift, start="2026-11-04T08:00", end="2026-11-04T20:00")
    )

    assert response.status_code == 302
    day_shift.refresh_from_db()
    assignment.refresh_from_db()
    assert (day_shift.start, day_shift.end) == (local(4, 8), local(4, 20))
    assert (assignment.period.lower, assignment.period.upper) == (local(4, 8), local(4, 20))
    assert (day_shift.sequence, assignment.sequence) == (1, 1)
    assert assignment.next_reminder_at == local(4, 8) - dt.timedelta(hours=12)
    assert assignment.late_check_at == local(4, 8, 15)
    events = ShiftEvent.objects.filter(shift=day_shift).values_list("action", "old", "new")
    assert ("times", "Wed 4 Nov 07:00–19:00", "Wed 4 Nov 08:00–20:00") in events
    assert ("retimed", "Sam Super: Wed 4 Nov 07:00–19:00", "Wed 4 Nov 08:00–20:00") in events
    told = Notification.objects.get(channel="email", dedupe_key__startswith="retimed:")
    assert told.recipient_address == "sam.super@mercy.example"
    assert "now Wed 4 Nov 08:00–20:00" in told.body


def test_places_cannot_drop_below_the_people_on_it(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    vera: SupportPerson,
    day_shift: Shift,
) -> None:
    assign_person(shift=day_shift, person=sam, actor=lead_lena)
    assign_person(shift=day_shift, person=vera, actor=lead_lena, override_reason="Orders go-live")

    response = client_for(lead_lena).post(edit_url(day_shift), times(day_shift, needed="1"))

    assertContains(
        response, "2 people are on this shift: keep at least 2 places or cancel someone first."
    )
    day_shift.refresh_from_db()
    assert day_shift.needed == 2


def test_a_shift_cannot_end_before_it_starts(
    client_for: SignIn, lead_lena: User, day_shift: Shift
) -> None:
    response = client_for(lead_lena).post(
        edit_url(day_shift), times(day_shift, end="2026-11-04T06:00")
    )

    assertContains(response, "The shift must end after it starts.")
    day_shift.refresh_from_db()
    assert day_shift.end == local(4, 19)


def test_new_times_that_overlap_someones_other_shift_are_refused(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    day_shift: Shift,
    make_shift: MakeShift,
    ed: Unit,
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=lead_lena)
    evening = make_shift(local(4, 20), local(4, 23), unit=ed)
    assign_person(shift=evening, person=sam, actor=lead_lena, override_reason="Short-staffed")

    response = client_for(lead_lena).post(
        edit_url(day_shift), times(day_shift, end="2026-11-04T21:00")
    )

    assertContains(response, "Sam Super already works Emergency Department (Mercy General)")
    assertContains(response, "the new times would overlap it.")
    day_shift.refresh_from_db()
    assignment.refresh_from_db()
    assert day_shift.end == local(4, 19)
    assert assignment.period.upper == local(4, 19)
    assert not ShiftEvent.objects.filter(shift=day_shift, action="times").exists()


def test_the_times_of_a_shift_that_is_over_stay_as_they_were(
    lead_lena: User, make_shift: MakeShift, now: dt.datetime
) -> None:
    past = make_shift(local(2, 7), local(2, 19))

    with pytest.raises(ShiftRefused, match="This shift is over"):
        edit_shift(shift=past, start=local(2, 8), end=local(2, 19), needed=1, actor=lead_lena)


def test_the_length_limit_counts_real_hours_across_a_dst_change() -> None:
    # 19:00 to 19:00 on the night clocks go back is 25 hours, though the clock says 24.
    tz = local(1, 0).tzinfo
    with pytest.raises(ShiftRefused, match="at most 24 hours"):
        check_times(
            dt.datetime(2027, 11, 6, 19, tzinfo=tz), dt.datetime(2027, 11, 7, 19, tzinfo=tz)
        )
    check_times(dt.datetime(2027, 11, 6, 19, tzinfo=tz), dt.datetime(2027, 11, 7, 18, tzinfo=tz))


def test_saving_without_a_change_writes_nothing(lead_lena: User, day_shift: Shift) -> None:
    edit_shift(shift=day_shift, start=day_shift.start, end=day_shift.end, needed=2, actor=lead_lena)

    day_shift.refresh_from_db()
    assert day_shift.sequence == 0
    assert not ShiftEvent.objects.filter(shift=day_shift).exists()


def test_more_places_and_a_new_name_are_recorded(
    client_for: SignIn, lead_lena: User, day_shift: Shift
) -> None:
    client_for(lead_lena).post(edit_url(day_shift), times(day_shift, needed="3", label="Long day"))

    day_shift.refresh_from_db()
    assert (day_shift.needed, day_shift.label) == (3, "Long day")
    events = set(ShiftEvent.objects.filter(shift=day_shift).values_list("action", "old", "new"))
    assert events == {("needed", "2", "3"), ("label", "Day", "Long day")}


@pytest.mark.parametrize("username", ["agent_alex", "super_sam", "nurse_nina"])
def test_only_planners_edit_shifts(
    request: pytest.FixtureRequest, client_for: SignIn, username: str, day_shift: Shift
) -> None:
    client = client_for(request.getfixturevalue(username))

    assert client.get(edit_url(day_shift)).status_code == 403
    assert client.post(edit_url(day_shift), times(day_shift, needed="5")).status_code == 403
