"""The scheduling rules: what stops an assignment (hard) and what a manager must override (soft).

Hard rules are also enforced by PostgreSQL (no overlapping active assignments per person; the shift
row lock for headcount) — here they only give the early, readable answer. Soft rules are pure
functions over a person's busy intervals, loaded in bulk so that ranking 1,500 people for one
shift costs two queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DateTimeField, Func, Q
from django.utils import timezone

from staffing.models import (
    Assignment,
    Shift,
    StaffingSettings,
    SupportPerson,
    SupportRole,
    Unavailability,
)

WEEK = dt.timedelta(days=7)
# A plain dict: get_FOO_display() per person is a measurable share of ranking a large roster.
ROLE_LABELS = dict(SupportRole.choices)


@dataclass(frozen=True)
class RuleWarning:
    code: str
    message: str


SOFT_CODES = {
    "rest": "Rest",
    "shift_hours": "Shift length",
    "day_hours": "Hours in the day",
    "week_hours": "Hours in 7 days",
    "role": "Role",
    "skill": "Skill",
    "unavailable": "Unavailable",
}


@dataclass(frozen=True)
class Interval:
    """[start, end) held in UTC: Python compares and subtracts datetimes that share one ZoneInfo
    as wall-clock times, which is wrong across a DST change."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        # Rows from PostgreSQL are in UTC already: skip the conversion for the common case.
        if self.start.tzinfo is not dt.UTC:
            object.__setattr__(self, "start", self.start.astimezone(dt.UTC))
        if self.end.tzinfo is not dt.UTC:
            object.__setattr__(self, "end", self.end.astimezone(dt.UTC))

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def clipped_hours(self, start: dt.datetime, end: dt.datetime) -> float:
        lo, hi = max(self.start, start), min(self.end, end)
        return max((hi - lo).total_seconds() / 3600, 0.0)


@dataclass
class PersonLoad:
    """A person's active assignments and unavailable windows near the shifts being considered."""

    busy: list[Interval] = field(default_factory=list)
    unavailable: list[Interval] = field(default_factory=list)

    def hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        return sum(interval.clipped_hours(start, end) for interval in self.busy)


def load_people(
    person_ids: Iterable[int] | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    go_live_id: int | None = None,
) -> dict[int, PersonLoad]:
    """Busy intervals within a week either side of [start, end), for many people in two queries.

    Pass `go_live_id` (and None for the ids) to load everybody of a go-live: for a whole roster
    that is much cheaper than a list of 1,500 ids as query parameters.
    """
    who = (
        Q(person__go_live_id=go_live_id)
        if person_ids is None
        else Q(person_id__in=list(person_ids))
    )
    loads: dict[int, PersonLoad] = defaultdict(PersonLoad)
    # The bounds as two columns: psycopg builds a Range object per row otherwise, which is most
    # of the cost when ranking a large roster.
    rows = (
        Assignment.objects.active()
        .filter(who, period__overlap=(start - WEEK, end + WEEK))
        .order_by()  # the model's ordering joins shift and person: not needed here
        .values_list(
            "person_id",
            Func("period", function="lower", output_field=DateTimeField()),
            Func("period", function="upper", output_field=DateTimeField()),
        )
    )
    for person_id, busy_start, busy_end in rows:
        loads[person_id].busy.append(Interval(busy_start, busy_end))
    windows = (
        Unavailability.objects.filter(who, start__lt=end + WEEK, end__gt=start - WEEK)
        .order_by()
        .values_list("person_id", "start", "end")
    )
    for person_id, window_start, window_end in windows:
        loads[person_id].unavailable.append(Interval(window_start, window_end))
    for load in loads.values():
        load.busy.sort(key=lambda interval: interval.start)
    return loads


def overlaps_busy(shift: Shift, load: PersonLoad) -> bool:
    """The hard rule PostgreSQL enforces: a person works one shift at a time."""
    interval = Interval(shift.start, shift.end)
    return any(interval.overlaps(busy) for busy in load.busy)


def _fmt(hours: float | Decimal) -> str:
    return f"{float(hours):g} h"


@dataclass(frozen=True)
class ShiftFacts:
    """What the rules need of a shift, worked out once when many people are checked against it."""

    interval: Interval
    tz: dt.tzinfo
    day: dt.date
    rest: dt.timedelta

    @classmethod
    def of(cls, shift: Shift, staffing: StaffingSettings) -> ShiftFacts:
        interval = Interval(shift.start, shift.end)
        tz = shift.go_live.tzinfo
        return cls(
            interval=interval,
            tz=tz,
            day=timezone.localtime(interval.start, tz).date(),
            rest=dt.timedelta(hours=staffing.min_rest_hours),
        )


def soft_warnings(
    person: SupportPerson,
    shift: Shift,
    load: PersonLoad,
    staffing: StaffingSettings,
    facts: ShiftFacts | None = None,
) -> list[RuleWarning]:
    """Soft rules for putting `person` on `shift`, given the person's other active assignments.

    `load.busy` must not contain this shift's own interval for this person. Ranking a roster
    passes the shift's `facts`, computed once.
    """
    facts = facts or ShiftFacts.of(shift, staffing)
    warnings: list[RuleWarning] = []
    this, tz, day, rest = facts.interval, facts.tz, facts.day, facts.rest

    before = [b for b in load.busy if b.end <= this.start]
    after = [b for b in load.busy if b.start >= this.end]
    if before and this.start - max(b.end for b in before) < rest:
        gap = (this.start - max(b.end for b in before)).total_seconds() / 3600
        warnings.append(
            RuleWarning("rest", f"Only {_fmt(round(gap, 1))} of rest after the previous shift.")
        )
    elif after and min(b.start for b in after) - this.end < rest:
        gap = (min(b.start for b in after) - this.end).total_seconds() / 3600
        warnings.append(
            RuleWarning("rest", f"Only {_fmt(round(gap, 1))} of rest before the next shift.")
        )

    if this.hours > float(person.max_hours_per_shift):
        warnings.append(
            RuleWarning(
                "shift_hours",
                f"The shift lasts {_fmt(round(this.hours, 1))}; "
                f"{person.name}'s limit is {_fmt(person.max_hours_per_shift)} a shift.",
            )
        )

    day_hours = this.hours + sum(
        b.hours for b in load.busy if timezone.localtime(b.start, tz).date() == day
    )
    if day_hours > float(person.max_hours_per_day):
        warnings.append(
            RuleWarning(
                "day_hours",
                f"{_fmt(round(day_hours, 1))} on {day:%a %d %b}; "
                f"the limit is {_fmt(person.max_hours_per_day)} a day.",
            )
        )

    # Every rolling 7-day window holding this shift ends at this shift's end or at a later end
    # within the week; the busiest of them decides.
    ends = [this.end] + [b.end for b in load.busy if this.end < b.end <= this.start + WEEK]
    week_hours = max(
        load.hours_between(end - WEEK, end) + this.clipped_hours(end - WEEK, end) for end in ends
    )
    if week_hours > float(person.max_hours_per_week):
        warnings.append(
            RuleWarning(
                "week_hours",
                f"{_fmt(round(week_hours, 1))} in 7 days; "
                f"the limit is {_fmt(person.max_hours_per_week)}.",
            )
        )

    if person.role != shift.role:
        warnings.append(
            RuleWarning(
                "role",
                f"{person.name} is a {ROLE_LABELS[person.role].lower()}; "
                f"the shift needs a {ROLE_LABELS[shift.role].lower()}.",
            )
        )
    if shift.application_id is not None and shift.application_id not in {
        skill.pk for skill in person.skills.all()
    }:
        warnings.append(
            RuleWarning("skill", f"{person.name} is not listed for {shift.application}.")
        )
    if any(this.overlaps(window) for window in load.unavailable):
        warnings.append(
            RuleWarning("unavailable", f"{person.name} marked this time as unavailable.")
        )
    return warnings


@dataclass(frozen=True)
class Candidate:
    person: SupportPerson
    warnings: list[RuleWarning]
    hours_this_week: float
    home_unit: bool

    @property
    def rank_key(self) -> tuple[int, bool, bool, bool, float, str]:
        codes = {warning.code for warning in self.warnings}
        return (
            len(self.warnings),
            "role" in codes,
            "skill" in codes,
            not self.home_unit,
            self.hours_this_week,
            self.person.name,
        )


def rank_candidates(
    shift: Shift,
    people: Iterable[SupportPerson],
    loads: dict[int, PersonLoad],
    staffing: StaffingSettings,
) -> list[Candidate]:
    """People who could take a place on `shift` (no overlap), best first.

    Best: no warnings, the right role and skill, the unit is their home unit, fewest hours in the
    week before the shift (to spread the load). `people` should prefetch `skills`.
    """
    facts = ShiftFacts.of(shift, staffing)
    idle = PersonLoad()
    candidates = []
    for person in people:
        load = loads.get(person.pk, idle)
        if any(facts.interval.overlaps(busy) for busy in load.busy):
            continue
        candidates.append(
            Candidate(
                person=person,
                warnings=soft_warnings(person, shift, load, staffing, facts),
                hours_this_week=load.hours_between(shift.start - WEEK, shift.start),
                home_unit=person.home_unit_id == shift.unit_id,
            )
        )
    candidates.sort(key=lambda candidate: candidate.rank_key)
    return candidates
