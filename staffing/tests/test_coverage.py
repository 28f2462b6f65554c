"""Coverage requirements: the ratio helper's maths, and generating shifts again and again safely."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from golive.models import Application, GoLive, Site, Unit
from staffing.coverage import (
    BUSINESS_HOURS,
    DAY_NIGHT,
    TWO_EIGHTS,
    Block,
    GenerationResult,
    Mix,
    ProposalRow,
    Ratios,
    block_instants,
    create_proposed_requirements,
    create_requirements,
    default_mix,
    delete_requirement,
    full_headcount,
    generate_shifts,
    phase_headcount,
    support_window,
    taper,
)
from staffing.models import (
    Assignment,
    CoverageRequirement,
    Shift,
    ShiftEvent,
    SupportPerson,
    SupportRole,
    UnitMix,
)
from staffing.tests.conftest import CHICAGO, local

NOV = dt.date(2026, 11, 1)
WINDOW_END = dt.date(2026, 11, 29)


def day(number: int, month: int = 11, year: int = 2026) -> dt.date:
    return dt.date(year, month, number)


# --- The ratio helper's maths ---------------------------------------------------------------------


def test_a_unit_without_a_mix_is_split_fifteen_seventy_fifteen() -> None:
    assert default_mix(120) == Mix(physicians=18, nurses=84, clerical=18)
    assert default_mix(12) == Mix(physicians=2, nurses=8, clerical=2)
    assert default_mix(0) == Mix(physicians=0, nurses=0, clerical=0)


def test_the_headcount_adds_each_kind_of_user_divided_by_its_ratio_rounded_up() -> None:
    ratios = Ratios()  # 1 per 2 physicians, 4 ED/ICU/OR nurses, 6 other nurses, 4 clerical

    assert full_headcount(Mix(physicians=18, nurses=84, clerical=18), ratios) == 9 + 14 + 5
    assert full_headcount(Mix(18, 84, 18, critical_care=True), ratios) == 9 + 21 + 5
    assert full_headcount(Mix(physicians=1, nurses=1, clerical=1), ratios) == 3
    assert full_headcount(Mix(0, 0, 0), ratios) == 0


def test_the_ratios_are_the_go_lives_own() -> None:
    ratios = Ratios(physicians=4, critical_nurses=2, other_nurses=10, clerical=8)
    assert full_headcount(Mix(physicians=8, nurses=20, clerical=8), ratios) == 2 + 2 + 1


def test_a_four_week_window_tapers_from_round_the_clock_to_business_hours() -> None:
    phases = taper(NOV, day(29))

    assert [(p.name, p.first_date, p.last_date, p.percent) for p in phases] == [
        ("Round the clock", day(1), day(14), 100),
        ("16 hours a day", day(15), day(28), 50),
        ("Business hours", day(29), day(29), 25),
    ]
    assert phases[0].blocks == DAY_NIGHT
    assert phases[1].blocks == TWO_EIGHTS
    assert phases[2].blocks == BUSINESS_HOURS


def test_a_short_window_ends_the_phases_at_its_end() -> None:
    phases = taper(NOV, day(20))

    assert [(p.name, p.first_date, p.last_date) for p in phases] == [
        ("Round the clock", day(1), day(14)),
        ("16 hours a day", day(15), day(20)),
    ]
    assert [(p.first_date, p.last_date) for p in taper(NOV, day(10))] == [(day(1), day(10))]


def test_later_phases_keep_a_share_rounded_up_and_at_least_one_person() -> None:
    assert [phase_headcount(28, percent) for percent in (100, 50, 25)] == [28, 14, 7]
    assert [phase_headcount(5, percent) for percent in (100, 50, 25)] == [5, 3, 2]
    assert [phase_headcount(1, percent) for percent in (100, 50, 25)] == [1, 1, 1]
    assert phase_headcount(0, 25) == 0


def test_the_support_window_is_in_local_dates(mercy: GoLive) -> None:
    assert support_window(mercy) == (day(1), day(29))


def test_a_night_block_lasts_its_true_length_across_both_dst_changes() -> None:
    fall_start, fall_end = block_instants(day(31, 10), dt.time(19), dt.time(7), CHICAGO)
    spring_start, spring_end = block_instants(day(13, 3, 2027), dt.time(19), dt.time(7), CHICAGO)
    usual_start, usual_end = block_instants(day(4), dt.time(19), dt.time(7), CHICAGO)

    assert fall_end - fall_start == dt.timedelta(hours=13)
    assert spring_end - spring_start == dt.timedelta(hours=11)
    assert usual_end - usual_start == dt.timedelta(hours=12)
    assert fall_start == dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)


# --- Creating requirements ------------------------------------------------------------------------


def test_a_pattern_makes_one_requirement_per_block(four_west: Unit) -> None:
    created = create_requirements(
        unit=four_west,
        role=SupportRole.SUPER_USER,
        blocks=DAY_NIGHT,
        start_date=day(4),
        end_date=day(10),
        headcount=2,
        application=None,
        allow_claim=True,
    )

    assert [(r.label, r.start_time, r.end_time, r.headcount) for r in created] == [
        ("Day", dt.time(7), dt.time(19), 2),
        ("Night", dt.time(19), dt.time(7), 2),
    ]


def test_the_helper_writes_the_tapering_requirements_and_keeps_the_mix(
    mercy: GoLive, four_west: Unit, ed: Unit
) -> None:
    rows = [
        ProposalRow(four_west, Mix(9, 42, 9), (4, 2, 1)),
        ProposalRow(ed, Mix(18, 84, 18, critical_care=True), (35, 0, 9)),
    ]

    create_proposed_requirements(go_live=mercy, rows=rows, role=SupportRole.AT_THE_ELBOW)

    made = CoverageRequirement.objects.order_by("unit__name", "start_date", "start_time")
    assert [(r.unit.name, r.label, r.start_date, r.end_date, r.headcount) for r in made] == [
        ("4 West Med/Surg", "Day", day(1), day(14), 4),
        ("4 West Med/Surg", "Night", day(1), day(14), 4),
        ("4 West Med/Surg", "Early", day(15), day(28), 2),
        ("4 West Med/Surg", "Late", day(15), day(28), 2),
        ("4 West Med/Surg", "Business hours", day(29), day(29), 1),
        ("Emergency Department", "Day", day(1), day(14), 35),
        ("Emergency Department", "Night", day(1), day(14), 35),
        ("Emergency Department", "Business hours", day(29), day(29), 9),
    ]
    assert {r.role for r in made} == {SupportRole.AT_THE_ELBOW}
    assert UnitMix.objects.get(unit=ed).critical_care is True
    assert UnitMix.objects.get(unit=four_west).nurses == 42


# --- Generation -----------------------------------------------------------------------------------


@pytest.fixture
def day_night(four_west: Unit) -> list[CoverageRequirement]:
    """4 West needs two super users by day and one by night, Wed 4 to Fri 6 Nov."""
    day_block, night_block = DAY_NIGHT
    return [
        CoverageRequirement.objects.create(
            unit=four_west,
            role=SupportRole.SUPER_USER,
            label=block.label,
            start_date=day(4),
            end_date=day(6),
            start_time=block.start,
            end_time=block.end,
            headcount=headcount,
        )
        for block, headcount in ((day_block, 2), (night_block, 1))
    ]


def generate(
    go_live: GoLive,
    requirements: list[CoverageRequirement],
    first: dt.date = NOV,
    last: dt.date = WINDOW_END,
    actor: User | None = None,
) -> GenerationResult:
    return generate_shifts(
        go_live=go_live, requirements=requirements, first_date=first, last_date=last, actor=actor
    )


def shifts_of(requirement: CoverageRequirement) -> list[tuple[dt.datetime, dt.datetime, int]]:
    return list(requirement.shifts.order_by("start").values_list("start", "end", "needed"))


def put_on(shift: Shift, name: str) -> Assignment:
    """An active assignment made directly: these tests are about shifts, not assignment rules."""
    person = SupportPerson.objects.create(
        go_live=shift.go_live, name=name, role=shift.role, email=f"{name.lower()}@mercy.example"
    )
    return Assignment.objects.create(
        shift=shift, person=person, period=DateTimeTZRange(shift.start, shift.end, "[)")
    )


def test_it_makes_a_shift_per_block_and_day_in_local_time(
    mercy: GoLive, day_night: list[CoverageRequirement], lead_lena: User, now: dt.datetime
) -> None:
    result = generate(mercy, day_night, actor=lead_lena)

    assert result.created == 6
    day_req, night_req = day_night
    assert shifts_of(day_req) == [(local(d, 7), local(d, 19), 2) for d in (4, 5, 6)]
    assert shifts_of(night_req) == [(local(d, 19), local(d + 1, 7), 1) for d in (4, 5, 6)]
    shift = day_req.shifts.order_by("start").first()
    assert (shift.label, shift.role, shift.unit_id, shift.go_live_id) == (
        "Day",
        SupportRole.SUPER_USER,
        day_req.unit_id,
        mercy.pk,
    )
    event = ShiftEvent.objects.get(shift=shift)
    assert (event.action, event.actor, event.new) == (
        "created",
        lead_lena,
        "Day 07:00–19:00, 2 needed",
    )


def test_generating_twice_changes_nothing_the_second_time(
    mercy: GoLive, day_night: list[CoverageRequirement], now: dt.datetime
) -> None:
    generate(mercy, day_night)

    again = generate(mercy, day_night)

    assert (again.created, again.updated, again.deleted, again.not_changed) == (0, 0, [], [])
    assert again.unchanged == 6
    assert Shift.objects.count() == 6
    assert ShiftEvent.objects.count() == 6


def test_it_generates_only_the_chosen_dates(
    mercy: GoLive, day_night: list[CoverageRequirement], now: dt.datetime
) -> None:
    result = generate(mercy, day_night, first=day(5), last=day(5))

    assert result.created == 2
    assert {s.start.astimezone(CHICAGO).day for s in Shift.objects.all()} == {5}


def test_it_copies_the_application_and_the_claim_setting(
    mercy: GoLive, four_west: Unit, orders_app: Application, now: dt.datetime
) -> None:
    [requirement] = create_requirements(
        unit=four_west,
        role=SupportRole.VENDOR_CONSULTANT,
        blocks=BUSINESS_HOURS,
        start_date=day(4),
        end_date=day(4),
        headcount=1,
        application=orders_app,
        allow_claim=True,
    )

    generate(mercy, [requirement])

    shift = Shift.objects.get()
    assert (shift.application, shift.allow_claim, shift.requirement) == (
        orders_app,
        True,
        requirement,
    )
    assert shift.events.get().new == "Business hours 08:00–17:00, 1 needed, Orders, open to claims"


def test_shifts_that_ended_are_not_made_but_a_running_one_is(
    mercy: GoLive,
    day_night: list[CoverageRequirement],
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(local(5, 8), tick=False)  # Thursday's day shift has begun

    result = generate(mercy, day_night)

    assert result.created == 4  # Thu day and night, Fri day and night
    assert result.past == 2
    assert min(Shift.objects.values_list("start", flat=True)) == local(5, 7)


@pytest.fixture
def winter(db: None) -> GoLive:
    """A go-live in Chicago whose window holds both clock changes."""
    return GoLive.objects.create(
        name="Winter wave",
        organization="Mercy Health",
        cutover_at=dt.datetime(2026, 10, 30, 12, tzinfo=dt.UTC),
        support_ends_at=dt.datetime(2027, 3, 20, 12, tzinfo=dt.UTC),
        time_zone="America/Chicago",
    )


@pytest.mark.parametrize(
    ("night_of", "hours"), [(day(31, 10), 13), (day(13, 3, 2027), 11), (day(14, 3, 2027), 12)]
)
def test_a_generated_night_across_a_dst_change_has_its_true_length(
    winter: GoLive, time_machine: time_machine.TimeMachineFixture, night_of: dt.date, hours: int
) -> None:
    time_machine.move_to(dt.datetime(2026, 10, 1, tzinfo=dt.UTC), tick=False)
    site = Site.objects.create(go_live=winter, name="Winter General", code="WG")
    unit = Unit.objects.create(site=site, name="ICU")
    [requirement] = create_requirements(
        unit=unit,
        role=SupportRole.SUPER_USER,
        blocks=DAY_NIGHT[1:],
        start_date=night_of,
        end_date=night_of,
        headcount=1,
        application=None,
        allow_claim=False,
    )

    generate(winter, [requirement], first=night_of, last=night_of)

    shift = Shift.objects.get()
    assert shift.hours == hours
    start = shift.start.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    end = shift.end.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    assert (start.date(), start.time(), end.time()) == (night_of, dt.time(19), dt.time(7))


def test_a_block_the_clocks_skip_makes_no_shift_and_says_so(
    winter: GoLive, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(dt.datetime(2026, 10, 1, tzinfo=dt.UTC), tick=False)
    site = Site.objects.create(go_live=winter, name="Winter General", code="WG")
    unit = Unit.objects.create(site=site, name="ICU")
    [requirement] = create_requirements(
        unit=unit,
        role=SupportRole.SUPER_USER,
        blocks=[Block("Small hours", dt.time(2), dt.time(3))],
        start_date=day(13, 3, 2027),
        end_date=day(15, 3, 2027),
        headcount=1,
        application=None,
        allow_claim=False,
    )

    result = generate(winter, [requirement], first=day(13, 3, 2027), last=day(15, 3, 2027))

    assert result.created == 2
    assert result.not_changed == [
        "ICU Small hours Sun 14 Mar — the clocks skip this block that night; no shift is made"
    ]


# --- Regeneration after an edit -------------------------------------------------------------------


def test_regenerating_updates_future_shifts_nobody_works_on(
    mercy: GoLive, day_night: list[CoverageRequirement], lead_lena: User, now: dt.datetime
) -> None:
    generate(mercy, day_night)
    day_req = day_night[0]
    day_req.start_time, day_req.end_time, day_req.headcount = dt.time(6), dt.time(18), 3
    day_req.label = "Day (early)"
    day_req.save()

    result = generate(mercy, day_night, actor=lead_lena)

    assert (result.updated, result.unchanged, result.created) == (3, 3, 0)
    assert shifts_of(day_req) == [(local(d, 6), local(d, 18), 3) for d in (4, 5, 6)]
    shift = day_req.shifts.order_by("start").first()
    assert (shift.label, shift.sequence) == ("Day (early)", 1)
    event = shift.events.get(action="updated")
    assert (event.old, event.new, event.actor) == (
        "Day 07:00–19:00, 2 needed",
        "Day (early) 06:00–18:00, 3 needed",
        lead_lena,
    )


def test_a_new_headcount_alone_keeps_the_sequence(
    mercy: GoLive, day_night: list[CoverageRequirement], now: dt.datetime
) -> None:
    generate(mercy, day_night)
    CoverageRequirement.objects.filter(pk=day_night[0].pk).update(headcount=4)

    generate(mercy, day_night)

    assert set(day_night[0].shifts.values_list("needed", "sequence")) == {(4, 0)}


def test_a_filled_shift_is_never_re_timed_and_is_listed(
    mercy: GoLive, day_night: list[CoverageRequirement], now: dt.datetime
) -> None:
    generate(mercy, day_night)
    day_req = day_night[0]
    wednesday = day_req.shifts.get(start=local(4, 7))
    put_on(wednesday, "Ann")
    put_on(wednesday, "Bob")
    CoverageRequirement.objects.filter(pk=day_req.pk).update(start_time=dt.time(8))
    day_req.refresh_from_db()

    result = generate(mercy, day_night)

    wednesday.refresh_from_db()
    assert (wednesday.start, wednesday.sequence) == (local(4, 7), 0)
    assert result.not_changed == [
        "4 West Med/Surg Day Wed 4 Nov — 2 people assigned; its times stay 07:00–19:00"
    ]
    assert result.updated == 2  # Thursday and Friday nobody works on
    assert day_req.shifts.get(start=local(5, 8))


def test_a_filled_shift_takes_a_new_headcount_that_still_holds_its_people(
    mercy: GoLive, day_night: list[CoverageRequirement], now: dt.datetime
) -> None:
    generate(mercy, day_night)
    day_req = day_night[0]
    wednesday = day_req.shifts.get(start=local(4, 7))
    put_on(wednesday, "Ann")
    CoverageRequirement.objects.filter(pk=day_req.pk).update(headcount=1)

    result = generate(mercy, day_night)

    wednesday.refresh_from_db()
    assert wednesday.needed == 1
    assert result.not_changed == []
    assert wednesday.events.filter(action="updated").exists()


def test_a_filled_shift_keeps_the_headcount_its_people_need(
    mercy: GoLive, day_night: list[CoverageRequirement], now: dt.datetime
) -> None:
    generate(mercy, day_night)
    day_req = day_night[0]
    wednesday = day_req.shifts.get(start=local(4, 7))
    put_on(wednesday, "Ann")
    Assignment.objects.filter(shift=wednesday).update(status="confirmed")
    put_on(wednesday, "Bob")
    CoverageRequirement.objects.filter(pk=day_req.pk).update(headcount=1)

    result = generate(mercy, day_night)

    wednesday.refresh_from_db()
    assert wednesday.needed == 2
    assert result.not_changed == [
        "4 West Med/Surg Day Wed 4 Nov — 2 people assigned; it cannot need only 1"
    ]
    assert day_req.shifts.get(start=local(5, 7)).needed == 1


def test_a_cancelled_assignment_does_not_hold_a_shift(
    mercy: GoLive, day_night: list[CoverageRequirement], now: dt.datetime
) -> None:
    generate(mercy, day_night)
    day_req = day_night[0]
    assignment = put_on(day_req.shifts.get(start=local(4, 7)), "Ann")
    Assignment.objects.filter(pk=assignment.pk).update(status="cancelled")
    CoverageRequirement.objects.filter(pk=day_req.pk).update(start_time=dt.time(8))

    result = generate(mercy, day_night)

    assert result.not_changed == []
    assert day_req.shifts.filter(start=local(4, 8)).exists()


def test_shortening_a_requirement_deletes_the_unfilled_days_and_lists_the_filled_one(
    mercy: GoLive, day_night: list[CoverageRequirement], now: dt.datetime
) -> None:
    generate(mercy, day_night)
    day_req = day_night[0]
    put_on(day_req.shifts.get(start=local(6, 7)), "Ann")
    CoverageRequirement.objects.filter(pk=day_req.pk).update(end_date=day(4))

    result = generate(mercy, day_night)

    assert result.deleted == ["4 West Med/Surg Day Thu 5 Nov"]
    assert result.not_changed == [
        "4 West Med/Surg Day Fri 6 Nov — 1 person assigned; it stays although its requirement "
        "no longer covers that date"
    ]
    assert shifts_of(day_req) == [(local(4, 7), local(4, 19), 2), (local(6, 7), local(6, 19), 2)]


def test_past_shifts_are_left_alone(
    mercy: GoLive,
    day_night: list[CoverageRequirement],
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(local(3, 6), tick=False)
    generate(mercy, day_night)
    time_machine.move_to(local(5, 12), tick=False)  # Wednesday is over, Thursday's day has begun
    CoverageRequirement.objects.filter(pk=day_night[0].pk).update(headcount=5, start_date=day(6))

    result = generate(mercy, day_night)

    day_req = day_night[0]
    assert shifts_of(day_req) == [
        (local(4, 7), local(4, 19), 2),
        (local(5, 7), local(5, 19), 2),
        (local(6, 7), local(6, 19), 5),
    ]
    assert result.past == 3  # Wed day and night, and Thursday's day shift that has begun
    assert result.deleted == []


def test_deleting_a_requirement_keeps_the_filled_and_past_shifts(
    mercy: GoLive,
    day_night: list[CoverageRequirement],
    lead_lena: User,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(local(3, 6), tick=False)
    generate(mercy, day_night)
    time_machine.move_to(local(4, 12), tick=False)
    day_req = day_night[0]
    put_on(day_req.shifts.get(start=local(6, 7)), "Ann")

    result = delete_requirement(requirement=day_req, actor=lead_lena)

    assert not CoverageRequirement.objects.filter(pk=day_req.pk).exists()
    assert result.deleted == ["4 West Med/Surg Day Thu 5 Nov"]
    assert result.not_changed == [
        "4 West Med/Surg Day Fri 6 Nov — 1 person assigned; it stays on the grid without its "
        "requirement"
    ]
    kept = Shift.objects.filter(label="Day").order_by("start")
    assert [s.start for s in kept] == [local(4, 7), local(6, 7)]
    assert {s.requirement_id for s in kept} == {None}
    event = kept[1].events.get(action="updated")
    assert (event.new, event.actor) == ("No requirement", lead_lena)
