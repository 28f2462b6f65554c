"""The coverage planning pages: requirements, the ratio helper, generation, auto-fill, settings."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from golive.models import Application, GoLive, Site, Unit
from staffing.autofill import compute_proposal, publish_proposals
from staffing.coverage import DAY_NIGHT, generate_shifts
from staffing.models import (
    Assignment,
    AutoFillRun,
    CoverageRequirement,
    Shift,
    StaffingSettings,
    SupportPerson,
    SupportRole,
    UnitMix,
)
from staffing.tests.conftest import MakePerson, MakeShift, local

SignIn = Callable[[User], Client]
# Session, user, memberships and the page's own few queries; one query per row would blow it.
QUERY_BUDGET = 14
PLANNERS = {"lead_lena", "manager_maria"}
OTHERS = ["agent_alex", "super_sam", "nurse_nina"]


@pytest.fixture(autouse=True)
def frozen(now: dt.datetime) -> None:
    """Every page here is seen on Tuesday 3 November 2026, 06:00 in Chicago."""


def requirement(unit: Unit, label: str = "Day", **fields: object) -> CoverageRequirement:
    block = {"Day": DAY_NIGHT[0], "Night": DAY_NIGHT[1]}[label]
    values = {
        "unit": unit,
        "role": SupportRole.SUPER_USER,
        "label": label,
        "start_date": dt.date(2026, 11, 4),
        "end_date": dt.date(2026, 11, 6),
        "start_time": block.start,
        "end_time": block.end,
        "headcount": 2,
    } | fields
    return CoverageRequirement.objects.create(**values)


def field_errors(response: object, form: str = "form") -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context[form].errors.items()}  # type: ignore[attr-defined]


# --- Who may open what ----------------------------------------------------------------------------

LIST_PAGES = [
    "staffing:requirements",
    "staffing:requirement_create",
    "staffing:requirements_propose",
    "staffing:autofill",
]


@pytest.mark.parametrize("page", LIST_PAGES)
@pytest.mark.parametrize("member", ["lead_lena", "manager_maria", *OTHERS])
def test_planning_pages_open_for_planners_only(
    request: pytest.FixtureRequest,
    client_for: SignIn,
    ed: Unit,
    front_desk: Unit,
    page: str,
    member: str,
) -> None:
    response = client_for(request.getfixturevalue(member)).get(reverse(page))
    assert response.status_code == (200 if member in PLANNERS else 403)


@pytest.mark.parametrize("member", ["lead_lena", "manager_maria", *OTHERS])
def test_the_settings_are_the_leads(
    request: pytest.FixtureRequest, client_for: SignIn, mercy: GoLive, member: str
) -> None:
    response = client_for(request.getfixturevalue(member)).get(reverse("staffing:settings"))
    assert response.status_code == (200 if member == "lead_lena" else 403)


@pytest.mark.parametrize("page", [*LIST_PAGES, "staffing:settings"])
def test_signed_out_visitors_are_sent_to_sign_in(client: Client, page: str) -> None:
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("member", OTHERS)
def test_floor_and_support_staff_cannot_plan(
    request: pytest.FixtureRequest, client_for: SignIn, four_west: Unit, method: str, member: str
) -> None:
    item = requirement(four_west)
    client = client_for(request.getfixturevalue(member))

    assert (
        getattr(client, method)(reverse("staffing:requirement_edit", args=[item.pk])).status_code
        == 403
    )
    assert client.post(reverse("staffing:requirement_delete", args=[item.pk])).status_code == 403
    assert client.post(reverse("staffing:generate_shifts")).status_code == 403
    assert CoverageRequirement.objects.filter(pk=item.pk).exists()


def test_another_go_lives_requirement_is_not_found(
    client_for: SignIn, outsider_oscar: User, four_west: Unit
) -> None:
    item = requirement(four_west)
    client = client_for(outsider_oscar)

    assert client.get(reverse("staffing:requirement_edit", args=[item.pk])).status_code == 404
    assert client.post(reverse("staffing:requirement_delete", args=[item.pk])).status_code == 404
    assert CoverageRequirement.objects.filter(pk=item.pk).exists()


def test_a_manager_sees_and_changes_only_her_sites_units(
    client_for: SignIn, manager_maria: User, four_west: Unit, front_desk: Unit
) -> None:
    mine, theirs = requirement(four_west), requirement(front_desk)
    client = client_for(manager_maria)

    listing = client.get(reverse("staffing:requirements"))
    assertContains(listing, "4 West Med/Surg")
    assertNotContains(listing, "Front Desk")
    assert client.get(reverse("staffing:requirement_edit", args=[mine.pk])).status_code == 200
    assert client.get(reverse("staffing:requirement_edit", args=[theirs.pk])).status_code == 403
    assert client.post(reverse("staffing:requirement_delete", args=[theirs.pk])).status_code == 403

    created = client.post(reverse("staffing:requirement_create"), create_data(unit=front_desk))
    assert field_errors(created)["unit"] == ["Choose a unit you plan."]
    generated = client.post(reverse("staffing:generate_shifts"), generate_data(unit=front_desk))
    assert field_errors(generated)["unit"] == ["Choose a unit you plan."]
    assert not Shift.objects.exists()


# --- Requirements ---------------------------------------------------------------------------------


def create_data(unit: Unit, **overrides: object) -> dict[str, object]:
    return {
        "unit": unit.pk,
        "role": SupportRole.SUPER_USER,
        "pattern": "day_night",
        "start_date": "2026-11-04",
        "end_date": "2026-11-10",
        "headcount": "2",
    } | overrides


def test_a_preset_makes_several_requirements_at_once(
    client_for: SignIn, manager_maria: User, four_west: Unit
) -> None:
    response = client_for(manager_maria).post(
        reverse("staffing:requirement_create"), create_data(four_west, pattern="two_eights")
    )

    assertRedirects(
        response, f"{reverse('staffing:requirements')}?unit={four_west.pk}", target_status_code=200
    )
    made = CoverageRequirement.objects.order_by("start_time")
    assert [(r.label, r.start_time, r.end_time, r.headcount) for r in made] == [
        ("Early", dt.time(6), dt.time(14), 2),
        ("Late", dt.time(14), dt.time(22), 2),
    ]


@pytest.mark.parametrize(
    ("pattern", "blocks"),
    [
        ("day_night", [("Day", "07:00", "19:00"), ("Night", "19:00", "07:00")]),
        ("business", [("Business hours", "08:00", "17:00")]),
    ],
)
def test_each_pattern_makes_its_blocks(
    client_for: SignIn,
    lead_lena: User,
    four_west: Unit,
    pattern: str,
    blocks: list[tuple[str, str, str]],
) -> None:
    client_for(lead_lena).post(
        reverse("staffing:requirement_create"), create_data(four_west, pattern=pattern)
    )

    made = CoverageRequirement.objects.order_by("start_time")
    assert sorted(
        (r.label, f"{r.start_time:%H:%M}", f"{r.end_time:%H:%M}") for r in made
    ) == sorted(blocks)


def test_a_custom_block_needs_a_name_and_two_different_times(
    client_for: SignIn, lead_lena: User, four_west: Unit, orders_app: Application
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:requirement_create")

    empty = client.post(url, create_data(four_west, pattern="custom"))
    assert field_errors(empty) == {
        "label": ["Name the block, e.g. Evening."],
        "start_time": ["Give the local time the block starts, e.g. 07:00."],
        "end_time": ["Give the local time the block ends, e.g. 07:00."],
    }
    same = client.post(
        url,
        create_data(four_west, pattern="custom", label="Odd", start_time="09:00", end_time="09:00"),
    )
    assert field_errors(same)["end_time"][0].startswith("Start and end are the same time.")
    assert not CoverageRequirement.objects.exists()

    client.post(
        url,
        create_data(
            four_west,
            pattern="custom",
            label="Evening",
            start_time="15:00",
            end_time="23:00",
            application=orders_app.pk,
            allow_claim="on",
        ),
    )
    made = CoverageRequirement.objects.get()
    assert (made.label, made.start_time, made.end_time, made.application, made.allow_claim) == (
        "Evening",
        dt.time(15),
        dt.time(23),
        orders_app,
        True,
    )


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"start_date": "2026-10-30"},
            {
                "start_date": [
                    "The support window runs from Sun 1 Nov 2026 to Sun 29 Nov 2026; choose a "
                    "first day inside it."
                ]
            },
        ),
        (
            {"end_date": "2026-12-02"},
            {
                "end_date": [
                    "The support window runs from Sun 1 Nov 2026 to Sun 29 Nov 2026; choose a "
                    "last day inside it."
                ]
            },
        ),
        (
            {"start_date": "2026-11-10", "end_date": "2026-11-04"},
            {"end_date": ["The last day must not be before the first day."]},
        ),
        ({"end_date": "next week"}, {"end_date": ["Enter a date such as 2026-11-04."]}),
        (
            {"headcount": "0"},
            {"headcount": ["At least one person: a requirement for nobody needs no shift."]},
        ),
        (
            {"role": "wizard"},
            {"role": ["Select a valid choice. wizard is not one of the available choices."]},
        ),
    ],
)
def test_a_bad_requirement_gets_a_field_message_and_saves_nothing(
    client_for: SignIn,
    lead_lena: User,
    four_west: Unit,
    overrides: dict[str, str],
    errors: dict[str, list[str]],
) -> None:
    response = client_for(lead_lena).post(
        reverse("staffing:requirement_create"), create_data(four_west, **overrides)
    )

    assert response.status_code == 200
    assert field_errors(response) == errors
    assert not CoverageRequirement.objects.exists()


def test_the_same_block_twice_on_overlapping_days_is_refused(
    client_for: SignIn, lead_lena: User, four_west: Unit
) -> None:
    requirement(four_west, "Night", start_date=dt.date(2026, 11, 8), end_date=dt.date(2026, 11, 20))

    response = client_for(lead_lena).post(
        reverse("staffing:requirement_create"), create_data(four_west)
    )

    assert field_errors(response)["start_date"] == [
        "4 West Med/Surg already has a super user block 19:00–07:00 (Night, Sun 8 Nov 2026 to "
        "Fri 20 Nov 2026) on some of these days. Change that requirement instead, or choose "
        "other days."
    ]
    assert CoverageRequirement.objects.count() == 1


def test_editing_a_requirement_keeps_its_unit_and_role(
    client_for: SignIn, manager_maria: User, four_west: Unit
) -> None:
    item = requirement(four_west)

    response = client_for(manager_maria).post(
        reverse("staffing:requirement_edit", args=[item.pk]),
        {
            "label": "Long day",
            "start_time": "06:00",
            "end_time": "18:30",
            "start_date": "2026-11-04",
            "end_date": "2026-11-12",
            "headcount": "3",
            "unit": "999",
            "role": "trainer",
        },
    )

    assertRedirects(
        response, f"{reverse('staffing:requirements')}?unit={four_west.pk}", target_status_code=200
    )
    item.refresh_from_db()
    assert (item.label, item.start_time, item.end_time, item.end_date, item.headcount) == (
        "Long day",
        dt.time(6),
        dt.time(18, 30),
        dt.date(2026, 11, 12),
        3,
    )
    assert (item.unit, item.role) == (four_west, SupportRole.SUPER_USER)


def test_an_edit_with_its_days_in_the_wrong_order_is_a_message_not_an_error(
    client_for: SignIn, lead_lena: User, four_west: Unit
) -> None:
    item = requirement(four_west)

    response = client_for(lead_lena).post(
        reverse("staffing:requirement_edit", args=[item.pk]),
        {
            "label": "Day",
            "start_time": "07:00",
            "end_time": "19:00",
            "start_date": "2026-11-08",
            "end_date": "2026-11-05",
            "headcount": "2",
        },
    )

    assert field_errors(response) == {
        "end_date": ["The last day must not be before the first day."]
    }
    item.refresh_from_db()
    assert item.start_date == dt.date(2026, 11, 4)


def test_deleting_a_requirement_reports_what_happened_to_its_shifts(
    client_for: SignIn, lead_lena: User, mercy: GoLive, four_west: Unit
) -> None:
    item = requirement(four_west)
    generate_shifts(
        go_live=mercy,
        requirements=[item],
        first_date=dt.date(2026, 11, 1),
        last_date=dt.date(2026, 11, 29),
        actor=None,
    )
    client = client_for(lead_lena)

    assert client.get(reverse("staffing:requirement_delete", args=[item.pk])).status_code == 405
    response = client.post(reverse("staffing:requirement_delete", args=[item.pk]))

    assertContains(response, "4 West Med/Surg Day is deleted")
    assertContains(response, "4 West Med/Surg Day Wed 4 Nov")
    assert not CoverageRequirement.objects.exists()
    assert not Shift.objects.exists()


def test_the_requirements_list_groups_by_site_and_unit_and_filters(
    client_for: SignIn, lead_lena: User, ed: Unit, four_west: Unit, front_desk: Unit
) -> None:
    requirement(ed)
    requirement(four_west, "Night")
    requirement(front_desk, role=SupportRole.TRAINER)
    client = client_for(lead_lena)

    page = client.get(reverse("staffing:requirements"))
    assert [group.unit for group in page.context["groups"]] == [four_west, ed, front_desk]
    assertContains(page, '<h2 class="h4 mt-4">Mercy General</h2>', count=1)
    assertContains(page, '<h2 class="h4 mt-4">Northside Clinic</h2>', count=1)

    by_role = client.get(reverse("staffing:requirements"), {"role": SupportRole.TRAINER})
    assert [group.unit for group in by_role.context["groups"]] == [front_desk]
    by_unit = client.get(reverse("staffing:requirements"), {"unit": ed.pk})
    assert [group.unit for group in by_unit.context["groups"]] == [ed]
    nothing = client.get(reverse("staffing:requirements"), {"site": "x"})
    assert len(nothing.context["groups"]) == 3


@pytest.mark.parametrize("unit_count", [2, 20])
def test_the_requirements_list_costs_the_same_queries_however_many_rows(
    client_for: SignIn,
    manager_maria: User,
    mercy_general: Site,
    orders_app: Application,
    unit_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for number in range(unit_count):
        unit = Unit.objects.create(site=mercy_general, name=f"Ward {number:02}")
        requirement(unit, application=orders_app)
        requirement(unit, "Night")
    client = client_for(manager_maria)

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("staffing:requirements"))

    assert len(response.context["groups"]) == unit_count


# --- Generation -----------------------------------------------------------------------------------


def generate_data(unit: Unit | None = None, **overrides: str) -> dict[str, object]:
    return {
        "unit": unit.pk if unit else "",
        "start_date": "2026-11-01",
        "end_date": "2026-11-29",
    } | overrides


def test_generating_shows_what_was_made_and_what_could_not_change(
    client_for: SignIn, manager_maria: User, mercy: GoLive, four_west: Unit, ed: Unit
) -> None:
    day = requirement(four_west)
    requirement(ed, "Night")
    client = client_for(manager_maria)
    url = reverse("staffing:generate_shifts")

    assert client.get(url).status_code == 405
    first = client.post(url, generate_data())
    assert (first.context["result"].created, Shift.objects.count()) == (6, 6)
    assertContains(first, "Shifts for your units")

    wednesday = day.shifts.get(start=local(4, 7))
    person = SupportPerson.objects.create(
        go_live=mercy, name="<b>Ann</b>", role=SupportRole.SUPER_USER, email="ann@mercy.example"
    )
    Assignment.objects.create(
        shift=wednesday, person=person, period=DateTimeTZRange(wednesday.start, wednesday.end)
    )
    CoverageRequirement.objects.filter(pk=day.pk).update(start_time=dt.time(8), label="<i>Day</i>")

    again = client.post(url, generate_data(four_west))

    assert again.context["result"].updated == 2
    assertContains(
        again,
        "4 West Med/Surg &lt;i&gt;Day&lt;/i&gt; Wed 4 Nov — 1 person assigned; its times stay "
        "07:00–19:00",
    )
    assertContains(again, "Shifts for 4 West Med/Surg")


def test_generating_for_bad_dates_explains_and_makes_nothing(
    client_for: SignIn, lead_lena: User, four_west: Unit
) -> None:
    requirement(four_west)

    response = client_for(lead_lena).post(
        reverse("staffing:generate_shifts"), generate_data(end_date="2026-10-01")
    )

    assert response.status_code == 200
    assert "end_date" in field_errors(response)
    assert not Shift.objects.exists()


# --- The ratio helper -----------------------------------------------------------------------------


def helper_rows(response: object) -> dict[str, list[int | None]]:
    """Unit name -> [full headcount, phase headcounts...] as the table shows them."""
    rows = {}
    for row in response.context["rows"]:  # type: ignore[attr-defined]
        form = row.form
        phases = [int(field.value()) for field in form.phase_fields()]
        rows[form.shown_unit.name] = [row.full, *phases]
    return rows


def helper_post(response: object, **changes: object) -> dict[str, object]:
    """The helper's form as the page rendered it, with `changes` (field name -> value)."""
    html = response.content.decode()  # type: ignore[attr-defined]
    data: dict[str, object] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken":
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) == "checkbox":
            if "checked" in tag:
                data[name.group(1)] = "on"
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = value.group(1) if value else ""
    data["role"] = SupportRole.SUPER_USER
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_the_helper_proposes_from_the_end_users_and_tapers(
    client_for: SignIn, lead_lena: User, ed: Unit, four_west: Unit, front_desk: Unit
) -> None:
    response = client_for(lead_lena).get(reverse("staffing:requirements_propose"))

    assert helper_rows(response) == {
        "Emergency Department": [28, 28, 14, 7],
        "4 West Med/Surg": [15, 15, 8, 4],
        "Front Desk": [4, 4, 2, 1],
    }
    assertContains(response, "Round the clock</strong>, Sun 1 Nov – Sat 14 Nov")


def test_the_helper_saves_a_mix_and_recalculates_in_place(
    client_for: SignIn, lead_lena: User, ed: Unit
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:requirements_propose")
    page = client.get(url)

    response = client.post(
        url,
        helper_post(
            page,
            **{"form-0-critical_care": "on", "form-0-physicians": "10", "action": "recalculate"},
        ),
        headers={"HX-Request": "true"},
    )

    assert response.templates[0].name == "staffing/requirements_propose_table.html"
    assert helper_rows(response) == {"Emergency Department": [31, 31, 16, 8]}
    mix = UnitMix.objects.get(unit=ed)
    assert (mix.physicians, mix.nurses, mix.clerical, mix.critical_care) == (10, 84, 18, True)
    assertContains(response, "The mixes are saved and the headcounts recalculated.")


def test_the_helper_uses_the_go_lives_ratios(
    client_for: SignIn, lead_lena: User, mercy: GoLive, four_west: Unit
) -> None:
    StaffingSettings.objects.create(
        go_live=mercy, ratio_physicians=9, ratio_other_nurses=42, ratio_clerical=9
    )
    response = client_for(lead_lena).get(reverse("staffing:requirements_propose"))
    assert helper_rows(response) == {"4 West Med/Surg": [3, 3, 2, 1]}


def test_the_helper_creates_the_requirements_as_edited(
    client_for: SignIn, manager_maria: User, ed: Unit, four_west: Unit
) -> None:
    client = client_for(manager_maria)
    url = reverse("staffing:requirements_propose")
    page = client.get(url)
    ed_row, west_row = (0, 1) if page.context["rows"][0].form.shown_unit == ed else (1, 0)

    response = client.post(
        url,
        helper_post(
            page,
            role=SupportRole.AT_THE_ELBOW,
            action="create",
            **{f"form-{ed_row}-phase_1": "0", f"form-{west_row}-include": None},
        ),
    )

    assertRedirects(response, reverse("staffing:requirements"), target_status_code=200)
    made = CoverageRequirement.objects.order_by("start_date", "start_time")
    assert [(r.unit, r.role, r.label, r.headcount) for r in made] == [
        (ed, SupportRole.AT_THE_ELBOW, "Day", 28),
        (ed, SupportRole.AT_THE_ELBOW, "Night", 28),
        (ed, SupportRole.AT_THE_ELBOW, "Business hours", 7),
    ]

    again = client.post(url, helper_post(page, role=SupportRole.AT_THE_ELBOW, action="create"))

    assert again.status_code == 200
    assertContains(again, "Emergency Department already has at-the-elbow consultant requirements.")
    assert CoverageRequirement.objects.count() == 3


def test_the_helper_creates_nothing_when_no_unit_is_ticked(
    client_for: SignIn, lead_lena: User, ed: Unit
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:requirements_propose")
    page = client.get(url)

    unticked = client.post(url, helper_post(page, action="create", **{"form-0-include": None}))
    all_zero = client.post(
        url,
        helper_post(page, action="create", **{f"form-0-phase_{n}": "0" for n in range(3)}),
    )

    for response in (unticked, all_zero):
        assertContains(response, "Tick at least one unit with a headcount above 0")
    assert not CoverageRequirement.objects.exists()


def test_a_bad_mix_is_a_message_and_saves_nothing(
    client_for: SignIn, lead_lena: User, ed: Unit
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:requirements_propose")
    page = client.get(url)

    response = client.post(
        url, helper_post(page, action="create", **{"form-0-nurses": "-3", "form-0-phase_0": "x"})
    )

    assertContains(response, "Enter 0 or more.")
    assertContains(response, "Enter a whole number.")
    assert not CoverageRequirement.objects.exists()
    assert not UnitMix.objects.exists()


def test_the_helper_refuses_a_unit_the_manager_does_not_plan(
    client_for: SignIn, manager_maria: User, ed: Unit, front_desk: Unit
) -> None:
    client = client_for(manager_maria)
    url = reverse("staffing:requirements_propose")
    page = client.get(url)
    assert list(helper_rows(page)) == ["Emergency Department"]

    response = client.post(
        url, helper_post(page, action="create", **{"form-0-unit": front_desk.pk})
    )

    assertContains(response, "This unit is not one you plan.")
    assert not CoverageRequirement.objects.exists()


@pytest.mark.parametrize("unit_count", [2, 20])
def test_the_helper_costs_the_same_queries_however_many_units(
    client_for: SignIn,
    lead_lena: User,
    mercy_general: Site,
    unit_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for number in range(unit_count):
        unit = Unit.objects.create(site=mercy_general, name=f"Ward {number:02}", end_user_count=30)
        if number % 2:
            UnitMix.objects.create(unit=unit, physicians=3, nurses=20, clerical=7)
    client = client_for(lead_lena)
    client.get(reverse("staffing:requirements_propose"))  # settings made on first use

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("staffing:requirements_propose"))

    assert len(response.context["rows"]) == unit_count


# --- Auto-fill pages ------------------------------------------------------------------------------


def test_starting_an_auto_fill_records_the_run_and_shows_its_progress(
    client_for: SignIn, manager_maria: User, ed: Unit, four_west: Unit, front_desk: Unit
) -> None:
    client = client_for(manager_maria)
    form = client.get(reverse("staffing:autofill")).context["form"]
    assert list(form.fields["units"].queryset) == [four_west, ed]
    assert form.initial["units"] == [four_west, ed]

    response = client.post(
        reverse("staffing:autofill"),
        {"start_date": "2026-11-04", "end_date": "2026-11-10", "units": [four_west.pk]},
    )

    run = AutoFillRun.objects.get()
    assertRedirects(
        response, reverse("staffing:autofill_detail", args=[run.pk]), target_status_code=200
    )
    assert (run.respect_soft_rules, run.roles, list(run.units.all())) == (False, [], [four_west])
    page = client.get(reverse("staffing:autofill_detail", args=[run.pk]))
    assertContains(page, "Waiting for a worker")
    partial = client.get(
        reverse("staffing:autofill_detail", args=[run.pk]), headers={"HX-Request": "true"}
    )
    assert partial.templates[0].name == "staffing/autofill_progress.html"
    assertContains(partial, 'hx-trigger="every 2s"')


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"units": []}, "units", "Tick at least one unit."),
        ({"end_date": "2026-12-24"}, "end_date", "choose a last day inside it."),
        ({"roles": ["wizard"]}, "roles", "Choose roles from the list."),
    ],
)
def test_a_bad_auto_fill_request_explains_and_starts_nothing(
    client_for: SignIn,
    lead_lena: User,
    four_west: Unit,
    data: dict[str, object],
    field: str,
    message: str,
) -> None:
    values = {"start_date": "2026-11-04", "end_date": "2026-11-10", "units": [four_west.pk]} | data
    response = client_for(lead_lena).post(reverse("staffing:autofill"), values)

    assert message in " ".join(field_errors(response)[field])
    assert not AutoFillRun.objects.exists()


@pytest.fixture
def proposed_run(
    mercy: GoLive, four_west: Unit, make_shift: MakeShift, make_person: MakePerson, lead_lena: User
) -> AutoFillRun:
    make_shift(local(4, 7), local(4, 19), needed=2, label="Day")
    make_shift(local(4, 19), local(5, 7), needed=1, label="Night")
    make_person("Ann")
    make_person("<script>Bob</script>")
    run = AutoFillRun.objects.create(
        go_live=mercy,
        created_by=lead_lena,
        start_date=dt.date(2026, 11, 4),
        end_date=dt.date(2026, 11, 4),
    )
    run.units.set([four_west])
    compute_proposal(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_the_proposal_is_shown_by_day_and_unit_with_what_could_not_be_filled(
    client_for: SignIn, manager_maria: User, proposed_run: AutoFillRun
) -> None:
    client = client_for(manager_maria)
    url = reverse("staffing:autofill_detail", args=[proposed_run.pk])

    page = client.get(url)

    assertContains(page, "Wednesday 4 November")
    assertContains(page, "Mercy General · 4 West Med/Surg")
    assertContains(page, "Day 07:00–19:00")
    assertContains(page, "&lt;script&gt;Bob&lt;/script&gt;")
    assertContains(
        page,
        "4 West Med/Surg Night Wed 4 Nov: 1 place — nobody available without breaking a rule "
        "(day hours: 2, rest: 2)",
    )
    assertContains(page, "Publish: assign 2 places")
    refresh = client.get(url, headers={"HX-Request": "true"})
    assert refresh["HX-Refresh"] == "true"


def test_publishing_from_the_page_assigns_once(
    client_for: SignIn, manager_maria: User, proposed_run: AutoFillRun
) -> None:
    client = client_for(manager_maria)
    url = reverse("staffing:autofill_detail", args=[proposed_run.pk])

    response = client.post(url, {"action": "publish"}, follow=True)

    assertContains(response, "Publishing has started; this page follows its progress.")
    assertContains(response, 'data-testid="autofill-progress"')
    again = client.post(url, {"action": "publish"}, follow=True)
    assertContains(
        again, "This auto-fill is publishing; only a proposal that is ready can be published."
    )
    # The worker's part (after commit, which this test's transaction never reaches).
    assert publish_proposals(run_id=proposed_run.pk) is True
    assert client.get(url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    assertContains(client.get(url), "2 assignments made")
    assert Assignment.objects.count() == 2
    assert set(Assignment.objects.values_list("assigned_by", flat=True)) == {manager_maria.pk}


def test_discarding_from_the_page_assigns_nobody(
    client_for: SignIn, lead_lena: User, proposed_run: AutoFillRun
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:autofill_detail", args=[proposed_run.pk])

    response = client.post(url, {"action": "discard"}, follow=True)

    assertContains(response, "The proposal is discarded; nobody was assigned.")
    proposed_run.refresh_from_db()
    assert proposed_run.status == AutoFillRun.Status.DISCARDED
    assert client.post(url, {"action": "sing"}).status_code == 302
    assert not Assignment.objects.exists()


def test_a_run_over_units_she_does_not_manage_is_not_hers(
    client_for: SignIn,
    manager_maria: User,
    outsider_oscar: User,
    proposed_run: AutoFillRun,
    front_desk: Unit,
    agent_alex: User,
) -> None:
    proposed_run.units.add(front_desk)
    url = reverse("staffing:autofill_detail", args=[proposed_run.pk])

    assert client_for(manager_maria).post(url, {"action": "publish"}).status_code == 403
    assert client_for(manager_maria).get(url).status_code == 403
    assert client_for(manager_maria).get(reverse("staffing:autofill")).context["runs"].count() == 0
    assert client_for(agent_alex).get(url).status_code == 403
    assert client_for(outsider_oscar).get(url).status_code == 404
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("run_count", [2, 15])
def test_the_auto_fill_list_costs_the_same_queries_however_many_runs(
    client_for: SignIn,
    manager_maria: User,
    mercy: GoLive,
    four_west: Unit,
    ed: Unit,
    run_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for _ in range(run_count):
        run = AutoFillRun.objects.create(
            go_live=mercy,
            created_by=manager_maria,
            start_date=dt.date(2026, 11, 4),
            end_date=dt.date(2026, 11, 5),
        )
        run.units.set([four_west, ed])
    client = client_for(manager_maria)

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("staffing:autofill"))

    assert len(response.context["runs"]) == run_count


@pytest.mark.parametrize("days", [1, 6])
def test_the_proposal_page_costs_the_same_queries_however_many_proposals(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    four_west: Unit,
    ed: Unit,
    make_shift: MakeShift,
    make_person: MakePerson,
    days: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for day in range(4, 4 + days):
        for unit in (four_west, ed):
            make_shift(local(day, 7), local(day, 19), unit=unit, needed=2, label="Day")
    for number in range(12):
        make_person(f"Person {number:02}")
    run = AutoFillRun.objects.create(
        go_live=mercy, start_date=dt.date(2026, 11, 4), end_date=dt.date(2026, 11, 10)
    )
    run.units.set([four_west, ed])
    compute_proposal(run_id=run.pk)
    client = client_for(lead_lena)

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("staffing:autofill_detail", args=[run.pk]))

    assert response.context["proposal_count"] == days * 4


# --- Settings -------------------------------------------------------------------------------------


def settings_data(**overrides: str) -> dict[str, str]:
    return {
        "reminder_leads_minutes": "60, 720, 1440",
        "late_after_minutes": "20",
        "min_rest_hours": "11",
        "ratio_physicians": "3",
        "ratio_critical_nurses": "4",
        "ratio_other_nurses": "8",
        "ratio_clerical": "5",
    } | overrides


def test_the_lead_changes_the_staffing_settings(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    client = client_for(lead_lena)
    page = client.get(reverse("staffing:settings"))
    assertContains(page, 'value="720, 60"')

    response = client.post(reverse("staffing:settings"), settings_data())

    assertRedirects(response, reverse("staffing:settings"), target_status_code=200)
    saved = StaffingSettings.for_go_live(mercy)
    assert saved.reminder_leads_minutes == [1440, 720, 60]
    assert (saved.late_after_minutes, saved.min_rest_hours, saved.ratio_other_nurses) == (20, 11, 8)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"reminder_leads_minutes": "12 hours"},
            "reminder_leads_minutes",
            "Enter whole minutes separated by commas, e.g. 720, 60.",
        ),
        (
            {"reminder_leads_minutes": "60, 0"},
            "reminder_leads_minutes",
            "Each lead time must be at least 1 minute.",
        ),
        (
            {"reminder_leads_minutes": "60, -5"},
            "reminder_leads_minutes",
            "Each lead time must be at least 1 minute.",
        ),
        (
            {"reminder_leads_minutes": "1, 2, 3, 4, 5, 6"},
            "reminder_leads_minutes",
            "At most 5 reminders per shift.",
        ),
        (
            {"reminder_leads_minutes": "60, 60"},
            "reminder_leads_minutes",
            "Give each lead time once.",
        ),
        (
            {"reminder_leads_minutes": "20000"},
            "reminder_leads_minutes",
            "A reminder can go at most a week (10080 minutes) ahead.",
        ),
        ({"late_after_minutes": "0"}, "late_after_minutes", "At least 1 minute."),
        ({"min_rest_hours": "30"}, "min_rest_hours", "At most 24 hours."),
        ({"ratio_physicians": "0"}, "ratio_physicians", "At least 1 user per support person."),
        ({"ratio_clerical": "many"}, "ratio_clerical", "Enter a whole number."),
    ],
)
def test_bad_settings_get_a_field_message_and_save_nothing(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = client_for(lead_lena).post(reverse("staffing:settings"), settings_data(**overrides))

    assert field_errors(response) == {field: [message]}
    saved = StaffingSettings.for_go_live(mercy)
    assert (saved.reminder_leads_minutes, saved.ratio_physicians) == ([720, 60], 2)


def test_no_reminders_at_all_is_allowed(client_for: SignIn, lead_lena: User, mercy: GoLive) -> None:
    client_for(lead_lena).post(
        reverse("staffing:settings"), settings_data(reminder_leads_minutes="")
    )
    assert StaffingSettings.for_go_live(mercy).reminder_leads_minutes == []


def test_a_run_can_be_made_with_the_roles_chosen(
    client_for: SignIn, lead_lena: User, four_west: Unit
) -> None:
    client_for(lead_lena).post(
        reverse("staffing:autofill"),
        {
            "start_date": "2026-11-04",
            "end_date": "2026-11-04",
            "units": [four_west.pk],
            "roles": [SupportRole.SUPER_USER, SupportRole.TRAINER],
            "respect_soft_rules": "on",
        },
    )
    run = AutoFillRun.objects.get()
    assert (run.roles, run.respect_soft_rules) == (
        [SupportRole.SUPER_USER, SupportRole.TRAINER],
        True,
    )
