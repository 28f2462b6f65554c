"""The staffing part of the REST API: the roster's people, shifts and assignments (managers and the
help desk; a clinic manager sees her own units' shifts), and who is on shift now (every member).

The clock stands still at Tuesday 3 November 2026 06:00 in Chicago (12:00 UTC).
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from golive.models import Application, GoLive, Site, Unit
from staffing.models import Assignment, Shift, SupportPerson, SupportRole
from staffing.tests.conftest import MakePerson, MakeShift, local
from staffing.tests.test_whos_on import put_on

Api = Callable[[User], Client]
# Token and user (1), membership (1), the page's count and rows (2), the people's skills (1).
LIST_BUDGET = 5


@pytest.fixture(autouse=True)
def frozen(now: dt.datetime) -> None:
    """Every test here runs at NOW."""


def api_url(name: str, go_live: GoLive, **kwargs: int) -> str:
    return reverse(f"api:{name}", kwargs={"go_live": go_live.pk, **kwargs})


def ids(response: Any) -> list[int]:
    """The ids of a list answer's page, in its order."""
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["status"] == status
    return body


def refused_fields(response: Any) -> list[str]:
    return list(error(response, 400)["fields"])


def page_cost(client: Client, url: str, expected_rows: int) -> int:
    """The queries one page of `url` takes (every row on it)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 200})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == expected_rows
    return len(queries.captured_queries)


@pytest.fixture
def ed_shift(make_shift: MakeShift, ed: Unit) -> Shift:
    """Tomorrow's day shift in the ED."""
    return make_shift(local(4, 7), local(4, 19), unit=ed, label="ED day")


@pytest.fixture
def clinic_shift(make_shift: MakeShift, front_desk: Unit) -> Shift:
    """Tomorrow's clinic hours at Northside's front desk."""
    return make_shift(local(4, 8), local(4, 17), unit=front_desk, label="Clinic")


# --- People ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["lead_lena", "manager_maria", "agent_alex"])
def test_managers_and_the_help_desk_read_the_roster(
    who: str, request: pytest.FixtureRequest, api_for: Api, mercy: GoLive, sam: SupportPerson
) -> None:
    client = api_for(request.getfixturevalue(who))

    response = client.get(api_url("people", mercy))

    assert ids(response) == [sam.pk]
    row = response.json()["results"][0]
    assert (row["name"], row["role"], row["phone"]) == ("Sam Super", "super_user", "312-555-0190")
    assert (row["home_unit"], row["home_site"]) == (sam.home_unit_id, sam.home_site_id)
    assert client.get(api_url("person", mercy, pk=sam.pk)).json()["id"] == sam.pk


@pytest.mark.parametrize("who", ["super_sam", "nurse_nina"])
def test_support_and_floor_staff_may_not_read_the_roster(
    who: str, request: pytest.FixtureRequest, api_for: Api, mercy: GoLive, sam: SupportPerson
) -> None:
    client = api_for(request.getfixturevalue(who))

    assert error(client.get(api_url("people", mercy)), 403)["code"] == "permission_denied"
    assert error(client.get(api_url("person", mercy, pk=sam.pk)), 403)


def test_another_go_lives_lead_finds_no_roster_at_mercy(
    api_for: Api, mercy: GoLive, lakeside: GoLive, outsider_oscar: User, sam: SupportPerson
) -> None:
    client = api_for(outsider_oscar)

    assert error(client.get(api_url("people", mercy)), 404)["code"] == "not_found"
    # Nor through Lakeside's own path.
    assert error(client.get(api_url("person", lakeside, pk=sam.pk)), 404)
    assert ids(client.get(api_url("people", lakeside))) == []


def test_the_roster_filters_by_role_place_activity_and_words(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    make_person: MakePerson,
    sam: SupportPerson,
    vera: SupportPerson,
    ed: Unit,
    northside: Site,
) -> None:
    ed_trainer = make_person(
        "Tara Trainer", role=SupportRole.TRAINER, home_unit=ed, home_site=ed.site
    )
    gone = make_person("Gus Gone", home_site=northside, is_active=False)
    client, url = api_for(lead_lena), api_url("people", mercy)

    assert ids(client.get(url)) == [gone.pk, sam.pk, ed_trainer.pk, vera.pk]
    assert ids(client.get(url, {"role": "trainer"})) == [ed_trainer.pk]
    assert ids(client.get(url, {"role": "vendor_consultant"})) == [vera.pk]
    assert ids(client.get(url, {"site": ed.site_id})) == [sam.pk, ed_trainer.pk]
    assert ids(client.get(url, {"unit": ed.pk})) == [ed_trainer.pk]
    assert ids(client.get(url, {"active": "false"})) == [gone.pk]
    assert ids(client.get(url, {"active": "true"})) == [sam.pk, ed_trainer.pk, vera.pk]
    assert ids(client.get(url, {"q": "vendor"})) == [vera.pk]
    assert ids(client.get(url, {"q": "sam.super@"})) == [sam.pk]


def test_the_roster_refuses_a_role_it_does_not_know_and_other_bad_filters(
    api_for: Api, mercy: GoLive, lead_lena: User, sam: SupportPerson
) -> None:
    client, url = api_for(lead_lena), api_url("people", mercy)

    body = error(client.get(url, {"role": "wizard"}), 400)
    assert list(body["fields"]) == ["role"]
    assert "super_user" in body["fields"]["role"][0]
    assert refused_fields(client.get(url, {"active": "maybe"})) == ["active"]
    assert refused_fields(client.get(url, {"site": "mercy"})) == ["site"]
    assert refused_fields(client.get(url, {"q": "x" * 201})) == ["q"]
    # PostgreSQL refuses NUL in text: it was a 500.
    assert refused_fields(client.get(url, {"q": "Sam\x00"})) == ["q"]
    assert refused_fields(client.get(url, {"name": "Sam"})) == ["name"]


def test_a_page_of_the_roster_costs_the_same_for_3_people_as_for_40(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    make_person: MakePerson,
    orders_app: Application,
) -> None:
    client, url = api_for(lead_lena), api_url("people", mercy)
    client.get(url)  # the token's first use is written once: not part of a page's cost

    def hire(first: int, last: int) -> None:
        for n in range(first, last):
            make_person(f"Person {n:02}").skills.add(orders_app)

    hire(0, 3)
    few = page_cost(client, url, 3)
    hire(3, 40)

    assert page_cost(client, url, 40) == few
    assert few <= LIST_BUDGET


# --- Shifts ----------------------------------------------------------------------------------------


def test_a_clinic_manager_sees_only_the_shifts_of_the_units_she_manages(
    api_for: Api,
    mercy: GoLive,
    manager_maria: User,
    lead_lena: User,
    day_shift: Shift,
    ed_shift: Shift,
    clinic_shift: Shift,
) -> None:
    marias = api_for(manager_maria)

    assert ids(marias.get(api_url("shifts", mercy))) == [day_shift.pk, ed_shift.pk]
    assert error(marias.get(api_url("shift", mercy, pk=clinic_shift.pk)), 404)
    assert ids(api_for(lead_lena).get(api_url("shifts", mercy))) == [
        day_shift.pk,
        ed_shift.pk,
        clinic_shift.pk,
    ]


@pytest.mark.parametrize("who", ["super_sam", "nurse_nina"])
def test_support_and_floor_staff_may_not_read_shifts_or_assignments(
    who: str, request: pytest.FixtureRequest, api_for: Api, mercy: GoLive, day_shift: Shift
) -> None:
    client = api_for(request.getfixturevalue(who))

    assert error(client.get(api_url("shifts", mercy)), 403)
    assert error(client.get(api_url("assignments", mercy)), 403)


def test_a_shift_tells_where_it_is_and_how_many_places_are_filled(
    api_for: Api,
    mercy: GoLive,
    agent_alex: User,
    make_person: MakePerson,
    make_shift: MakeShift,
    four_west: Unit,
) -> None:
    shift = make_shift(local(4, 7), local(4, 19), needed=5, label="Day")
    statuses = ["scheduled", "confirmed", "checked_in", "cancelled", "no_show"]
    for n, status in enumerate(statuses):
        put_on(shift, make_person(f"Person {n}"), status=status)

    response = api_for(agent_alex).get(api_url("shift", mercy, pk=shift.pk))

    assert response.status_code == 200, response.content
    body = response.json()
    # Scheduled, confirmed and checked in hold a place; cancelled and no-show do not.
    assert (body["needed"], body["filled"]) == (5, 3)
    assert (body["unit"], body["site"]) == (four_west.pk, four_west.site_id)
    assert body["start"] == "2026-11-04T13:00:00Z"
    assert body["end"] == "2026-11-05T01:00:00Z"
    listed = api_for(agent_alex).get(api_url("shifts", mercy)).json()["results"]
    assert [(row["id"], row["filled"]) for row in listed] == [(shift.pk, 3)]


def test_shifts_are_found_by_the_window_they_overlap(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    night_shift: Shift,
    day_shift: Shift,
    make_shift: MakeShift,
) -> None:
    last_night = make_shift(local(2, 19), local(3, 7), label="Last night")
    client, url = api_for(lead_lena), api_url("shifts", mercy)

    # Ends after 07:00 this morning: last night's ends at 07:00 on the dot, so it is out.
    assert ids(client.get(url, {"ends_after": "2026-11-03T07:00:00-06:00"})) == [
        night_shift.pk,
        day_shift.pk,
    ]
    # Starts before tomorrow 07:00: tomorrow's day shift starts at 07:00 on the dot, so it is out.
    assert ids(client.get(url, {"starts_before": "2026-11-04T13:00Z"})) == [
        last_night.pk,
        night_shift.pk,
    ]
    # Both: what is on at some point today from 06:00 to 20:00.
    window = {"ends_after": "2026-11-03T12:00:00Z", "starts_before": "2026-11-04T02:00:00Z"}
    assert ids(client.get(url, window)) == [last_night.pk, night_shift.pk]


def test_a_time_filter_takes_any_offset_iso_8601_allows(
    api_for: Api, mercy: GoLive, lead_lena: User, night_shift: Shift, day_shift: Shift
) -> None:
    # 01:01 UTC, just after the night shift starts; 23:59 east of UTC is past what PostgreSQL
    # takes as an offset, so the API converts it first.
    response = api_for(lead_lena).get(
        api_url("shifts", mercy), {"starts_before": "2026-11-05T01:00+23:59"}
    )

    assert ids(response) == [night_shift.pk]


@pytest.mark.parametrize(
    "value", ["2026-11-03T07:00:00", "2026-11-03", "tomorrow", "2026-13-01T07:00Z"]
)
def test_a_time_filter_needs_a_date_time_with_its_offset(
    value: str, api_for: Api, mercy: GoLive, lead_lena: User, day_shift: Shift
) -> None:
    client = api_for(lead_lena)

    for name in ("ends_after", "starts_before"):
        assert refused_fields(client.get(api_url("shifts", mercy), {name: value})) == [name]
        assert refused_fields(client.get(api_url("assignments", mercy), {name: value})) == [name]


def test_shifts_filter_by_site_unit_and_role(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    day_shift: Shift,
    ed_shift: Shift,
    clinic_shift: Shift,
    make_shift: MakeShift,
    northside: Site,
    ed: Unit,
) -> None:
    trainers = make_shift(local(4, 9), local(4, 13), role=SupportRole.TRAINER, label="Class")
    client, url = api_for(lead_lena), api_url("shifts", mercy)

    assert ids(client.get(url, {"site": northside.pk})) == [clinic_shift.pk]
    assert ids(client.get(url, {"unit": ed.pk})) == [ed_shift.pk]
    assert ids(client.get(url, {"role": "trainer"})) == [trainers.pk]
    assert refused_fields(client.get(url, {"role": "boss"})) == ["role"]


def test_a_page_of_shifts_costs_the_same_for_3_shifts_as_for_40(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    make_shift: MakeShift,
    make_person: MakePerson,
    ed: Unit,
) -> None:
    client, url = api_for(lead_lena), api_url("shifts", mercy)
    client.get(url)

    def plan(first: int, last: int) -> None:
        for n in range(first, last):
            shift = make_shift(local(4, 7), local(4, 19), unit=ed if n % 2 else None, needed=2)
            put_on(shift, make_person(f"Person {n:02}"))

    plan(0, 3)
    few = page_cost(client, url, 3)
    plan(3, 40)

    assert page_cost(client, url, 40) == few
    assert few <= LIST_BUDGET


# --- Assignments -----------------------------------------------------------------------------------


def test_assignments_list_people_on_shifts_with_their_place_and_time(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    sam: SupportPerson,
    vera: SupportPerson,
    day_shift: Shift,
    night_shift: Shift,
) -> None:
    on_night = put_on(night_shift, sam)
    on_day = put_on(day_shift, vera, status=Assignment.Status.CONFIRMED)

    response = api_for(lead_lena).get(api_url("assignments", mercy))

    assert ids(response) == [on_night.pk, on_day.pk]
    first = response.json()["results"][0]
    assert first["person"] == {"id": sam.pk, "name": "Sam Super"}
    assert (first["shift"], first["unit"]) == (night_shift.pk, night_shift.unit_id)
    assert (first["start"], first["status"]) == ("2026-11-04T01:00:00Z", "scheduled")


def test_a_clinic_manager_sees_only_the_assignments_on_her_units(
    api_for: Api,
    mercy: GoLive,
    manager_maria: User,
    sam: SupportPerson,
    vera: SupportPerson,
    ed_shift: Shift,
    clinic_shift: Shift,
) -> None:
    in_the_ed = put_on(ed_shift, sam)
    put_on(clinic_shift, vera)

    assert ids(api_for(manager_maria).get(api_url("assignments", mercy))) == [in_the_ed.pk]


def test_assignments_filter_by_person_shift_status_and_window(
    api_for: Api,
    mercy: GoLive,
    agent_alex: User,
    sam: SupportPerson,
    vera: SupportPerson,
    day_shift: Shift,
    night_shift: Shift,
) -> None:
    sams_night = put_on(night_shift, sam)
    veras_night = put_on(night_shift, vera, status=Assignment.Status.CANCELLED)
    veras_day = put_on(day_shift, vera)
    client, url = api_for(agent_alex), api_url("assignments", mercy)

    assert ids(client.get(url, {"person": vera.pk})) == [veras_night.pk, veras_day.pk]
    assert ids(client.get(url, {"shift": night_shift.pk})) == [sams_night.pk, veras_night.pk]
    assert ids(client.get(url, {"status": "cancelled"})) == [veras_night.pk]
    assert ids(client.get(url, {"starts_before": "2026-11-04T12:00Z"})) == [
        sams_night.pk,
        veras_night.pk,
    ]
    assert refused_fields(client.get(url, {"status": "sick"})) == ["status"]


def test_a_page_of_assignments_costs_the_same_for_3_as_for_40(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    make_shift: MakeShift,
    make_person: MakePerson,
) -> None:
    client, url = api_for(lead_lena), api_url("assignments", mercy)
    client.get(url)
    shift = make_shift(local(4, 7), local(4, 19), needed=40)

    def staff(first: int, last: int) -> None:
        for n in range(first, last):
            put_on(shift, make_person(f"Person {n:02}"))

    staff(0, 3)
    few = page_cost(client, url, 3)
    staff(3, 40)

    assert page_cost(client, url, 40) == few
    assert few <= LIST_BUDGET


# --- Who is on now ---------------------------------------------------------------------------------


@pytest.fixture
def last_night(make_shift: MakeShift) -> Shift:
    """Last night's shift on 4 West, 19:00-07:00: on now, at 06:00."""
    return make_shift(local(2, 19), local(3, 7), needed=3, label="Night")


@pytest.mark.parametrize(
    "who", ["lead_lena", "manager_maria", "agent_alex", "super_sam", "nurse_nina"]
)
def test_every_member_sees_who_is_on_shift_now(
    who: str,
    request: pytest.FixtureRequest,
    api_for: Api,
    mercy: GoLive,
    sam: SupportPerson,
    vera: SupportPerson,
    last_night: Shift,
    day_shift: Shift,
    four_west: Unit,
    mercy_general: Site,
) -> None:
    on_now = put_on(last_night, sam, status=Assignment.Status.CHECKED_IN)
    put_on(day_shift, vera)  # tomorrow: not on now

    response = api_for(request.getfixturevalue(who)).get(api_url("whos_on", mercy))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["at"] == "2026-11-03T12:00:00Z"
    [entry] = body["results"]
    assert (entry["assignment"], entry["shift"]) == (on_now.pk, last_night.pk)
    assert entry["person"]["name"] == "Sam Super"
    assert entry["person"]["phone"] == "312-555-0190"
    assert entry["unit"] == {"id": four_west.pk, "name": four_west.name}
    assert entry["site"] == {"id": mercy_general.pk, "name": mercy_general.name}
    assert (entry["status"], entry["late"]) == ("checked_in", False)
    assert entry["end"] == "2026-11-03T13:00:00Z"


def test_who_is_on_filters_by_role_site_and_unit(
    api_for: Api,
    mercy: GoLive,
    nurse_nina: User,
    sam: SupportPerson,
    vera: SupportPerson,
    make_person: MakePerson,
    last_night: Shift,
    make_shift: MakeShift,
    ed: Unit,
    northside: Site,
) -> None:
    ed_night = make_shift(local(2, 19), local(3, 7), unit=ed, role=SupportRole.TRAINER)
    put_on(last_night, sam)
    put_on(last_night, vera)
    put_on(ed_night, make_person("Tara Trainer", role=SupportRole.TRAINER))
    client, url = api_for(nurse_nina), api_url("whos_on", mercy)

    def on_now(**filters: object) -> list[str]:
        response = client.get(url, filters)
        assert response.status_code == 200, response.content
        return [entry["person"]["name"] for entry in response.json()["results"]]

    # By site, unit ("4 West" before "Emergency") and name.
    assert on_now() == ["Sam Super", "Vera Vendor", "Tara Trainer"]
    assert on_now(role="vendor_consultant") == ["Vera Vendor"]
    assert on_now(role="trainer") == ["Tara Trainer"]
    assert on_now(unit=ed.pk) == ["Tara Trainer"]
    assert on_now(site=northside.pk) == []
    assert refused_fields(client.get(url, {"role": "wizard"})) == ["role"]
    assert refused_fields(client.get(url, {"page": 2})) == ["page"]


def test_who_is_on_at_another_go_live_is_not_found(
    api_for: Api, mercy: GoLive, outsider_oscar: User, sam: SupportPerson, last_night: Shift
) -> None:
    put_on(last_night, sam)

    response = api_for(outsider_oscar).get(api_url("whos_on", mercy))

    assert error(response, 404)["code"] == "not_found"
    assert "Sam Super" not in response.content.decode()
