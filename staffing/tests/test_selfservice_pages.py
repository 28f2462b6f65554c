"""The self-service pages and the managers' request inbox: who may open what, what they see,
bad input answered with a message, and query counts that stay flat as rows grow.
"""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains

from golive.models import GoLive, Unit
from staffing import selfservice
from staffing.models import Assignment, Shift, ShiftRequest, SupportPerson, Unavailability
from staffing.services import assign_person
from staffing.tests.conftest import MakePerson, MakeShift, local

SignIn = Callable[[User], Client]
QUERY_BUDGET = 12

pytestmark = pytest.mark.usefixtures("now")


@pytest.fixture
def sue(make_person: MakePerson, four_west: Unit) -> SupportPerson:
    return make_person("Sue Swap", home_unit=four_west)


@pytest.fixture
def sams_day(sam: SupportPerson, day_shift: Shift, lead_lena: User) -> Assignment:
    return assign_person(shift=day_shift, person=sam, actor=lead_lena)


@pytest.fixture
def sams_drop(sams_day: Assignment, super_sam: User) -> ShiftRequest:
    return selfservice.request_drop(assignment=sams_day, actor=super_sam, reason="Ill")


# --- My shifts ------------------------------------------------------------------------------------


def test_my_shifts_shows_my_next_shift_with_its_unit_phone_and_who_else_is_on(
    client_for: SignIn,
    super_sam: User,
    sams_day: Assignment,
    sue: SupportPerson,
    four_west: Unit,
    lead_lena: User,
) -> None:
    four_west.phone = "312-555-0404"
    four_west.save()
    assign_person(shift=sams_day.shift, person=sue, actor=lead_lena)

    response = client_for(super_sam).get(reverse("staffing:my_shifts"))

    assertContains(response, "Wed 4 Nov · 07:00–19:00")
    assertContains(response, "4 West Med/Surg")
    assertContains(response, 'href="tel:312-555-0404"')
    assertContains(response, "Also on this shift: Sue Swap")
    assertContains(response, "Confirm I will be there")
    # Check-in opens an hour before the start: not yet at 06:00 the day before.
    assertNotContains(response, ">Check in</button>")


def test_the_check_in_button_appears_when_check_in_opens(
    client_for: SignIn, super_sam: User, sam: SupportPerson, make_shift: MakeShift, lead_lena: User
) -> None:
    assign_person(shift=make_shift(local(3, 6, 45), local(3, 18)), person=sam, actor=lead_lena)

    response = client_for(super_sam).get(reverse("staffing:my_shifts"))

    assertContains(response, ">Check in</button>")


def test_someone_not_on_the_roster_is_told_so(client_for: SignIn, agent_alex: User) -> None:
    response = client_for(agent_alex).get(reverse("staffing:my_shifts"))

    assert response.status_code == 200
    assertContains(response, "You are not on the support roster")
    for name in ("staffing:availability", "staffing:open_shifts"):
        assertContains(client_for(agent_alex).get(reverse(name)), "not on the support roster")


def test_signing_in_comes_first(client: Client) -> None:
    response = client.get(reverse("staffing:my_shifts"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_confirming_through_htmx_swaps_the_card_in_place(
    client_for: SignIn, super_sam: User, sams_day: Assignment
) -> None:
    response = client_for(super_sam).post(
        reverse("staffing:my_shift_confirm", args=[sams_day.pk]), HTTP_HX_REQUEST="true"
    )

    assert response.templates[0].name == "staffing/me_shift_card.html"
    assertContains(response, "Thanks: your shift is confirmed.")
    assertContains(response, ">Confirmed</span>")
    sams_day.refresh_from_db()
    assert sams_day.status == Assignment.Status.CONFIRMED


def test_checking_in_too_early_says_when_it_opens(
    client_for: SignIn, super_sam: User, sams_day: Assignment
) -> None:
    response = client_for(super_sam).post(
        reverse("staffing:my_shift_check_in", args=[sams_day.pk]), follow=True
    )

    assertContains(response, "Check-in opens one hour before the shift starts.")
    sams_day.refresh_from_db()
    assert sams_day.status == Assignment.Status.SCHEDULED


@pytest.mark.parametrize(
    "name", ["my_shift_confirm", "my_shift_check_in", "my_shift_drop", "my_shift_swap"]
)
def test_another_persons_assignment_is_answered_as_missing(
    client_for: SignIn, sams_day: Assignment, super_sam: User, mercy: GoLive, name: str
) -> None:
    other_user = User.objects.create_user("super_sal")
    mercy.memberships.create(user=other_user, role="support_staff")
    SupportPerson.objects.create(
        go_live=mercy, name="Sal", role="super_user", email="sal@mercy.example", user=other_user
    )

    response = client_for(other_user).post(reverse(f"staffing:{name}", args=[sams_day.pk]))

    assert response.status_code == 404
    sams_day.refresh_from_db()
    assert sams_day.status == Assignment.Status.SCHEDULED
    assert not ShiftRequest.objects.exists()


def test_a_member_of_another_go_live_reaches_nothing_of_mercy(
    client_for: SignIn, outsider_oscar: User, sams_drop: ShiftRequest, sams_day: Assignment
) -> None:
    client = client_for(outsider_oscar)

    assert client.post(reverse("staffing:my_shift_confirm", args=[sams_day.pk])).status_code == 404
    decide = reverse("staffing:request_decide", args=[sams_drop.pk])
    assert client.post(decide, {f"r{sams_drop.pk}-decision": "approved"}).status_code == 404


# --- Drop and swap forms --------------------------------------------------------------------------


def test_asking_to_drop_without_a_reason_says_what_to_do_and_saves_nothing(
    client_for: SignIn, super_sam: User, sams_day: Assignment
) -> None:
    response = client_for(super_sam).post(
        reverse("staffing:my_shift_drop", args=[sams_day.pk]), {"reason": ""}
    )

    assert response.status_code == 200
    assertContains(response, "Say why you need to drop the shift.")
    assert not ShiftRequest.objects.exists()


def test_asking_to_drop_sends_the_request_and_shows_it_waiting(
    client_for: SignIn, super_sam: User, sams_day: Assignment
) -> None:
    client = client_for(super_sam)
    response = client.post(
        reverse("staffing:my_shift_drop", args=[sams_day.pk]), {"reason": "Ill"}, follow=True
    )

    assertContains(response, "Your request to drop the shift is with your manager.")
    assertContains(response, "Your drop request is waiting for a manager.")
    assertNotContains(response, "Ask to swap")


def test_a_second_request_on_the_same_shift_is_refused_with_a_message(
    client_for: SignIn, super_sam: User, sams_drop: ShiftRequest, sue: SupportPerson
) -> None:
    response = client_for(super_sam).post(
        reverse("staffing:my_shift_swap", args=[sams_drop.assignment_id]), {"swap_with": sue.pk}
    )

    assertContains(response, "This shift already has a request waiting for a manager.")
    assert ShiftRequest.objects.count() == 1


def test_the_swap_list_offers_only_active_people_of_this_roster(
    client_for: SignIn,
    super_sam: User,
    sams_day: Assignment,
    sue: SupportPerson,
    make_person: MakePerson,
    lakeside: GoLive,
) -> None:
    make_person("Ian Inactive", is_active=False)
    stranger = SupportPerson.objects.create(
        go_live=lakeside, name="Lake Person", role="super_user", email="l@lake.example"
    )
    url = reverse("staffing:my_shift_swap", args=[sams_day.pk])
    client = client_for(super_sam)

    page = client.get(url)
    assertContains(page, "Sue Swap · Super user")
    assertNotContains(page, "Ian Inactive")
    assertNotContains(page, "Sam Super ·")

    response = client.post(url, {"swap_with": stranger.pk})
    assertContains(response, "Choose someone from the list")
    assert not ShiftRequest.objects.exists()


def test_withdrawing_is_only_for_my_own_request(
    client_for: SignIn, super_sam: User, sams_drop: ShiftRequest, agent_alex: User
) -> None:
    url = reverse("staffing:my_request_withdraw", args=[sams_drop.pk])
    assert client_for(agent_alex).post(url).status_code == 404

    response = client_for(super_sam).post(url, follow=True)

    assertContains(response, "Your request is withdrawn; the shift stays yours.")
    sams_drop.refresh_from_db()
    assert sams_drop.status == ShiftRequest.Status.WITHDRAWN


# --- Availability ---------------------------------------------------------------------------------


def test_adding_an_unavailable_window_in_local_time_warns_about_shifts_in_it(
    client_for: SignIn, super_sam: User, sam: SupportPerson, sams_day: Assignment
) -> None:
    response = client_for(super_sam).post(
        reverse("staffing:availability"),
        {"start": "2026-11-04T12:00", "end": "2026-11-05T09:00", "reason": "Flight"},
        follow=True,
    )

    window = sam.unavailabilities.get()
    assert (window.start, window.end) == (local(4, 12), local(5, 9))
    assertContains(response, "planners will see that you are unavailable then")
    assertContains(response, "You are still on these shifts in that window: 4 West Med/Surg")
    assertContains(response, "Wed 4 Nov 12:00 – Thu 5 Nov 09:00")


@pytest.mark.parametrize(
    ("start", "end", "field_message"),
    [
        ("2026-11-04T12:00", "2026-11-04T11:00", "The window must end after it starts."),
        ("2026-11-02T12:00", "2026-11-04T11:00", "The window cannot start in the past"),
        ("2026-11-04T12:00", "", "This field is required."),
        ("tomorrow", "2026-11-04T11:00", "Enter a date and time"),
        ("2027-03-14T02:30", "2027-03-14T05:00", "does not exist in America/Chicago"),
    ],
)
def test_a_bad_window_is_refused_field_by_field(
    client_for: SignIn,
    super_sam: User,
    sam: SupportPerson,
    start: str,
    end: str,
    field_message: str,
) -> None:
    response = client_for(super_sam).post(
        reverse("staffing:availability"), {"start": start, "end": end}
    )

    assert response.status_code == 200
    assertContains(response, field_message)
    assert not Unavailability.objects.exists()


def test_removing_a_window_is_only_for_my_own(
    client_for: SignIn, super_sam: User, sam: SupportPerson, sue: SupportPerson, agent_alex: User
) -> None:
    mine = Unavailability.objects.create(person=sam, start=local(5, 8), end=local(5, 20))
    theirs = Unavailability.objects.create(person=sue, start=local(5, 8), end=local(5, 20))
    client = client_for(super_sam)

    assert client.post(reverse("staffing:availability_delete", args=[theirs.pk])).status_code == 404
    client.post(reverse("staffing:availability_delete", args=[mine.pk]))

    assert list(Unavailability.objects.all()) == [theirs]


# --- Open shifts ----------------------------------------------------------------------------------


@pytest.fixture
def open_day(make_shift: MakeShift) -> Shift:
    return make_shift(local(5, 7), local(5, 19), needed=2, allow_claim=True)


def test_claiming_an_open_shift_makes_it_mine(
    client_for: SignIn, super_sam: User, sam: SupportPerson, open_day: Shift
) -> None:
    client = client_for(super_sam)
    assertContains(client.get(reverse("staffing:open_shifts")), "2 of 2 places open")

    response = client.post(reverse("staffing:open_shift_claim", args=[open_day.pk]), follow=True)

    assertContains(response, "The shift is yours: 4 West Med/Surg")
    assert open_day.assignments.get().person == sam


def test_a_claim_with_warnings_is_refused_and_says_why(
    client_for: SignIn,
    super_sam: User,
    sam: SupportPerson,
    open_day: Shift,
    make_shift: MakeShift,
    lead_lena: User,
) -> None:
    assign_person(shift=make_shift(local(4, 19), local(5, 7)), person=sam, actor=lead_lena)
    client = client_for(super_sam)
    assertContains(
        client.get(reverse("staffing:open_shifts")), "You cannot claim this one yourself"
    )

    response = client.post(reverse("staffing:open_shift_claim", args=[open_day.pk]), follow=True)

    assertContains(response, "You cannot take this shift yourself: Only 0 h of rest")
    assert not open_day.assignments.exists()


def test_a_shift_of_another_go_live_cannot_be_claimed(
    client_for: SignIn, super_sam: User, sam: SupportPerson, lakeside: GoLive
) -> None:
    site = lakeside.sites.create(name="Lake General", code="LG")
    unit = site.units.create(name="Lake ED")
    shift = Shift.objects.create(
        go_live=lakeside,
        unit=unit,
        role="super_user",
        start=local(5, 7),
        end=local(5, 19),
        allow_claim=True,
    )

    response = client_for(super_sam).post(reverse("staffing:open_shift_claim", args=[shift.pk]))

    assert response.status_code == 404


# --- The managers' inbox --------------------------------------------------------------------------


@pytest.fixture
def northside_drop(
    sam: SupportPerson, make_shift: MakeShift, front_desk: Unit, lead_lena: User, super_sam: User
) -> ShiftRequest:
    shift = make_shift(local(6, 8), local(6, 16), unit=front_desk)
    assignment = assign_person(shift=shift, person=sam, actor=lead_lena, override_reason="Cover")
    return selfservice.request_drop(assignment=assignment, actor=super_sam, reason="Course")


def test_a_clinic_manager_sees_requests_of_her_units_only(
    client_for: SignIn,
    manager_maria: User,
    lead_lena: User,
    sams_drop: ShiftRequest,
    northside_drop: ShiftRequest,
) -> None:
    maria_sees = client_for(manager_maria).get(reverse("staffing:requests"))
    assertContains(maria_sees, "4 West Med/Surg")
    assertNotContains(maria_sees, "Front Desk")

    lena_sees = client_for(lead_lena).get(reverse("staffing:requests"))
    assertContains(lena_sees, "4 West Med/Surg")
    assertContains(lena_sees, "Front Desk")


@pytest.mark.parametrize("who", ["agent_alex", "super_sam", "nurse_nina"])
def test_only_planners_open_the_inbox(
    client_for: SignIn, request: pytest.FixtureRequest, sams_drop: ShiftRequest, who: str
) -> None:
    user = request.getfixturevalue(who)
    client = client_for(user)

    assert client.get(reverse("staffing:requests")).status_code == 403
    decide = reverse("staffing:request_decide", args=[sams_drop.pk])
    assert client.post(decide, {f"r{sams_drop.pk}-decision": "approved"}).status_code == 403


def test_a_clinic_manager_cannot_decide_for_a_unit_she_does_not_manage(
    client_for: SignIn, manager_maria: User, northside_drop: ShiftRequest
) -> None:
    response = client_for(manager_maria).post(
        reverse("staffing:request_decide", args=[northside_drop.pk]),
        {f"r{northside_drop.pk}-decision": "approved"},
    )

    assert response.status_code == 403
    northside_drop.refresh_from_db()
    assert northside_drop.status == ShiftRequest.Status.PENDING


def test_a_manager_approves_a_drop(
    client_for: SignIn, manager_maria: User, sams_drop: ShiftRequest
) -> None:
    response = client_for(manager_maria).post(
        reverse("staffing:request_decide", args=[sams_drop.pk]),
        {f"r{sams_drop.pk}-decision": "approved", f"r{sams_drop.pk}-note": "Rest well"},
        follow=True,
    )

    assertContains(response, "The request is approved; everyone concerned is told.")
    assertContains(response, "No requests are waiting.")
    sams_drop.assignment.refresh_from_db()
    assert sams_drop.assignment.status == Assignment.Status.CANCELLED


def test_refusing_without_a_note_asks_for_one(
    client_for: SignIn, manager_maria: User, sams_drop: ShiftRequest
) -> None:
    response = client_for(manager_maria).post(
        reverse("staffing:request_decide", args=[sams_drop.pk]),
        {f"r{sams_drop.pk}-decision": "refused"},
    )

    assert response.status_code == 400
    assertContains(response, "Say why you refuse, so the requester can plan.", status_code=400)
    sams_drop.refresh_from_db()
    assert sams_drop.status == ShiftRequest.Status.PENDING


def test_a_swap_with_warnings_asks_the_manager_for_a_reason_then_goes_through(
    client_for: SignIn,
    manager_maria: User,
    lead_lena: User,
    super_sam: User,
    sams_day: Assignment,
    sue: SupportPerson,
    make_shift: MakeShift,
) -> None:
    assign_person(shift=make_shift(local(3, 19), local(4, 7)), person=sue, actor=lead_lena)
    swap = selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)
    client = client_for(manager_maria)
    url = reverse("staffing:request_decide", args=[swap.pk])
    assertContains(client.get(reverse("staffing:requests")), "Warnings for Sue Swap:")

    refused = client.post(url, {f"r{swap.pk}-decision": "approved"})
    assertContains(refused, "Give a reason to approve anyway", status_code=400)
    assert sams_day.shift.assignments.active().get().person.name == "Sam Super"

    client.post(url, {f"r{swap.pk}-decision": "approved", f"r{swap.pk}-override_reason": "Agreed"})
    assert sams_day.shift.assignments.active().get().person == sue


def test_a_swap_the_rules_refuse_shows_why_and_changes_nothing(
    client_for: SignIn,
    manager_maria: User,
    lead_lena: User,
    super_sam: User,
    sams_day: Assignment,
    sue: SupportPerson,
    make_shift: MakeShift,
    ed: Unit,
) -> None:
    swap = selfservice.request_swap(assignment=sams_day, actor=super_sam, swap_with=sue)
    assign_person(shift=make_shift(local(4, 9), local(4, 17), unit=ed), person=sue, actor=lead_lena)

    response = client_for(manager_maria).post(
        reverse("staffing:request_decide", args=[swap.pk]), {f"r{swap.pk}-decision": "approved"}
    )

    assertContains(response, "Sue Swap already works a shift at that time.", status_code=400)
    sams_day.refresh_from_db()
    assert sams_day.status == Assignment.Status.SCHEDULED


# --- Query counts ---------------------------------------------------------------------------------


def grow_schedule(
    count: int, sam: SupportPerson, make_shift: MakeShift, make_person: MakePerson, lead: User
) -> None:
    """`count` upcoming shifts for Sam, each with a colleague, and a drop request on each."""
    for day in range(count):
        start = local(4, 7) + dt.timedelta(days=day)
        shift = make_shift(start, start + dt.timedelta(hours=8), needed=2, allow_claim=True)
        assignment = assign_person(shift=shift, person=sam, actor=lead)
        assign_person(shift=shift, person=make_person(f"Colleague {day}"), actor=lead)
        selfservice.request_drop(assignment=assignment, actor=lead, reason="Busy")
        Unavailability.objects.create(
            person=sam, start=start + dt.timedelta(hours=10), end=start + dt.timedelta(hours=11)
        )
        make_shift(start + dt.timedelta(hours=12), start + dt.timedelta(hours=20), allow_claim=True)


@pytest.mark.parametrize("count", [1, 8])
@pytest.mark.parametrize(
    ("name", "who"),
    [
        ("staffing:my_shifts", "super_sam"),
        ("staffing:availability", "super_sam"),
        ("staffing:open_shifts", "super_sam"),
        ("staffing:requests", "manager_maria"),
        ("staffing:requests", "lead_lena"),
    ],
)
def test_the_self_service_lists_cost_the_same_queries_however_many_rows(
    client_for: SignIn,
    request: pytest.FixtureRequest,
    sam: SupportPerson,
    make_shift: MakeShift,
    make_person: MakePerson,
    lead_lena: User,
    manager_maria: User,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    count: int,
    name: str,
    who: str,
) -> None:
    grow_schedule(count, sam, make_shift, make_person, lead_lena)
    client = client_for(request.getfixturevalue(who))

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse(name))
    assert response.status_code == 200
