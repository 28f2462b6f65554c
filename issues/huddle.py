"""The daily huddle ("top 10 at 10"): one day of a go-live, or of one site, on one page the
command center prints, downloads as PDF, and takes the issues of as CSV.

A day is the go-live's local calendar day. "Open at the end of the day" means logged before the
day ended and not resolved by then (for today: now), so a report of a past day reads the same
tomorrow as it did that evening, reopened issues aside.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from golive.models import GoLive, Site
from issues.models import Issue, IssueEvent, KnownIssue, Priority
from staffing.snapshot import StaffingSnapshot, staffing_snapshot

TOP = 10
AHEAD = dt.timedelta(hours=24)
ROW_RELATED = ("unit__site", "category", "assignee")
# P1 first; `priority` sorts that way as text too, but the order should not rest on spelling.
PRIORITY_ORDER = Case(
    *(When(priority=p, then=Value(n)) for n, p in enumerate(Priority.values)),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class DayCounts:
    created: int
    resolved: int
    open_at_end: int


@dataclass(frozen=True)
class Huddle:
    go_live: GoLive
    site: Site | None
    day: dt.date
    start: dt.datetime
    end: dt.datetime  # the day's end, or now for today
    counts: DayCounts
    day_before: DayCounts
    top_open: list[Issue]
    patient_safety: list[Issue]
    escalated: list[Issue]
    escalations: int
    known: list[KnownIssue]
    closed_without_resolution: list[Issue]
    staffing: StaffingSnapshot


def _issues(go_live: GoLive, site: Site | None) -> QuerySet[Issue]:
    issues = Issue.objects.filter(go_live=go_live)
    return issues.filter(site=site) if site is not None else issues


def _open_at(moment: dt.datetime) -> Q:
    return Q(created_at__lt=moment) & (Q(resolved_at=None) | Q(resolved_at__gte=moment))


def _day_counts(issues: QuerySet[Issue], *days: tuple[dt.datetime, dt.datetime]) -> list[DayCounts]:
    """Logged, resolved and open at the end, for each of `days` (start, end): one query."""
    counts = {}
    for n, (start, end) in enumerate(days):
        counts |= {
            f"created_{n}": Count("pk", filter=Q(created_at__gte=start, created_at__lt=end)),
            f"resolved_{n}": Count("pk", filter=Q(resolved_at__gte=start, resolved_at__lt=end)),
            f"open_{n}": Count("pk", filter=_open_at(end)),
        }
    row = issues.aggregate(**counts)
    return [
        DayCounts(
            created=row[f"created_{n}"], resolved=row[f"resolved_{n}"], open_at_end=row[f"open_{n}"]
        )
        for n in range(len(days))
    ]


def day_bounds(go_live: GoLive, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local day's first instant and the next day's (a day across a clock change lasts 23
    or 25 hours)."""
    tz = go_live.tzinfo
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)


def huddle_issues(
    go_live: GoLive, site: Site | None, day: dt.date, now: dt.datetime
) -> QuerySet[Issue]:
    """The issues behind the report (its CSV): logged that day, or open at its end."""
    start, end = day_bounds(go_live, day)
    end = min(end, now)
    during = Q(created_at__gte=start, created_at__lt=end)
    return _issues(go_live, site).filter(during | _open_at(end))


def huddle_report(
    *, go_live: GoLive, day: dt.date, now: dt.datetime, site: Site | None = None
) -> Huddle:
    start, day_end = day_bounds(go_live, day)
    end = min(day_end, now)
    issues = _issues(go_live, site)
    before_start, _ = day_bounds(go_live, day - dt.timedelta(days=1))
    open_at_end = issues.filter(_open_at(end)).select_related(*ROW_RELATED)
    escalation_events = IssueEvent.objects.filter(
        issue__in=issues, kind=IssueEvent.Kind.ESCALATION, at__gte=start, at__lt=end
    )
    escalated = list(
        issues.filter(pk__in=escalation_events.values("issue_id"))
        .select_related(*ROW_RELATED)
        .order_by(PRIORITY_ORDER, "created_at")
    )
    known = KnownIssue.objects.filter(go_live=go_live, published_at__lte=end).exclude(
        status=KnownIssue.Status.FIXED, fixed_at__lt=start
    )
    if site is not None:
        known = known.filter(Q(units__site=site) | Q(issue__site=site)).distinct()
    counts, day_before = _day_counts(issues, (start, end), (before_start, start))
    return Huddle(
        go_live=go_live,
        site=site,
        day=day,
        start=start,
        end=end,
        counts=counts,
        day_before=day_before,
        top_open=list(open_at_end.order_by(PRIORITY_ORDER, "created_at")[:TOP]),
        patient_safety=list(
            issues.filter(patient_safety=True)
            .filter(Q(created_at__gte=start, created_at__lt=end) | _open_at(end))
            .select_related(*ROW_RELATED)
            .order_by("created_at")
        ),
        escalated=escalated,
        escalations=escalation_events.count(),
        known=list(known.order_by("-updated_at", "pk")),
        # Resolving requires a resolution (and the database refuses one without): this list is
        # the check the huddle asks for, and should stay empty.
        closed_without_resolution=list(
            issues.filter(resolved_at__gte=start, resolved_at__lt=end, resolution="")
            .select_related(*ROW_RELATED)
            .order_by("number")
        ),
        staffing=staffing_snapshot(
            go_live=go_live,
            now=max(min(now, day_end), start),
            site=site,
            ahead=AHEAD,
        ),
    )
