"""The coverage grid and the shift panel: building the grid, ranking eligible people, shift edits.

The grid is built from one aggregate query (shifts with their active-assignment counts) and
grouped in Python, so its query count does not grow with units or days. The panel ranks every
active person of the go-live with `staffing.rules` from one `load_people` call.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString

from golive.lib.urls import url_format
from golive.models import Application, GoLive, Membership, Role, Unit
from golive.permissions import managed_units
from staffing.models import (
    ACTIVE_STATUSES,
    Assignment,
    Shift,
    ShiftEvent,
    StaffingSettings,
    SupportPerson,
    SupportRole,
)
from staffing.rules import Candidate, load_people, rank_candidates
from staffing.services import describe, first_reminder_at, record_event, tell_person

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

MAX_DAYS = 28
DEFAULT_DAYS = 7
MAX_SHIFT_HOURS = 24

# Short role names keep 56 columns readable; the aria-label and the legend spell them out.
ROLE_SHORT = {
    SupportRole.SUPER_USER: "SU",
    SupportRole.AT_THE_ELBOW: "ATE",
    SupportRole.TRAINER: "TR",
    SupportRole.VENDOR_CONSULTANT: "VC",
    SupportRole.ANALYST: "AA",
    SupportRole.HELP_DESK: "HD",
    SupportRole.TECHNICAL: "TS",
    SupportRole.PHYSICIAN_CHAMPION: "PC",
    SupportRole.NURSE_CHAMPION: "NC",
    SupportRole.COMMAND_CENTER_LEAD: "CC",
}


@dataclass(frozen=True)
class Status:
    code: str
    word: str
    mark: str


NONE = Status("none", "none", "✕")
SHORT = Status("short", "short", "◐")
MET = Status("met", "met", "✓")
OVER = Status("over", "over", "+")
EMPTY = Status("empty", "no shift", "—")
STATUSES = (NONE, SHORT, MET, OVER, EMPTY)


def status_of(assigned: int, needed: int) -> Status:
    if assigned == 0:
        return NONE
    if assigned < needed:
        return SHORT
    if assigned == needed:
        return MET
    return OVER


def day_label(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def hours_label(hours: float) -> str:
    return f"{round(hours, 2):g} h"


# --- The grid -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridFilters:
    start: dt.date
    days: int = DEFAULT_DAYS
    site_id: int | None = None
    unit_id: int | None = None
    role: str = ""

    @property
    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range(self.days)]


@dataclass(frozen=True)
class Block:
    """One column of a day: the shifts starting at one local time (None: the day has no shifts)."""

    time: dt.time | None
    label: str

    @property
    def key(self) -> str:
        return f"{self.time:%H%M}" if self.time is not None else "none"


@dataclass(frozen=True)
class Line:
    """One shift in a cell: `assigned/needed` of one role."""

    shift_id: int
    role_short: str
    assigned: int
    needed: int
    status: Status
    url: str
    spoken: str


@dataclass(frozen=True)
class Cell:
    id: str
    lines: list[Line]

    def render(self, *, oob: bool = False) -> SafeString:
        """The cell's <td>, built here rather than in a template: a grid has 2,000 of them.

        Only the spoken words carry user text (the unit's name); they are escaped.
        """
        swap = ' hx-swap-oob="true"' if oob else ""
        if not self.lines:
            return SafeString(
                f'<td id="{self.id}" class="gl-cell gl-empty"{swap}><span aria-hidden="true">—'
                '</span><span class="visually-hidden">No shift</span></td>'
            )
        # What a sighted user reads (role, mark, counts) is hidden from screen readers, which
        # read the words instead: an aria-label would hide from speech input the text on screen.
        lines = "".join(
            f'<a class="gl-line gl-{line.status.code}" href="{line.url}" '
            f'data-status="{line.status.code}"><span class="gl-seen" aria-hidden="true">'
            f'<span class="gl-role">{line.role_short}</span>'
            f'<span class="gl-mark">{line.status.mark}</span>'
            f"{line.assigned}/{line.needed}</span>"
            f'<span class="visually-hidden">{escape(line.spoken)}</span></a>'
            for line in self.lines
        )
        return SafeString(f'<td id="{self.id}" class="gl-cell"{swap}>{lines}</td>')

    @property
    def oob_html(self) -> SafeString:
        return self.render(oob=True)


@dataclass
class DaySummary:
    id: str
    needed: int = 0
    assigned: int = 0
    open: int = 0

    @property
    def percent(self) -> int | None:
        if not self.needed:
            return None
        return round(100 * (self.needed - self.open) / self.needed)


@dataclass
class Day:
    date: dt.date
    label: str
    is_today: bool
    blocks: list[Block]
    summary: DaySummary


@dataclass
class Row:
    unit: Unit
    cells: list[Cell]

    @property
    def cells_html(self) -> SafeString:
        return SafeString("".join(cell.render() for cell in self.cells))


@dataclass
class SiteGroup:
    name: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Grid:
    days: list[Day]
    sites: list[SiteGroup]

    @property
    def column_count(self) -> int:
        return 1 + sum(len(day.blocks) for day in self.days)


def grid_units(membership: Membership) -> list[Unit]:
    """Active units a member sees on the grid: a clinic manager's own, everyone else's all."""
    if membership.role == Role.CLINIC_MANAGER:
        units = managed_units(membership)
    else:
        units = Unit.objects.filter(site__go_live_id=membership.go_live_id)
    return list(units.filter(is_active=True).select_related("site").order_by("site__name", "name"))


def local_midnight(day: dt.date, go_live: GoLive) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=go_live.tzinfo)


def build_grid(*, go_live: GoLive, units: list[Unit], filters: GridFilters) -> Grid:
    """The coverage grid of `units` over the filter's days, from one aggregate query."""
    units = [
        unit
        for unit in units
        if (filters.site_id is None or unit.site_id == filters.site_id)
        and (filters.unit_id is None or unit.pk == filters.unit_id)
    ]
    dates = filters.dates
    shifts = (
        Shift.objects.filter(
            go_live=go_live,
            unit_id__in=[unit.pk for unit in units],
            start__gte=local_midnight(dates[0], go_live),
            start__lt=local_midnight(dates[-1] + dt.timedelta(days=1), go_live),
        )
        .filter(**({"role": filters.role} if filters.role else {}))
        .annotate(active=Count("assignments", filter=Q(assignments__status__in=ACTIVE_STATUSES)))
        .order_by("start", "role", "pk")
        .values_list("pk", "unit_id", "role", "label", "start", "needed", "active")
    )

    tz = go_live.tzinfo
    # (unit, date, local start time) -> the shifts starting there
    by_cell: dict[tuple[int, dt.date, dt.time], list[tuple[int, str, int, int]]] = defaultdict(list)
    labels: dict[tuple[dt.date, dt.time], Counter[str]] = defaultdict(Counter)
    summaries = {day: DaySummary(id=f"summary-{day:%Y%m%d}") for day in dates}
    for pk, unit_id, role, label, start, needed, active in shifts:
        local = start.astimezone(tz)
        day, time = local.date(), local.time().replace(tzinfo=None)
        by_cell[unit_id, day, time].append((pk, role, needed, active))
        labels[day, time][label] += 1
        summary = summaries[day]
        summary.needed += needed
        summary.assigned += active
        summary.open += max(needed - active, 0)

    today = go_live.local_now().date()
    days = []
    for day in dates:
        times = sorted(time for (d, time) in labels if d == day)
        blocks = [Block(time, _block_label(time, labels[day, time])) for time in times] or [
            Block(None, "No shifts")
        ]
        days.append(Day(day, day_label(day), day == today, blocks, summaries[day]))

    # Reversing once and formatting keeps 2,000 links cheap.
    url_pattern = url_format("staffing:shift_detail")
    role_labels = {role: label.lower() for role, label in SupportRole.choices}
    columns = [
        (day, block, f"{day.date:%Y%m%d}-{block.key}") for day in days for block in day.blocks
    ]
    groups: dict[int, SiteGroup] = {}
    for unit in units:
        group = groups.setdefault(unit.site_id, SiteGroup(unit.site.name))
        cells = []
        for day, block, key in columns:
            lines = []
            for pk, role, needed, active in by_cell.get((unit.pk, day.date, block.time), ()):
                status = status_of(active, needed)
                lines.append(
                    Line(
                        shift_id=pk,
                        role_short=ROLE_SHORT[role],
                        assigned=active,
                        needed=needed,
                        status=status,
                        url=url_pattern.format(pk),
                        spoken=f"{unit.name}, {day.label}, {block.label}, "
                        f"{role_labels[role]}: {active} of {needed} assigned, {status.word}",
                    )
                )
            cells.append(Cell(f"cell-{unit.pk}-{key}", lines))
        group.rows.append(Row(unit, cells))
    return Grid(days=days, sites=list(groups.values()))


def _block_label(time: dt.time, labels: Counter[str]) -> str:
    named = sorted((-count, label) for label, count in labels.items() if label)
    if named:
        return f"{named[0][1]} {time:%H:%M}"
    return f"{time:%H:%M}"


def shift_cell(
    *, go_live: GoLive, units: list[Unit], filters: GridFilters, shift: Shift
) -> tuple[Cell, Day] | None:
    """The grid cell holding `shift` and its day, as the grid with `filters` shows them.

    Used to update one cell and the day's summary in place after a change; None when that grid
    does not show the shift.
    """
    day = timezone.localtime(shift.start, go_live.tzinfo).date()
    if day not in filters.dates:
        return None
    grid = build_grid(go_live=go_live, units=units, filters=replace(filters, start=day, days=1))
    for group in grid.sites:
        for row in group.rows:
            for cell in row.cells:
                if any(line.shift_id == shift.pk for line in cell.lines):
                    return cell, grid.days[0]
    return None


# --- Eligible people ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligible:
    candidates: list[Candidate]
    total: int
    search: str


def eligible_people(
    *, shift: Shift, staffing: StaffingSettings, search: str = "", limit: int = 25
) -> Eligible:
    """Active people of the go-live who could take a place on `shift`, best first.

    Three or four queries whatever the roster's size: the people (with home unit), their skills
    when the shift asks for an application, and one `load_people` call (two queries).
    `shift` must come with `go_live` and `application` loaded.
    """
    people = SupportPerson.objects.active().filter(go_live_id=shift.go_live_id)
    search = search.strip()
    if search:
        people = people.filter(Q(name__icontains=search) | Q(email__icontains=search))
    # Only what the rules and the list read: building 1,500 full rows costs more than ranking them.
    people = people.annotate(home_unit_name=F("home_unit__name")).only(
        "name",
        "role",
        "go_live_id",
        "home_unit_id",
        "max_hours_per_shift",
        "max_hours_per_day",
        "max_hours_per_week",
    )
    if shift.application_id is not None:
        people = people.prefetch_related("skills")
    roster = list(people)
    loads = load_people(None, shift.start, shift.end, go_live_id=shift.go_live_id)
    ranked = rank_candidates(shift, roster, loads, staffing)
    return Eligible(candidates=ranked[:limit], total=len(ranked), search=search)


@dataclass(frozen=True)
class PersonFacts:
    candidate: Candidate
    role: str
    role_matches: bool
    home_unit: str
    is_home_unit: bool
    hours: str
    skill: str
    skill_matches: bool | None

    @classmethod
    def of(cls, candidate: Candidate, shift: Shift) -> PersonFacts:
        person = candidate.person
        skill, matches = "", None
        if shift.application_id is not None:
            matches = shift.application_id in {skill.pk for skill in person.skills.all()}
            assert shift.application is not None
            skill = (
                f"Knows {shift.application.name}"
                if matches
                else f"Not listed for {shift.application.name}"
            )
        return cls(
            candidate=candidate,
            role=person.get_role_display(),
            role_matches=person.role == shift.role,
            home_unit=person.home_unit_name or "No home unit",  # type: ignore[attr-defined]
            is_home_unit=candidate.home_unit,
            hours=hours_label(candidate.hours_this_week),
            skill=skill,
            skill_matches=matches,
        )


def person_facts(candidates: Iterable[Candidate], shift: Shift) -> list[PersonFacts]:
    """What a manager weighs for each candidate, in words the panel shows."""
    return [PersonFacts.of(candidate, shift) for candidate in candidates]


# --- The shift's story ----------------------------------------------------------------------------

ACTION_LABELS = {
    "created": "Shift created",
    "assigned": "Assigned",
    "cancelled": "Cancelled",
    "status": "Status changed",
    "checked_in": "Checked in",
    "times": "Times changed",
    "needed": "Places changed",
    "label": "Name changed",
    "retimed": "Assignment moved with the shift",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    who: str
    what: str
    old: str
    new: str
    note: str


def timeline(shift: Shift) -> list[TimelineEntry]:
    """The shift's append-only events, oldest first, in words."""
    events = ShiftEvent.objects.filter(shift=shift).select_related("actor").order_by("at", "pk")
    return [
        TimelineEntry(
            at=event.at,
            who=(event.actor.get_full_name() or event.actor.get_username())
            if event.actor
            else "golive",
            what=ACTION_LABELS.get(event.action, event.action.replace("_", " ").capitalize()),
            old=event.old,
            new=event.new,
            note=event.note,
        )
        for event in events
    ]


# --- Creating and editing shifts ------------------------------------------------------------------


class ShiftRefused(Exception):
    """A change to a shift that the rules do not allow; the message says why."""


def times_label(start: dt.datetime, end: dt.datetime, go_live: GoLive) -> str:
    local_start = timezone.localtime(start, go_live.tzinfo)
    local_end = timezone.localtime(end, go_live.tzinfo)
    if local_start.date() == local_end.date():
        return f"{day_label(local_start.date())} {local_start:%H:%M}–{local_end:%H:%M}"
    return (
        f"{day_label(local_start.date())} {local_start:%H:%M}–"
        f"{day_label(local_end.date())} {local_end:%H:%M}"
    )


def check_times(start: dt.datetime, end: dt.datetime) -> None:
    # In UTC: two datetimes of one ZoneInfo subtract as wall-clock times, wrong across DST.
    length = end.astimezone(dt.UTC) - start.astimezone(dt.UTC)
    if length <= dt.timedelta(0):
        raise ShiftRefused("The shift must end after it starts.")
    if length > dt.timedelta(hours=MAX_SHIFT_HOURS):
        raise ShiftRefused(f"A shift lasts at most {MAX_SHIFT_HOURS} hours; split longer cover.")


def check_places(needed: int, active: int) -> None:
    """A shift has at least one place, and never fewer than the people on it."""
    if needed < 1:
        raise ShiftRefused("A shift needs at least one place.")
    if needed < active:
        raise ShiftRefused(
            f"{active} {'person is' if active == 1 else 'people are'} on this shift: keep at "
            f"least {active} place{'s' if active != 1 else ''} or cancel someone first."
        )


@transaction.atomic
def create_shift(
    *,
    unit: Unit,
    role: str,
    start: dt.datetime,
    end: dt.datetime,
    needed: int,
    actor: AbstractBaseUser | None,
    label: str = "",
    application: Application | None = None,
    allow_claim: bool = False,
) -> Shift:
    """A one-off shift outside any coverage requirement."""
    check_times(start, end)
    check_places(needed, 0)
    if end <= timezone.now():
        raise ShiftRefused("This shift would already be over; choose times still to come.")
    go_live = unit.site.go_live
    if application is not None and application.go_live_id != go_live.pk:
        raise ShiftRefused("Choose an application of this go-live.")
    shift = Shift.objects.create(
        go_live=go_live,
        unit=unit,
        role=role,
        label=label,
        start=start,
        end=end,
        needed=needed,
        application=application,
        allow_claim=allow_claim,
    )
    record_event(
        shift=shift,
        action="created",
        actor=actor,
        new=f"{times_label(start, end, go_live)}, {needed} place{'s' if needed != 1 else ''}",
    )
    return shift


@transaction.atomic
def edit_shift(
    *,
    shift: Shift,
    start: dt.datetime,
    end: dt.datetime,
    needed: int,
    actor: AbstractBaseUser | None,
    label: str | None = None,
) -> Shift:
    """Change a shift's times, places or name; its active assignments move with it.

    Refused when fewer places than active people would remain, when the shift is over, or when
    the new times would overlap another shift of someone on it.
    """
    shift = (
        Shift.objects.select_for_update(of=("self",))
        .select_related("go_live", "unit__site")
        .get(pk=shift.pk)
    )
    check_times(start, end)
    active = list(
        Assignment.objects.filter(shift=shift, status__in=ACTIVE_STATUSES)
        .select_for_update(of=("self",))
        .select_related("person__go_live", "person__user")
    )
    check_places(needed, len(active))
    go_live = shift.go_live
    old_times = times_label(shift.start, shift.end, go_live)
    new_times = times_label(start, end, go_live)
    retimed = (start, end) != (shift.start, shift.end)
    if retimed and shift.end <= timezone.now():
        raise ShiftRefused("This shift is over; its times can no longer change.")
    if retimed and active:
        _move_assignments(
            shift=shift, active=active, start=start, end=end, actor=actor, change=new_times
        )

    changes: list[tuple[str, str, str]] = []
    if retimed:
        changes.append(("times", old_times, new_times))
    if needed != shift.needed:
        changes.append(("needed", str(shift.needed), str(needed)))
    if label is not None and label != shift.label:
        changes.append(("label", shift.label, label))
    if not changes:
        return shift
    shift.start, shift.end, shift.needed = start, end, needed
    if label is not None:
        shift.label = label
    shift.sequence = F("sequence") + 1
    shift.save(update_fields=["start", "end", "needed", "label", "sequence"])
    shift.refresh_from_db(fields=["sequence"])
    for action, old, new in changes:
        record_event(shift=shift, action=action, actor=actor, old=old, new=new)
    if retimed:
        for assignment in active:
            tell_person(
                person=assignment.person,
                key=f"retimed:{assignment.pk}:{shift.sequence}",
                subject=f"Shift times changed: {describe(shift)}",
                body=f"Your shift on {shift.unit.name} ({shift.unit.site.name}) was {old_times}; "
                f"it is now {new_times}.",
            )
    return shift


def _move_assignments(
    *,
    shift: Shift,
    active: list[Assignment],
    start: dt.datetime,
    end: dt.datetime,
    actor: AbstractBaseUser | None,
    change: str,
) -> None:
    """Re-time the shift's active assignments, refusing if someone would work two shifts at once.

    `change` is the new times in words, for the assignments' events.
    """
    clash = (
        Assignment.objects.active()
        .filter(person_id__in=[a.person_id for a in active], period__overlap=(start, end))
        .exclude(shift=shift)
        .select_related("person", "shift__go_live", "shift__unit__site")
        .order_by("person__name")
        .first()
    )
    if clash is not None:
        raise ShiftRefused(
            f"{clash.person.name} already works {describe(clash.shift)}; "
            "the new times would overlap it."
        )
    staffing = StaffingSettings.for_go_live(shift.go_live)
    old_times = times_label(shift.start, shift.end, shift.go_live)
    try:
        # A savepoint: an overlapping assignment committed meanwhile trips the exclusion
        # constraint, and the refusal must leave the outer transaction usable for the rollback.
        with transaction.atomic():
            for assignment in active:
                assignment.period = DateTimeTZRange(start, end, "[)")
                assignment.sequence = F("sequence") + 1
                fields = ["period", "sequence"]
                if assignment.status != Assignment.Status.CHECKED_IN:
                    assignment.next_reminder_at = first_reminder_at(start, staffing)
                    assignment.late_check_at = start + dt.timedelta(
                        minutes=staffing.late_after_minutes
                    )
                    fields += ["next_reminder_at", "late_check_at"]
                assignment.save(update_fields=fields)
    except IntegrityError as exc:
        if "assignment_no_overlap_per_person" in str(exc):
            raise ShiftRefused(
                "Someone on this shift was just booked elsewhere at the new times; "
                "reload the shift and try again."
            ) from exc
        raise
    for assignment in active:
        record_event(
            shift=shift,
            assignment=assignment,
            action="retimed",
            actor=actor,
            old=f"{assignment.person.name}: {old_times}",
            new=change,
        )
