"""Checking in: on one's own phone from My shifts, and on the unit's shared tablet.

The clock stands at Tuesday 3 November 2026 06:00 in Chicago (the `now` fixture).
"""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains

from golive.models import GoLive, Unit
from golive.permissions import SESSION_KEY
from staffing.models import Assignment, ShiftEvent, SupportPerson
from staffing.services import assign_person
from staffing.tests.conftest import MakePerson, MakeShift, local

SignIn = Callable[[User], Client]

pytestmark = pytest.mark.usefixtures("now")


@pytest.fixture
def early(sam: SupportPerson, make_shift: MakeShift, lead_lena: User) -> Assignment:
    """Sam's shift on 4 West starting at 06:30, half an hour from now."""
    return assign_person(
        shift=make_shift(local(3, 6, 30), local(3, 18)), person=sam, actor=lead_lena
    )


def test_a_person_checks_in_on_their_own_phone(
    client_for: SignIn, super_sam: User, early: Assignment
) -> None:
    response = client_for(super_sam).post(
        reverse("staffing:my_shift_check_in", args=[early.pk]), HTTP_HX_REQUEST="true"
    )

    assertContains(response, "You are checked in.")
    assertContains(response, "Checked in at 06:00")
    assertNotContains(response, ">Check in</button>")
    event = ShiftEvent.objects.get(action="checked_in")
    assert (event.actor, event.note) == (super_sam, "own phone")


def test_the_unit_tablet_lists_who_is_due_within_the_hour(
    client_for: SignIn,
    nurse_nina: User,
    early: Assignment,
    make_person: MakePerson,
    make_shift: MakeShift,
    ed: Unit,
    lead_lena: User,
    four_west: Unit,
) -> None:
    later = make_person("Lou Later")
    assign_person(shift=make_shift(local(3, 8), local(3, 20)), person=later, actor=lead_lena)
    elsewhere = make_person("Ed Elsewhere")
    assign_person(
        shift=make_shift(local(3, 6), local(3, 18), unit=ed), person=elsewhere, actor=lead_lena
    )

    response = client_for(nurse_nina).get(reverse("staffing:unit_checkin", args=[four_west.pk]))

    assertContains(response, "Check in · 4 West Med/Surg")
    assertContains(response, "Sam Super")
    assertContains(response, "06:30–18:00")
    assertContains(response, 'Check in<span class="visually-hidden"> Sam Super</span>')
    assertNotContains(response, "Lou Later")
    assertNotContains(response, "Ed Elsewhere")


def test_tapping_check_in_on_the_tablet_checks_the_person_in(
    client_for: SignIn, nurse_nina: User, early: Assignment, four_west: Unit
) -> None:
    response = client_for(nurse_nina).post(
        reverse("staffing:unit_checkin", args=[four_west.pk]),
        {"assignment": early.pk},
        HTTP_HX_REQUEST="true",
    )

    assert response.templates[0].name == "staffing/checkin_list.html"
    assertContains(response, "Sam Super is checked in.")
    assertContains(response, "Checked in at 06:00")
    early.refresh_from_db()
    assert early.status == Assignment.Status.CHECKED_IN
    assert early.late_check_at is None
    event = ShiftEvent.objects.get(action="checked_in")
    assert (event.actor, event.note) == (nurse_nina, "unit tablet")


def test_the_tablet_works_without_javascript_too(
    client_for: SignIn, agent_alex: User, early: Assignment, four_west: Unit
) -> None:
    response = client_for(agent_alex).post(
        reverse("staffing:unit_checkin", args=[four_west.pk]), {"assignment": early.pk}, follow=True
    )

    assertContains(response, "Sam Super is checked in.")


@pytest.mark.parametrize("value", ["", "abc", "²", "999999", "99999999999999999999999"])
def test_the_tablet_checks_in_only_people_on_its_own_list(
    client_for: SignIn,
    nurse_nina: User,
    early: Assignment,
    four_west: Unit,
    value: str,
) -> None:
    response = client_for(nurse_nina).post(
        reverse("staffing:unit_checkin", args=[four_west.pk]), {"assignment": value}
    )
    assert response.status_code == 404


def test_someone_on_another_unit_cannot_be_checked_in_from_this_tablet(
    client_for: SignIn,
    agent_alex: User,
    four_west: Unit,
    ed: Unit,
    make_person: MakePerson,
    make_shift: MakeShift,
    lead_lena: User,
) -> None:
    person = make_person("Ed Elsewhere")
    ed_shift = make_shift(local(3, 6), local(3, 18), unit=ed)
    assignment = assign_person(shift=ed_shift, person=person, actor=lead_lena)

    response = client_for(agent_alex).post(
        reverse("staffing:unit_checkin", args=[four_west.pk]), {"assignment": assignment.pk}
    )

    assert response.status_code == 404
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SCHEDULED


@pytest.mark.parametrize(
    ("who", "unit", "status"),
    [
        ("nurse_nina", "four_west", 200),
        ("nurse_nina", "ed", 403),
        ("manager_maria", "four_west", 200),
        ("manager_maria", "front_desk", 403),
        ("lead_lena", "front_desk", 200),
        ("agent_alex", "ed", 200),
        ("super_sam", "four_west", 403),
        ("outsider_oscar", "four_west", 404),
    ],
)
def test_who_may_open_a_units_tablet_page(
    client_for: SignIn,
    request: pytest.FixtureRequest,
    early: Assignment,
    who: str,
    unit: str,
    status: int,
) -> None:
    client = client_for(request.getfixturevalue(who))
    target: Unit = request.getfixturevalue(unit)

    assert client.get(reverse("staffing:unit_checkin", args=[target.pk])).status_code == status


def test_the_tablet_page_shows_a_member_of_two_go_lives_the_units_own_time_zone(
    client_for: SignIn, agent_alex: User, early: Assignment, four_west: Unit, lakeside: GoLive
) -> None:
    # Alex's current go-live becomes Lakeside (New York), one hour ahead of Chicago.
    lakeside.memberships.create(user=agent_alex, role="help_desk_agent")
    client = client_for(agent_alex)
    session = client.session
    session[SESSION_KEY] = lakeside.pk
    session.save()

    response = client.get(reverse("staffing:unit_checkin", args=[four_west.pk]))

    assertContains(response, "06:30–18:00")


@pytest.mark.parametrize("count", [1, 12])
def test_the_tablet_page_costs_the_same_queries_however_many_people_are_due(
    client_for: SignIn,
    nurse_nina: User,
    four_west: Unit,
    make_person: MakePerson,
    make_shift: MakeShift,
    lead_lena: User,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    count: int,
) -> None:
    shift = make_shift(local(3, 6, 30), local(3, 18), needed=count)
    for number in range(count):
        assign_person(shift=shift, person=make_person(f"Person {number}"), actor=lead_lena)
    client = client_for(nurse_nina)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("staffing:unit_checkin", args=[four_west.pk]))
    assertContains(response, f"Person {count - 1}")
