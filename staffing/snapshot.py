"""The staffing picture at one moment, for the command center's dashboard and the daily huddle:
how many of the places needed are filled now and over the next hours, which shifts have gaps,
how many people are on shift, and who is late or did not come.

Three queries whatever the size of the go-live: the shifts in the window with their filled
places counted in the database, the people on shift now, and the late and no-show assignments
of the shifts under way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from golive.models import GoLive, Site, Unit
from staffing.models import ACTIVE_STATUSES, Assignment, Shift

AHEAD = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Gap:
    shift: Shift
    filled: int

    @property
    def missing(self) -> int:
        return self.shift.needed - self.filled


@dataclass(frozen=True)
class Coverage:
    """Places needed and filled by the shifts that overlap a window (an assignment beyond the
    places needed fills nothing more)."""

    needed: int
    filled: int

    @property
    def percent(self) -> int | None:
        """Rounded down, so 99.6% filled never reads as 100%; None when nothing is needed."""
        return self.filled * 100 // self.needed if self.needed else None


@dataclass(frozen=True)
class Absent:
    assignment: Assignment
    no_show: bool


@dataclass(frozen=True)
class StaffingSnapshot:
    now: Coverage
    ahead: Coverage
    gaps: list[Gap]  # shifts of the window still short of people, soonest first
    on_shift: int  # people on a shift under way now
    absent: list[Absent]  # late or no-show on a shift under way, by shift start


def _shifts(go_live: GoLive, site: Site | None, unit: Unit | None) -> QuerySet[Shift]:
    shifts = Shift.objects.filter(go_live=go_live)
    if unit is not None:
        return shifts.filter(unit=unit)
    return shifts.filter(unit__site=site) if site is not None else shifts


def staffing_snapshot(
    *,
    go_live: GoLive,
    now: dt.datetime,
    site: Site | None = None,
    unit: Unit | None = None,
    ahead: dt.timedelta = AHEAD,
) -> StaffingSnapshot:
    """The picture at `now` for the go-live, or for one site or unit of it; the window runs
    `ahead`."""
    shifts = _shifts(go_live, site, unit)
    in_window = list(
        shifts.filter(start__lt=now + ahead, end__gt=now)
        .annotate(filled=Count("assignments", filter=Q(assignments__status__in=ACTIVE_STATUSES)))
        .select_related("unit__site")
        .order_by("start", "unit__site__name", "unit__name", "role", "pk")
    )
    under_way = [shift for shift in in_window if shift.start <= now]
    gaps = [
        Gap(shift, shift.filled)  # type: ignore[attr-defined]
        for shift in in_window
        if shift.filled < shift.needed  # type: ignore[attr-defined]
    ]
    current = shifts.filter(start__lte=now, end__gt=now)
    on_shift = (
        Assignment.objects.filter(shift__in=current, status__in=ACTIVE_STATUSES)
        .values("person_id")
        .distinct()
        .count()
    )
    late = Q(status__in=ACTIVE_STATUSES) & ~Q(status=Assignment.Status.CHECKED_IN)
    late &= Q(late_at__isnull=False) | Q(late_check_at__lte=now)
    absent = [
        Absent(assignment, assignment.status == Assignment.Status.NO_SHOW)
        for assignment in Assignment.objects.filter(shift__in=current)
        .filter(late | Q(status=Assignment.Status.NO_SHOW))
        .select_related("person", "shift__unit")
        .order_by("shift__start", "person__name", "pk")
    ]
    return StaffingSnapshot(
        now=_coverage(under_way),
        ahead=_coverage(in_window),
        gaps=gaps,
        on_shift=on_shift,
        absent=absent,
    )


def _coverage(shifts: list[Shift]) -> Coverage:
    return Coverage(
        needed=sum(shift.needed for shift in shifts),
        filled=sum(min(shift.filled, shift.needed) for shift in shifts),  # type: ignore[attr-defined]
    )
