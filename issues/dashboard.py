"""The command center's dashboard: the figures of a go-live (or of one site or unit) at a moment.

Every figure is aggregated in PostgreSQL, so the number of queries and the rows that reach Python
stay the same with 600 issues or 60,000: one pass over the open issues (by priority, overdue,
patient safety), one over all of them grouped every way the page needs at once (`_one_pass`),
one of percentiles by priority (order statistics read from two indexes), three to name the top categories, applications and units, one
for the sites' end users, one of the outbox, and the staffing snapshot's three.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min, Q, QuerySet, Sum

from golive.lib.rows import prepared_cursor
from golive.models import Application, GoLive, Notification, Site, Unit
from issues.models import Category, Issue, Priority
from issues.queue import DONE, missed_target
from staffing.snapshot import StaffingSnapshot, staffing_snapshot

TOP = 5
WORK_MEM = "32MB"
OPEN_ISSUE = ~Q(status__in=DONE)


@dataclass(frozen=True)
class Scope:
    """Which issues and shifts the figures count: the go-live's, or one site's or unit's."""

    go_live: GoLive
    site: Site | None = None
    unit: Unit | None = None

    def issues(self) -> QuerySet[Issue]:
        issues = Issue.objects.filter(go_live=self.go_live)
        if self.unit is not None:
            return issues.filter(unit=self.unit)
        if self.site is not None:
            return issues.filter(site=self.site)
        return issues

    def queue_query(self) -> str:
        """The queue's filter for the same place (links from the figures keep it)."""
        if self.unit is not None:
            return f"unit={self.unit.pk}"
        if self.site is not None:
            return f"site={self.site.pk}"
        return ""


@dataclass(frozen=True)
class Rate:
    met: int
    due: int

    @property
    def percent(self) -> int | None:
        """Rounded down (99.6% met is not 100%); None when nothing has come due."""
        return self.met * 100 // self.due if self.due else None


@dataclass(frozen=True)
class Times:
    """Median and 90th percentile of the time to acknowledge and to resolve, for one priority."""

    priority: str
    acknowledged: int
    acknowledge_p50: dt.timedelta | None
    acknowledge_p90: dt.timedelta | None
    resolved: int
    resolve_p50: dt.timedelta | None
    resolve_p90: dt.timedelta | None


@dataclass(frozen=True)
class Hour:
    start: dt.datetime  # in the go-live's zone
    created: int
    resolved: int
    backlog: int  # open at the end of the hour


@dataclass(frozen=True)
class Ranked:
    name: str
    count: int


@dataclass(frozen=True)
class SiteLoad:
    site: Site
    issues: int
    end_users: int

    @property
    def per_100_users(self) -> float | None:
        return self.issues * 100 / self.end_users if self.end_users else None


@dataclass(frozen=True)
class Outbox:
    pending: int
    failed: int
    oldest_pending: dt.datetime | None


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    at: dt.datetime
    open_by_priority: dict[str, int]
    open_total: int
    overdue: int
    patient_safety: int
    created_total: int
    response: Rate
    resolution: Rate
    times: list[Times]
    hours: list[Hour]
    top_categories: list[Ranked]
    top_applications: list[Ranked]
    top_units: list[Ranked]
    sites: list[SiteLoad]
    outbox: Outbox
    staffing: StaffingSnapshot


def dashboard(*, scope: Scope, now: dt.datetime) -> Dashboard:
    issues = scope.issues()
    now_open = _open_counts(issues, now)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The grouped pass keeps a hash table per set: at the default work_mem (4 MB)
            # PostgreSQL spills them to disk, and the page takes twice as long. For this
            # statement only.
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        grouped = _one_pass(scope, now)
    times = _times(scope, grouped)
    whole = grouped.get(("total", None), {})
    return Dashboard(
        scope=scope,
        at=now,
        open_by_priority={p: now_open[f"open_{p}"] for p in Priority.values},
        open_total=now_open["open_total"],
        overdue=now_open["overdue"],
        patient_safety=now_open["patient_safety"],
        created_total=whole.get("n", 0),
        response=Rate(met=whole.get("response_met", 0), due=whole.get("response_due", 0)),
        resolution=Rate(met=whole.get("resolution_met", 0), due=whole.get("resolution_due", 0)),
        times=times,
        hours=_hours(grouped, scope.go_live, now),
        top_categories=_top(grouped, "category", Category),
        top_applications=_top(grouped, "application", Application),
        top_units=_top(grouped, "unit", Unit),
        sites=_sites(scope, grouped),
        outbox=_outbox(scope.go_live),
        staffing=staffing_snapshot(
            go_live=scope.go_live, now=now, site=scope.site, unit=scope.unit
        ),
    )


def _open_counts(issues: QuerySet[Issue], now: dt.datetime) -> dict[str, int]:
    """The open issues by priority, overdue (as the queue's filter has it) and patient safety:
    one pass over the open issues only (the queue's partial index)."""
    by_priority = {f"open_{p}": Count("pk", filter=Q(priority=p)) for p in Priority.values}
    return issues.filter(OPEN_ISSUE).aggregate(
        **by_priority,
        open_total=Count("pk"),
        overdue=Count("pk", filter=missed_target(now)),
        patient_safety=Count("pk", filter=Q(patient_safety=True)),
    )


# Each row of the scope's issues counted in every set at once: PostgreSQL reads the table once
# and keeps one hash table per set, where a query per figure read it eight times. The service
# levels are counted in the whole-scope set: a target has come due when it was met or missed
# (first response: acknowledged, or its time passed; resolution: resolved, or its time passed
# while its clock ran, since a clock stopped while waiting on the reporter misses nothing).
_SETS = ("category", "application", "unit", "site", "priority", "created_hour", "resolved_hour")
_ONE_PASS_SQL = " ".join(
    f"""
    SELECT GROUPING(i.category_id, i.application_id, i.unit_id, i.site_id, i.priority,
                    h.created_hour, h.resolved_hour),
           i.category_id, i.application_id, i.unit_id, i.site_id, i.priority, h.created_hour,
           h.resolved_hour,
           count(*),
           count(*) FILTER (WHERE i.respond_by IS NOT NULL AND (i.acknowledged_at IS NOT NULL
                            OR (i.sla_paused_at IS NULL AND i.respond_by < %(now)s))),
           count(*) FILTER (WHERE i.acknowledged_at <= i.respond_by),
           count(*) FILTER (WHERE i.due_at IS NOT NULL AND (i.resolved_at IS NOT NULL
                            OR (i.sla_paused_at IS NULL AND i.due_at < %(now)s))),
           count(*) FILTER (WHERE i.resolved_at <= i.due_at),
           count(i.acknowledged_at), count(i.resolved_at)
    FROM {Issue._meta.db_table} i
    CROSS JOIN LATERAL (
        SELECT date_trunc('hour', i.created_at AT TIME ZONE 'UTC') AS created_hour,
               date_trunc('hour', i.resolved_at AT TIME ZONE 'UTC') AS resolved_hour
    ) h
    WHERE i.go_live_id = %(go_live)s
      AND (%(unit)s::bigint IS NULL OR i.unit_id = %(unit)s::bigint)
      AND (%(site)s::bigint IS NULL OR i.site_id = %(site)s::bigint)
    GROUP BY GROUPING SETS ((), (i.category_id), (i.application_id), (i.unit_id), (i.site_id),
                            (i.priority), (h.created_hour), (h.resolved_hour))
    """.split()
)
_SLA_COLUMNS = ("response_due", "response_met", "resolution_due", "resolution_met")
# Counted in every set; the (priority) set's are how many durations each percentile is among.
_DONE_COLUMNS = ("acknowledged", "resolved")

Grouped = dict[tuple[str, Any], dict[str, int]]


def _one_pass(scope: Scope, now: dt.datetime) -> Grouped:
    """{(set, key): counts}: ("total", None) for the whole scope (with the service levels), then
    ("category", id), ("application", id or None), ("unit", id), ("site", id), ("priority", P1
    to P4: with how many were acknowledged and resolved), and ("created_hour" / "resolved_hour",
    the UTC hour), each with its count `n`."""
    params = {
        "go_live": scope.go_live.pk,
        "unit": scope.unit.pk if scope.unit is not None else None,
        "site": scope.site.pk if scope.site is not None else None,
        "now": now,
    }
    grouped: Grouped = {}
    with prepared_cursor() as cursor:
        cursor.execute(_ONE_PASS_SQL, params)
        for row in cursor.fetchall():
            mask, keys = row[0], row[1 : 1 + len(_SETS)]
            n, counts = row[1 + len(_SETS)], row[2 + len(_SETS) :]
            sla, done = counts[: len(_SLA_COLUMNS)], counts[len(_SLA_COLUMNS) :]
            # GROUPING gives a bit per column, set where the row is NOT grouped by it.
            grouped_by = [name for bit, name in enumerate(reversed(_SETS)) if not mask >> bit & 1]
            if not grouped_by:
                grouped[("total", None)] = {"n": n, **dict(zip(_SLA_COLUMNS, sla, strict=True))}
            else:
                (name,) = grouped_by
                key = keys[_SETS.index(name)]
                if name.endswith("_hour") and key is not None:
                    key = key.replace(tzinfo=dt.UTC)
                grouped[(name, key)] = {"n": n}
                if name == "priority":
                    grouped[(name, key)] |= dict(zip(_DONE_COLUMNS, done, strict=True))
    return grouped


# The medians and 90th percentiles of the times to acknowledge and to resolve, read as order
# statistics from the two partial indexes on (go-live, priority, duration) (issue_ack_time_idx,
# issue_resolve_time_idx): each percentile is the one or two durations at its rank, which an
# index-only scan reaches by skipping the ranks before it (from whichever end is nearer), where
# percentile_cont would sort every duration of the go-live. How many durations each priority
# has comes from the one pass. A place (site or unit) is a filter on the indexes' own columns.
_PLACE = (
    "(%(unit)s::bigint IS NULL OR i.unit_id = %(unit)s::bigint) "
    "AND (%(site)s::bigint IS NULL OR i.site_id = %(site)s::bigint)"
)
_RANKED = {
    (measure, order): f"""ARRAY(
        SELECT i.{measure}_at - i.created_at FROM {Issue._meta.db_table} i
        WHERE i.go_live_id = %(go_live)s AND i.priority = q.priority AND i.{measure}_at IS NOT NULL
          AND {_PLACE}
        ORDER BY i.{measure}_at - i.created_at {order} OFFSET q.skip LIMIT q.take)"""
    for measure in ("acknowledged", "resolved")
    for order in ("ASC", "DESC")
}
_TIMES_SQL = " ".join(
    f"""
    SELECT q.pick, CASE
        WHEN q.measure = 'acknowledged' AND NOT q.from_end THEN {_RANKED["acknowledged", "ASC"]}
        WHEN q.measure = 'acknowledged' THEN {_RANKED["acknowledged", "DESC"]}
        WHEN NOT q.from_end THEN {_RANKED["resolved", "ASC"]}
        ELSE {_RANKED["resolved", "DESC"]}
    END
    FROM unnest(%(picks)s::int[], %(measures)s::text[], %(priorities)s::text[],
                %(skips)s::bigint[], %(takes)s::int[], %(from_end)s::bool[])
         AS q (pick, measure, priority, skip, take, from_end)
    """.split()
)
FRACTIONS = (0.5, 0.9)


@dataclass(frozen=True)
class _Rank:
    """Where one percentile of `n` sorted durations falls: between ranks `low` and `high` (from
    0), `weight` of the way, as percentile_cont interpolates."""

    measure: str
    priority: str
    fraction: float
    n: int

    @property
    def low(self) -> int:
        return int(self.fraction * (self.n - 1))

    @property
    def high(self) -> int:
        return min(self.low + 1, self.n - 1)

    @property
    def weight(self) -> float:
        return self.fraction * (self.n - 1) - self.low

    @property
    def from_end(self) -> bool:
        return self.low >= self.n // 2

    @property
    def skip(self) -> int:
        return self.n - 1 - self.high if self.from_end else self.low

    def value(self, durations: list[dt.timedelta]) -> dt.timedelta:
        first, last = min(durations), max(durations)
        return first + (last - first) * self.weight


def _times(scope: Scope, grouped: Grouped) -> list[Times]:
    ranks = [
        _Rank(measure, priority, fraction, n)
        for priority in Priority.values
        for measure in ("acknowledged", "resolved")
        for fraction in FRACTIONS
        if (n := grouped.get(("priority", priority), {}).get(measure, 0))
    ]
    values: dict[tuple[str, str, float], dt.timedelta] = {}
    if ranks:
        params = {
            "go_live": scope.go_live.pk,
            "unit": scope.unit.pk if scope.unit is not None else None,
            "site": scope.site.pk if scope.site is not None else None,
            "picks": list(range(len(ranks))),
            "measures": [rank.measure for rank in ranks],
            "priorities": [rank.priority for rank in ranks],
            "skips": [rank.skip for rank in ranks],
            "takes": [rank.high - rank.low + 1 for rank in ranks],
            "from_end": [rank.from_end for rank in ranks],
        }
        with prepared_cursor() as cursor:
            cursor.execute(_TIMES_SQL, params)
            for pick, durations in cursor.fetchall():
                rank = ranks[pick]
                values[rank.measure, rank.priority, rank.fraction] = rank.value(durations)
    times = []
    for priority in Priority.values:
        counts = grouped.get(("priority", priority), {})
        times.append(
            Times(
                priority=priority,
                acknowledged=counts.get("acknowledged", 0),
                acknowledge_p50=values.get(("acknowledged", priority, 0.5)),
                acknowledge_p90=values.get(("acknowledged", priority, 0.9)),
                resolved=counts.get("resolved", 0),
                resolve_p50=values.get(("resolved", priority, 0.5)),
                resolve_p90=values.get(("resolved", priority, 0.9)),
            )
        )
    return times


def _hours(grouped: Grouped, go_live: GoLive, now: dt.datetime) -> list[Hour]:
    """Created, resolved and the backlog for each hour since the cutover, the hour under way
    included. Hours are counted on UTC's clock and shown on the go-live's, so a daylight-saving
    change neither merges nor drops one. The backlog counts issues created and not resolved by
    the end of the hour (an issue reopened since counts as open again)."""
    first = go_live.cutover_at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if first > now:
        return []
    created = {key: c["n"] for (name, key), c in grouped.items() if name == "created_hour"}
    resolved = {
        key: c["n"]
        for (name, key), c in grouped.items()
        if name == "resolved_hour" and key is not None
    }
    # Open when the first hour began: what was logged and not resolved before it.
    backlog = sum(n for hour, n in created.items() if hour < first)
    backlog -= sum(n for hour, n in resolved.items() if hour < first)
    hours = []
    start = first
    while start <= now:
        made, fixed = created.get(start, 0), resolved.get(start, 0)
        backlog += made - fixed
        hours.append(
            Hour(
                start=start.astimezone(go_live.tzinfo),
                created=made,
                resolved=fixed,
                backlog=backlog,
            )
        )
        start += dt.timedelta(hours=1)
    return hours


def _top(grouped: Grouped, name: str, model: type[Category | Application | Unit]) -> list[Ranked]:
    """The `TOP` rows of `model` with the most issues, most first (ties by name)."""
    counts = {key: c["n"] for (group, key), c in grouped.items() if group == name and key}
    names = dict(model.objects.filter(pk__in=counts).values_list("pk", "name"))
    ranked = sorted(
        (Ranked(names[pk], n) for pk, n in counts.items()), key=lambda r: (-r.count, r.name)
    )
    return ranked[:TOP]


def _sites(scope: Scope, grouped: Grouped) -> list[SiteLoad]:
    """Issues per site against its end users (the sum of its units'), so sites of different
    sizes compare fairly; only the scope's site when one is chosen (a unit's site)."""
    sites = Site.objects.filter(go_live=scope.go_live)
    if scope.unit is not None:
        sites = sites.filter(pk=scope.unit.site_id)
    elif scope.site is not None:
        sites = sites.filter(pk=scope.site.pk)
    return [
        SiteLoad(
            site=site,
            issues=grouped.get(("site", site.pk), {}).get("n", 0),
            end_users=site.end_users or 0,  # type: ignore[attr-defined]
        )
        for site in sites.annotate(end_users=Sum("units__end_user_count")).order_by("name")
    ]


def _outbox(go_live: GoLive) -> Outbox:
    waiting = Q(status__in=[Notification.Status.PENDING, Notification.Status.SENDING])
    row = Notification.objects.filter(go_live=go_live).aggregate(
        pending=Count("pk", filter=waiting),
        failed=Count("pk", filter=Q(status=Notification.Status.FAILED)),
        oldest_pending=Min("created_at", filter=waiting),
    )
    return Outbox(**row)
