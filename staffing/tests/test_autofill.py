"""Auto-fill: a proposal that keeps every hard rule (and the soft ones unless told otherwise),
spreads the load, says what it could not fill, comes out the same twice, and publishes once."""

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

import pytest
from django.contrib.auth.models import User
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from golive.models import Application, GoLive, Site, Unit
from staffing import autofill
from staffing.autofill import (
    AutoFillError,
    compute_proposal,
    discard_run,
    is_night,
    publish_proposals,
    start_publishing,
)
from staffing.models import (
    Assignment,
    AutoFillProposal,
    AutoFillRun,
    Shift,
    ShiftEvent,
    StaffingSettings,
    SupportPerson,
    SupportRole,
    Unavailability,
)
from staffing.rules import Interval, PersonLoad, soft_warnings
from staffing.services import assign_person
from staffing.tests.conftest import CHICAGO, MakePerson, MakeShift, local

Proposed = list[tuple[int, int, list[str]]]
CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], object]]]]


def make_run(
    go_live: GoLive,
    units: Iterable[Unit],
    first: int = 3,
    last: int = 9,
    *,
    roles: list[str] | None = None,
    soft: bool = True,
    by: User | None = None,
) -> AutoFillRun:
    run = AutoFillRun.objects.create(
        go_live=go_live,
        created_by=by,
        start_date=dt.date(2026, 11, first),
        end_date=dt.date(2026, 11, last),
        roles=roles or [],
        respect_soft_rules=soft,
    )
    run.units.set(units)
    return run


def computed(run: AutoFillRun) -> AutoFillRun:
    assert compute_proposal(run_id=run.pk) is True
    run.refresh_from_db()
    return run


def proposed(run: AutoFillRun) -> Proposed:
    return list(
        AutoFillProposal.objects.filter(run=run)
        .order_by("shift__start", "shift__unit__name", "shift__pk", "person__name")
        .values_list("shift", "person", "warnings")
    )


def names(run: AutoFillRun) -> list[tuple[str, str]]:
    """(local start, person) of each proposal, e.g. ("Wed 07:00", "Ann")."""
    rows = AutoFillProposal.objects.filter(run=run).select_related("shift", "person")
    return [
        (f"{row.shift.start.astimezone(CHICAGO):%a %H:%M}", row.person.name)
        for row in rows.order_by("shift__start", "shift__unit__name", "person__name")
    ]


@pytest.fixture(autouse=True)
def frozen(now: dt.datetime) -> None:
    """Every test here runs on Tuesday 3 November 2026, 06:00 in Chicago."""


def assign(shift: Shift, person: SupportPerson) -> Assignment:
    """An assignment made directly, as the schedule already holds it."""
    return Assignment.objects.create(
        shift=shift, person=person, period=DateTimeTZRange(shift.start, shift.end, "[)")
    )


# --- Nights ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "night"),
    [
        (local(4, 7), local(4, 19), False),
        (local(4, 19), local(5, 7), True),
        (local(4, 14), local(4, 22), False),
        (local(4, 14), local(4, 23), True),
        (local(4, 5), local(4, 13), True),
        (local(4, 6), local(4, 14), False),
    ],
)
def test_a_night_shift_has_hours_between_ten_at_night_and_six_in_the_morning(
    start: dt.datetime, end: dt.datetime, night: bool
) -> None:
    assert is_night(start, end, CHICAGO) is night


# --- Proposals ------------------------------------------------------------------------------------


def test_it_proposes_people_for_the_open_places_without_assigning_anyone(
    mercy: GoLive, four_west: Unit, day_shift: Shift, make_person: MakePerson
) -> None:
    make_person("Ann")
    make_person("Bob")

    run = computed(make_run(mercy, [four_west]))

    assert run.status == AutoFillRun.Status.PROPOSED
    assert (run.progress, run.total, run.unfilled) == (1, 1, [])
    assert names(run) == [("Wed 07:00", "Ann"), ("Wed 07:00", "Bob")]
    assert not Assignment.objects.exists()


def test_it_fills_only_the_open_places_of_shifts_that_have_not_started(
    mercy: GoLive,
    four_west: Unit,
    day_shift: Shift,
    make_shift: MakeShift,
    make_person: MakePerson,
) -> None:
    make_shift(local(3, 5), local(3, 17))  # already running at 06:00
    assign(day_shift, make_person("Ann"))
    make_person("Bob")

    run = computed(make_run(mercy, [four_west]))

    assert names(run) == [("Wed 07:00", "Bob")]


def test_it_keeps_to_the_chosen_units_roles_and_days(
    mercy: GoLive, four_west: Unit, ed: Unit, make_shift: MakeShift, make_person: MakePerson
) -> None:
    make_shift(local(4, 7), local(4, 19), unit=four_west)
    make_shift(local(4, 7), local(4, 19), unit=ed)
    make_shift(local(4, 7), local(4, 19), unit=four_west, role=SupportRole.TRAINER)
    make_shift(local(10, 7), local(10, 19), unit=four_west)
    for name in ("Ann", "Bob", "Cy", "Dee"):
        make_person(name)
    make_person("Tess Trainer", role=SupportRole.TRAINER)

    run = computed(make_run(mercy, [four_west], roles=[SupportRole.SUPER_USER]))

    assert [
        (row.shift.unit, row.shift.role)
        for row in AutoFillProposal.objects.filter(run=run).select_related("shift__unit")
    ] == [(four_west, SupportRole.SUPER_USER)]


def test_it_prefers_the_right_role_then_the_home_unit(
    mercy: GoLive,
    four_west: Unit,
    make_shift: MakeShift,
    make_person: MakePerson,
    sam: SupportPerson,
    vera: SupportPerson,
) -> None:
    make_person("Adam Away")  # a super user from no unit in particular, and first by name
    make_shift(local(4, 7), local(4, 19), label="Day")

    run = computed(make_run(mercy, [four_west]))

    assert names(run) == [("Wed 07:00", "Sam Super")]


def test_it_spreads_hours_across_people(
    mercy: GoLive, four_west: Unit, make_shift: MakeShift, make_person: MakePerson
) -> None:
    for day in range(4, 8):
        make_shift(local(day, 7), local(day, 19))
    make_person("Ann")
    make_person("Bob")

    run = computed(make_run(mercy, [four_west]))

    assert names(run) == [
        ("Wed 07:00", "Ann"),
        ("Thu 07:00", "Bob"),
        ("Fri 07:00", "Ann"),
        ("Sat 07:00", "Bob"),
    ]


def test_it_counts_hours_already_assigned_in_the_range(
    mercy: GoLive, four_west: Unit, ed: Unit, make_shift: MakeShift, make_person: MakePerson
) -> None:
    ann = make_person("Ann")
    make_person("Bob")
    assign(make_shift(local(4, 7), local(4, 19), unit=ed), ann)
    make_shift(local(6, 7), local(6, 19))

    run = computed(make_run(mercy, [four_west]))

    assert names(run) == [("Fri 07:00", "Bob")]


def test_with_equal_hours_it_gives_the_night_to_the_person_with_fewer_nights(
    mercy: GoLive, four_west: Unit, ed: Unit, make_shift: MakeShift, make_person: MakePerson
) -> None:
    ann = make_person("Ann")
    bob = make_person("Bob")
    assign(make_shift(local(4, 19), local(5, 7), unit=ed), ann)
    assign(make_shift(local(4, 7), local(4, 19), unit=ed), bob)
    make_shift(local(6, 19), local(7, 7), label="Night")

    run = computed(make_run(mercy, [four_west]))

    assert names(run) == [("Fri 19:00", "Bob")]


def test_it_never_proposes_an_overlap_with_an_assignment_or_another_proposal(
    mercy: GoLive, four_west: Unit, ed: Unit, make_shift: MakeShift, sam: SupportPerson
) -> None:
    assign(make_shift(local(4, 7), local(4, 19), unit=ed), sam)
    make_shift(local(4, 15), local(4, 23), label="Evening")
    make_shift(local(5, 7), local(5, 19), unit=four_west, label="A")
    make_shift(local(5, 8), local(5, 20), unit=ed, label="B")

    run = computed(make_run(mercy, [four_west, ed], soft=False))

    assert names(run) == [("Thu 07:00", "Sam Super")]
    assert [item["text"] for item in run.unfilled] == [
        "4 West Med/Surg Evening Wed 4 Nov: 1 place — nobody available without breaking a rule "
        "(overlap: 1)",
        "Emergency Department B Thu 5 Nov: 1 place — nobody available without breaking a rule "
        "(overlap: 1)",
    ]


def test_soft_rules_hold_unless_turned_off_and_then_the_warnings_are_recorded(
    mercy: GoLive, four_west: Unit, ed: Unit, make_shift: MakeShift, sam: SupportPerson
) -> None:
    assign(make_shift(local(3, 19), local(4, 7), unit=ed), sam)
    make_shift(local(4, 13), local(4, 21), label="Late")

    kept = computed(make_run(mercy, [four_west]))
    relaxed = computed(make_run(mercy, [four_west], soft=False))

    assert proposed(kept) == []
    assert [item["text"] for item in kept.unfilled] == [
        "4 West Med/Surg Late Wed 4 Nov: 1 place — nobody available without breaking a rule "
        "(rest: 1)"
    ]
    assert kept.unfilled[0]["reasons"] == ["rest: 1"]
    assert [(person, warnings) for _, person, warnings in proposed(relaxed)] == [(sam.pk, ["rest"])]
    assert relaxed.unfilled == []


def test_with_soft_rules_off_it_still_prefers_fewer_warnings_over_fewer_hours(
    mercy: GoLive, four_west: Unit, ed: Unit, make_shift: MakeShift, make_person: MakePerson
) -> None:
    tired = make_person("Ann Tired")
    rested = make_person("Bob Rested")
    assign(make_shift(local(3, 19), local(4, 7), unit=ed), tired)
    assign(make_shift(local(5, 7), local(5, 19), unit=ed), rested)
    assign(make_shift(local(6, 7), local(6, 19), unit=ed), rested)
    make_shift(local(4, 13), local(4, 21))

    run = computed(make_run(mercy, [four_west], soft=False))

    assert [(person, warnings) for _, person, warnings in proposed(run)] == [(rested.pk, [])]


def test_with_soft_rules_off_a_person_of_another_role_fills_a_gap_with_a_warning(
    mercy: GoLive, four_west: Unit, make_shift: MakeShift, vera: SupportPerson
) -> None:
    make_shift(local(4, 7), local(4, 19))

    kept = computed(make_run(mercy, [four_west]))
    relaxed = computed(make_run(mercy, [four_west], soft=False))

    assert [item["text"] for item in kept.unfilled] == [
        "4 West Med/Surg Super user Wed 4 Nov: 1 place — nobody on the roster is a super user"
    ]
    assert [(person, warnings) for _, person, warnings in proposed(relaxed)] == [
        (vera.pk, ["role"])
    ]


def test_it_needs_the_skill_a_shift_asks_for(
    mercy: GoLive,
    four_west: Unit,
    orders_app: Application,
    make_shift: MakeShift,
    make_person: MakePerson,
) -> None:
    make_person("Ann")
    knows = make_person("Zed Orders")
    knows.skills.add(orders_app)
    make_shift(local(4, 7), local(4, 19), application=orders_app, label="Orders")
    make_shift(local(5, 7), local(5, 19), application=orders_app, needed=2, label="Orders")

    run = computed(make_run(mercy, [four_west]))

    assert names(run) == [("Wed 07:00", "Zed Orders"), ("Thu 07:00", "Zed Orders")]
    assert [item["text"] for item in run.unfilled] == [
        "4 West Med/Surg Orders Thu 5 Nov: 1 place — nobody available without breaking a rule "
        "(overlap: 1, skill: 1)"
    ]


def test_it_skips_people_who_are_inactive_unavailable_or_on_another_go_live(
    mercy: GoLive,
    four_west: Unit,
    lakeside: GoLive,
    make_shift: MakeShift,
    make_person: MakePerson,
) -> None:
    make_person("Ann Away", is_active=False)
    busy = make_person("Bob Busy")
    Unavailability.objects.create(person=busy, start=local(4, 0), end=local(5, 0))
    SupportPerson.objects.create(
        go_live=lakeside, name="Al Lake", role=SupportRole.SUPER_USER, email="al@lake.example"
    )
    make_shift(local(4, 7), local(4, 19))

    run = computed(make_run(mercy, [four_west]))

    assert proposed(run) == []
    assert run.unfilled[0]["reasons"] == ["unavailable: 1"]


def test_running_twice_on_the_same_input_gives_the_same_proposal(
    mercy: GoLive, four_west: Unit, ed: Unit, make_shift: MakeShift, make_person: MakePerson
) -> None:
    for day in range(4, 9):
        for unit in (four_west, ed):
            make_shift(local(day, 7), local(day, 19), unit=unit, needed=2)
            make_shift(local(day, 19), local(day + 1, 7), unit=unit)
    for number in range(8):
        make_person(f"Person {number}", home_unit=(four_west, ed, None)[number % 3])

    first = computed(make_run(mercy, [four_west, ed]))
    second = computed(make_run(mercy, [ed, four_west]))

    assert proposed(first) == proposed(second)
    assert first.unfilled == second.unfilled
    assert len(proposed(first)) > 10


def test_a_missing_or_started_run_is_left_alone(mercy: GoLive, four_west: Unit) -> None:
    assert compute_proposal(run_id=987654) is False
    run = make_run(mercy, [four_west])
    AutoFillRun.objects.filter(pk=run.pk).update(status=AutoFillRun.Status.DISCARDED)

    assert compute_proposal(run_id=run.pk) is False
    run.refresh_from_db()
    assert run.status == AutoFillRun.Status.DISCARDED


# --- A larger set: the rules hold everywhere ------------------------------------------------------


@pytest.fixture
def hospital(mercy: GoLive, mercy_general: Site, orders_app: Application) -> list[Unit]:
    """5 units x 7 days x Day and Night, three people a shift; 60 people, not quite enough.

    The ED's day shifts need Orders; a third of the people may work only 36 h a week; a few are
    away for a day; a quarter are at-the-elbow consultants, who fit no super-user shift.
    """
    units = [Unit.objects.create(site=mercy_general, name=f"Ward {letter}") for letter in "ABCDE"]
    for unit, day in itertools.product(units, range(4, 11)):
        for start, end in ((local(day, 7), local(day, 19)), (local(day, 19), local(day + 1, 7))):
            Shift.objects.create(
                go_live=mercy,
                unit=unit,
                role=SupportRole.SUPER_USER,
                label="Day" if start.hour == 7 else "Night",
                start=start,
                end=end,
                needed=3,
                application=orders_app if unit == units[0] and start.hour == 7 else None,
            )
    for number in range(60):
        person = SupportPerson.objects.create(
            go_live=mercy,
            name=f"Person {number:02}",
            role=SupportRole.AT_THE_ELBOW if number % 4 == 3 else SupportRole.SUPER_USER,
            email=f"p{number}@mercy.example",
            home_unit=units[number % 5] if number % 2 else None,
            max_hours_per_week=36 if number % 3 == 0 else 60,
        )
        if number % 5 == 0:
            person.skills.add(orders_app)
        if number % 10 == 1:
            Unavailability.objects.create(
                person=person, start=local(5 + number % 5, 0), end=local(6 + number % 5, 0)
            )
    return units


def check_hard_rules(run: AutoFillRun) -> dict[int, list[Interval]]:
    """No person twice at once, no shift over its headcount; returns each person's intervals."""
    rows = AutoFillProposal.objects.filter(run=run).select_related("shift")
    per_person: dict[int, list[Interval]] = defaultdict(list)
    per_shift: dict[int, int] = defaultdict(int)
    for row in rows:
        per_person[row.person_id].append(Interval(row.shift.start, row.shift.end))
        per_shift[row.shift_id] += 1
    for intervals in per_person.values():
        intervals.sort(key=lambda interval: interval.start)
        for before, after in itertools.pairwise(intervals):
            assert before.end <= after.start
    needed = dict(Shift.objects.values_list("pk", "needed"))
    assert all(count <= needed[pk] for pk, count in per_shift.items())
    return per_person


def test_a_larger_run_keeps_every_hard_and_soft_rule(
    mercy: GoLive, hospital: list[Unit], now: dt.datetime
) -> None:
    run = computed(make_run(mercy, hospital, 4, 10))

    per_person = check_hard_rules(run)
    staffing = StaffingSettings.for_go_live(mercy)
    rows = AutoFillProposal.objects.filter(run=run).select_related(
        "shift__go_live", "shift__application", "person"
    )
    for row in rows.prefetch_related("person__skills"):
        assert row.warnings == []
        others = [
            interval
            for interval in per_person[row.person_id]
            if interval != Interval(row.shift.start, row.shift.end)
        ]
        windows = [
            Interval(window.start, window.end)
            for window in Unavailability.objects.filter(person=row.person_id)
        ]
        load = PersonLoad(busy=others, unavailable=windows)
        assert soft_warnings(row.person, row.shift, load, staffing) == []
    # 70 shifts x 3 places; the 45 super users can give fewer without breaking a rule.
    assert len(rows) + sum(item["missing"] for item in run.unfilled) == 210
    assert len(rows) > 180
    assert run.unfilled


def test_a_larger_run_spreads_hours_and_nights_across_people(
    mercy: GoLive, hospital: list[Unit], now: dt.datetime
) -> None:
    # Home units come before hours (a super user supports her own unit first): take them away
    # to see the balancing alone.
    Shift.objects.update(needed=1)
    SupportPerson.objects.update(home_unit=None)

    run = computed(make_run(mercy, hospital, 4, 10))

    assert run.unfilled == []
    per_person = check_hard_rules(run)
    available = SupportPerson.objects.filter(role=SupportRole.SUPER_USER).exclude(
        unavailabilities__isnull=False
    )
    hours = [sum(i.hours for i in per_person.get(p.pk, [])) for p in available]
    nights = [
        sum(is_night(i.start, i.end, CHICAGO) for i in per_person.get(p.pk, [])) for p in available
    ]
    # Hours decide first, so nights even out only among people with the same hours.
    assert max(hours) - min(hours) <= 12
    assert max(nights) - min(nights) <= 2


def test_a_larger_run_with_soft_rules_off_keeps_every_hard_rule_and_fills_more(
    mercy: GoLive, hospital: list[Unit], now: dt.datetime
) -> None:
    kept = computed(make_run(mercy, hospital, 4, 10))
    relaxed = computed(make_run(mercy, hospital, 4, 10, soft=False))

    check_hard_rules(relaxed)
    assert relaxed.unfilled == []
    assert len(proposed(relaxed)) >= len(proposed(kept))
    assert any(warnings for _, _, warnings in proposed(relaxed))


def test_a_larger_run_gives_the_same_proposal_twice(
    mercy: GoLive, hospital: list[Unit], now: dt.datetime
) -> None:
    first = computed(make_run(mercy, hospital, 4, 10, soft=False))
    second = computed(make_run(mercy, hospital, 4, 10, soft=False))

    assert proposed(first) == proposed(second)


# --- Publishing and discarding --------------------------------------------------------------------


@pytest.fixture
def ready(
    mercy: GoLive,
    four_west: Unit,
    ed: Unit,
    make_shift: MakeShift,
    make_person: MakePerson,
    now: dt.datetime,
) -> Callable[..., AutoFillRun]:
    """A computed run over Wednesday's day shifts on 4 West (2 places) and the ED (1 place)."""

    def make(**options: object) -> AutoFillRun:
        make_shift(local(4, 7), local(4, 19), unit=four_west, needed=2, label="Day")
        make_shift(local(4, 7), local(4, 19), unit=ed, label="Day")
        for name in ("Ann", "Bob", "Cy"):
            make_person(name)
        return computed(make_run(mercy, [four_west, ed], **options))  # type: ignore[arg-type]

    return make


def published(run: AutoFillRun, actor: User, capture: CaptureCallbacks) -> AutoFillRun:
    """The run published as the page does it, the worker's part called directly."""
    with capture() as callbacks:
        start_publishing(run=run, actor=actor)

    assert len(callbacks) == 1
    assert publish_proposals(run_id=run.pk) is True
    run.refresh_from_db()
    return run


def test_publishing_assigns_the_proposal_through_the_normal_rules(
    ready: Callable[..., AutoFillRun],
    manager_maria: User,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    run = published(ready(), manager_maria, django_capture_on_commit_callbacks)

    assert (run.status, run.published_by, run.published_count, run.publish_failures) == (
        AutoFillRun.Status.PUBLISHED,
        manager_maria,
        3,
        [],
    )
    assert (run.progress, run.total) == (3, 3)
    assert run.published_at is not None
    assert set(
        Assignment.objects.values_list("person__name", "assigned_by", "override_reason")
    ) == {
        ("Ann", manager_maria.pk, ""),
        ("Bob", manager_maria.pk, ""),
        ("Cy", manager_maria.pk, ""),
    }
    assert ShiftEvent.objects.filter(action="assigned").count() == 3


def test_starting_to_publish_claims_the_run_and_hands_it_over_only_after_commit(
    ready: Callable[..., AutoFillRun],
    lead_lena: User,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    run = ready()

    with django_capture_on_commit_callbacks() as callbacks:
        start_publishing(run=run, actor=lead_lena)

    assert len(callbacks) == 1
    run.refresh_from_db()
    assert (run.status, run.published_by, run.progress, run.total) == (
        AutoFillRun.Status.PUBLISHING,
        lead_lena,
        0,
        3,
    )
    assert not Assignment.objects.exists()


def test_publishing_twice_enqueues_once_and_assigns_once(
    ready: Callable[..., AutoFillRun],
    lead_lena: User,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    run = ready()

    with django_capture_on_commit_callbacks() as callbacks:
        start_publishing(run=run, actor=lead_lena)
        with pytest.raises(AutoFillError, match="This auto-fill is publishing"):
            start_publishing(run=run, actor=lead_lena)

    assert len(callbacks) == 1
    assert publish_proposals(run_id=run.pk) is True
    # The same message delivered again finds the run published.
    assert publish_proposals(run_id=run.pk) is False
    with pytest.raises(AutoFillError, match="This auto-fill is published"):
        start_publishing(run=run, actor=lead_lena)
    assert Assignment.objects.count() == 3


def test_a_rerun_after_a_crash_assigns_only_the_rest(
    ready: Callable[..., AutoFillRun],
    lead_lena: User,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    run = ready()
    with django_capture_on_commit_callbacks():
        start_publishing(run=run, actor=lead_lena)
    # A worker died after the first two places: they are on the schedule, the run still publishing.
    first, second, _ = run.proposals.order_by("shift__start", "shift__unit__name", "pk")
    for proposal in (first, second):
        assign_person(shift=proposal.shift, person=proposal.person, actor=lead_lena)

    assert publish_proposals(run_id=run.pk) is True

    run.refresh_from_db()
    assert (run.status, run.published_count, run.publish_failures) == (
        AutoFillRun.Status.PUBLISHED,
        3,
        [],
    )
    assert Assignment.objects.count() == 3
    assert ShiftEvent.objects.filter(action="assigned").count() == 3


def test_a_proposal_with_warnings_is_published_with_the_auto_fill_reason(
    mercy: GoLive,
    four_west: Unit,
    make_shift: MakeShift,
    vera: SupportPerson,
    lead_lena: User,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    make_shift(local(4, 7), local(4, 19))
    run = computed(make_run(mercy, [four_west], soft=False))

    published(run, lead_lena, django_capture_on_commit_callbacks)

    assignment = Assignment.objects.get()
    assert (assignment.person, assignment.warnings, assignment.override_reason) == (
        vera,
        ["role"],
        "Auto-fill proposal",
    )


def test_publishing_reports_places_the_schedule_no_longer_allows(
    ready: Callable[..., AutoFillRun],
    make_shift: MakeShift,
    make_person: MakePerson,
    ed: Unit,
    lead_lena: User,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    run = ready()
    bob = SupportPerson.objects.get(name="Bob")
    elsewhere = make_shift(local(4, 6), local(4, 10), unit=ed, role=SupportRole.SUPER_USER)
    assign_person(shift=elsewhere, person=bob, actor=lead_lena, override_reason="Cover")
    # The ED's one place was taken meanwhile by somebody the proposal did not name.
    ed_day = Shift.objects.get(unit=ed, label="Day")
    assign_person(shift=ed_day, person=make_person("Dee"), actor=lead_lena)
    ed_proposal = run.proposals.get(shift=ed_day)

    run = published(run, lead_lena, django_capture_on_commit_callbacks)

    assert (run.status, run.published_count) == (AutoFillRun.Status.PUBLISHED, 1)
    bob_failure, ed_failure = run.publish_failures
    assert (bob_failure["shift"], bob_failure["person"]) == (
        run.proposals.get(person=bob).shift_id,
        bob.pk,
    )
    assert "already works a shift at that time" in bob_failure["message"]
    assert bob_failure["text"].startswith("4 West Med/Surg Day Wed 4 Nov — Bob: ")
    assert (ed_failure["shift"], ed_failure["person"]) == (ed_day.pk, ed_proposal.person_id)
    assert ed_failure["message"] == "This shift is full: 1 of 1 places are taken."
    assert Assignment.objects.filter(shift=ed_day).get().person.name == "Dee"


def test_publishing_shows_its_progress_as_it_goes(
    ready: Callable[..., AutoFillRun],
    lead_lena: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    run = ready()
    seen: list[int] = []

    def assign_and_look(**kwargs: object) -> Assignment:
        seen.append(AutoFillRun.objects.values_list("progress", flat=True).get(pk=run.pk))
        return assign_person(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(autofill, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(autofill, "assign_person", assign_and_look)

    run = published(run, lead_lena, django_capture_on_commit_callbacks)

    assert seen == [0, 1, 2]
    assert (run.progress, run.total) == (3, 3)


def test_an_error_while_publishing_puts_the_proposal_back_to_publish_again(
    ready: Callable[..., AutoFillRun],
    lead_lena: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    run = ready()
    calls: list[object] = []

    def assign_then_break(**kwargs: object) -> Assignment:
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return assign_person(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(autofill, "assign_person", assign_then_break)
    with django_capture_on_commit_callbacks():
        start_publishing(run=run, actor=lead_lena)

    assert publish_proposals(run_id=run.pk) is False

    run.refresh_from_db()
    assert run.status == AutoFillRun.Status.PROPOSED
    assert "Publishing stopped on an error (RuntimeError). Publish again" in run.error
    assert Assignment.objects.count() == 1
    monkeypatch.setattr(autofill, "assign_person", assign_person)
    run = published(run, lead_lena, django_capture_on_commit_callbacks)
    assert (run.status, run.published_count, run.error) == (AutoFillRun.Status.PUBLISHED, 3, "")
    assert Assignment.objects.count() == 3


def test_a_discarded_proposal_cannot_be_published(
    ready: Callable[..., AutoFillRun], lead_lena: User
) -> None:
    run = ready()

    discard_run(run=run)

    run.refresh_from_db()
    assert run.status == AutoFillRun.Status.DISCARDED
    with pytest.raises(AutoFillError, match="only a proposal that is ready can be published"):
        start_publishing(run=run, actor=lead_lena)
    assert publish_proposals(run_id=run.pk) is False
    with pytest.raises(AutoFillError, match="nothing to discard"):
        discard_run(run=run)
    assert not Assignment.objects.exists()


def test_publishing_a_missing_run_does_nothing(db: None) -> None:
    assert publish_proposals(run_id=987654) is False


def test_a_run_discarded_while_it_waits_is_never_computed(
    mercy: GoLive, four_west: Unit, day_shift: Shift, make_person: MakePerson
) -> None:
    make_person("Ann")
    run = make_run(mercy, [four_west])

    discard_run(run=run)

    assert compute_proposal(run_id=run.pk) is False
    assert not AutoFillProposal.objects.exists()


def test_starting_a_run_records_it_and_hands_it_over_only_after_commit(
    mercy: GoLive,
    four_west: Unit,
    lead_lena: User,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        run = autofill.start_autofill(
            go_live=mercy,
            actor=lead_lena,
            start_date=dt.date(2026, 11, 4),
            end_date=dt.date(2026, 11, 5),
            units=[four_west],
            roles=[SupportRole.SUPER_USER],
            respect_soft_rules=False,
        )

    assert len(callbacks) == 1
    assert (run.status, run.roles, run.respect_soft_rules, run.created_by) == (
        AutoFillRun.Status.QUEUED,
        [SupportRole.SUPER_USER],
        False,
        lead_lena,
    )
    assert list(run.units.all()) == [four_west]
