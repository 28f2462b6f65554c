"""Auto-fill: propose people for the open places of a range of shifts, then publish the proposal.

The proposal is computed by a Celery task (`compute_proposal`) without assigning anybody: a
greedy pass over the open places in a fixed order (shift start, unit name, role, shift id), each
given to the best person the rules allow. Everybody's load is read once (`rules.load_people`) and
kept in memory as the pass goes, so the cost grows with places x people looked at, never with
queries. Candidates are kept sorted by load, so the usual place is decided after looking at a few
people. The same input gives the same proposal: every choice ends in a tie-break on name and id.

Publishing is a Celery task too (`publish_proposals`): a few thousand places at ~12 ms each do
not fit in a web request. `start_publishing` claims the run under its row lock (a second publish
is refused), then the task goes through `services.assign_person` for each proposal, so every hard
rule is checked again against the schedule as it is then. A proposal already on the schedule is
skipped, so a rerun after a worker died half-way assigns only the rest.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from golive.lib.queue import send_now
from golive.lib.users import signed_in
from golive.models import GoLive, Unit
from staffing.coverage import local_instant, short_date
from staffing.models import (
    ACTIVE_STATUSES,
    AutoFillProposal,
    AutoFillRun,
    Shift,
    StaffingSettings,
    SupportPerson,
)
from staffing.rules import Interval, PersonLoad, RuleWarning, load_people, soft_warnings
from staffing.services import AssignmentRefused, NeedsOverride, assign_person

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 50
OVERRIDE_REASON = "Auto-fill proposal"
NIGHT_STARTS = dt.time(22)
NIGHT_ENDS = dt.time(6)
DAY = dt.timedelta(days=1)


class AutoFillError(Exception):
    """The run is not in a state that allows this; the message says why."""


# --- Starting a run -------------------------------------------------------------------------------


@transaction.atomic
def start_autofill(
    *,
    go_live: GoLive,
    actor: AbstractBaseUser | None,
    start_date: dt.date,
    end_date: dt.date,
    units: Iterable[Unit],
    roles: Sequence[str],
    respect_soft_rules: bool,
) -> AutoFillRun:
    """Record the run and hand it to a worker once the run is committed."""
    run = AutoFillRun.objects.create(
        go_live=go_live,
        created_by=signed_in(actor),
        start_date=start_date,
        end_date=end_date,
        roles=list(roles),
        respect_soft_rules=respect_soft_rules,
    )
    run.units.set(units)
    transaction.on_commit(lambda: enqueue_run(run_id=run.pk))
    return run


def enqueue_run(*, run_id: int) -> bool:
    """Send the run to a worker; a broker that cannot be reached fails the run with a message
    instead of leaving it queued for ever."""
    from staffing.tasks import compute_autofill_proposal  # tasks imports this module

    if send_now(compute_autofill_proposal, run_id=run_id):
        return True
    AutoFillRun.objects.filter(pk=run_id, status=AutoFillRun.Status.QUEUED).update(
        status=AutoFillRun.Status.FAILED,
        error="The task queue could not be reached. Start the auto-fill again in a minute.",
        finished_at=timezone.now(),
    )
    return False


# --- The proposal (pure parts) --------------------------------------------------------------------


def is_night(start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    """Whether [start, end) holds any time between 22:00 and 06:00 local."""
    day = timezone.localtime(start, tz).date() - DAY
    last = timezone.localtime(end, tz).date()
    while day <= last:
        night_start = local_instant(day, NIGHT_STARTS, tz)
        night_end = local_instant(day + DAY, NIGHT_ENDS, tz)
        if start < night_end and night_start < end:
            return True
        day += DAY
    return False


@dataclass
class PersonState:
    """A person's load as the run goes: their busy intervals (assigned and proposed, sorted and
    never overlapping) and what the balancing compares: seconds in the run's range and nights."""

    person: SupportPerson
    skills: frozenset[int]
    load: PersonLoad
    seconds: int = 0
    nights: int = 0

    @property
    def key(self) -> tuple[int, int, str, int]:
        return (self.seconds, self.nights, self.person.name, self.person.pk)

    def overlaps(self, shift: Shift) -> bool:
        # Only the last interval starting before the shift ends can reach into it.
        index = bisect.bisect_left(self.load.busy, shift.end, key=_start) - 1
        return index >= 0 and self.load.busy[index].end > shift.start

    def near(self, shift: Shift, margin: dt.timedelta) -> PersonLoad:
        """The part of the load the soft rules can see from `shift`, so each check stays short."""
        busy = self.load.busy
        lo = bisect.bisect_left(busy, shift.start - margin, key=_start)
        hi = bisect.bisect_right(busy, shift.end + margin, key=_start)
        return PersonLoad(busy=busy[lo:hi], unavailable=self.load.unavailable)


def _start(interval: Interval) -> dt.datetime:
    return interval.start


Key = tuple[int, int, str, int]


class Pool:
    """People kept sorted by their balancing key: least hours, then fewest nights, name, id."""

    def __init__(self) -> None:
        self.keys: list[Key] = []

    def add(self, state: PersonState) -> None:
        bisect.insort(self.keys, state.key)

    def remove(self, state: PersonState) -> None:
        del self.keys[bisect.bisect_left(self.keys, state.key)]


@dataclass(frozen=True)
class Choice:
    state: PersonState
    warnings: list[RuleWarning]


@dataclass(frozen=True)
class Unfilled:
    shift: Shift
    missing: int
    rejections: Counter[str]
    nobody_of_role: bool

    def text(self, tz: zoneinfo.ZoneInfo) -> str:
        """4 West Night Tue 4 Nov: 1 place — nobody available without breaking a rule (...)."""
        day = timezone.localtime(self.shift.start, tz).date()
        places = "1 place" if self.missing == 1 else f"{self.missing} places"
        name = f"{self.shift.unit.name} {self.shift.label or self.shift.get_role_display()}"
        if self.nobody_of_role:
            why = f"nobody on the roster is a {self.shift.get_role_display().lower()}"
        else:
            counts = ", ".join(
                f"{code.replace('_', ' ')}: {count}"
                for code, count in sorted(self.rejections.items(), key=lambda i: (-i[1], i[0]))
            )
            why = f"nobody available without breaking a rule ({counts})"
        return f"{name} {short_date(day)}: {places} — {why}"


class Standing(NamedTuple):
    """What a person lacks for a shift, known without looking at their load (sorts best first)."""

    role_off: bool
    skill_off: bool
    away: bool  # the shift's unit is not their home unit


class Planner:
    """The greedy pass over open places, in memory: given everybody's load once, it picks people
    place by place and adds each pick to the person's load."""

    def __init__(
        self,
        *,
        people: Iterable[SupportPerson],
        loads: dict[int, PersonLoad],
        staffing: StaffingSettings,
        tz: zoneinfo.ZoneInfo,
        range_start: dt.datetime,
        range_end: dt.datetime,
        respect_soft_rules: bool,
    ) -> None:
        self.staffing = staffing
        self.tz = tz
        self.range_start = range_start
        self.range_end = range_end
        self.respect_soft_rules = respect_soft_rules
        # The soft rules look a week either side of a shift, plus the rest gap.
        self.margin = dt.timedelta(days=8, hours=staffing.min_rest_hours)
        self.states: dict[int, PersonState] = {}
        self.everyone = Pool()
        self.by_role: dict[str, Pool] = defaultdict(Pool)
        self.by_unit: dict[int, Pool] = defaultdict(Pool)
        self.by_home: dict[tuple[str, int], Pool] = defaultdict(Pool)
        for person in people:
            load = loads.get(person.pk, PersonLoad())
            state = PersonState(
                person=person,
                skills=frozenset(skill.pk for skill in person.skills.all()),
                load=PersonLoad(busy=sorted(load.busy, key=_start), unavailable=load.unavailable),
            )
            for interval in state.load.busy:
                self._count(state, interval)
            self.states[person.pk] = state
            for pool in self._pools_of(state):
                pool.add(state)

    def _pools_of(self, state: PersonState) -> list[Pool]:
        person = state.person
        pools = [self.everyone, self.by_role[person.role]]
        if person.home_unit_id is not None:
            pools.append(self.by_unit[person.home_unit_id])
            pools.append(self.by_home[person.role, person.home_unit_id])
        return pools

    def _count(self, state: PersonState, interval: Interval) -> None:
        seconds = round(interval.clipped_hours(self.range_start, self.range_end) * 3600)
        if seconds > 0:
            state.seconds += seconds
            state.nights += is_night(interval.start, interval.end, self.tz)

    def has_role(self, role: str) -> bool:
        pool = self.by_role.get(role)
        return pool is not None and bool(pool.keys)

    def take(self, state: PersonState, shift: Shift) -> None:
        """Add the shift to the person's load (as a proposal) and sort them again."""
        pools = self._pools_of(state)
        for pool in pools:
            pool.remove(state)
        interval = Interval(shift.start, shift.end)
        bisect.insort(state.load.busy, interval, key=_start)
        self._count(state, interval)
        for pool in pools:
            pool.add(state)

    def choose(
        self, shift: Shift, rejections: Counter[str], *, may_be_free: bool = True
    ) -> Choice | None:
        """The best person for one place of `shift`, or None.

        Best: no warning; else (soft rules off) the fewest warnings; then the right role, skill
        and home unit; then the least loaded. People come in that order but for the warnings, so
        the first warning-free person wins, and once nobody can be warning-free the first person
        with a single warning does. `may_be_free=False` says an earlier place of this shift found
        nobody warning-free. `rejections` counts why the people looked at were passed over.
        """
        best: Choice | None = None
        for state, standing in self._in_rank_order(shift):
            fits = not (standing.role_off or standing.skill_off)
            if not fits and self.respect_soft_rules:
                if standing.role_off:
                    break
                rejections["skill"] += 1
                continue
            if best is not None and len(best.warnings) == 1 and (not fits or not may_be_free):
                break
            if state.overlaps(shift):
                rejections["overlap"] += 1
                continue
            near = state.near(shift, self.margin)
            warnings = soft_warnings(state.person, shift, near, self.staffing)
            if not warnings:
                return Choice(state, warnings)
            if self.respect_soft_rules:
                rejections.update(warning.code for warning in warnings)
            elif best is None or len(warnings) < len(best.warnings):
                best = Choice(state, warnings)
        return best

    def _in_rank_order(self, shift: Shift) -> Iterator[tuple[PersonState, Standing]]:
        """Everyone in the order of their standing, each standing least loaded first."""
        application = shift.application_id
        for role_off in (False, True):
            for skill_off in (False, True) if application is not None else (False,):
                for away in (False, True):
                    for state in self._people(shift, role_off=role_off, away=away):
                        if application is not None and (application not in state.skills) != (
                            skill_off
                        ):
                            continue
                        yield state, Standing(role_off, skill_off, away)

    def _people(self, shift: Shift, *, role_off: bool, away: bool) -> Iterator[PersonState]:
        """People of one standing (role and home unit), least loaded first."""
        role, unit = shift.role, shift.unit_id
        if role_off:
            pool = self.everyone if away else self.by_unit.get(unit)
        else:
            pool = self.by_role.get(role) if away else self.by_home.get((role, unit))
        for key in pool.keys if pool is not None else []:
            state = self.states[key[-1]]
            person = state.person
            if (person.role != role) == role_off and (person.home_unit_id != unit) == away:
                yield state


# --- The proposal (the task's work) ---------------------------------------------------------------


def compute_proposal(*, run_id: int) -> bool:
    """Compute and store the run's proposal; False when the run is missing or not queued."""
    started = AutoFillRun.objects.filter(pk=run_id, status=AutoFillRun.Status.QUEUED).update(
        status=AutoFillRun.Status.RUNNING
    )
    if not started:
        return False
    try:
        _compute(run_id)
    # Whatever went wrong, the manager must see the run failed rather than running for ever.
    except Exception as exc:
        logger.exception("Auto-fill run %s failed", run_id)
        AutoFillRun.objects.filter(pk=run_id, status=AutoFillRun.Status.RUNNING).update(
            status=AutoFillRun.Status.FAILED,
            error=f"The auto-fill stopped on an error ({type(exc).__name__}). Start it again; "
            "if it fails again, tell the command center.",
            finished_at=timezone.now(),
        )
        return False
    return True


def open_shifts(run: AutoFillRun, now: dt.datetime) -> list[tuple[Shift, int]]:
    """The run's shifts that have not started and still have open places, in the fill order."""
    tz = run.go_live.tzinfo
    shifts = Shift.objects.filter(
        go_live=run.go_live,
        unit__in=run.units.all(),
        start__gte=local_instant(run.start_date, dt.time(0), tz),
        start__lt=local_instant(run.end_date + DAY, dt.time(0), tz),
        start__gt=now,
    )
    if run.roles:
        shifts = shifts.filter(role__in=run.roles)
    shifts = (
        shifts.annotate(
            active=Count("assignments", filter=Q(assignments__status__in=ACTIVE_STATUSES))
        )
        .select_related("unit", "application")
        .order_by("start", "unit__name", "role", "pk")
    )
    result = []
    for shift in shifts:
        shift.go_live = run.go_live
        if shift.needed > shift.active:
            result.append((shift, shift.needed - shift.active))
    return result


def _compute(run_id: int) -> None:
    run = AutoFillRun.objects.select_related("go_live").get(pk=run_id)
    go_live = run.go_live
    tz = go_live.tzinfo
    places = open_shifts(run, timezone.now())
    AutoFillRun.objects.filter(pk=run_id).update(total=len(places), progress=0)
    range_start = local_instant(run.start_date, dt.time(0), tz)
    range_end = local_instant(run.end_date + DAY, dt.time(0), tz)
    people = list(
        SupportPerson.objects.active()
        .filter(go_live=go_live)
        .prefetch_related("skills")
        .order_by("name", "pk")
    )
    for person in people:
        person.go_live = go_live
    planner = Planner(
        people=people,
        loads=load_people([person.pk for person in people], range_start, range_end),
        staffing=StaffingSettings.for_go_live(go_live),
        tz=tz,
        range_start=range_start,
        range_end=range_end,
        respect_soft_rules=run.respect_soft_rules,
    )
    proposals: list[AutoFillProposal] = []
    unfilled: list[Unfilled] = []
    for done, (shift, open_places) in enumerate(places, start=1):
        may_be_free = True
        for filled in range(open_places):
            rejections: Counter[str] = Counter()
            choice = planner.choose(shift, rejections, may_be_free=may_be_free)
            if choice is None:
                # Nothing changed since this place failed, so the rest of the shift fails too.
                unfilled.append(
                    Unfilled(
                        shift=shift,
                        missing=open_places - filled,
                        rejections=rejections,
                        # With soft rules off people of other roles were asked too.
                        nobody_of_role=run.respect_soft_rules and not planner.has_role(shift.role),
                    )
                )
                break
            planner.take(choice.state, shift)
            # Only the person just taken changed, and they are on this shift now.
            may_be_free = not choice.warnings
            proposals.append(
                AutoFillProposal(
                    run=run,
                    shift=shift,
                    person=choice.state.person,
                    warnings=[warning.code for warning in choice.warnings],
                )
            )
        if done % PROGRESS_EVERY == 0:
            AutoFillRun.objects.filter(pk=run_id).update(progress=done)
    with transaction.atomic():
        run = AutoFillRun.objects.select_for_update().get(pk=run_id)
        if run.status != AutoFillRun.Status.RUNNING:
            # Discarded while it ran: the proposal is not wanted any more.
            return
        AutoFillProposal.objects.bulk_create(proposals)
        run.status = AutoFillRun.Status.PROPOSED
        run.progress = len(places)
        run.unfilled = [
            {
                "shift": item.shift.pk,
                "missing": item.missing,
                "reasons": [f"{code}: {count}" for code, count in sorted(item.rejections.items())],
                "text": item.text(tz),
            }
            for item in unfilled
        ]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "progress", "unfilled", "finished_at"])


# --- Publishing and discarding --------------------------------------------------------------------


@transaction.atomic
def start_publishing(*, run: AutoFillRun, actor: AbstractBaseUser | None) -> AutoFillRun:
    """Claim the proposal for publishing and hand it to a worker once that is committed. A run is
    published once: the row lock and the status refuse a second publish."""
    run = AutoFillRun.objects.select_for_update().get(pk=run.pk)
    if run.status != AutoFillRun.Status.PROPOSED:
        raise AutoFillError(
            f"This auto-fill is {run.get_status_display().lower()}; only a "
            "proposal that is ready can be published."
        )
    run.status = AutoFillRun.Status.PUBLISHING
    run.published_by = signed_in(actor)
    run.progress = 0
    run.total = run.proposals.count()
    run.error = ""
    run.save(update_fields=["status", "published_by", "progress", "total", "error"])
    transaction.on_commit(lambda: enqueue_publishing(run_id=run.pk))
    return run


def enqueue_publishing(*, run_id: int) -> bool:
    """Send the publishing to a worker; a broker that cannot be reached puts the proposal back,
    with a message, so that the manager can publish it again."""
    from staffing.tasks import publish_autofill  # tasks imports this module

    if send_now(publish_autofill, run_id=run_id):
        return True
    AutoFillRun.objects.filter(pk=run_id, status=AutoFillRun.Status.PUBLISHING).update(
        status=AutoFillRun.Status.PROPOSED,
        error="The task queue could not be reached, so nobody was assigned. "
        "Publish again in a minute.",
    )
    return False


def publish_proposals(*, run_id: int) -> bool:
    """Assign the proposed people of a run being published; False when the run is missing or not
    being published (a message delivered twice finds it published)."""
    with transaction.atomic():
        run = (
            AutoFillRun.objects.select_for_update(of=("self",))
            .select_related("go_live", "published_by")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status != AutoFillRun.Status.PUBLISHING:
            return False
    try:
        assigned, failures = _publish(run)
    # Whatever went wrong, the manager must be able to publish again: the proposals already on
    # the schedule are skipped then.
    except Exception as exc:
        logger.exception("Publishing auto-fill run %s failed", run_id)
        AutoFillRun.objects.filter(pk=run_id, status=AutoFillRun.Status.PUBLISHING).update(
            status=AutoFillRun.Status.PROPOSED,
            error=f"Publishing stopped on an error ({type(exc).__name__}). Publish again to "
            "assign the rest; if it fails again, tell the command center.",
        )
        return False
    with transaction.atomic():
        run = AutoFillRun.objects.select_for_update().get(pk=run_id)
        if run.status != AutoFillRun.Status.PUBLISHING:
            # Another delivery of the message finished first; its counts stand.
            return False
        run.status = AutoFillRun.Status.PUBLISHED
        run.progress = run.total
        run.published_count = assigned
        run.publish_failures = failures
        run.published_at = timezone.now()
        run.save(
            update_fields=[
                "status",
                "progress",
                "published_count",
                "publish_failures",
                "published_at",
            ]
        )
    return True


def _publish(run: AutoFillRun) -> tuple[int, list[dict[str, object]]]:
    """Put each proposal on the schedule, each in its own transaction so that progress shows
    and a crash keeps what was done; (proposals on the schedule, failures)."""
    tz = run.go_live.tzinfo
    actor = run.published_by
    assigned = 0
    failures: list[dict[str, object]] = []
    # The person's skills, go-live and login are what assign_person reads of them.
    proposals = (
        run.proposals.select_related("shift__unit", "person__go_live", "person__user")
        .prefetch_related("person__skills")
        .order_by("shift__start", "shift__unit__name", "shift__role", "shift__pk", "pk")
    )
    for done, proposal in enumerate(proposals, start=1):
        shift = proposal.shift
        try:
            with transaction.atomic():
                # Locked before looking, so that two deliveries of the message cannot both miss
                # the other's assignment (assign_person takes the same lock again).
                Shift.objects.select_for_update().get(pk=shift.pk)
                already = shift.assignments.filter(
                    person=proposal.person, status__in=ACTIVE_STATUSES
                ).exists()
                if not already:
                    assign_person(
                        shift=shift,
                        person=proposal.person,
                        actor=actor,
                        override_reason=OVERRIDE_REASON if proposal.warnings else "",
                    )
        except (AssignmentRefused, NeedsOverride) as exc:
            day = timezone.localtime(shift.start, tz).date()
            failures.append(
                {
                    "shift": shift.pk,
                    "person": proposal.person.pk,
                    "message": str(exc),
                    "text": f"{shift.unit.name} {shift.label or shift.get_role_display()} "
                    f"{short_date(day)} — {proposal.person.name}: {exc}",
                }
            )
        else:
            assigned += 1
        if done % PROGRESS_EVERY == 0:
            AutoFillRun.objects.filter(pk=run.pk, status=AutoFillRun.Status.PUBLISHING).update(
                progress=done, published_count=assigned
            )
    return assigned, failures


DISCARDABLE = (AutoFillRun.Status.QUEUED, AutoFillRun.Status.RUNNING, AutoFillRun.Status.PROPOSED)


@transaction.atomic
def discard_run(*, run: AutoFillRun) -> AutoFillRun:
    run = AutoFillRun.objects.select_for_update().get(pk=run.pk)
    if run.status not in DISCARDABLE:
        raise AutoFillError(
            f"This auto-fill is {run.get_status_display().lower()}; there is nothing to discard."
        )
    run.status = AutoFillRun.Status.DISCARDED
    run.finished_at = run.finished_at or timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run
