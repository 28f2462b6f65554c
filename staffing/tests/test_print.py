"""Printed rosters: a unit's sign-in sheet for a day, and a person's next two weeks."""

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import GoLive, Membership, Role, Unit
from staffing.models import Assignment, Shift, SupportPerson
from staffing.services import check_in
from staffing.tests.conftest import MakePerson, MakeShift, local
from staffing.tests.test_whos_on import put_on

SignIn = Callable[[User], Client]


def sheet(unit: Unit, day: str = "2026-11-03") -> str:
    return reverse("staffing:print_unit_day", args=[unit.pk, day])


def text(page: str) -> str:
    """The page with its runs of white space made single spaces, as a reader sees it."""
    return " ".join(page.split())


def rows(page: str) -> list[list[str]]:
    """The cells of every body row of the page's tables, tags stripped."""
    bodies = "".join(re.findall(r"<tbody>(.*?)</tbody>", page, flags=re.S))
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", bodies, flags=re.S)
    ]


@pytest.fixture
def today(
    sam: SupportPerson,
    vera: SupportPerson,
    make_person: MakePerson,
    make_shift: MakeShift,
    night_shift: Shift,
    ed: Unit,
) -> Shift:
    """Today's day shift on 4 West (three places: Sam checked in, Vera confirmed, one open), the
    night on 4 West, last night's shift (yesterday's sheet) and an ED shift (another unit)."""
    day = make_shift(local(3, 7), local(3, 19), needed=3, label="Day")
    arrived = put_on(day, sam)
    with time_machine.travel(local(3, 6, 52), tick=False):
        check_in(assignment=arrived, actor=None)
    put_on(day, vera, status=Assignment.Status.CONFIRMED)
    put_on(day, make_person("Gone Gary"), status=Assignment.Status.CANCELLED)
    put_on(night_shift, make_person("Nora Night", phone="312-555-0122"))
    put_on(make_shift(local(2, 19), local(3, 7)), make_person("Yuri Yesterday"))
    put_on(make_shift(local(3, 7), local(3, 19), unit=ed), make_person("Eddie Ed"))
    return day


def test_the_sign_in_sheet_lists_the_day_s_shifts_with_a_blank_signature_column(
    client_for: SignIn, lead_lena: User, today: Shift, four_west: Unit
) -> None:
    response = client_for(lead_lena).get(sheet(four_west))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Signature / time in" in page
    assert "Day · 07:00–19:00 · 12 h · Super user · 2 listed, 3 needed" in text(page)
    assert "Night · 19:00–07:00 (Wed 4 Nov) · 12 h" in text(page)
    assert rows(page) == [
        ["Sam Super", "Super user", "312-555-0190", "Checked in 06:52", ""],
        ["Vera Vendor", "Vendor consultant", "—", "Confirmed", ""],
        ["Open place", "", "", "Open place", ""],
        ["Nora Night", "Super user", "312-555-0122", "Scheduled", ""],
    ]
    assert "Gone Gary" not in page
    assert "Yuri Yesterday" not in page  # started yesterday: on yesterday's sheet
    assert "Eddie Ed" not in page


def test_the_sheet_prints_portrait_with_a_page_per_shift_and_no_navigation(
    client_for: SignIn, lead_lena: User, today: Shift, four_west: Unit
) -> None:
    page = client_for(lead_lena).get(sheet(four_west)).content.decode()

    assert 'href="/static/css/print.css"' in page
    css = Path(finders.find("css/print.css")).read_text()
    assert "@page { size: portrait;" in css
    assert ".gl-print-block + .gl-print-block { break-before: page; }" in css
    assert page.count('class="gl-print-block"') == 2
    assert 'class="gl-no-print' in page


def test_a_night_across_the_end_of_summer_time_prints_as_thirteen_hours(
    client_for: SignIn, lead_lena: User, sam: SupportPerson, make_shift: MakeShift, four_west: Unit
) -> None:
    put_on(make_shift(local(31, 19, month=10), local(1, 7), label="Night"), sam)

    page = client_for(lead_lena).get(sheet(four_west, "2026-10-31")).content.decode()

    assert "Night · 19:00–07:00 (Sun 1 Nov) · 13 h" in text(page)


def test_the_sheet_shows_the_go_live_s_times_even_when_another_go_live_is_current(
    client_for: SignIn, lead_lena: User, lakeside: GoLive, today: Shift, four_west: Unit
) -> None:
    # Lakeside (New York) sorts first, so it becomes Lena's current go-live.
    Membership.objects.create(user=lead_lena, go_live=lakeside, role=Role.CLINIC_MANAGER)

    page = client_for(lead_lena).get(sheet(four_west)).content.decode()

    assert "Day · 07:00–19:00" in text(page)
    assert "times in America/Chicago" in text(page)


@pytest.mark.parametrize(
    ("member", "unit", "status"),
    [
        ("lead_lena", "front_desk", 200),
        ("agent_alex", "four_west", 200),
        ("manager_maria", "four_west", 200),
        ("manager_maria", "front_desk", 403),
        ("super_sam", "four_west", 403),
        ("nurse_nina", "four_west", 403),
        ("outsider_oscar", "four_west", 404),
    ],
)
def test_who_may_print_a_unit_s_sheet(
    member: str, unit: str, status: int, request: pytest.FixtureRequest, client_for: SignIn
) -> None:
    user = request.getfixturevalue(member)
    target = request.getfixturevalue(unit)

    assert client_for(user).get(sheet(target)).status_code == status


def test_a_date_that_does_not_exist_is_not_found(
    client_for: SignIn, lead_lena: User, four_west: Unit
) -> None:
    client = client_for(lead_lena)

    assert client.get(sheet(four_west, "2026-02-30")).status_code == 404
    assert client.get(f"/staffing/print/units/{four_west.pk}/2026-2-3/").status_code == 404


@pytest.mark.parametrize("people", [2, 40])
def test_the_sheet_costs_the_same_queries_however_many_people(
    people: int,
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    make_shift: MakeShift,
    four_west: Unit,
    now: dt.datetime,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    shifts = [
        make_shift(local(3, 7), local(3, 19), needed=people),
        make_shift(local(3, 19), local(4, 7), needed=people),
    ]
    for number in range(people):
        person = SupportPerson.objects.create(
            go_live=mercy, name=f"Person {number:02}", role="super_user", email=f"p{number}@x.org"
        )
        put_on(shifts[number % 2], person)
    client = client_for(lead_lena)

    with django_assert_max_num_queries(9):
        page = client.get(sheet(four_west)).content.decode()

    assert len(rows(page)) == 2 * people  # each listed person, and the open places


# --- A person's shifts ----------------------------------------------------------------------------


@pytest.fixture
def sams_fortnight(
    sam: SupportPerson, make_person: MakePerson, make_shift: MakeShift, now: dt.datetime, ed: Unit
) -> list[Assignment]:
    """Sam: this morning's shift (on now), tomorrow night on the ED, one in 15 days (too far),
    one cancelled and one last week."""
    put_on(make_shift(local(27, 7, month=10), local(27, 19, month=10)), sam)
    put_on(make_shift(local(5, 7), local(5, 19)), sam, status=Assignment.Status.CANCELLED)
    put_on(make_shift(local(18, 7), local(18, 19)), sam)
    return [
        put_on(make_shift(local(3, 5), local(3, 17), label="Early"), sam),
        put_on(make_shift(local(4, 19), local(5, 7), unit=ed), sam, status="confirmed"),
    ]


def test_a_person_prints_their_next_fourteen_days(
    client_for: SignIn, super_sam: User, sam: SupportPerson, sams_fortnight: list[Assignment]
) -> None:
    response = client_for(super_sam).get(reverse("staffing:print_person", args=[sam.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Shifts of Sam Super" in page
    assert rows(page) == [
        [
            "Tue 3 Nov",
            "05:00–17:00 (Early)",
            "12 h",
            "4 West Med/Surg · Mercy General",
            "Super user",
            "Scheduled",
        ],
        [
            "Wed 4 Nov",
            "19:00–07:00",
            "12 h",
            "Emergency Department · Mercy General",
            "Super user",
            "Confirmed",
        ],
    ]


@pytest.mark.parametrize(
    ("member", "status"),
    [
        ("lead_lena", 200),
        ("manager_maria", 200),
        ("agent_alex", 200),
        ("super_sam", 403),
        ("nurse_nina", 403),
        ("outsider_oscar", 404),
    ],
)
def test_who_may_print_someone_else_s_shifts(
    member: str,
    status: int,
    request: pytest.FixtureRequest,
    client_for: SignIn,
    vera: SupportPerson,
    sam: SupportPerson,
) -> None:
    user = request.getfixturevalue(member)

    response = client_for(user).get(reverse("staffing:print_person", args=[vera.pk]))

    assert response.status_code == status


@pytest.mark.parametrize("shifts", [2, 14])
def test_a_person_s_print_costs_the_same_queries_however_many_shifts(
    shifts: int,
    client_for: SignIn,
    super_sam: User,
    sam: SupportPerson,
    make_shift: MakeShift,
    now: dt.datetime,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for day in range(shifts):
        start = local(4, 7) + dt.timedelta(days=day)
        put_on(make_shift(start, start + dt.timedelta(hours=12)), sam)
    client = client_for(super_sam)

    with django_assert_max_num_queries(8):
        page = client.get(reverse("staffing:print_person", args=[sam.pk])).content.decode()

    assert len(rows(page)) == min(shifts, 13)
