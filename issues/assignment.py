"""Auto-assignment: a new issue goes to the checked-in person on shift with the fewest open issues.

Every issue is offered to routing once, by a beat sweep every few seconds (not a task per issue:
filing an issue then costs no trip to the broker, and a broker outage delays nothing once it is
back). `Issue.routing_pending` is claimed by a conditional UPDATE in the transaction that routes
it, so overlapping sweeps never route one issue twice, and a worker that dies half-way leaves the
issue pending for the next sweep.

Routing is serialized per go-live by a PostgreSQL advisory lock held until the routing transaction
commits: the open-issue counts read under it stay true until the assignment is written, so two
issues routed at once never both take the last free place under a person's cap.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from golive.models import EscalationTier, GoLive, Membership
from golive.permissions import SUPPORT
from issues import services
from issues.models import (
    DEFAULT_ASSIGN_ROLES,
    LATER_TIER_ROLES,
    AssignmentRule,
    Issue,
    IssueSettings,
)
from staffing.whos_on import on_shift

logger = logging.getLogger(__name__)

# The first key of the two-key advisory lock: this lock's own space, so no other use of advisory
# locks keyed on a go-live id can collide with it.
ROUTING_LOCK_SPACE = 4_005
SWEEP_LIMIT = 500
NOBODY_NOTE = "Auto-assignment: nobody on shift with room"


class Outcome(StrEnum):
    ASSIGNED = "assigned"
    NOBODY = "nobody"  # nobody fits: the issue waits in the queue
    OFF = "off"  # the go-live routes by hand
    SETTLED = "settled"  # closed or claimed before routing reached it
    NOT_PENDING = "not_pending"  # routed already, or no such issue


@dataclass(frozen=True)
class Candidate:
    user: User
    name: str
    open_count: int
    last_given: dt.datetime | None

    def rank(self) -> tuple[int, dt.datetime, str, int]:
        """Fewest open issues first; then whoever got an issue longest ago (never: first)."""
        given = self.last_given or dt.datetime.min.replace(tzinfo=dt.UTC)
        return (self.open_count, given, self.name, self.user.pk)


def lock_routing(go_live_id: int) -> None:
    """Wait for, then hold until the transaction ends, the go-live's routing lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROUTING_LOCK_SPACE, go_live_id])


@dataclass(frozen=True)
class Plan:
    """How a go-live routes, read once per sweep: whether it does, the cap, its first line (the
    tier of an issue that has none) and the roles each tier's issues go to."""

    auto_assign: bool
    cap: int
    first_line: EscalationTier | None
    roles: dict[int, list[str]]

    @classmethod
    def of(cls, go_live: GoLive) -> Plan:
        routing = IssueSettings.objects.filter(go_live=go_live).first() or IssueSettings(
            go_live=go_live
        )
        tiers = list(EscalationTier.objects.filter(go_live=go_live))
        return cls(
            auto_assign=routing.auto_assign,
            cap=routing.assignee_cap,
            # The lowest-level tier that is not the leadership line.
            first_line=min(
                (tier for tier in tiers if not tier.is_leadership),
                key=lambda tier: tier.level,
                default=None,
            ),
            roles=roles_by_tier(go_live, tiers),
        )

    def roles_for(self, tier: EscalationTier | None) -> list[str]:
        """The support roles that take a tier's new issues: its rule, else the defaults."""
        return self.roles[tier.pk] if tier is not None else list(DEFAULT_ASSIGN_ROLES[1])


Plans = dict[int, Plan]


def route_issue(*, issue_id: int) -> Outcome:
    """Offer one issue to auto-assignment, once; what came of it."""
    with transaction.atomic():
        claimed = Issue.objects.filter(pk=issue_id, routing_pending=True).update(
            routing_pending=False
        )
        if not claimed:
            return Outcome.NOT_PENDING
        return _route(issue_id, {})


# The oldest issue waiting for routing that no other sweep holds, marked routed in the caller's
# transaction (which rolls that back if routing fails): one statement, on issue_routing_idx.
_CLAIM_NEXT_SQL = f"""
UPDATE {Issue._meta.db_table} SET routing_pending = false
WHERE id = (
    SELECT id FROM {Issue._meta.db_table}
    WHERE routing_pending AND NOT (id = ANY(%s))
    ORDER BY created_at LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


def route_pending_issues(*, limit: int = SWEEP_LIMIT) -> int:
    """The beat sweep: route the issues still pending; how many were offered.

    Each issue is claimed with SKIP LOCKED and routed in a transaction of its own, so the routing
    lock of a go-live is held for one issue at a time and two sweeps share the work. The go-lives'
    plans are read once per sweep. An issue whose routing fails is logged and stays pending for
    the next sweep.
    """
    plans: Plans = {}
    failed: list[int] = []
    routed = 0
    while routed + len(failed) < limit:
        issue_id: int | None = None
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(_CLAIM_NEXT_SQL, [failed])
                    row = cursor.fetchone()
                if row is None:
                    return routed
                issue_id = int(row[0])
                _route(issue_id, plans)
        except (OperationalError, InterfaceError):
            # The database cannot answer: stop here, the next sweep starts again.
            raise
        except Exception:
            if issue_id is None:
                raise
            logger.exception("Could not route issue %s", issue_id)
            failed.append(issue_id)
            continue
        routed += 1
    return routed


def _route(issue_id: int, plans: Plans) -> Outcome:
    """Route a claimed issue (its row locked by the claim) with its go-live's plan."""
    issue = Issue.objects.select_related(
        "go_live", "tier", "category", "reporter_user", "unit__site"
    ).get(pk=issue_id)
    if not issue.is_open or issue.assignee_id is not None:
        return Outcome.SETTLED
    go_live = issue.go_live
    plan = plans.get(go_live.pk)
    if plan is None:
        plan = plans[go_live.pk] = Plan.of(go_live)
    if not plan.auto_assign:
        return Outcome.OFF
    tier = issue.tier or plan.first_line
    lock_routing(go_live.pk)
    chosen = choose_assignee(
        go_live=go_live,
        roles=plan.roles_for(tier),
        application_id=issue.application_id,
        cap=plan.cap,
    )
    services.apply_routing(
        issue=issue,
        tier=tier,
        assignee=chosen.user if chosen is not None else None,
        note=f"{NOBODY_NOTE}: the issue waits in the queue for someone to claim it.",
    )
    return Outcome.ASSIGNED if chosen is not None else Outcome.NOBODY


def roles_by_tier(go_live: GoLive, tiers: list[EscalationTier]) -> dict[int, list[str]]:
    """`roles_for` of each tier, by tier id, in one query."""
    rules = {
        rule.tier_id: rule.roles
        for rule in AssignmentRule.objects.filter(go_live=go_live, tier__in=tiers)
    }
    # A rule with no role ticked stands: that tier's issues always wait in the queue.
    return {
        tier.pk: rules[tier.pk]
        if tier.pk in rules
        else list(DEFAULT_ASSIGN_ROLES.get(tier.level, LATER_TIER_ROLES))
        for tier in tiers
    }


def choose_assignee(
    *, go_live: GoLive, roles: list[str], application_id: int | None, cap: int
) -> Candidate | None:
    """The checked-in person on shift now in one of `roles` (knowing the application, if any)
    with the fewest open issues under `cap`; None when nobody fits.

    Only people with a login and an active support-side membership of the go-live can be given
    an issue. The counts are made by PostgreSQL in one query.
    """
    if not roles:
        return None
    names: dict[int, str] = {}
    for entry in on_shift(
        go_live=go_live,
        roles=roles,
        applications=[application_id] if application_id is not None else None,
    ):
        if entry.checked_in and entry.person.user_id is not None:
            names[entry.person.user_id] = entry.person.name
    if not names:
        return None
    mine = Issue.objects.filter(go_live=go_live, assignee_id=OuterRef("user_id")).order_by()
    open_count = (
        mine.filter(status__in=services.OPEN)
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_given = (
        mine.filter(assigned_at__isnull=False).order_by("-assigned_at").values("assigned_at")[:1]
    )
    rows = (
        Membership.objects.filter(
            go_live=go_live, user_id__in=list(names), is_active=True, role__in=SUPPORT
        )
        .select_related("user")
        .annotate(
            open_count=Coalesce(Subquery(open_count, output_field=IntegerField()), Value(0)),
            last_given=Subquery(last_given),
        )
        .filter(open_count__lt=cap)
    )
    candidates = [
        Candidate(
            user=row.user,
            name=names[row.user_id],
            open_count=row.open_count,
            last_given=row.last_given,
        )
        for row in rows
    ]
    return min(candidates, key=Candidate.rank, default=None)
