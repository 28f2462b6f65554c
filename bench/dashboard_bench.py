"""Dashboard benchmark: the command center's dashboard with 60,000 issues and 3,000 assignments.

Run by `make bench` after the export benchmark. It builds the staffing data set (40 units x 28
days x 2 shifts, 1,500 people, 3,000 assignments), moves its cutover 17 days back, and logs
60,000 issues over those days (10,000 open, 50,000 closed, acknowledged and resolved), so the
hourly charts span about 400 hours. Then it times the page through Django's test client in this
process (server time and queries, the median of the rounds) for the whole go-live, one site and
one unit, next to the bare SELECT view of the same run. The issue's budget: a constant number of
queries and at most 300 ms. Results are appended to docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_databases,
    teardown_databases,
)
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.issues_data import add_issues  # noqa: E402
from bench.staffing_bench import ASSIGNMENTS, PEOPLE, bench_environment, build, get, measure  # noqa: E402
from golive.models import Application, GoLive, Site, Unit  # noqa: E402
from golive.wsgi import tune_garbage_collector  # noqa: E402
from issues.models import Issue  # noqa: E402
from issues.services import ensure_issue_setup  # noqa: E402
from staffing.models import Assignment  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
OPEN, CLOSED = 10_000, 50_000
BUDGET_MS = 300
DAYS_LIVE = 17


def main() -> None:
    tune_garbage_collector()
    bench_environment()
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        started = time.perf_counter()
        go_live, lead = build()
        now = timezone.now()
        GoLive.objects.filter(pk=go_live.pk).update(cutover_at=now - dt.timedelta(days=DAYS_LIVE))
        ensure_issue_setup(go_live=go_live)
        units = list(Unit.objects.filter(site__go_live=go_live).order_by("pk"))
        apps = list(Application.objects.filter(go_live=go_live).order_by("pk"))
        add_issues(go_live, units, apps, open_count=OPEN, closed_count=CLOSED, now=now)
        with connection.cursor() as db:
            db.execute("ANALYZE")
        build_seconds = time.perf_counter() - started
        assert Issue.objects.filter(go_live=go_live).count() == OPEN + CLOSED
        assignments = Assignment.objects.filter(shift__go_live=go_live).count()
        site = Site.objects.filter(go_live=go_live).order_by("pk").first()
        assert site is not None
        with override_settings(ROOT_URLCONF="bench.urls", ALLOWED_HOSTS=["testserver"]):
            client = Client()
            client.force_login(lead)
            page = reverse("issues:dashboard")
            rows = {
                "bare view: one indexed SELECT": measure(
                    get(client, f"/bench/select/?pk={go_live.pk}")
                ),
                "dashboard, whole go-live": measure(get(client, page)),
                "dashboard, one site": measure(get(client, f"{page}?site={site.pk}")),
                "dashboard, one unit": measure(get(client, f"{page}?unit={units[0].pk}")),
                "dashboard refresh (htmx partial)": measure(
                    lambda n: client.get(page, headers={"HX-Request": "true"})
                ),
            }
        write_report(rows, build_seconds, assignments, len(units))
    finally:
        teardown_databases(databases, verbosity=0)


def write_report(
    rows: dict[str, dict[str, float]], build_seconds: float, assignments: int, unit_count: int
) -> None:
    base = rows["bare view: one indexed SELECT"]["median"]
    lines = [
        "",
        "## Command center dashboard",
        "",
        "Written by `make bench` (bench/dashboard_bench.py): the page through Django's test client "
        "in one process, signed in as a command center lead, median of the rounds, ratio to the "
        "bare SELECT of this run.",
        "",
        f"- Data: {OPEN:,} open and {CLOSED:,} closed issues over {unit_count} units "
        f"and {DAYS_LIVE} days since the cutover; {PEOPLE:,} people, {assignments:,} "
        f"assignments (the staffing data set, {ASSIGNMENTS:,} asked); built in "
        f"{build_seconds:.1f} s; Django {django.get_version()}, PostgreSQL "
        f"{connection.pg_version // 10000}",
        "",
        "| path | median ms | p95 ms | queries | x bare SELECT | budget ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        budget = str(BUDGET_MS) if name.startswith("dashboard") else ""
        lines.append(
            f"| {name} | {row['median']:.1f} | {row['p95']:.1f} | {row['queries']:.0f} | "
            f"{row['median'] / base:.1f} | {budget} |"
        )
    with OUT.open("a") as report:
        report.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert settings.DATABASES["default"]["NAME"].startswith("test_")


if __name__ == "__main__":
    main()
