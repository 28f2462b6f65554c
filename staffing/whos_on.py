"""Who is on shift now, and who comes next: the board, its JSON, and whoever routes work to people.

The issues app calls `on_shift` to find whom to route or escalate to ("people on shift now on that
unit who know that application"); the board and its JSON call `now_and_next`. Every call costs at
most three queries whatever the size of the go-live: the shifts in the time window (with unit and
site), the active assignments on them (with the person), and the people's skills.

Shifts are read apart from their assignments on purpose: many people share one shift, and Django
parses each timestamp in Python, so reading the start and end once per shift instead of once per
person is what keeps 1,500 people inside the 30 ms budget. Whether someone is late is computed in
the database for the same reason.

The three statements are written by hand and prepared once per connection (`golive.lib.rows`):
every board refresh, routing decision, escalation and "who do I call" pays for them, and building
them through the ORM cost more than running them. With the staffing bench's data, `on_shift` for
the people on now takes a third of the time it took through the ORM (3.8 ms against 12.4 on the
bench machine), the board's `now_and_next` under half. Ids go as one array parameter
(`= ANY(%s)`), which PostgreSQL plans as it would an IN list, so a statement's text, and its
prepared plan, stay the same however many there are.

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

from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from golive.lib.rows import prepared_cursor
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
    # The application the shift is staffed for, if any: its people count as knowing it.
    application_id: int | None


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
    entries = _collect(go_live, _ON_AT, at, at, sites, units, roles, applications)
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
    entries = _collect(go_live, _STARTING, at, at + within, sites, units, roles, applications)
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
    entries = _collect(go_live, _ON_OR_STARTING, at, at + within, sites, units, roles, applications)
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


# The time windows of the entry points, over the shift `s`: on at `at` (the start inclusive, the
# end exclusive), starting after `at` and before `until`, or either.
_ON_AT = 's.start <= %(at)s AND s."end" > %(at)s'
_STARTING = "s.start > %(at)s AND s.start < %(until)s"
_ON_OR_STARTING = 's.start < %(until)s AND s."end" > %(at)s'

_SHIFTS_SQL = (
    'SELECT s.id, s.start, s."end", s.label, s.role, s.application_id, u.id, u.name, si.id, si.name '
    f"FROM {Shift._meta.db_table} s "
    f"JOIN {Unit._meta.db_table} u ON u.id = s.unit_id "
    f"JOIN {Site._meta.db_table} si ON si.id = u.site_id "
    "WHERE s.go_live_id = %(go_live)s AND "
)
# Whether someone is late: the late sweep sets late_at; until it has run, a passed late check
# already means late.
_ASSIGNMENTS_SQL = (
    "SELECT a.id, a.shift_id, a.status, a.checked_in_at, "
    "a.status <> %(checked_in)s AND (a.late_at IS NOT NULL OR a.late_check_at <= %(at)s), "
    "p.id, p.name, p.role, p.phone, p.sms_number, p.email, p.user_id "
    f"FROM {Assignment._meta.db_table} a "
    f"JOIN {SupportPerson._meta.db_table} p ON p.id = a.person_id "
    "WHERE a.shift_id = ANY(%(shifts)s::bigint[]) AND a.status = ANY(%(active)s::text[])"
)
_PERSON_COLUMNS = slice(5, None)  # of an assignment row: p.id to p.user_id
_SKILLS = SupportPerson.skills.through._meta.db_table
# Knows one of the applications (the skills table's unique person, application index serves it).
_KNOWS_SQL = (
    f"EXISTS (SELECT 1 FROM {_SKILLS} k WHERE k.supportperson_id = a.person_id "
    "AND k.application_id = ANY(%(applications)s::bigint[]))"
)
_SKILLS_SQL = (
    f"SELECT k.supportperson_id, k.application_id, app.name FROM {_SKILLS} k "
    f"JOIN {Application._meta.db_table} app ON app.id = k.application_id "
    "WHERE k.supportperson_id = ANY(%(people)s::bigint[]) ORDER BY app.name"
)


def _collect(
    go_live: GoLive,
    window: str,
    at: dt.datetime,
    until: dt.datetime,
    sites: Ids,
    units: Ids,
    roles: Iterable[str] | None,
    applications: Ids,
) -> list[OnShift]:
    if timezone.is_naive(at):
        # As the ORM would read a naive instant: in the default time zone, not the database's UTC.
        at, until = timezone.make_aware(at), timezone.make_aware(until)
    site_ids, unit_ids, application_ids = _ids(sites), _ids(units), _ids(applications)
    role_names = None if roles is None else [str(role) for role in roles]
    if any(
        ids is not None and not ids for ids in (site_ids, unit_ids, role_names, application_ids)
    ):
        return []  # an empty filter lets nobody through
    with prepared_cursor() as cursor:
        shifts = _shifts(cursor, window, go_live, at, until, site_ids, unit_ids)
        if not shifts:
            return []
        sql = _ASSIGNMENTS_SQL
        params: dict[str, Any] = {
            "shifts": list(shifts),
            "active": list(ACTIVE_STATUSES),
            "checked_in": Assignment.Status.CHECKED_IN.value,
            "at": at,
        }
        if role_names is not None:
            sql += " AND p.role = ANY(%(roles)s::text[])"
            params["roles"] = role_names
        if application_ids is not None:
            sql += f" AND ({_KNOWS_SQL} OR a.shift_id = ANY(%(on_its_shift)s::bigint[]))"
            params["applications"] = application_ids
            params["on_its_shift"] = [
                pk for pk, shift in shifts.items() if shift.application_id in application_ids
            ]
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        people = _people(cursor, rows)
    return [
        OnShift(
            assignment_id=assignment_id,
            person=people[person_id],
            shift=shifts[shift_id],
            status=status,
            status_label=STATUS_LABELS.get(status, status),
            checked_in_at=checked_in_at,
            late=bool(late),
        )
        for assignment_id, shift_id, status, checked_in_at, late, person_id, *_ in rows
    ]


def _shifts(
    cursor: CursorWrapper,
    window: str,
    go_live: GoLive,
    at: dt.datetime,
    until: dt.datetime,
    site_ids: list[int] | None,
    unit_ids: list[int] | None,
) -> dict[int, ShiftTimes]:
    sql = _SHIFTS_SQL + window
    params: dict[str, Any] = {"go_live": go_live.pk, "at": at, "until": until}
    if site_ids is not None:
        sql += " AND u.site_id = ANY(%(sites)s::bigint[])"
        params["sites"] = site_ids
    if unit_ids is not None:
        sql += " AND s.unit_id = ANY(%(units)s::bigint[])"
        params["units"] = unit_ids
    cursor.execute(sql, params)
    units: dict[int, Place] = {}
    sites: dict[int, Place] = {}
    shifts = {}
    for row in cursor.fetchall():
        pk, start, end, label, role, application_id, unit_id, unit, site_id, site = row
        unit_place = units.setdefault(unit_id, Place(unit_id, unit))
        site_place = sites.setdefault(site_id, Place(site_id, site))
        shifts[pk] = ShiftTimes(pk, start, end, label, role, unit_place, site_place, application_id)
    return shifts


def _people(cursor: CursorWrapper, rows: list[tuple[Any, ...]]) -> dict[int, Person]:
    """The people of the assignment rows (see `_collect`), with their skills by name."""
    skill_names: dict[int, list[str]] = defaultdict(list)
    skill_ids: dict[int, list[int]] = defaultdict(list)
    person_rows = {row[_PERSON_COLUMNS] for row in rows}  # one each, however many shifts
    if person_rows:
        cursor.execute(_SKILLS_SQL, {"people": [person[0] for person in person_rows]})
        for person_id, application_id, name in cursor.fetchall():
            skill_names[person_id].append(name)
            skill_ids[person_id].append(application_id)
    people = {}
    for person_id, name, role, phone, sms_number, email, user_id in person_rows:
        people[person_id] = Person(
            id=person_id,
            name=name,
            role=role,
            role_label=ROLE_LABELS.get(role, role),
            phone=phone,
            sms_number=sms_number,
            email=email,
            user_id=user_id,
            skills=tuple(skill_names.get(person_id, ())),
            skill_ids=frozenset(skill_ids.get(person_id, ())),
        )
    return people
