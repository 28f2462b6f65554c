"""Who is on shift now and next: the service the board, its JSON and the issues app call."""

import datetime as dt
import itertools

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from pytest_django import DjangoAssertNumQueries

from golive.models import Application, GoLive, Site, Unit
from staffing.models import Assignment, Shift, SupportPerson, SupportRole
from staffing.services import check_in
from staffing.tests.conftest import MakePerson, MakeShift, local
from staffing.whos_on import next_on, now_and_next, on_shift


def put_on(shift: Shift, person: SupportPerson, **fields: object) -> Assignment:
    """A scheduled assignment as assign_person writes it (late check 15 minutes after the start)."""
    return Assignment.objects.create(
        shift=shift,
        person=person,
        period=DateTimeTZRange(shift.start, shift.end, "[)"),
        late_check_at=shift.start + dt.timedelta(minutes=15),
        **fields,
    )


def crowd(go_live: GoLive, shifts: list[Shift], people: int) -> list[SupportPerson]:
    """`people` new super users put on `shifts` in turn, written in bulk."""
    staff = SupportPerson.objects.bulk_create(
        SupportPerson(
            go_live=go_live, name=f"Person {n:03}", role="super_user", email=f"p{n}@x.org"
        )
        for n in range(people)
    )
    Assignment.objects.bulk_create(
        Assignment(
            shift=shift,
            person=person,
            period=DateTimeTZRange(shift.start, shift.end, "[)"),
            late_check_at=shift.start + dt.timedelta(minutes=15),
        )
        for person, shift in zip(staff, itertools.cycle(shifts), strict=False)
    )
    return staff


def names(entries: list) -> list[str]:
    return [entry.person.name for entry in entries]


@pytest.fixture
def overnight(now: dt.datetime, make_shift: MakeShift) -> Shift:
    """Last night's shift on 4 West, 19:00-07:00: on at 06:00 this morning."""
    return make_shift(local(2, 19), local(3, 7), needed=3, label="Night")


@pytest.fixture
def morning(now: dt.datetime, make_shift: MakeShift) -> Shift:
    """This morning's day shift on 4 West, 07:00-19:00: an hour from now."""
    return make_shift(local(3, 7), local(3, 19), needed=3, label="Day")


def test_it_lists_the_people_whose_shift_covers_now_with_what_routing_needs(
    sam: SupportPerson, vera: SupportPerson, overnight: Shift, super_sam: User, mercy: GoLive
) -> None:
    put_on(overnight, sam)
    put_on(overnight, vera)

    entries = on_shift(go_live=mercy)

    assert names(entries) == ["Sam Super", "Vera Vendor"]
    sam_entry, vera_entry = entries
    assert sam_entry.person.phone == "312-555-0190"
    assert sam_entry.person.email == "sam.super@mercy.example"
    assert sam_entry.person.user_id == super_sam.pk
    assert sam_entry.person.role_label == "Super user"
    assert (sam_entry.unit.name, sam_entry.site.name) == ("4 West Med/Surg", "Mercy General")
    assert (sam_entry.start, sam_entry.end) == (overnight.start, overnight.end)
    assert vera_entry.person.skills == ("Orders",)
    assert vera_entry.person.role == SupportRole.VENDOR_CONSULTANT


def test_the_start_counts_and_the_end_does_not(
    sam: SupportPerson, vera: SupportPerson, overnight: Shift, morning: Shift, mercy: GoLive
) -> None:
    put_on(overnight, sam)
    put_on(morning, vera)

    assert names(on_shift(go_live=mercy, at=local(3, 6, 59))) == ["Sam Super"]
    # At the 07:00 handover the day shift is on and the night shift is not.
    assert names(on_shift(go_live=mercy, at=local(3, 7))) == ["Vera Vendor"]
    assert names(on_shift(go_live=mercy, at=local(3, 19))) == []


def test_cancelled_and_no_show_assignments_are_not_on_shift(
    sam: SupportPerson,
    vera: SupportPerson,
    make_person: MakePerson,
    overnight: Shift,
    mercy: GoLive,
) -> None:
    put_on(overnight, sam, status=Assignment.Status.CANCELLED)
    put_on(overnight, vera, status=Assignment.Status.NO_SHOW)
    put_on(overnight, make_person("Conor Confirmed"), status=Assignment.Status.CONFIRMED)

    assert names(on_shift(go_live=mercy)) == ["Conor Confirmed"]


def test_another_go_lives_people_never_show(
    sam: SupportPerson, overnight: Shift, lakeside: GoLive, mercy: GoLive
) -> None:
    put_on(overnight, sam)
    unit = Unit.objects.create(
        site=Site.objects.create(go_live=lakeside, name="Lakeside", code="LK"), name="ICU"
    )
    other = Shift.objects.create(
        go_live=lakeside,
        unit=unit,
        role=SupportRole.SUPER_USER,
        start=local(2, 19),
        end=local(3, 7),
    )
    put_on(
        other,
        SupportPerson.objects.create(
            go_live=lakeside,
            name="Lara Lake",
            role=SupportRole.SUPER_USER,
            email="lara@lake.example",
        ),
    )

    assert names(on_shift(go_live=mercy)) == ["Sam Super"]
    assert names(on_shift(go_live=lakeside)) == ["Lara Lake"]


def test_it_filters_by_unit_and_site(
    sam: SupportPerson,
    vera: SupportPerson,
    make_person: MakePerson,
    make_shift: MakeShift,
    overnight: Shift,
    ed: Unit,
    front_desk: Unit,
    mercy_general: Site,
    northside: Site,
    mercy: GoLive,
) -> None:
    put_on(overnight, sam)
    put_on(make_shift(local(2, 19), local(3, 7), unit=ed), vera)
    put_on(make_shift(local(3, 5), local(3, 13), unit=front_desk), make_person("Fran Front"))

    assert names(on_shift(go_live=mercy, units=[ed])) == ["Vera Vendor"]
    assert names(on_shift(go_live=mercy, units=[ed.pk, front_desk.pk])) == [
        "Vera Vendor",
        "Fran Front",
    ]
    assert names(on_shift(go_live=mercy, sites=[mercy_general])) == ["Sam Super", "Vera Vendor"]
    assert names(on_shift(go_live=mercy, sites=[northside])) == ["Fran Front"]
    # An empty list means "none of them", not "no filter": a manager of no unit sees nobody.
    assert names(on_shift(go_live=mercy, units=[])) == []


def test_it_filters_by_the_persons_role(
    sam: SupportPerson, vera: SupportPerson, overnight: Shift, mercy: GoLive
) -> None:
    put_on(overnight, sam)
    put_on(overnight, vera)

    assert names(on_shift(go_live=mercy, roles=[SupportRole.VENDOR_CONSULTANT])) == ["Vera Vendor"]
    assert names(
        on_shift(go_live=mercy, roles=[SupportRole.SUPER_USER, SupportRole.VENDOR_CONSULTANT])
    ) == ["Sam Super", "Vera Vendor"]


def test_it_filters_by_application_through_skills_or_the_shifts_application(
    sam: SupportPerson,
    vera: SupportPerson,
    make_person: MakePerson,
    make_shift: MakeShift,
    overnight: Shift,
    ed: Unit,
    orders_app: Application,
    mercy: GoLive,
) -> None:
    pharmacy = Application.objects.create(go_live=mercy, name="Pharmacy")
    put_on(overnight, sam)
    put_on(overnight, vera)  # knows Orders
    pat = make_person("Pat Pharm")
    pat.skills.add(orders_app, pharmacy)  # two matching skills still list Pat once
    put_on(overnight, pat)
    ed_orders = make_shift(local(2, 19), local(3, 7), unit=ed, application=orders_app)
    put_on(ed_orders, make_person("Olly Override"))  # on an Orders shift without the skill

    orders = on_shift(go_live=mercy, applications=[orders_app])

    # By site, unit ("4 West" before "Emergency"), then name.
    assert names(orders) == ["Pat Pharm", "Vera Vendor", "Olly Override"]
    assert names(on_shift(go_live=mercy, applications=[orders_app, pharmacy])) == names(orders)
    assert names(on_shift(go_live=mercy, applications=[pharmacy.pk])) == ["Pat Pharm"]
    assert names(on_shift(go_live=mercy, applications=[orders_app], units=[ed])) == [
        "Olly Override"
    ]


def test_it_says_who_checked_in_who_has_not_and_who_is_late(
    sam: SupportPerson, vera: SupportPerson, make_person: MakePerson, morning: Shift, mercy: GoLive
) -> None:
    arrived = put_on(morning, sam)
    put_on(morning, vera)
    put_on(morning, make_person("Lou Late"), late_at=local(3, 7, 15))
    with time_machine.travel(local(3, 6, 52), tick=False):
        check_in(assignment=arrived, actor=None)

    at_0710 = {e.person.name: e for e in on_shift(go_live=mercy, at=local(3, 7, 10))}
    at_0720 = {e.person.name: e for e in on_shift(go_live=mercy, at=local(3, 7, 20))}

    assert at_0710["Sam Super"].checked_in
    assert at_0710["Sam Super"].checked_in_at == local(3, 6, 52)
    assert not at_0710["Sam Super"].late
    assert not at_0710["Vera Vendor"].checked_in
    assert not at_0710["Vera Vendor"].late  # within the 15 minutes
    # Past the late check the board says late even before the late sweep has run.
    assert at_0720["Vera Vendor"].late
    assert at_0720["Lou Late"].late
    assert at_0720["Sam Super"].status_label == "Checked in"


def test_next_on_lists_shifts_starting_within_the_next_hours(
    sam: SupportPerson,
    vera: SupportPerson,
    make_person: MakePerson,
    overnight: Shift,
    morning: Shift,
    night_shift: Shift,
    day_shift: Shift,
    mercy: GoLive,
) -> None:
    put_on(overnight, make_person("Nora Night"))
    put_on(morning, sam)
    put_on(night_shift, vera)  # 19:00 tonight: 13 hours from now
    put_on(day_shift, make_person("Toby Tomorrow"))

    assert names(next_on(go_live=mercy)) == ["Sam Super"]
    assert names(next_on(go_live=mercy, within=dt.timedelta(hours=14))) == [
        "Sam Super",
        "Vera Vendor",
    ]


def test_now_and_next_splits_one_fetch_into_the_two_lists(
    sam: SupportPerson, vera: SupportPerson, overnight: Shift, morning: Shift, mercy: GoLive
) -> None:
    put_on(overnight, sam)
    put_on(morning, vera)

    snapshot = now_and_next(go_live=mercy)

    assert names(snapshot.on_now) == ["Sam Super"]
    assert names(snapshot.next_on) == ["Vera Vendor"]
    assert not snapshot.next_on[0].late


def test_a_night_across_the_end_of_summer_time_shows_its_true_length(
    sam: SupportPerson, make_shift: MakeShift, mercy: GoLive
) -> None:
    put_on(make_shift(local(31, 19, month=10), local(1, 7)), sam)

    (entry,) = on_shift(go_live=mercy, at=local(1, 3))
    assert entry.hours == 13


@pytest.mark.parametrize("people", [10, 200])
def test_it_costs_three_queries_however_many_people_are_on(
    people: int,
    make_person: MakePerson,
    overnight: Shift,
    morning: Shift,
    orders_app: Application,
    mercy: GoLive,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    overnight.needed = morning.needed = people
    staff = crowd(mercy, [overnight, morning], people)
    SupportPerson.skills.through.objects.bulk_create(
        SupportPerson.skills.through(supportperson=person, application=orders_app)
        for person in staff
    )

    with django_assert_max_num_queries(3):
        snapshot = now_and_next(go_live=mercy, applications=[orders_app])
    with django_assert_max_num_queries(3):
        entries = on_shift(go_live=mercy, units=[overnight.unit_id], roles=["super_user"])

    assert len(snapshot.on_now) == len(entries) == people // 2
    assert len(snapshot.next_on) == people // 2
    assert all(entry.person.skills == ("Orders",) for entry in entries)
