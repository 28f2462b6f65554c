"""The shift panel: who is on a shift, who could fill it, one-tap assigning and in-place updates."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains

from golive.models import Application, GoLive, Unit
from staffing.grid import eligible_people
from staffing.models import (
    Assignment,
    Shift,
    ShiftEvent,
    StaffingSettings,
    SupportPerson,
    SupportRole,
)
from staffing.services import assign_person
from staffing.tests.conftest import MakePerson, MakeShift, local

SignIn = Callable[[User], Client]
GRID_PAGE = "http://testserver" + reverse("staffing:grid")
HTMX = {"HX-Request": "true", "HX-Current-URL": GRID_PAGE}


def detail(shift: Shift) -> str:
    return reverse("staffing:shift_detail", args=[shift.pk])


def assign_url(shift: Shift) -> str:
    return reverse("staffing:shift_assign", args=[shift.pk])


def ranked_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-person="(\d+)"', html)]


def past_assignment(person: SupportPerson, shift: Shift) -> Assignment:
    """Test data: an assignment on a shift already worked (the service refuses past shifts)."""
    return Assignment.objects.create(
        shift=shift, person=person, period=DateTimeTZRange(shift.start, shift.end, "[)")
    )


# --- What the panel shows -------------------------------------------------------------------------


def test_the_panel_shows_the_shift_its_people_and_its_timeline(
    client_for: SignIn, lead_lena: User, sam: SupportPerson, day_shift: Shift
) -> None:
    assign_person(shift=day_shift, person=sam, actor=lead_lena)

    response = client_for(lead_lena).get(detail(day_shift))

    assertContains(response, "4 West Med/Surg · Super user")
    assertContains(response, "Wed 4 Nov 07:00–19:00")
    assertContains(response, "12 h")
    assertContains(response, "1 of 2 assigned · short")
    assertContains(response, "Sam Super")
    assertContains(response, 'href="tel:312-555-0190"')
    assertContains(response, "not checked in")
    # The timeline: who, what, to what.
    assertContains(response, "Lena Lead · <strong>Assigned</strong>: Sam Super", html=False)
    # A full page without htmx, with the way back to the grid on the shift's day.
    assertContains(response, "<!doctype html>")
    assertContains(response, reverse("staffing:grid") + "?start=2026-11-04")


def test_with_htmx_the_panel_comes_alone_to_load_beside_the_grid(
    client_for: SignIn, lead_lena: User, day_shift: Shift
) -> None:
    response = client_for(lead_lena).get(detail(day_shift), headers=HTMX)

    assertNotContains(response, "<!doctype html>")
    assertContains(response, 'id="shift-panel-heading"')
    # Nothing changed, so nothing to swap out of band.
    assertNotContains(response, "hx-swap-oob")


def test_a_night_across_the_end_of_summer_time_lasts_thirteen_hours(
    client_for: SignIn, lead_lena: User, make_shift: MakeShift
) -> None:
    night = make_shift(local(31, 19, month=10), local(1, 7), label="Night")

    response = client_for(lead_lena).get(detail(night))

    assertContains(response, "Sat 31 Oct 19:00–Sun 1 Nov 07:00")
    assertContains(response, "13 h")


# --- Eligible people ------------------------------------------------------------------------------


@pytest.fixture
def ranking(
    now: dt.datetime,
    make_person: MakePerson,
    make_shift: MakeShift,
    sam: SupportPerson,
    vera: SupportPerson,
    ed: Unit,
) -> dict[str, object]:
    """Thursday's day shift on 4 West and four people who could take it.

    Sam's home is 4 West; Hana and Eddie belong to ED, Hana worked 12 h on Monday; Vera is a
    vendor consultant, the wrong role for a super-user shift.
    """
    hana = make_person("Hana Hours", home_unit=ed)
    eddie = make_person("Eddie Easy", home_unit=ed)
    past_assignment(hana, make_shift(local(2, 7), local(2, 19), unit=ed))
    shift = make_shift(local(5, 7), local(5, 19), label="Day", needed=2)
    return {"shift": shift, "order": [sam, eddie, hana, vera]}


def test_people_without_warnings_come_first_then_home_unit_then_fewest_hours(
    ranking: dict[str, object], mercy: GoLive
) -> None:
    shift = Shift.objects.select_related("go_live", "application").get(pk=ranking["shift"].pk)  # type: ignore[attr-defined]

    eligible = eligible_people(shift=shift, staffing=StaffingSettings.for_go_live(mercy))

    assert [c.person for c in eligible.candidates] == ranking["order"]
    assert eligible.total == 4
    assert [w.code for w in eligible.candidates[-1].warnings] == ["role"]
    assert eligible.candidates[2].hours_this_week == 12


def test_the_panel_lists_them_in_that_order_with_their_facts(
    client_for: SignIn, manager_maria: User, ranking: dict[str, object]
) -> None:
    response = client_for(manager_maria).get(detail(ranking["shift"]))  # type: ignore[arg-type]

    html = response.content.decode()
    assert ranked_ids(html) == [p.pk for p in ranking["order"]]  # type: ignore[attr-defined]
    assertContains(response, "★ home unit")
    assertContains(response, "12 h in the last 7 days")
    assertContains(response, "Vera Vendor is a vendor consultant; the shift needs a super user.")
    assertContains(response, "4 people free at that time, best first.")


def test_people_already_busy_at_that_time_are_not_offered(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    make_person: MakePerson,
    day_shift: Shift,
    make_shift: MakeShift,
    ed: Unit,
) -> None:
    busy = make_person("Bea Busy")
    assign_person(shift=make_shift(local(4, 9), local(4, 17), unit=ed), person=busy, actor=None)
    assign_person(shift=day_shift, person=sam, actor=None)

    html = client_for(lead_lena).get(detail(day_shift)).content.decode()

    assert busy.pk not in ranked_ids(html)
    assert sam.pk not in ranked_ids(html)


def test_a_skill_the_shift_needs_is_shown_for_each_person(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    vera: SupportPerson,
    make_shift: MakeShift,
    orders_app: Application,
    now: dt.datetime,
) -> None:
    shift = make_shift(local(5, 7), local(5, 19), application=orders_app)

    response = client_for(lead_lena).get(detail(shift))

    assertContains(response, "✓ Knows Orders")
    assertContains(response, "✕ Not listed for Orders")


def test_the_search_box_narrows_the_list(
    client_for: SignIn, lead_lena: User, ranking: dict[str, object]
) -> None:
    shift: Shift = ranking["shift"]  # type: ignore[assignment]
    url = reverse("staffing:shift_candidates", args=[shift.pk])

    response = client_for(lead_lena).get(url, {"q": "hana"}, headers=HTMX)

    assert ranked_ids(response.content.decode()) == [ranking["order"][2].pk]  # type: ignore[index]
    assertContains(response, "matching “hana”")
    assertNotContains(response, "<!doctype html>")
    response = client_for(lead_lena).get(url, {"q": "nobody-like-this"})
    assertContains(response, "Nobody free at that time matches “nobody-like-this”.")


@pytest.mark.parametrize("extra_people", [0, 300])
def test_ranking_costs_four_queries_whatever_the_roster_size(
    ranking: dict[str, object],
    mercy: GoLive,
    orders_app: Application,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    extra_people: int,
) -> None:
    SupportPerson.objects.bulk_create(
        SupportPerson(go_live=mercy, name=f"P{n}", role=SupportRole.SUPER_USER, email=f"{n}@x.org")
        for n in range(extra_people)
    )
    shift = Shift.objects.select_related("go_live", "application").get(pk=ranking["shift"].pk)  # type: ignore[attr-defined]
    shift.application = orders_app
    staffing = StaffingSettings.for_go_live(mercy)

    # People, their skills, and load_people's assignments and unavailable windows.
    with django_assert_max_num_queries(4):
        eligible = eligible_people(shift=shift, staffing=staffing, limit=3)

    assert eligible.total == 4 + extra_people
    assert len(eligible.candidates) == 3


# --- Assigning in one tap -------------------------------------------------------------------------


def test_one_tap_assigns_and_the_grid_cell_updates_out_of_band(
    client_for: SignIn, manager_maria: User, sam: SupportPerson, night_shift: Shift, four_west: Unit
) -> None:
    response = client_for(manager_maria).post(
        assign_url(night_shift), {"person": sam.pk}, headers=HTMX
    )

    assert response.status_code == 200
    assert night_shift.assignments.get().person == sam
    assertContains(response, "Sam Super is on this shift.")
    assertContains(response, "1 of 1 assigned · met")
    html = response.content.decode()
    oob = re.search(
        r'<td id="cell-(\d+)-20261103-1900"[^>]*hx-swap-oob="true"[^>]*>(.*?)</td>', html
    )
    assert oob, "the grid cell comes back to swap out of band"
    assert int(oob.group(1)) == four_west.pk
    assert 'data-status="met"' in oob.group(2) and "1/1" in oob.group(2)
    assert re.search(r'<td id="summary-20261103"[^>]*hx-swap-oob="true"', html)
    assert "100 % filled" in html
    assert html.index("<template>") < html.index('id="cell-')


def test_the_cell_is_redrawn_as_the_filtered_grid_shows_it(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    night_shift: Shift,
    make_shift: MakeShift,
) -> None:
    make_shift(local(3, 19), local(4, 7), role=SupportRole.ANALYST, label="Night")
    grid_page = f"{GRID_PAGE}?role={SupportRole.SUPER_USER}"

    response = client_for(lead_lena).post(
        assign_url(night_shift),
        {"person": sam.pk},
        headers={"HX-Request": "true", "HX-Current-URL": grid_page},
    )

    cell = re.search(
        r'<td id="cell-[^"]*-1900"[^>]*hx-swap-oob[^>]*>(.*?)</td>', response.content.decode()
    )
    assert cell
    assert ">SU<" in cell.group(1) and ">AA<" not in cell.group(1)


def test_outside_the_grid_page_no_cell_is_sent(
    client_for: SignIn, lead_lena: User, sam: SupportPerson, night_shift: Shift
) -> None:
    headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver" + detail(night_shift)}

    response = client_for(lead_lena).post(
        assign_url(night_shift), {"person": sam.pk}, headers=headers
    )

    assertContains(response, "Sam Super is on this shift.")
    assertNotContains(response, "hx-swap-oob")


def test_without_javascript_assigning_redirects_back_to_the_shift(
    client_for: SignIn, lead_lena: User, sam: SupportPerson, night_shift: Shift
) -> None:
    client = client_for(lead_lena)

    response = client.post(assign_url(night_shift), {"person": sam.pk})

    assert response.status_code == 302
    assert response["Location"] == detail(night_shift)
    assertContains(client.get(detail(night_shift)), "Sam Super is on this shift.")


def test_soft_warnings_ask_for_a_reason_and_the_reason_is_recorded(
    client_for: SignIn, lead_lena: User, sam: SupportPerson, night_shift: Shift, day_shift: Shift
) -> None:
    assign_person(shift=night_shift, person=sam, actor=lead_lena)
    client = client_for(lead_lena)

    response = client.post(assign_url(day_shift), {"person": sam.pk}, headers=HTMX)
    assertContains(response, "Sam Super: check before assigning")
    assertContains(response, "Only 0 h of rest after the previous shift.")
    assertContains(response, "Assign anyway")
    assert not day_shift.assignments.exists()

    response = client.post(
        assign_url(day_shift), {"person": sam.pk, "override_reason": "  "}, headers=HTMX
    )
    assertContains(response, "Give a reason to go ahead despite the warnings.")
    assert not day_shift.assignments.exists()

    response = client.post(
        assign_url(day_shift),
        {"person": sam.pk, "override_reason": "Only one who knows the pumps"},
        headers=HTMX,
    )
    assertContains(response, "Sam Super is on this shift.")
    assignment = day_shift.assignments.get()
    assert assignment.override_reason == "Only one who knows the pumps"
    assertContains(response, "Override: Only one who knows the pumps")


def test_a_full_shift_refuses_with_its_reason_and_saves_nothing(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    make_person: MakePerson,
    night_shift: Shift,
) -> None:
    assign_person(shift=night_shift, person=sam, actor=lead_lena)
    olga = make_person("Olga Other")

    response = client_for(lead_lena).post(
        assign_url(night_shift), {"person": olga.pk}, headers=HTMX
    )

    assert response.status_code == 200
    assertContains(response, "This shift is full: 1 of 1 places are taken.")
    assert night_shift.assignments.count() == 1


def test_an_overlapping_assignment_is_refused_by_name(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    day_shift: Shift,
    make_shift: MakeShift,
    ed: Unit,
) -> None:
    assign_person(shift=make_shift(local(4, 15), local(4, 23), unit=ed), person=sam, actor=None)

    response = client_for(lead_lena).post(assign_url(day_shift), {"person": sam.pk})

    assertContains(response, "Sam Super already works a shift at that time.")
    assert not day_shift.assignments.exists()


def test_a_person_of_another_go_live_or_no_person_is_refused_in_words(
    client_for: SignIn, lead_lena: User, night_shift: Shift, lakeside: GoLive
) -> None:
    stranger = SupportPerson.objects.create(
        go_live=lakeside, name="Lake Person", role=SupportRole.SUPER_USER, email="l@lake.example"
    )
    client = client_for(lead_lena)

    assertContains(
        client.post(assign_url(night_shift), {"person": stranger.pk}), "not on the roster"
    )
    assertContains(client.post(assign_url(night_shift), {"person": "x"}), "Choose a person")
    assert not night_shift.assignments.exists()


# --- Confirm, no-show, cancel ---------------------------------------------------------------------


def test_cancelling_needs_a_reason_then_frees_the_place(
    client_for: SignIn, lead_lena: User, sam: SupportPerson, night_shift: Shift
) -> None:
    assignment = assign_person(shift=night_shift, person=sam, actor=lead_lena)
    url = reverse("staffing:shift_cancel_assignment", args=[assignment.pk])
    client = client_for(lead_lena)

    response = client.post(url, {f"cancel-{assignment.pk}-reason": ""}, headers=HTMX)
    assertContains(response, "Say why the person comes off this shift.")
    assignment.refresh_from_db()
    assert assignment.is_active

    response = client.post(url, {f"cancel-{assignment.pk}-reason": "Sick"}, headers=HTMX)
    assertContains(response, "Sam Super is off this shift.")
    assertContains(response, "0 of 1 assigned · none")
    assert re.search(r'hx-swap-oob="true"><a class="gl-line gl-none"', response.content.decode())
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CANCELLED
    assert ShiftEvent.objects.filter(shift=night_shift, action="cancelled", note="Sick").exists()


def test_confirming_and_marking_a_no_show_after_the_start(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    night_shift: Shift,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    assignment = assign_person(shift=night_shift, person=sam, actor=lead_lena)
    url = reverse("staffing:shift_assignment_status", args=[assignment.pk])
    client = client_for(lead_lena)

    response = client.post(url, {"status": "confirmed"}, headers=HTMX)
    assertContains(response, "Sam Super: confirmed.")
    response = client.post(url, {"status": "no_show"}, headers=HTMX)
    assertContains(response, "Nobody is a no-show before the shift starts.")
    assertNotContains(response, ">No-show<span")

    time_machine.move_to(local(3, 19, 30), tick=False)
    client = client_for(lead_lena)  # the session idled out in the meantime
    response = client.get(detail(night_shift))
    assertContains(response, ">No-show<span")
    response = client.post(url, {"status": "no_show"}, headers=HTMX)
    assertContains(response, "Sam Super: no-show.")
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.NO_SHOW
    response = client.post(url, {"status": "checked_in"}, headers=HTMX)
    assertContains(response, "Choose confirmed or no-show.")


# --- Who may do what ------------------------------------------------------------------------------


def test_a_help_desk_agent_sees_the_panel_read_only(
    client_for: SignIn, agent_alex: User, sam: SupportPerson, day_shift: Shift
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=None)
    client = client_for(agent_alex)

    response = client.get(detail(day_shift))
    assert response.status_code == 200
    assertContains(response, "Sam Super")
    assertNotContains(response, "Who could fill it")
    assertNotContains(response, "Cancel…")
    assertNotContains(response, "Edit times or places")
    assert client.post(assign_url(day_shift), {"person": sam.pk}).status_code == 403
    cancel = reverse("staffing:shift_cancel_assignment", args=[assignment.pk])
    assert client.post(cancel, {f"cancel-{assignment.pk}-reason": "x"}).status_code == 403
    assert client.get(reverse("staffing:shift_candidates", args=[day_shift.pk])).status_code == 403


def test_a_clinic_manager_cannot_open_or_change_another_sites_shift(
    client_for: SignIn,
    manager_maria: User,
    make_shift: MakeShift,
    make_person: MakePerson,
    front_desk: Unit,
    now: dt.datetime,
) -> None:
    desk = make_shift(local(4, 7), local(4, 19), unit=front_desk)
    nico = make_person("Nico North")
    assignment = assign_person(shift=desk, person=nico, actor=None)
    client = client_for(manager_maria)

    assert client.get(detail(desk)).status_code == 403
    assert client.post(assign_url(desk), {"person": nico.pk}).status_code == 403
    status = reverse("staffing:shift_assignment_status", args=[assignment.pk])
    assert client.post(status, {"status": "confirmed"}).status_code == 403
    assert client.get(reverse("staffing:shift_edit", args=[desk.pk])).status_code == 403


@pytest.mark.parametrize("username", ["super_sam", "nurse_nina"])
def test_support_and_floor_staff_cannot_open_a_shift_panel(
    request: pytest.FixtureRequest, client_for: SignIn, username: str, day_shift: Shift
) -> None:
    client = client_for(request.getfixturevalue(username))

    assert client.get(detail(day_shift)).status_code == 403
    assert client.post(assign_url(day_shift), {"person": 1}).status_code == 403


def test_someone_outside_the_go_live_gets_not_found(
    client_for: SignIn, outsider_oscar: User, sam: SupportPerson, day_shift: Shift
) -> None:
    assignment = assign_person(shift=day_shift, person=sam, actor=None)
    client = client_for(outsider_oscar)

    assert client.get(detail(day_shift)).status_code == 404
    assert client.post(assign_url(day_shift), {"person": sam.pk}).status_code == 404
    cancel = reverse("staffing:shift_cancel_assignment", args=[assignment.pk])
    assert client.post(cancel, {f"cancel-{assignment.pk}-reason": "x"}).status_code == 404
    assert client.get(reverse("staffing:shift_edit", args=[day_shift.pk])).status_code == 404


def test_the_panel_only_reads_with_get_and_only_writes_with_post(
    client_for: SignIn, lead_lena: User, day_shift: Shift
) -> None:
    client = client_for(lead_lena)

    assert client.get(assign_url(day_shift)).status_code == 405
    assert client.post(detail(day_shift)).status_code == 405


# Session, user, memberships (3), the shift (1), the manager's units (3), assignments (1),
# events (1), settings (1), the people and their loads (3), saving the session (3).
PANEL_QUERIES = 16


@pytest.mark.parametrize(("extra_people", "on_shift"), [(0, 0), (200, 2)])
def test_the_panel_costs_the_same_queries_whatever_the_roster_and_shift_size(
    client_for: SignIn,
    manager_maria: User,
    ranking: dict[str, object],
    mercy: GoLive,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    extra_people: int,
    on_shift: int,
) -> None:
    shift: Shift = ranking["shift"]  # type: ignore[assignment]
    SupportPerson.objects.bulk_create(
        SupportPerson(go_live=mercy, name=f"P{n}", role=SupportRole.SUPER_USER, email=f"{n}@x.org")
        for n in range(extra_people)
    )
    shift.needed = 3
    shift.save()
    for person in ranking["order"][:on_shift]:  # type: ignore[index]
        assign_person(shift=shift, person=person, actor=None, override_reason="test")
    StaffingSettings.for_go_live(mercy)
    client = client_for(manager_maria)

    with django_assert_max_num_queries(PANEL_QUERIES):
        response = client.get(detail(shift))

    assert len(response.context["rows"]) == on_shift
    assert response.context["eligible"].total == 4 + extra_people - on_shift
