"""Escalation sweep benchmark: one sweep over 100,000 open issues with 0, 100 and 1,000 due, then
the same over 10,000 open issues, to show that its cost follows the issues due, not those open.

Run by `make bench` after the issue-log benchmarks, on the staffing data set (40 units, 1,500
people on 28 days of shifts), with a directory contact in each tier. The due issues are P3
issues of every unit and application whose response target passed 30 minutes ago: each sweep
snapshots their path, sends the response warning and performs level 1 (the tier's people on
shift nearest the unit and its contacts, in-app and email), writing events and outbox rows, and
commits, as beat's sweep does (deliveries are queued to the broker after commit). Between rounds
the due issues are put back as they were. Results are appended to docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402

from bench.staffing_bench import build  # noqa: E402
from golive.celery import app as celery_app  # noqa: E402
from golive.models import Application, Contact, EscalationTier, GoLive, Notification  # noqa: E402
from golive.services import ensure_default_directory  # noqa: E402
from golive.wsgi import tune_garbage_collector  # noqa: E402
from issues.escalation import escalate_due_issues  # noqa: E402
from issues.models import Category, Impact, Issue, IssueEvent, Urgency  # noqa: E402
from issues.services import ensure_issue_setup  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
OPEN = 100_000
FEW_OPEN = 10_000
ROUNDS = 3
IDLE_ROUNDS = 30
H = dt.timedelta(hours=1)


def add_issues(go_live: GoLive, *, open_count: int, due: int) -> list[int]:
    """`open_count` open issues, of which the last `due` are due for the sweep now; their ids."""
    now = timezone.now()
    units = list(go_live.sites.values_list("units__id", "units__site_id"))
    apps = list(Application.objects.filter(go_live=go_live).values_list("pk", flat=True))
    category = Category.objects.filter(go_live=go_live, is_enhancement=False).first()
    assert category is not None
    rows = []
    for n in range(open_count):
        unit_id, site_id = units[n % len(units)]
        is_due = n >= open_count - due
        # Logged 2.5 h ago and never acknowledged (due), or acknowledged and well inside its time.
        created = now - (2.5 * H if is_due else dt.timedelta(minutes=n % 600))
        rows.append(
            Issue(
                go_live=go_live,
                number=1001 + n,
                site_id=site_id,
                unit_id=unit_id,
                category=category,
                application_id=apps[n % len(apps)],
                title="Label printer prints blank",
                impact=Impact.SEVERAL,
                urgency=Urgency.WORKAROUND,
                priority="P3",
                status="new" if is_due else "in_progress",
                reporter_name="Bench RN",
                created_at=created,
                updated_at=created,
                acknowledged_at=None if is_due else created,
                respond_by=created + 2 * H,
                due_at=created + 24 * H,
                next_escalation_at=created + (2 * H if is_due else 12 * H),
                routing_pending=False,
            )
        )
    made = Issue.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as db:
        db.execute("ANALYZE")
    return [issue.pk for issue in made[open_count - due :]]


def reset(ids: list[int], every: list[int]) -> None:
    """Of the issues that may be due (`every`), `ids` due, as they were before a sweep took
    them, and the others not yet; the last sweep's events and messages gone."""
    Notification.objects.all().delete()
    IssueEvent.objects.filter(issue_id__in=every).delete()
    Issue.objects.filter(pk__in=every).update(next_escalation_at=timezone.now() + H)
    Issue.objects.filter(pk__in=ids).update(
        next_escalation_at=timezone.now() - 0.5 * H,
        escalation_plan=None,
        escalation_round=0,
        escalation_done=[],
        escalation_warned=[],
    )
    celery_app.control.purge()


def sweep_ms(ids: list[int], every: list[int], rounds: int) -> tuple[float, int]:
    """Median milliseconds of one sweep, and how many issues it handled (checked each round)."""
    times = []
    for _ in range(rounds):
        reset(ids, every)
        start = time.perf_counter()
        handled = escalate_due_issues()
        times.append((time.perf_counter() - start) * 1000)
        assert handled == len(ids), (handled, len(ids))
    return statistics.median(times), len(ids)


def main() -> None:
    tune_garbage_collector()
    setup_test_environment(debug=False)
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        go_live, _ = build()
        ensure_default_directory(go_live=go_live)
        ensure_issue_setup(go_live=go_live)
        for tier in EscalationTier.objects.filter(go_live=go_live, is_leadership=False):
            Contact.objects.create(
                go_live=go_live, tier=tier, name=f"{tier.name} desk", email="desk@bench.example"
            )
        started = time.perf_counter()
        due_ids = add_issues(go_live, open_count=OPEN, due=1000)
        build_seconds = time.perf_counter() - started
        rows: list[tuple[str, float, int]] = []
        for label, ids in (
            ("0 due", []),
            ("100 due", due_ids[:100]),
            ("1,000 due", due_ids),
        ):
            rounds = IDLE_ROUNDS if not ids else ROUNDS
            median, handled = sweep_ms(ids, due_ids, rounds)
            rows.append((f"{OPEN:,} open, {label}", median, handled))
        # The same with a tenth of the issues open: the due ones stay, the rest are closed.
        Issue.objects.exclude(pk__in=due_ids).filter(
            pk__in=Issue.objects.exclude(pk__in=due_ids).values("pk")[: OPEN - FEW_OPEN]
        ).update(status="closed", resolution="Fixed.", next_escalation_at=None)
        with connection.cursor() as db:
            db.execute("ANALYZE")
        for label, ids in (("0 due", []), ("1,000 due", due_ids)):
            median, handled = sweep_ms(ids, due_ids, IDLE_ROUNDS if not ids else ROUNDS)
            rows.append((f"{FEW_OPEN:,} open, {label}", median, handled))
        write_report(rows, build_seconds)
    finally:
        teardown_databases(databases, verbosity=0)


BUDGETS = {"100,000 open, 0 due": "20", "100,000 open, 1,000 due": "1000"}


def write_report(rows: list[tuple[str, float, int]], build_seconds: float) -> None:
    lines = [
        "",
        "## Escalation sweep",
        "",
        "Written by `make bench` (bench/escalation_bench.py): one sweep (`escalate_due_issues`, as "
        "beat runs it every 30 s) in this process, committing, over P3 issues whose response "
        "target passed, on the staffing data set (40 units, 1,500 people, 3,000 assignments over "
        "28 days; a directory contact per tier). Each due issue gets its snapshot, level 1 (its "
        "tier's nearest people on shift and the contact, in-app and email, each email with its "
        "signed acknowledge link: about 7 outbox rows) "
        f"and one timeline entry. Open issues added in {build_seconds:.1f} s. Median of "
        f"{ROUNDS} rounds with issues due, {IDLE_ROUNDS} with none.",
        "",
        "| sweep | median ms | issues handled | budget ms |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {ms:.1f} | {handled} | {BUDGETS.get(name, '')} |" for name, ms, handled in rows
    ]
    with OUT.open("a") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
