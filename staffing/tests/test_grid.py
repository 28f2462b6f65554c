"""The coverage grid: units by days by shift blocks, each cell `assigned/needed` with a status."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import GoLive, Site, Unit
from staffing.grid import GridFilters, build_grid
from staffing.models import Assignment, Shift, SupportPerson, SupportRole
from staffing.tests.conftest import MakePerson, MakeShift, local

SignIn = Callable[[User], Client]
GRID = reverse("staffing:grid")


def cell(html: str, cell_id: str) -> str:
    """The inner HTML of one grid cell."""
    match = re.search(rf'<td id="{cell_id}"[^>]*>(.*?)</td>', html, re.S)
    assert match, f"no cell {cell_id}"
    return match.group(1)


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def put_on(shift: Shift, *people: SupportPerson) -> None:
    """Test data: active assignments written straight to the table (no rules, no events)."""
    for person in people:
        Assignment.objects.create(
            shift=shift, person=person, period=DateTimeTZRange(shift.start, shift.end, "[)")
        )


@pytest.fixture
def staffed(
    now: dt.datetime,
    make_shift: MakeShift,
    make_person: MakePerson,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
) -> dict[str, Shift]:
    """Wednesday 4 Nov: 4 West's day is short, its night has nobody, ED's day is met, ED's
    evening analyst shift is over-staffed; the Northside front desk has a day shift too."""
    people = [make_person(f"Person {n}") for n in range(5)]
    shifts = {
        "west_day": make_shift(local(4, 7), local(4, 19), needed=2, label="Day"),
        "west_night": make_shift(local(4, 19), local(5, 7), label="Night"),
        "ed_day": make_shift(local(4, 7), local(4, 19), unit=ed, label="Day"),
        "ed_analyst": make_shift(
            local(4, 19), local(4, 23), unit=ed, role=SupportRole.ANALYST, label="Night"
        ),
        "desk_day": make_shift(local(4, 7), local(4, 19), unit=front_desk, label="Day"),
    }
    put_on(shifts["west_day"], people[0])
    put_on(shifts["ed_day"], people[1])
    put_on(shifts["ed_analyst"], people[2], people[3])
    return shifts


# --- Cells and statuses ---------------------------------------------------------------------------


def test_each_cell_reads_assigned_of_needed_with_a_mark_besides_the_colour(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift], four_west: Unit, ed: Unit
) -> None:
    html = page(client_for(lead_lena).get(GRID))

    west_day = cell(html, f"cell-{four_west.pk}-20261104-0700")
    assert 'data-status="short"' in west_day
    assert "◐" in west_day and "1/2" in west_day
    west_night = cell(html, f"cell-{four_west.pk}-20261104-1900")
    assert 'data-status="none"' in west_night
    assert "✕" in west_night and "0/1" in west_night
    ed_day = cell(html, f"cell-{ed.pk}-20261104-0700")
    assert 'data-status="met"' in ed_day
    assert "✓" in ed_day and "1/1" in ed_day
    ed_night = cell(html, f"cell-{ed.pk}-20261104-1900")
    assert 'data-status="over"' in ed_night
    assert "+" in ed_night and "2/1" in ed_night and ">AA<" in ed_night


def test_a_cell_without_a_shift_is_grey_and_says_so(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift], four_west: Unit
) -> None:
    html = page(client_for(lead_lena).get(GRID))

    # Today (Tuesday) has no shifts at all: one column that says so.
    today = cell(html, f"cell-{four_west.pk}-20261103-none")
    assert "—" in today and "No shift" in today
    assert 'class="gl-cell gl-empty"' in html


def test_each_line_is_a_link_to_its_shift_named_for_screen_readers(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift], four_west: Unit
) -> None:
    html = page(client_for(lead_lena).get(GRID))

    west_day = cell(html, f"cell-{four_west.pk}-20261104-0700")
    assert f'href="{staffed["west_day"].get_absolute_url()}"' in west_day
    # Read out in words; the abbreviations and marks on screen are hidden from screen readers.
    assert (
        '<span class="visually-hidden">4 West Med/Surg, Wed 4 Nov, Day 07:00, super user: '
        "1 of 2 assigned, short</span>" in west_day
    )
    assert '<span class="gl-seen" aria-hidden="true">' in west_day


def test_columns_are_the_local_start_times_of_each_day_with_their_labels(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift]
) -> None:
    response = client_for(lead_lena).get(GRID)

    grid = response.context["grid"]
    wednesday = grid.days[1]
    assert [block.label for block in wednesday.blocks] == ["Day 07:00", "Night 19:00"]
    assert [day.label for day in grid.days][:2] == ["Tue 3 Nov", "Wed 4 Nov"]
    assert len(grid.days) == 7
    assert grid.days[0].is_today


def test_units_are_grouped_by_site(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift]
) -> None:
    grid = client_for(lead_lena).get(GRID).context["grid"]

    assert [(site.name, [row.unit.name for row in site.rows]) for site in grid.sites] == [
        ("Mercy General", ["4 West Med/Surg", "Emergency Department"]),
        ("Northside Clinic", ["Front Desk"]),
    ]


def test_a_night_shift_is_shown_on_the_day_it_starts_across_the_end_of_summer_time(
    lead_lena: User, make_shift: MakeShift, mercy: GoLive, four_west: Unit
) -> None:
    # Saturday 31 Oct 19:00 CDT to Sunday 1 Nov 07:00 CST: 13 hours, one column on Saturday.
    make_shift(local(31, 19, month=10), local(1, 7), label="Night")
    grid = build_grid(
        go_live=mercy, units=[four_west], filters=GridFilters(start=dt.date(2026, 10, 31), days=2)
    )

    saturday, sunday = grid.days
    assert [block.label for block in saturday.blocks] == ["Night 19:00"]
    assert sunday.blocks[0].time is None
    assert saturday.summary.needed == 1


# --- The summary row ------------------------------------------------------------------------------


def test_the_summary_row_adds_up_each_day(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift]
) -> None:
    response = client_for(lead_lena).get(GRID)
    wednesday = response.context["grid"].days[1].summary

    # Needed 2+1+1+1+1 = 6; assigned 1+0+1+2+0 = 4; open 1+1+0+0+1 = 3 (the extra analyst fills
    # no other gap); filled (6-3)/6.
    assert (wednesday.needed, wednesday.assigned, wednesday.open, wednesday.percent) == (
        6,
        4,
        3,
        50,
    )
    summary = cell(page(response), "summary-20261104")
    assert "50 % filled" in summary and "4 of 6 assigned" in summary and "3 open" in summary
    assert "No shifts" in cell(page(response), "summary-20261103")


def test_cancelled_and_no_show_assignments_do_not_count(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift], four_west: Unit
) -> None:
    Assignment.objects.filter(shift=staffed["west_day"]).update(status=Assignment.Status.CANCELLED)
    html = page(client_for(lead_lena).get(GRID))

    assert "0/2" in cell(html, f"cell-{four_west.pk}-20261104-0700")


# --- Filters --------------------------------------------------------------------------------------


def test_it_filters_by_role(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift], ed: Unit
) -> None:
    html = page(client_for(lead_lena).get(GRID, {"role": SupportRole.ANALYST}))

    assert ">AA<" in cell(html, f"cell-{ed.pk}-20261104-1900")
    # Only analysts' shifts make columns: Wednesday's day block is gone.
    assert f"cell-{ed.pk}-20261104-0700" not in html
    assert f'href="{staffed["ed_day"].get_absolute_url()}"' not in html


def test_it_filters_by_site_and_unit(
    client_for: SignIn,
    lead_lena: User,
    staffed: dict[str, Shift],
    northside: Site,
    ed: Unit,
    front_desk: Unit,
) -> None:
    client = client_for(lead_lena)

    grid = client.get(GRID, {"site": northside.pk}).context["grid"]
    assert [row.unit for site in grid.sites for row in site.rows] == [front_desk]
    grid = client.get(GRID, {"unit": ed.pk}).context["grid"]
    assert [row.unit for site in grid.sites for row in site.rows] == [ed]


def test_it_shows_the_chosen_dates_up_to_four_weeks(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift]
) -> None:
    client = client_for(lead_lena)

    grid = client.get(GRID, {"start": "2026-11-04", "days": "2"}).context["grid"]
    assert [day.date for day in grid.days] == [dt.date(2026, 11, 4), dt.date(2026, 11, 5)]

    response = client.get(GRID, {"start": "2026-11-04", "days": "60"})
    assert response.status_code == 200
    assert "Show at most 28 days at a time." in page(response)
    # The valid choices still apply; the wrong one falls back to a week.
    assert len(response.context["grid"].days) == 7
    assert response.context["grid"].days[0].date == dt.date(2026, 11, 4)


def test_bad_filters_get_messages_and_a_grid_not_an_error(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift], northside: Site, ed: Unit
) -> None:
    response = client_for(lead_lena).get(
        GRID, {"site": northside.pk, "unit": ed.pk, "start": "someday", "role": "pilot"}
    )

    assert response.status_code == 200
    html = page(response)
    assert "This unit is at another site" in html
    assert "Enter a valid date." in html
    assert "Select a valid choice." in html


def test_the_date_links_keep_the_other_filters(
    client_for: SignIn, lead_lena: User, staffed: dict[str, Shift], ed: Unit
) -> None:
    response = client_for(lead_lena).get(GRID, {"unit": ed.pk, "days": "3"})

    labels_and_urls = [(link.label, link.url) for link in response.context["range_links"]]
    assert labels_and_urls[2] == ("Next 3 days", f"{GRID}?unit={ed.pk}&days=3&start=2026-11-06")
    assert labels_and_urls[0][1].endswith("start=2026-10-31")


# --- Who sees what --------------------------------------------------------------------------------


def test_a_clinic_manager_sees_only_her_units(
    client_for: SignIn, manager_maria: User, staffed: dict[str, Shift]
) -> None:
    response = client_for(manager_maria).get(GRID)

    names = [row.unit.name for site in response.context["grid"].sites for row in site.rows]
    assert names == ["4 West Med/Surg", "Emergency Department"]
    assert "Front Desk" not in page(response)
    assert "New one-off shift" in page(response)


def test_a_help_desk_agent_sees_the_whole_grid_without_planning_buttons(
    client_for: SignIn, agent_alex: User, staffed: dict[str, Shift]
) -> None:
    response = client_for(agent_alex).get(GRID)

    assert response.status_code == 200
    assert "Front Desk" in page(response)
    assert "New one-off shift" not in page(response)


@pytest.mark.parametrize("username", ["super_sam", "nurse_nina"])
def test_support_and_floor_staff_cannot_open_the_grid(
    request: pytest.FixtureRequest, client_for: SignIn, username: str, staffed: dict[str, Shift]
) -> None:
    user = request.getfixturevalue(username)

    assert client_for(user).get(GRID).status_code == 403


def test_another_go_lives_lead_sees_only_her_own_go_live(
    client_for: SignIn, outsider_oscar: User, staffed: dict[str, Shift]
) -> None:
    response = client_for(outsider_oscar).get(GRID)

    assert response.status_code == 200
    assert "4 West" not in page(response)
    assert response.context["grid"].sites == []


def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(GRID)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Cost -----------------------------------------------------------------------------------------


def fill(go_live: GoLive, site: Site, *, units: int, days: int) -> None:
    """`units` units with a day and a night shift on each of `days` days, half of them staffed."""
    new_units = Unit.objects.bulk_create(Unit(site=site, name=f"Unit {n:02}") for n in range(units))
    people = SupportPerson.objects.bulk_create(
        SupportPerson(
            go_live=go_live, name=f"P{n}", role=SupportRole.SUPER_USER, email=f"p{n}@x.org"
        )
        for n in range(units * days)
    )
    shifts = []
    for unit in new_units:
        for day in range(days):
            for start, end, label in ((7, 19, "Day"), (19, 31, "Night")):
                begin = local(3, 0) + dt.timedelta(days=day, hours=start)
                shifts.append(
                    Shift(
                        go_live=go_live,
                        unit=unit,
                        role=SupportRole.SUPER_USER,
                        label=label,
                        start=begin,
                        end=begin + dt.timedelta(hours=end - start),
                        needed=2,
                    )
                )
    shifts = Shift.objects.bulk_create(shifts)
    Assignment.objects.bulk_create(
        Assignment(shift=shift, person=person, period=DateTimeTZRange(shift.start, shift.end))
        for shift, person in zip(shifts[::2], people, strict=False)
    )


# Session, user and memberships (3), the manager's limits (2), units (1), shifts (1), saving the
# session (3): nothing per unit, per day or per cell.
GRID_QUERIES = 10


@pytest.mark.parametrize(("units", "days"), [(2, 3), (12, 14)])
def test_the_grid_costs_the_same_queries_whatever_its_size(
    client_for: SignIn,
    manager_maria: User,
    mercy: GoLive,
    mercy_general: Site,
    now: dt.datetime,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    units: int,
    days: int,
) -> None:
    fill(mercy, mercy_general, units=units, days=days)
    client = client_for(manager_maria)

    with django_assert_max_num_queries(GRID_QUERIES):
        response = client.get(GRID, {"days": days})

    grid = response.context["grid"]
    assert sum(len(site.rows) for site in grid.sites) == units
    assert grid.days[0].summary.assigned == units


def test_unit_names_are_escaped_in_the_cells_built_in_python(
    client_for: SignIn,
    lead_lena: User,
    make_shift: MakeShift,
    mercy_general: Site,
    now: dt.datetime,
) -> None:
    odd = Unit.objects.create(site=mercy_general, name='<script>alert("4W")</script>')
    make_shift(local(4, 7), local(4, 19), unit=odd, label="Day")

    html = page(client_for(lead_lena).get(GRID))

    assert '<script>alert("4W")</script>' not in html
    assert "&lt;script&gt;alert(&quot;4W&quot;)&lt;/script&gt;, Wed 4 Nov" in html
