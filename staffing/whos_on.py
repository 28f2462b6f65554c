"""Who is on shift now, and who comes next: the board, its JSON, and whoever routes work to people.

The issues app calls `on_shift` to find whom to route or escalate to ("people on shift now on that
unit who know that application"); the board and its JSON call `now_and_next`. Every call costs at
most three queries whatever the size of the go-live: the shifts in the time window (with unit and
site), the active assignments on them (with the person), and the people's skills.

Shifts are read apart from their assignments on purpose: many people share one shift, and Django
parses each timestamp in Python, so reading the start and end once per shift instead of once per
person is what keeps 1,500 people inside the 30 ms budget. Whether someone is late is computed in
the database for the same reason.

Filters narrow the queries; each is None for "no filter" and an empty collection for "nothing"
(a caller passing the units a manager manages gets nobody when she manages none):

- `sites`, `units`: the shift's site or unit (the shift's `unit, start` index serves them);
- `roles`: the person's support role (a super user covering an at-the-elbow shift is still a
  super user, and is found as one);
- `applications`: people who know any of them (their skills), or whose shift is for one of them;
  an EXISTS over the skills table's unique (person, application) index, so no duplicate rows.

Assignments count when they are active (scheduled, confirmed, checked in) and their shift covers
the instant: the start is inclusive, the end exclusive, so at a 07:00 handover the day shift is on
and the night shift is not.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from golive.models import Application, GoLive, Site, Unit
from staffing.models import ACTIVE_STATUSES, Assignment, Shift, SupportPerson, SupportRole

NEXT_WITHIN = dt.timedelta(hours=12)

STATUS_LABELS = dict(Assignment.Status.choices)
ROLE_LABELS = dict(SupportRole.choices)

Ids = Iterable[int | Unit | Site | Application] | None


# Plain (not frozen) slotted dataclasses: a board of 1,500 people builds thousands of them, and a
# frozen dataclass pays for object.__setattr__ on every field.
@dataclass(slots=True)
class Person:
    id: int
    name: str
    role: str
    role_label: str
    phone: str
    sms_number: str
    email: str
    user_id: int | None
    skills: tuple[str, ...]
    skill_ids: frozenset[int]


@dataclass(slots=True)
class Place:
    id: int
    name: str


@dataclass(slots=True)
class ShiftTimes:
    id: int
    start: dt.datetime
    end: dt.datetime
    label: str
    role: str
    unit: Place
    site: Place


@dataclass(slots=True)
class OnShift:
    """One person on one shift, as seen at the instant `at` the list was made for."""

    assignment_id: int
    person: Person
    shift: ShiftTimes
    status: str
    status_label: str
    checked_in_at: dt.datetime | None
    late: bool

    @property
    def shift_id(self) -> int:
        return self.shift.id

    @property
    def unit(self) -> Place:
        return self.shift.unit

    @property
    def site(self) -> Place:
        return self.shift.site

    @property
    def start(self) -> dt.datetime:
        return self.shift.start

    @property
    def end(self) -> dt.datetime:
        return self.shift.end

    @property
    def checked_in(self) -> bool:
        return self.status == Assignment.Status.CHECKED_IN

    @property
    def hours(self) -> float:
        """The shift's true length: a night across a DST change lasts 11 or 13 hours."""
        return (self.shift.end - self.shift.start).total_seconds() / 3600


@dataclass(frozen=True)
class NowAndNext:
    at: dt.datetime
    on_now: list[OnShift]
    next_on: list[OnShift]


def on_shift(
    *,
    go_live: GoLive,
    at: dt.datetime | None = None,
    sites: Ids = None,
    units: Ids = None,
    roles: Iterable[str] | None = None,
    applications: Ids = None,
) -> list[OnShift]:
    """People whose active assignment's shift covers `at` (default now), by site, unit and name."""
    at = at or timezone.now()
    window = Q(start__lte=at, end__gt=at)
    entries = _collect(go_live, window, at, sites, units, roles, applications)
    return sorted(entries, key=_by_place)


def next_on(
    *,
    go_live: GoLive,
    at: dt.datetime | None = None,
    within: dt.timedelta = NEXT_WITHIN,
    sites: Ids = None,
    units: Ids = None,
    roles: Iterable[str] | None = None,
    applications: Ids = None,
) -> list[OnShift]:
    """People whose active assignment's shift starts after `at` and before `at + within`."""
    at = at or timezone.now()
    window = Q(start__gt=at, start__lt=at + within)
    entries = _collect(go_live, window, at, sites, units, roles, applications)
    return sorted(entries, key=_by_start)


def now_and_next(
    *,
    go_live: GoLive,
    at: dt.datetime | None = None,
    within: dt.timedelta = NEXT_WITHIN,
    sites: Ids = None,
    units: Ids = None,
    roles: Iterable[str] | None = None,
    applications: Ids = None,
) -> NowAndNext:
    """`on_shift` and `next_on` together, from the same three queries."""
    at = at or timezone.now()
    window = Q(start__lt=at + within, end__gt=at)
    entries = _collect(go_live, window, at, sites, units, roles, applications)
    return NowAndNext(
        at=at,
        on_now=sorted((e for e in entries if e.shift.start <= at), key=_by_place),
        next_on=sorted((e for e in entries if e.shift.start > at), key=_by_start),
    )


def _by_place(entry: OnShift) -> tuple[str, str, str, dt.datetime]:
    return (entry.shift.site.name, entry.shift.unit.name, entry.person.name, entry.shift.start)


def _by_start(entry: OnShift) -> tuple[str, str, dt.datetime, str]:
    return (entry.shift.site.name, entry.shift.unit.name, entry.shift.start, entry.person.name)


def _ids(values: Ids) -> list[int] | None:
    if values is None:
        return None
    return [value if isinstance(value, int) else value.pk for value in values]


def _collect(
    go_live: GoLive,
    window: Q,
    at: dt.datetime,
    sites: Ids,
    units: Ids,
    roles: Iterable[str] | None,
    applications: Ids,
) -> list[OnShift]:
    shift_rows = Shift.objects.filter(window, go_live=go_live)
    if (site_ids := _ids(sites)) is not None:
        shift_rows = shift_rows.filter(unit__site_id__in=site_ids)
    if (unit_ids := _ids(units)) is not None:
        shift_rows = shift_rows.filter(unit_id__in=unit_ids)
    shifts = _shifts(shift_rows)
    if not shifts:
        return []

    rows = Assignment.objects.filter(status__in=ACTIVE_STATUSES, shift_id__in=list(shifts))
    if roles is not None:
        rows = rows.filter(person__role__in=list(roles))
    if (application_ids := _ids(applications)) is not None:
        knows = SupportPerson.skills.through.objects.filter(
            supportperson_id=OuterRef("person_id"), application_id__in=application_ids
        )
        on_its_shift = [
            pk for pk, shift in shifts.items() if shift.application_id in application_ids
        ]
        rows = rows.filter(Exists(knows) | Q(shift_id__in=on_its_shift))
    # The late sweep sets late_at; until it has run, a passed late check already means late.
    late = ExpressionWrapper(
        ~Q(status=Assignment.Status.CHECKED_IN)
        & (Q(late_at__isnull=False) | Q(late_check_at__lte=at)),
        output_field=BooleanField(),
    )
    values = list(
        rows.annotate(is_late=late).values_list(
            "pk",
            "shift_id",
            "status",
            "checked_in_at",
            "is_late",
            "person_id",
            "person__name",
            "person__role",
            "person__phone",
            "person__sms_number",
            "person__email",
            "person__user_id",
            named=True,
        )
    )
    people = _people(values, rows.values("person_id"))
    return [
        OnShift(
            assignment_id=row.pk,
            person=people[row.person_id],
            shift=shifts[row.shift_id].times,
            status=row.status,
            status_label=STATUS_LABELS.get(row.status, row.status),
            checked_in_at=row.checked_in_at,
            late=bool(row.is_late),
        )
        for row in values
    ]


@dataclass(slots=True)
class _ShiftRow:
    times: ShiftTimes
    application_id: int | None


def _shifts(rows: QuerySet[Shift]) -> dict[int, _ShiftRow]:
    units: dict[int, Place] = {}
    sites: dict[int, Place] = {}
    shifts = {}
    for row in rows.values_list(
        "pk",
        "start",
        "end",
        "label",
        "role",
        "application_id",
        "unit_id",
        "unit__name",
        "unit__site_id",
        "unit__site__name",
        named=True,
    ):
        unit = units.setdefault(row.unit_id, Place(row.unit_id, row.unit__name))
        site = sites.setdefault(row.unit__site_id, Place(row.unit__site_id, row.unit__site__name))
        times = ShiftTimes(row.pk, row.start, row.end, row.label, row.role, unit, site)
        shifts[row.pk] = _ShiftRow(times, row.application_id)
    return shifts


def _people(values: list[Any], person_ids: QuerySet[Assignment]) -> dict[int, Person]:
    """The people of the assignment rows (named rows of `_collect`), with their skills.

    The skills are chosen by the assignment query as a subquery: a list of 1,500 ids would cost
    more to send than the database spends running the query again.
    """
    skill_names: dict[int, list[str]] = defaultdict(list)
    skill_ids: dict[int, list[int]] = defaultdict(list)
    if values:
        for person_id, application_id, name in (
            SupportPerson.skills.through.objects.filter(supportperson_id__in=person_ids)
            .order_by("application__name")
            .values_list("supportperson_id", "application_id", "application__name")
        ):
            skill_names[person_id].append(name)
            skill_ids[person_id].append(application_id)
    people = {}
    for row in values:
        if row.person_id in people:
            continue
        people[row.person_id] = Person(
            id=row.person_id,
            name=row.person__name,
            role=row.person__role,
            role_label=ROLE_LABELS.get(row.person__role, row.person__role),
            phone=row.person__phone,
            sms_number=row.person__sms_number,
            email=row.person__email,
            user_id=row.person__user_id,
            skills=tuple(skill_names.get(row.person_id, ())),
            skill_ids=frozenset(skill_ids.get(row.person_id, ())),
        )
    return people
