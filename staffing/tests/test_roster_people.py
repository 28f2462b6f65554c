"""The people list, a person's page, and adding or editing people on the roster."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains

from golive.models import Application, GoLive, Membership, Role, Site, Unit
from staffing.models import (
    Assignment,
    Shift,
    SupportPerson,
    SupportRole,
    Unavailability,
)
from staffing.services import assign_person
from staffing.tests.conftest import MakePerson, MakeShift, local

SignIn = Callable[[User], Client]


def listed(response: object) -> list[str]:
    """Names in the people table, in order."""
    html = response.content.decode()  # type: ignore[attr-defined]
    return re.findall(r'<a class="fw-semibold" href="/staffing/people/\d+/">([^<]+)</a>', html)


@pytest.fixture
def cast(
    make_person: MakePerson,
    orders_app: Application,
    four_west: Unit,
    front_desk: Unit,
    northside: Site,
) -> dict[str, SupportPerson]:
    """Four people who differ in every way the list filters on."""
    ada = make_person("Ada Analyst", SupportRole.ANALYST, phone="312-555-0110")
    ada.skills.add(orders_app)
    return {
        "ada": ada,
        "vic": make_person(
            "Vic Vendor",
            SupportRole.VENDOR_CONSULTANT,
            employer=SupportPerson.Employer.VENDOR,
            vendor_name="Northwind Clinical",
            home_site=four_west.site,
            home_unit=four_west,
        ),
        "nora": make_person(
            "Nora North", home_site=northside, home_unit=front_desk, sms_number="+13125550123"
        ),
        "old": make_person("Otto Old", is_active=False),
    }


# --- The list -------------------------------------------------------------------------------------


def test_the_list_shows_active_people_by_name_with_their_details(
    client_for: SignIn, lead_lena: User, cast: dict[str, SupportPerson]
) -> None:
    response = client_for(lead_lena).get(reverse("staffing:people"))

    assert listed(response) == ["Ada Analyst", "Nora North", "Vic Vendor"]
    assertContains(response, '<a class="btn btn-link px-0" href="tel:312-555-0110"')
    assertContains(response, "Northwind Clinical")
    assertContains(response, "4 West Med/Surg")
    assertContains(response, "Orders")
    assertContains(response, "3 people on the roster")
    assertContains(response, "Add person")


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("q=nora", ["Nora North"]),
        ("q=ada.analyst%40mercy", ["Ada Analyst"]),
        ("q=northwind", ["Vic Vendor"]),
        ("q=3125550110", ["Ada Analyst"]),
        ("q=555-0123", ["Nora North"]),
        ("role=analyst", ["Ada Analyst"]),
        ("employer=vendor", ["Vic Vendor"]),
        ("vendor=Northwind+Clinical", ["Vic Vendor"]),
        ("active=no", ["Otto Old"]),
        ("active=all", ["Ada Analyst", "Nora North", "Otto Old", "Vic Vendor"]),
        ("sort=-name", ["Vic Vendor", "Nora North", "Ada Analyst"]),
        ("sort=role", ["Ada Analyst", "Nora North", "Vic Vendor"]),
    ],
)
def test_it_searches_filters_and_sorts(
    client_for: SignIn,
    lead_lena: User,
    cast: dict[str, SupportPerson],
    query: str,
    names: list[str],
) -> None:
    response = client_for(lead_lena).get(f"{reverse('staffing:people')}?{query}")
    assert listed(response) == names


def test_it_filters_by_skill_home_site_and_home_unit(
    client_for: SignIn,
    lead_lena: User,
    cast: dict[str, SupportPerson],
    orders_app: Application,
    northside: Site,
    four_west: Unit,
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:people")
    assert listed(client.get(url, {"skill": orders_app.pk})) == ["Ada Analyst"]
    assert listed(client.get(url, {"site": northside.pk})) == ["Nora North"]
    response = client.get(url, {"unit": four_west.pk})
    assert listed(response) == ["Vic Vendor"]
    assertContains(response, "1 person matches the filters")


def test_a_choice_of_another_go_live_is_refused_politely(
    client_for: SignIn, lead_lena: User, cast: dict[str, SupportPerson], lakeside: GoLive
) -> None:
    elsewhere = Application.objects.create(go_live=lakeside, name="Lake Orders")
    response = client_for(lead_lena).get(reverse("staffing:people"), {"skill": elsewhere.pk})
    assert response.status_code == 200
    assertContains(response, "Choose an application from the list.")


def test_hours_in_the_next_seven_days_are_counted_and_sortable(
    client_for: SignIn,
    lead_lena: User,
    cast: dict[str, SupportPerson],
    make_shift: MakeShift,
    now: dt.datetime,
) -> None:
    ada, vic = cast["ada"], cast["vic"]
    analyst = SupportRole.ANALYST
    assign_person(
        shift=make_shift(local(4, 7), local(4, 19), role=analyst), person=ada, actor=lead_lena
    )
    # Only the first 4 hours of this one fall inside the 7 days (they end Tue 10 Nov 06:00).
    assign_person(
        shift=make_shift(local(10, 2), local(10, 12), role=analyst), person=ada, actor=lead_lena
    )
    # Beyond the week: not counted.
    assign_person(
        shift=make_shift(local(11, 7), local(11, 19)),
        person=vic,
        actor=lead_lena,
        override_reason="x",
    )

    response = client_for(lead_lena).get(reverse("staffing:people"), {"sort": "-hours"})

    assert listed(response)[0] == "Ada Analyst"
    html = response.content.decode()
    assert re.search(r"Ada Analyst.*?16 h", html, re.S)
    assert re.search(r"Vic Vendor.*?0 h", html, re.S)


def test_someone_booked_past_their_weekly_limit_is_flagged_in_words(
    client_for: SignIn,
    lead_lena: User,
    make_person: MakePerson,
    make_shift: MakeShift,
    now: dt.datetime,
) -> None:
    ada = make_person("Ada", max_hours_per_week=20)
    assign_person(shift=make_shift(local(4, 7), local(4, 19)), person=ada, actor=lead_lena)
    assign_person(
        shift=make_shift(local(6, 7), local(6, 19)),
        person=ada,
        actor=lead_lena,
        override_reason="x",
    )
    response = client_for(lead_lena).get(reverse("staffing:people"))
    assertContains(response, "over 20 h")


def test_the_list_is_paged_by_fifty(
    client_for: SignIn, lead_lena: User, make_person: MakePerson
) -> None:
    for n in range(55):
        make_person(f"Person {n:02d}")
    client = client_for(lead_lena)
    first = client.get(reverse("staffing:people"), {"role": "super_user"})
    assert len(listed(first)) == 50
    assertContains(first, "Page 1 of 2")
    assertContains(first, 'href="?role=super_user&amp;page=2"')
    second = client.get(reverse("staffing:people"), {"role": "super_user", "page": 2})
    assert listed(second) == [f"Person {n}" for n in range(50, 55)]


@pytest.mark.parametrize("count", [3, 60])
def test_the_list_costs_the_same_queries_however_many_people(
    client_for: SignIn,
    lead_lena: User,
    make_person: MakePerson,
    make_shift: MakeShift,
    orders_app: Application,
    four_west: Unit,
    now: dt.datetime,
    count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    adt = Application.objects.create(go_live=orders_app.go_live, name="ADT")
    shift = make_shift(local(4, 7), local(4, 19), needed=count)
    for n in range(count):
        person = make_person(
            f"Person {n}",
            employer=SupportPerson.Employer.VENDOR,
            vendor_name=f"Vendor {n % 5}",
            home_site=four_west.site,
            home_unit=four_west,
        )
        person.skills.add(orders_app, adt)
        assign_person(shift=shift, person=person, actor=lead_lena)
    client = client_for(lead_lena)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("staffing:people"), {"q": "person", "sort": "-hours"})
    assert len(listed(response)) == min(count, 50)


# --- Access ---------------------------------------------------------------------------------------


def test_help_desk_agents_read_the_roster_but_do_not_edit_it(
    client_for: SignIn, agent_alex: User, cast: dict[str, SupportPerson]
) -> None:
    client = client_for(agent_alex)
    response = client.get(reverse("staffing:people"))
    assert response.status_code == 200
    assertNotContains(response, "Add person")
    ada = cast["ada"]
    page = client.get(ada.get_absolute_url())
    assert page.status_code == 200
    assertNotContains(page, reverse("staffing:person_edit", args=[ada.pk]))
    assert client.get(reverse("staffing:person_edit", args=[ada.pk])).status_code == 403
    assert client.get(reverse("staffing:person_create")).status_code == 403


def test_floor_staff_see_none_of_the_roster(
    client_for: SignIn, nurse_nina: User, cast: dict[str, SupportPerson]
) -> None:
    client = client_for(nurse_nina)
    assert client.get(reverse("staffing:people")).status_code == 403
    assert client.get(cast["ada"].get_absolute_url()).status_code == 403
    assert client.get(reverse("staffing:person_create")).status_code == 403


def test_support_staff_see_only_their_own_page(
    client_for: SignIn, super_sam: User, sam: SupportPerson, cast: dict[str, SupportPerson]
) -> None:
    client = client_for(super_sam)
    own = client.get(sam.get_absolute_url())
    assert own.status_code == 200
    assertContains(own, "Sam Super")
    assertNotContains(own, "Support roster</a>")
    assert client.get(cast["ada"].get_absolute_url()).status_code == 403
    assert client.get(reverse("staffing:people")).status_code == 403
    assert client.get(reverse("staffing:person_edit", args=[sam.pk])).status_code == 403


def test_an_outsider_finds_no_such_person_and_sees_only_their_own_roster(
    client_for: SignIn, outsider_oscar: User, cast: dict[str, SupportPerson], lakeside: GoLive
) -> None:
    SupportPerson.objects.create(
        go_live=lakeside, name="Lake Lou", role=SupportRole.SUPER_USER, email="lou@lake.example"
    )
    client = client_for(outsider_oscar)
    ada = cast["ada"]
    assert client.get(ada.get_absolute_url()).status_code == 404
    assert client.get(reverse("staffing:person_edit", args=[ada.pk])).status_code == 404
    assert listed(client.get(reverse("staffing:people"))) == ["Lake Lou"]


# --- A person's page ------------------------------------------------------------------------------


def test_the_person_page_shows_shifts_in_local_time_with_hours_per_day_and_week(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    make_shift: MakeShift,
    ed: Unit,
    orders_app: Application,
    now: dt.datetime,
) -> None:
    sam.skills.add(orders_app)
    recent = make_shift(local(1, 7), local(1, 19), label="Day")
    Assignment.objects.create(
        shift=recent, person=sam, period=(recent.start, recent.end), status="checked_in"
    )
    night = make_shift(local(3, 19), local(4, 7), label="Night")
    assign_person(shift=night, person=sam, actor=lead_lena)
    ed_shift = make_shift(local(5, 7), local(5, 19), unit=ed)
    cancelled = assign_person(shift=ed_shift, person=sam, actor=lead_lena)
    cancelled.status = Assignment.Status.CANCELLED
    cancelled.save()
    Unavailability.objects.create(
        person=sam, start=local(8, 0), end=local(9, 0), reason="Flight home"
    )

    response = client_for(lead_lena).get(sam.get_absolute_url())

    html = response.content.decode()
    assertContains(response, "Orders")
    assertContains(response, "At most <strong>12 h</strong> a shift")
    upcoming = html.split('id="upcoming-shifts"')[1].split('id="hours-per-day"')[0]
    assert "Tue 3 Nov" in upcoming and "19:00–07:00" in upcoming and "(Night)" in upcoming
    assert "Emergency Department" in upcoming and "Cancelled" in upcoming
    assert reverse("staffing:shift_detail", args=[night.pk]) in upcoming
    hours = html.split('id="hours-per-day"')[1].split('id="recent-shifts"')[0]
    # Sun 1 Nov: 12 h; Tue 3 Nov: the night's 12 h, and 24 h in the 7 days to it. The cancelled
    # shift counts nowhere.
    assert re.search(r"Sun 1 Nov</th>\s*<td[^>]*>\s*12 h", hours)
    assert re.search(r"Tue 3 Nov</th>\s*<td[^>]*>\s*12 h\s*</td>\s*<td[^>]*>\s*24 h", hours)
    assert "Thu 5 Nov" not in hours
    recent_part = html.split('id="recent-shifts"')[1].split('id="unavailable"')[0]
    assert "Sun 1 Nov" in recent_part and "Checked in" in recent_part
    assertContains(response, "Flight home")


def test_a_manager_is_linked_only_to_the_shifts_of_units_she_plans(
    client_for: SignIn,
    lead_lena: User,
    manager_maria: User,
    sam: SupportPerson,
    make_shift: MakeShift,
    front_desk: Unit,
    now: dt.datetime,
) -> None:
    hers = make_shift(local(3, 19), local(4, 7), label="Night")
    elsewhere = make_shift(local(5, 7), local(5, 19), unit=front_desk)
    for shift in (hers, elsewhere):
        assign_person(shift=shift, person=sam, actor=lead_lena)

    html = client_for(manager_maria).get(sam.get_absolute_url()).content.decode()

    # Maria plans Mercy General, not Northside's front desk: that shift is listed, not linked.
    assert reverse("staffing:shift_detail", args=[hers.pk]) in html
    assert reverse("staffing:shift_detail", args=[elsewhere.pk]) not in html
    assert "Front Desk" in html


def test_a_day_over_the_daily_limit_is_flagged_in_words(
    client_for: SignIn,
    lead_lena: User,
    make_person: MakePerson,
    make_shift: MakeShift,
    now: dt.datetime,
) -> None:
    ada = make_person("Ada", max_hours_per_shift=6, max_hours_per_day=8)
    first = make_shift(local(4, 6), local(4, 12))
    second = make_shift(local(4, 13), local(4, 18))
    assign_person(shift=first, person=ada, actor=lead_lena)
    assign_person(shift=second, person=ada, actor=lead_lena, override_reason="Short staffed")
    response = client_for(lead_lena).get(ada.get_absolute_url())
    assertContains(response, "over the 8 h limit")


def test_the_person_page_of_another_go_live_shows_that_go_lives_time(
    client_for: SignIn, outsider_oscar: User, lakeside: GoLive, mercy: GoLive, now: dt.datetime
) -> None:
    Membership.objects.create(user=outsider_oscar, go_live=mercy, role=Role.COMMAND_CENTER_LEAD)
    site = Site.objects.create(go_live=lakeside, name="Lakeview", code="LV")
    unit = Unit.objects.create(site=site, name="Lake ICU")
    lou = SupportPerson.objects.create(
        go_live=lakeside, name="Lou", role=SupportRole.SUPER_USER, email="lou@lake.example"
    )
    start = dt.datetime(2026, 11, 4, 12, tzinfo=dt.UTC)  # 07:00 in New York, 06:00 in Chicago
    shift = Shift.objects.create(
        go_live=lakeside,
        unit=unit,
        role=SupportRole.SUPER_USER,
        start=start,
        end=start + dt.timedelta(hours=12),
    )
    Assignment.objects.create(shift=shift, person=lou, period=(shift.start, shift.end))
    client = client_for(outsider_oscar)
    client.post(reverse("golive:switch"), {"go_live": mercy.pk})

    response = client.get(lou.get_absolute_url())

    assertContains(response, "07:00–19:00")
    assertContains(response, "America/New_York")


# --- Adding and editing ---------------------------------------------------------------------------


def person_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Pat Planner",
        "email": "pat@mercy.example",
        "role": SupportRole.AT_THE_ELBOW,
        "employer": SupportPerson.Employer.IN_HOUSE,
        "vendor_name": "",
        "phone": "312-555-0150",
        "sms_number": "+13125550150",
        "max_hours_per_shift": "12",
        "max_hours_per_day": "12",
        "max_hours_per_week": "60",
        "is_active": "on",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_a_manager_adds_a_person_with_skills_home_and_login(
    client_for: SignIn,
    manager_maria: User,
    super_sam: User,
    orders_app: Application,
    four_west: Unit,
    mercy: GoLive,
) -> None:
    response = client_for(manager_maria).post(
        reverse("staffing:person_create"),
        person_data(skills=[orders_app.pk], home_unit=four_west.pk, user=super_sam.pk),
    )

    pat = SupportPerson.objects.get()
    assert response["Location"] == pat.get_absolute_url()
    assert (pat.go_live, pat.user, pat.home_unit) == (mercy, super_sam, four_west)
    assert pat.home_site == four_west.site  # filled in from the unit
    assert list(pat.skills.all()) == [orders_app]


def test_a_manager_edits_a_person(
    client_for: SignIn, manager_maria: User, sam: SupportPerson, ed: Unit
) -> None:
    response = client_for(manager_maria).post(
        reverse("staffing:person_edit", args=[sam.pk]),
        person_data(name="Sam Super", email=sam.email, home_site=ed.site.pk, home_unit=ed.pk),
    )
    assert response["Location"] == sam.get_absolute_url()
    sam.refresh_from_db()
    assert (sam.home_unit, sam.role, sam.user) == (ed, SupportRole.AT_THE_ELBOW, None)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"email": "SAM.SUPER@mercy.example"},
            "email",
            "Sam Super on this roster already has this email",
        ),
        ({"employer": "vendor"}, "vendor_name", "Name the vendor this person works for."),
        ({"sms_number": "3125550150"}, "sms_number", "international form"),
        (
            {"max_hours_per_shift": "14"},
            "max_hours_per_shift",
            "cannot be longer than the daily limit",
        ),
        ({"max_hours_per_week": "200"}, "max_hours_per_week", "less than or equal to 168"),
    ],
)
def test_a_bad_person_is_refused_field_by_field_and_nothing_is_saved(
    client_for: SignIn,
    lead_lena: User,
    sam: SupportPerson,
    overrides: dict[str, object],
    field: str,
    message: str,
) -> None:
    response = client_for(lead_lena).post(
        reverse("staffing:person_create"), person_data(**overrides)
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert SupportPerson.objects.count() == 1


def test_choices_of_another_go_live_and_logins_of_non_members_are_refused(
    client_for: SignIn,
    lead_lena: User,
    lakeside: GoLive,
    outsider_oscar: User,
) -> None:
    lake_site = Site.objects.create(go_live=lakeside, name="Lakeview", code="LV")
    lake_unit = Unit.objects.create(site=lake_site, name="Lake ICU")
    lake_app = Application.objects.create(go_live=lakeside, name="Lake Orders")

    response = client_for(lead_lena).post(
        reverse("staffing:person_create"),
        person_data(
            skills=[lake_app.pk],
            home_site=lake_site.pk,
            home_unit=lake_unit.pk,
            user=outsider_oscar.pk,
        ),
    )

    errors = response.context["form"].errors
    assert set(errors) == {"skills", "home_site", "home_unit", "user"}
    assert "Choose a member of this go-live." in errors["user"]
    assert "Choose a unit of this go-live." in errors["home_unit"]
    assert not SupportPerson.objects.exists()


def test_a_home_unit_must_be_at_the_home_site(
    client_for: SignIn, lead_lena: User, northside: Site, four_west: Unit
) -> None:
    response = client_for(lead_lena).post(
        reverse("staffing:person_create"),
        person_data(home_site=northside.pk, home_unit=four_west.pk),
    )
    assert (
        "The home unit must belong to the home site."
        in response.context["form"].errors["home_unit"]
    )


def test_a_login_belongs_to_one_person_on_the_roster(
    client_for: SignIn, lead_lena: User, sam: SupportPerson, super_sam: User
) -> None:
    response = client_for(lead_lena).post(
        reverse("staffing:person_create"), person_data(user=super_sam.pk)
    )
    assert (
        "This login already belongs to Sam Super on the roster"
        in response.context["form"].errors["user"][0]
    )


def test_the_edit_page_keeps_the_saved_name_in_its_title_when_refused(
    client_for: SignIn, lead_lena: User, sam: SupportPerson
) -> None:
    response = client_for(lead_lena).post(
        reverse("staffing:person_edit", args=[sam.pk]), person_data(name="New Name", email="bad")
    )
    assertContains(response, '<h1 class="h3">Edit Sam Super</h1>', html=False)
    sam.refresh_from_db()
    assert sam.name == "Sam Super"
