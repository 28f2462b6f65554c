"""The issue benchmarks' data set: one go-live with 40 units and 60,000 issues (10,000 open,
50,000 closed), written with bulk inserts so building it takes seconds, not the benchmark's time.

Titles are drawn from the words floor staff use (devices, printers, orders, logins...) so the
full-text index has the spread of a real log, not 60,000 copies of one phrase.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from golive.models import Application, EscalationTier, GoLive, Membership, Role, Site, Unit
from issues.models import Category, Impact, Issue, IssueCounter, KnownIssue, Priority, Urgency
from issues.services import ensure_issue_setup

UNITS = 40
OPEN, CLOSED = 10_000, 50_000

SUBJECTS = [
    "label printer",
    "wristband printer",
    "barcode scanner",
    "badge tap login",
    "workstation",
    "order set",
    "heparin protocol",
    "insulin drip",
    "eMAR",
    "MAR",
    "flowsheet",
    "vitals monitor",
    "tracking board",
    "lab results",
    "blood bank",
    "specimen labels",
    "discharge summary",
    "home medications",
    "insurance eligibility",
    "appointment desk",
    "CT order",
    "anesthesia record",
    "fetal monitor",
    "charge capture",
    "interface",
    "result routing",
    "printer queue",
    "password",
]
PROBLEMS = [
    "prints blank",
    "will not pair",
    "fails",
    "is slow",
    "times out",
    "is missing",
    "shows the wrong patient",
    "does not file to the chart",
    "jams",
    "locks the account",
    "freezes",
    "shows an error",
    "does not refresh",
    "drops the order",
    "is offline",
    "cannot find the patient",
]


def title(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(PROBLEMS)}"


def add_issues(
    go_live: GoLive,
    units: list[Unit],
    apps: list[Application],
    *,
    open_count: int,
    closed_count: int,
    now: dt.datetime,
) -> None:
    """`closed_count` closed issues then `open_count` open ones over `units` and `apps`, one every
    24 seconds up to `now` (60,000 span 16 days), with the go-live's issue counter past them.
    Closed issues were acknowledged within the hour and resolved within a day."""
    rng = random.Random(4)
    categories = list(Category.objects.filter(go_live=go_live, is_enhancement=False))
    statuses = ["new", "acknowledged", "in_progress", "waiting_reporter", "waiting_vendor"]
    priorities = list(Priority.values)
    issues = []
    total = open_count + closed_count
    for n in range(total):
        unit = units[n % len(units)]
        is_open = n >= closed_count  # the newest issues are the open ones
        created = now - dt.timedelta(minutes=(total - n) * 0.4)
        priority = priorities[rng.randrange(4)]
        status = statuses[n % 5] if is_open else "closed"
        issues.append(
            Issue(
                go_live=go_live,
                number=1001 + n,
                site_id=unit.site_id,
                unit=unit,
                category=categories[n % len(categories)],
                application=apps[n % len(apps)],
                title=title(rng),
                description=f"{title(rng)} since this morning; {title(rng).lower()} as well.",
                impact=rng.choice(Impact.values),
                urgency=rng.choice(Urgency.values),
                priority=priority,
                status=status,
                resolution="" if is_open else "Fixed at the elbow.",
                reporter_name="Bench RN",
                reporter_callback="x4400",
                created_at=created,
                updated_at=created,
                acknowledged_at=None
                if status == "new"
                else created + dt.timedelta(minutes=rng.randrange(1, 60)),
                resolved_at=None
                if is_open
                else created + dt.timedelta(minutes=rng.randrange(30, 1440)),
                due_at=created + dt.timedelta(hours=4 * (1 + priorities.index(priority))),
                routing_pending=False,
            )
        )
    Issue.objects.bulk_create(issues, batch_size=5000)
    IssueCounter.objects.update_or_create(go_live=go_live, defaults={"last_number": 1000 + total})


def build(*, open_count: int = OPEN, closed_count: int = CLOSED) -> tuple[GoLive, User, Unit]:
    """The go-live, a help desk lead who sees everything, and the unit the tablet is on."""
    now = timezone.now()
    go_live = GoLive.objects.create(
        name="Bench Health Wave 1",
        organization="Bench Health",
        cutover_at=now - dt.timedelta(days=20),
        support_ends_at=now + dt.timedelta(days=10),
        time_zone="America/Chicago",
        phase=GoLive.Phase.LIVE,
        command_center_phone="312-555-0100",
    )
    EscalationTier.objects.create(go_live=go_live, level=1, name="Floor support")
    EscalationTier.objects.create(go_live=go_live, level=9, name="Leadership", is_leadership=True)
    ensure_issue_setup(go_live=go_live)
    sites = [Site.objects.create(go_live=go_live, name=f"Site {n}", code=f"S{n}") for n in range(2)]
    units = Unit.objects.bulk_create(
        Unit(site=sites[n % 2], name=f"Unit {n:02}", end_user_count=50) for n in range(UNITS)
    )
    apps = Application.objects.bulk_create(
        Application(go_live=go_live, name=f"Application {n}") for n in range(10)
    )
    add_issues(go_live, units, apps, open_count=open_count, closed_count=closed_count, now=now)
    anchor = Issue.objects.filter(go_live=go_live, status="new").first()
    assert anchor is not None
    KnownIssue.objects.create(
        go_live=go_live,
        issue=anchor,
        title="Label printers print blank specimen labels",
        problem="Zebra label printers print blank labels after the driver update.",
        workaround="Print from the unit's backup printer.",
    )
    with connection.cursor() as db:
        # Planner statistics, as autovacuum would have gathered on a live system.
        db.execute("ANALYZE")
    lead = User.objects.create_user("bench_lead", password="bench", first_name="Bench")
    Membership.objects.create(user=lead, go_live=go_live, role=Role.COMMAND_CENTER_LEAD)
    return go_live, lead, units[0]
