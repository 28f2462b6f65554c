"""Exporting the roster and the schedule as CSV: streamed, safe in a spreadsheet, and round-tripping."""

import csv
import datetime as dt
import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains

from golive.lib.csvfile import csv_unescape
from golive.models import Application, GoLive, Unit
from staffing import roster
from staffing.models import Assignment, RosterImport, Shift, SupportPerson, SupportRole
from staffing.services import assign_person
from staffing.tests.conftest import MakePerson, MakeShift, local
from staffing.tests.test_roster_import import checked

SignIn = Callable[[User], Client]


def body(response: StreamingHttpResponse) -> str:
    return b"".join(response.streaming_content).decode()  # type: ignore[arg-type]


def rows(response: StreamingHttpResponse) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response).removeprefix("\ufeff"))))


@pytest.fixture
def roster_cast(
    make_person: MakePerson, orders_app: Application, four_west: Unit, sam: SupportPerson
) -> list[SupportPerson]:
    adt = Application.objects.create(go_live=orders_app.go_live, name="ADT")
    vera = make_person(
        "Vera Vendor",
        SupportRole.VENDOR_CONSULTANT,
        employer=SupportPerson.Employer.VENDOR,
        vendor_name="Northwind Clinical",
        sms_number="+13125550177",
        max_hours_per_shift="8.5",
        max_hours_per_day=10,
        max_hours_per_week=40,
    )
    vera.skills.add(orders_app, adt)
    otto = make_person("Otto Old", SupportRole.TECHNICAL, is_active=False, home_site=four_west.site)
    return [sam, vera, otto]


# --- The roster -----------------------------------------------------------------------------------


def test_the_roster_export_has_the_import_columns_and_every_person(
    client_for: SignIn, lead_lena: User, roster_cast: list[SupportPerson], now: dt.datetime
) -> None:
    response = client_for(lead_lena).get(reverse("staffing:roster_export"))

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="roster-mercy-health-wave-1-2026-11-03.csv"'
    )
    header, *people = rows(response)
    assert header == list(roster.COLUMNS)
    assert people == [
        [
            "Otto Old", "otto.old@mercy.example", "Technical / device support", "In-house", "", "",
            "Mercy General", "", "", "", "12", "12", "60", "no",
        ],
        [
            "Sam Super", "sam.super@mercy.example", "Super user", "In-house", "", "",
            "Mercy General", "4 West Med/Surg", "312-555-0190", "", "12", "12", "60", "yes",
        ],
        [
            "Vera Vendor", "vera.vendor@mercy.example", "Vendor consultant", "Vendor",
            "Northwind Clinical", "ADT; Orders", "", "", "", "'+13125550177", "8.5", "10", "40",
            "yes",
        ],
    ]  # fmt: skip


def test_an_exported_roster_imports_back_without_creating_or_changing_anyone(
    client_for: SignIn, lead_lena: User, roster_cast: list[SupportPerson], mercy: GoLive
) -> None:
    SupportPerson.objects.filter(name="Otto Old").update(
        name='=HYPERLINK("http://evil.example")', phone="-1 312 555 0100", vendor_name=""
    )
    exported = body(client_for(lead_lena).get(reverse("staffing:roster_export")))

    upload = checked(mercy, exported)

    assert upload.status == RosterImport.Status.READY, upload.errors
    assert (upload.created_count, upload.updated_count, upload.total_rows) == (0, 0, 3)
    assert {row.action for row in roster.preview(upload).rows} == {"unchanged"}


def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(
    client_for: SignIn, lead_lena: User, make_person: MakePerson
) -> None:
    make_person("=1+2", email="a@mercy.example", notes="", phone="+1 312 555 0100")
    make_person("@SUM(A1)", email="b@mercy.example")
    make_person("-2+3", email="c@mercy.example")
    make_person("+cmd", email="d@mercy.example")
    make_person("Plain = fine", email="e@mercy.example")

    names = [row[0] for row in rows(client_for(lead_lena).get(reverse("staffing:roster_export")))]

    assert names[1:] == ["'+cmd", "'-2+3", "'=1+2", "'@SUM(A1)", "Plain = fine"]
    assert csv_unescape("'=1+2") == "=1+2"
    assert csv_unescape("'plain") == "'plain"


# --- The schedule ---------------------------------------------------------------------------------


@pytest.fixture
def schedule(
    now: dt.datetime,
    make_shift: MakeShift,
    sam: SupportPerson,
    make_person: MakePerson,
    ed: Unit,
    lead_lena: User,
) -> None:
    night = make_shift(local(3, 19), local(4, 7), needed=2)
    assign_person(shift=night, person=sam, actor=lead_lena)
    olga = make_person("Olga Other")
    gone = assign_person(shift=night, person=olga, actor=lead_lena)
    Assignment.objects.filter(pk=gone.pk).update(status=Assignment.Status.CANCELLED)
    make_shift(local(5, 7), local(5, 19), unit=ed, role=SupportRole.TECHNICAL)
    make_shift(local(20, 7), local(20, 19))  # after the range


def test_the_schedule_export_lists_people_and_open_places_in_local_time(
    client_for: SignIn, lead_lena: User, schedule: None
) -> None:
    response = client_for(lead_lena).get(
        reverse("staffing:schedule_export"), {"first_day": "2026-11-03", "last_day": "2026-11-09"}
    )

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == (
        'attachment; filename="schedule-mercy-health-wave-1-2026-11-03-to-2026-11-09.csv"'
    )
    assert rows(response) == [
        list(roster.SCHEDULE_COLUMNS),
        ["2026-11-03", "2026-11-03 19:00", "2026-11-04 07:00", "4 West Med/Surg", "Mercy General",
         "Super user", "2", "Olga Other", "olga.other@mercy.example", "Cancelled"],
        ["2026-11-03", "2026-11-03 19:00", "2026-11-04 07:00", "4 West Med/Surg", "Mercy General",
         "Super user", "2", "Sam Super", "sam.super@mercy.example", "Scheduled"],
        ["2026-11-03", "2026-11-03 19:00", "2026-11-04 07:00", "4 West Med/Surg", "Mercy General",
         "Super user", "2", "", "", "Open (1 place)"],
        ["2026-11-05", "2026-11-05 07:00", "2026-11-05 19:00", "Emergency Department",
         "Mercy General", "Technical / device support", "1", "", "", "Open (1 place)"],
    ]  # fmt: skip


def test_the_schedule_export_filters_by_unit_and_role(
    client_for: SignIn, lead_lena: User, schedule: None, ed: Unit
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:schedule_export")
    days = {"first_day": "2026-11-01", "last_day": "2026-11-30"}
    by_unit = rows(client.get(url, {**days, "unit": ed.pk}))
    by_role = rows(client.get(url, {**days, "role": SupportRole.SUPER_USER}))
    assert {row[3] for row in by_unit[1:]} == {"Emergency Department"}
    assert {row[5] for row in by_role[1:]} == {"Super user"}
    assert len(by_role) == 5  # header, the night's three rows, the 20th's open place


def test_the_schedule_export_form_explains_a_bad_range(
    client_for: SignIn, lead_lena: User, mercy: GoLive, now: dt.datetime
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:schedule_export")
    first = client.get(url)
    assertContains(first, 'value="2026-11-03"')
    backwards = client.get(url, {"first_day": "2026-11-09", "last_day": "2026-11-03"})
    assertContains(backwards, "The last day must not be before the first day.")
    too_long = client.get(url, {"first_day": "2026-01-01", "last_day": "2027-06-01"})
    assertContains(too_long, "Export at most 366 days at a time.")
    nonsense = client.get(url, {"first_day": "soon", "last_day": ""})
    assertContains(nonsense, "Enter a date, e.g. 2026-11-01.")
    assertContains(nonsense, "Give the last day.")


def test_the_schedule_is_read_in_chunks_as_it_is_sent(
    mercy: GoLive,
    four_west: Unit,
    now: dt.datetime,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    count = 2 * roster.EXPORT_CHUNK + 10
    Shift.objects.bulk_create(
        Shift(
            go_live=mercy,
            unit=four_west,
            role=SupportRole.SUPER_USER,
            start=local(4, 7) + dt.timedelta(minutes=n),
            end=local(4, 19) + dt.timedelta(minutes=n),
        )
        for n in range(count)
    )
    lines = roster.schedule_rows(
        mercy, first_day=dt.date(2026, 11, 4), last_day=dt.date(2026, 11, 4)
    )

    with django_assert_num_queries(0):
        assert next(lines) == list(roster.SCHEDULE_COLUMNS)
    # One cursor over the shifts, and the people of each chunk of shifts as it is reached.
    with django_assert_num_queries(2):
        for _ in range(roster.EXPORT_CHUNK):
            next(lines)
    with django_assert_num_queries(2):
        assert len(list(lines)) == count - roster.EXPORT_CHUNK


@pytest.mark.parametrize("who", ["agent_alex", "super_sam", "nurse_nina"])
def test_only_planners_export(client_for: SignIn, request: pytest.FixtureRequest, who: str) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("staffing:roster_export")).status_code == 403
    assert client.get(reverse("staffing:schedule_export")).status_code == 403
