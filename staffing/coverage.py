"""Coverage planning: requirements per unit and role, the ratio helper, and shift generation.

The helper's maths are pure functions (`default_mix`, `full_headcount`, `taper`); the writes are
services that run in one transaction and write a ShiftEvent for every shift they create or change.
Generation is repeatable: one shift per requirement and start (a unique constraint), and a
regeneration never deletes or re-times a shift somebody works on — it lists it instead.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from golive.lib.users import signed_in
from golive.models import Application, GoLive, Unit
from staffing.models import (
    Assignment,
    CoverageRequirement,
    Shift,
    ShiftEvent,
    StaffingSettings,
    UnitMix,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

DAY = dt.timedelta(days=1)


# --- Blocks, patterns and the support window ------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One daily block of a requirement, in local wall-clock time; an end at or before the start
    runs into the next day."""

    label: str
    start: dt.time
    end: dt.time

    @property
    def times(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


DAY_NIGHT = (Block("Day", dt.time(7), dt.time(19)), Block("Night", dt.time(19), dt.time(7)))
TWO_EIGHTS = (Block("Early", dt.time(6), dt.time(14)), Block("Late", dt.time(14), dt.time(22)))
BUSINESS_HOURS = (Block("Business hours", dt.time(8), dt.time(17)),)

CUSTOM_PATTERN = "custom"
PATTERNS: dict[str, tuple[str, tuple[Block, ...]]] = {
    "day_night": ("Day 07:00–19:00 + Night 19:00–07:00", DAY_NIGHT),
    "two_eights": ("06:00–22:00 (two 8 h blocks: 06–14, 14–22)", TWO_EIGHTS),
    "business": ("Business hours 08:00–17:00", BUSINESS_HOURS),
}


def support_window(go_live: GoLive) -> tuple[dt.date, dt.date]:
    """The first and last local dates of the go-live's support window."""
    tz = go_live.tzinfo
    return (
        timezone.localtime(go_live.cutover_at, tz).date(),
        timezone.localtime(go_live.support_ends_at, tz).date(),
    )


def local_instant(day: dt.date, time: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a local date.

    A time the clocks skip (02:30 on the spring-forward night) is read with the offset before the
    change, i.e. it lands an hour later on the clock; a repeated time (01:30 on the fall-back
    night) is its first occurrence.
    """
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def block_instants(
    day: dt.date, start: dt.time, end: dt.time, tz: zoneinfo.ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """A block's [start, end) on `day`: both ends converted on their own date, so a night across
    a DST change gets its true length (11 or 13 hours for 19:00-07:00)."""
    end_day = day + DAY if end <= start else day
    return local_instant(day, start, tz), local_instant(end_day, end, tz)


def dates(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += DAY


def short_date(day: dt.date) -> str:
    """Tue 4 Nov."""
    return f"{day:%a} {day.day} {day:%b}"


# --- The ratio helper (pure) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mix:
    physicians: int
    nurses: int
    clerical: int
    critical_care: bool = False


@dataclass(frozen=True)
class Ratios:
    """One support person per this many users of each kind."""

    physicians: int = 2
    critical_nurses: int = 4
    other_nurses: int = 6
    clerical: int = 4

    @classmethod
    def of(cls, staffing: StaffingSettings) -> Ratios:
        return cls(
            physicians=staffing.ratio_physicians,
            critical_nurses=staffing.ratio_critical_nurses,
            other_nurses=staffing.ratio_other_nurses,
            clerical=staffing.ratio_clerical,
        )


def default_mix(end_user_count: int) -> Mix:
    """A unit's mix when nobody entered one: 15 % physicians, 15 % clerical, the rest nurses."""
    physicians = (end_user_count * 15 + 50) // 100
    clerical = (end_user_count * 15 + 50) // 100
    return Mix(
        physicians=physicians, nurses=end_user_count - physicians - clerical, clerical=clerical
    )


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def full_headcount(mix: Mix, ratios: Ratios) -> int:
    """Support people per block in the first, round-the-clock phase."""
    nurse_ratio = ratios.critical_nurses if mix.critical_care else ratios.other_nurses
    return (
        ceil_div(mix.physicians, ratios.physicians)
        + ceil_div(mix.nurses, nurse_ratio)
        + ceil_div(mix.clerical, ratios.clerical)
    )


@dataclass(frozen=True)
class PhaseSpec:
    name: str
    first_day: int  # go-live day numbers, 1 = the cutover's local date
    last_day: int | None  # None: to the end of the support window
    blocks: tuple[Block, ...]
    percent: int


PHASES = (
    PhaseSpec("Round the clock", 1, 14, DAY_NIGHT, 100),
    PhaseSpec("16 hours a day", 15, 28, TWO_EIGHTS, 50),
    PhaseSpec("Business hours", 29, None, BUSINESS_HOURS, 25),
)


@dataclass(frozen=True)
class Phase:
    spec: PhaseSpec
    first_date: dt.date
    last_date: dt.date

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def blocks(self) -> tuple[Block, ...]:
        return self.spec.blocks

    @property
    def percent(self) -> int:
        return self.spec.percent


def taper(first: dt.date, last: dt.date) -> list[Phase]:
    """The phases of a support window from its first to its last local date (days past the
    window's end are cut; a phase that would start after it is left out)."""
    phases = []
    for spec in PHASES:
        start = first + dt.timedelta(days=spec.first_day - 1)
        end = last if spec.last_day is None else first + dt.timedelta(days=spec.last_day - 1)
        end = min(end, last)
        if start <= end:
            phases.append(Phase(spec, start, end))
    return phases


def phase_headcount(full: int, percent: int) -> int:
    """The share of the full headcount a phase keeps, rounded up and at least one person
    (none for a unit that needs none)."""
    if full <= 0:
        return 0
    return max(1, ceil_div(full * percent, 100))


# --- Requirements ---------------------------------------------------------------------------------


@transaction.atomic
def create_requirements(
    *,
    unit: Unit,
    role: str,
    blocks: Sequence[Block],
    start_date: dt.date,
    end_date: dt.date,
    headcount: int,
    application: Application | None,
    allow_claim: bool,
) -> list[CoverageRequirement]:
    """One requirement per block of a pattern (Day + Night makes two)."""
    return [
        CoverageRequirement.objects.create(
            unit=unit,
            role=role,
            label=block.label,
            start_date=start_date,
            end_date=end_date,
            start_time=block.start,
            end_time=block.end,
            headcount=headcount,
            application=application,
            allow_claim=allow_claim,
        )
        for block in blocks
    ]


@dataclass(frozen=True)
class ProposalRow:
    """One unit of the helper's table as the manager left it."""

    unit: Unit
    mix: Mix
    headcounts: tuple[int, ...]  # one per phase of `taper`


@transaction.atomic
def save_unit_mixes(*, rows: Iterable[ProposalRow]) -> None:
    for row in rows:
        UnitMix.objects.update_or_create(
            unit=row.unit,
            defaults={
                "physicians": row.mix.physicians,
                "nurses": row.mix.nurses,
                "clerical": row.mix.clerical,
                "critical_care": row.mix.critical_care,
            },
        )


@transaction.atomic
def create_proposed_requirements(
    *, go_live: GoLive, rows: Sequence[ProposalRow], role: str
) -> list[CoverageRequirement]:
    """Save the units' mixes and write the tapering requirements; a phase at 0 gets none."""
    save_unit_mixes(rows=rows)
    phases = taper(*support_window(go_live))
    created: list[CoverageRequirement] = []
    for row in rows:
        for phase, headcount in zip(phases, row.headcounts, strict=True):
            if headcount <= 0:
                continue
            created += create_requirements(
                unit=row.unit,
                role=role,
                blocks=phase.blocks,
                start_date=phase.first_date,
                end_date=phase.last_date,
                headcount=headcount,
                application=None,
                allow_claim=False,
            )
    return created


# --- Generation -----------------------------------------------------------------------------------


@dataclass
class GenerationResult:
    """What a generation (or a requirement's deletion) did, for the manager to read."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    past: int = 0
    deleted: list[str] = field(default_factory=list)
    not_changed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Wanted:
    """A shift's values as its requirement says they should be on one date."""

    start: dt.datetime
    end: dt.datetime
    needed: int
    label: str
    application: Application | None
    allow_claim: bool

    @classmethod
    def of(cls, requirement: CoverageRequirement, day: dt.date, tz: zoneinfo.ZoneInfo) -> _Wanted:
        start, end = block_instants(day, requirement.start_time, requirement.end_time, tz)
        return cls(
            start=start,
            end=end,
            needed=requirement.headcount,
            label=requirement.label,
            application=requirement.application,
            allow_claim=requirement.allow_claim,
        )


def _people(count: int) -> str:
    return "1 person assigned" if count == 1 else f"{count} people assigned"


def shift_summary(shift: Shift, tz: zoneinfo.ZoneInfo) -> str:
    """Day 07:00-19:00, 2 needed, Orders: the values a regeneration may change, for the audit."""
    start = timezone.localtime(shift.start, tz)
    end = timezone.localtime(shift.end, tz)
    application = f", {shift.application}" if shift.application_id else ""
    claim = ", open to claims" if shift.allow_claim else ""
    return f"{shift.label} {start:%H:%M}–{end:%H:%M}, {shift.needed} needed{application}{claim}"


LEFT_THE_RANGE = "it stays although its requirement no longer covers that date"


class _Generation:
    """One generation's state: the shifts found, the counts of people on them, what to write."""

    def __init__(
        self, *, go_live: GoLive, shifts: list[Shift], actor: AbstractBaseUser | None
    ) -> None:
        self.go_live = go_live
        self.tz = go_live.tzinfo
        self.now = timezone.now()
        self.actor = signed_in(actor)
        self.result = GenerationResult()
        self.active: dict[int, int] = dict(
            Assignment.objects.active()
            .filter(shift__in=shifts)
            .values("shift")
            .annotate(count=Count("pk"))
            .values_list("shift", "count")
        )
        # requirement id -> local date -> its shifts on that date (normally one)
        self.existing: dict[int | None, dict[dt.date, list[Shift]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for shift in shifts:
            day = timezone.localtime(shift.start, self.tz).date()
            self.existing[shift.requirement_id][day].append(shift)
        self.new_shifts: list[Shift] = []
        self.to_delete: list[int] = []
        self.events: list[ShiftEvent] = []

    def plan(self, requirement: CoverageRequirement, first: dt.date, last: dt.date) -> None:
        first, last = max(first, requirement.start_date), min(last, requirement.end_date)
        wanted_days = set(dates(first, last))
        found_by_day = self.existing[requirement.pk]
        for day in sorted(wanted_days | found_by_day.keys()):
            description = f"{requirement.unit.name} {requirement.label} {short_date(day)}"
            found = found_by_day.get(day, [])
            # The first shift of a wanted date follows the requirement; any other is surplus: a
            # date that left the requirement's range, or a second shift on one date.
            keep = found[0] if found and day in wanted_days else None
            for shift in found:
                if shift is not keep:
                    self.drop(shift, description, LEFT_THE_RANGE)
            if day not in wanted_days:
                continue
            wanted = _Wanted.of(requirement, day, self.tz)
            if wanted.end <= wanted.start:
                # 02:00-03:00 on the spring-forward night does not happen at all.
                self.result.not_changed.append(
                    f"{description} — the clocks skip this block that night; no shift is made"
                )
            elif keep is not None:
                self.follow(keep, wanted, description)
            elif wanted.end <= self.now:
                self.result.past += 1
            else:
                self.new_shifts.append(
                    Shift(
                        go_live=self.go_live,
                        unit=requirement.unit,
                        role=requirement.role,
                        requirement=requirement,
                        start=wanted.start,
                        end=wanted.end,
                        needed=wanted.needed,
                        label=wanted.label,
                        application=wanted.application,
                        allow_claim=wanted.allow_claim,
                    )
                )

    def drop(self, shift: Shift, description: str, why_kept: str) -> None:
        """Delete a future shift nobody works on; list one people work on, saying `why_kept`."""
        if shift.start <= self.now:
            self.result.past += 1
        elif people := self.active.get(shift.pk, 0):
            self.result.not_changed.append(f"{description} — {_people(people)}; {why_kept}")
        else:
            self.to_delete.append(shift.pk)
            self.result.deleted.append(description)

    def follow(self, shift: Shift, wanted: _Wanted, description: str) -> None:
        """Bring an existing shift to the wanted values where the rules allow it."""
        if shift.start <= self.now:
            self.result.past += 1
            return
        people = self.active.get(shift.pk, 0)
        retimed = (shift.start, shift.end) != (wanted.start, wanted.end)
        if people:
            # People chose (or were given) this shift as it is: never move it under them.
            reasons = []
            if retimed:
                start = timezone.localtime(shift.start, self.tz)
                end = timezone.localtime(shift.end, self.tz)
                reasons.append(f"its times stay {start:%H:%M}–{end:%H:%M}")
            if wanted.needed < people:
                reasons.append(f"it cannot need only {wanted.needed}")
            if shift.application_id != (wanted.application and wanted.application.pk):
                reasons.append(f"its application stays {shift.application or 'none'}")
            if reasons:
                self.result.not_changed.append(
                    f"{description} — {_people(people)}; {'; '.join(reasons)}"
                )
                return
        changed = [
            name
            for name in ("start", "end", "needed", "label", "application", "allow_claim")
            if getattr(shift, name) != getattr(wanted, name)
        ]
        if not changed:
            self.result.unchanged += 1
            return
        before = shift_summary(shift, self.tz)
        for name in changed:
            setattr(shift, name, getattr(wanted, name))
        if retimed:
            # Calendars show the new times only when the event's SEQUENCE goes up.
            shift.sequence += 1
            changed.append("sequence")
        shift.save(update_fields=changed)
        self.events.append(
            ShiftEvent(
                shift=shift,
                actor=self.actor,
                action="updated",
                old=before[:240],
                new=shift_summary(shift, self.tz)[:240],
                note="Regenerated from its coverage requirement",
            )
        )
        self.result.updated += 1

    def write(self) -> GenerationResult:
        if self.to_delete:
            # A shift's events go with it, so the result's list is the record of the deletion.
            Shift.objects.filter(pk__in=self.to_delete).delete()
        created = Shift.objects.bulk_create(self.new_shifts)
        self.events += [
            ShiftEvent(
                shift=shift,
                actor=self.actor,
                action="created",
                new=shift_summary(shift, self.tz)[:240],
                note="Generated from its coverage requirement",
            )
            for shift in created
        ]
        ShiftEvent.objects.bulk_create(self.events)
        self.result.created = len(created)
        return self.result


@transaction.atomic
def generate_shifts(
    *,
    go_live: GoLive,
    requirements: Iterable[CoverageRequirement],
    first_date: dt.date,
    last_date: dt.date,
    actor: AbstractBaseUser | None,
) -> GenerationResult:
    """Make the requirements' shifts on the local dates first_date..last_date, or bring them up to
    date after an edit.

    Future shifts nobody works on follow their requirement (or go when their date left it); future
    shifts with active assignments are never deleted or re-timed — they are listed instead, and
    keep a new headcount only when it still holds everyone on them; shifts that started already
    are left alone. Running it twice changes nothing the second time.
    """
    tz = go_live.tzinfo
    # Locking the requirements serialises two managers generating the same ones at once; the
    # shifts are locked so nobody is assigned to one while it is being re-timed or deleted.
    locked = list(
        CoverageRequirement.objects.select_for_update(of=("self",))
        .filter(pk__in=[requirement.pk for requirement in requirements])
        .filter(unit__site__go_live=go_live)
        .select_related("unit", "application")
        .order_by("unit__site__name", "unit__name", "role", "start_time", "pk")
    )
    shifts = list(
        Shift.objects.select_for_update(of=("self",))
        .filter(
            requirement__in=locked,
            start__gte=local_instant(first_date, dt.time(0), tz),
            start__lt=local_instant(last_date + DAY, dt.time(0), tz),
        )
        .select_related("application")
        .order_by("start", "pk")
    )
    generation = _Generation(go_live=go_live, shifts=shifts, actor=actor)
    for requirement in locked:
        generation.plan(requirement, first_date, last_date)
    return generation.write()


@transaction.atomic
def delete_requirement(
    *, requirement: CoverageRequirement, actor: AbstractBaseUser | None
) -> GenerationResult:
    """Delete a requirement with its future shifts nobody works on; the others stay on the grid
    without it (listed, with an event on each)."""
    requirement = (
        CoverageRequirement.objects.select_for_update(of=("self",))
        .select_related("unit__site__go_live")
        .get(pk=requirement.pk)
    )
    go_live = requirement.unit.site.go_live
    tz = go_live.tzinfo
    shifts = list(
        Shift.objects.select_for_update(of=("self",))
        .filter(requirement=requirement)
        .order_by("start", "pk")
    )
    generation = _Generation(go_live=go_live, shifts=shifts, actor=actor)
    kept = []
    for shift in shifts:
        description = (
            f"{requirement.unit.name} {shift.label} "
            f"{short_date(timezone.localtime(shift.start, tz).date())}"
        )
        generation.drop(shift, description, "it stays on the grid without its requirement")
        if shift.pk not in generation.to_delete:
            kept.append(shift)
    generation.events += [
        ShiftEvent(
            shift=shift,
            actor=generation.actor,
            action="updated",
            old=f"From the requirement {requirement.label} {requirement.start_time:%H:%M}–"
            f"{requirement.end_time:%H:%M}"[:240],
            new="No requirement",
            note="Its coverage requirement was deleted",
        )
        for shift in kept
    ]
    result = generation.write()
    requirement.delete()
    return result
