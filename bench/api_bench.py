"""API benchmark: the issue list, 50 per page, with 60,000 issues (10,000 open, 50,000 closed).

Run by `make bench` after the dashboard benchmark. It builds the issue benchmarks' data set
(bench/issues_data.py), gives the command center lead a token, and times the API through
Django's test client in this process (server time and queries, the median of the rounds), next
to the bare SELECT view of the same run: the open queue's first page, the whole log's first
page, a deep page of the open queue and of the whole log by number, one unit, a text search,
and one issue. The issue's budget: at most 80 ms
and a constant number of queries. Results are appended to docs/benchmarks.md.
"""

from __future__ import annotations

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

from bench.issues_data import CLOSED, OPEN, build  # noqa: E402
from bench.staffing_bench import bench_environment, get, measure  # noqa: E402
from golive.services import create_api_token  # noqa: E402
from golive.wsgi import tune_garbage_collector  # noqa: E402
from issues.models import Issue  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BUDGET_MS = 80


def main() -> None:
    tune_garbage_collector()
    bench_environment()
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        started = time.perf_counter()
        go_live, lead, unit = build()
        build_seconds = time.perf_counter() - started
        assert Issue.objects.filter(go_live=go_live).count() == OPEN + CLOSED
        with connection.cursor() as db:
            # What autovacuum does to a table after many inserts (since PostgreSQL 13): the page's
            # count reads the index alone once the visibility map says the rows are visible.
            db.execute("VACUUM ANALYZE issues_issue")
        _token, key = create_api_token(user=lead, name="bench", created_by=lead, expires_at=None)
        newest = Issue.objects.filter(go_live=go_live).order_by("-number").first()
        assert newest is not None
        base = f"/api/v1/go-lives/{go_live.pk}/issues/"
        with override_settings(ROOT_URLCONF="bench.urls", ALLOWED_HOSTS=["testserver"]):
            client = Client(headers={"Authorization": f"Bearer {key}"})
            rows = {
                "bare view: one indexed SELECT": measure(
                    get(client, f"/bench/select/?pk={go_live.pk}")
                ),
                "open issues, page 1": measure(get(client, base)),
                "every issue, page 1": measure(get(client, f"{base}?status=any")),
                "open issues, page 100": measure(get(client, f"{base}?page=100&page_size=50")),
                "every issue by number, page 1,000 (of 1,200)": measure(
                    get(client, f"{base}?status=any&ordering=number&page=1000")
                ),
                "one unit's open issues": measure(get(client, f"{base}?unit={unit.pk}")),
                "search “printer”, any status": measure(
                    get(client, f"{base}?q=printer&status=any")
                ),
                "one issue": measure(get(client, f"{base}{newest.number}/")),
            }
        write_report(rows, build_seconds)
    finally:
        teardown_databases(databases, verbosity=0)


def write_report(rows: dict[str, dict[str, float]], build_seconds: float) -> None:
    bare = rows["bare view: one indexed SELECT"]["median"]
    lines = [
        "",
        "## REST API: the issue list",
        "",
        "Written by `make bench` (bench/api_bench.py): `/api/v1/go-lives/<id>/issues/` through "
        "Django's test client in one process, with a command center lead's bearer token, 50 "
        "issues a page, median of the rounds, ratio to the bare SELECT of this run.",
        "",
        f"- Data: {OPEN:,} open and {CLOSED:,} closed issues over 40 units; built in "
        f"{build_seconds:.1f} s; Django {django.get_version()}, PostgreSQL "
        f"{connection.pg_version // 10000}",
        "",
        "| request | median ms | p95 ms | queries | x bare SELECT | budget ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        budget = "" if name.startswith("bare") else str(BUDGET_MS)
        lines.append(
            f"| {name} | {row['median']:.1f} | {row['p95']:.1f} | {row['queries']:.0f} | "
            f"{row['median'] / bare:.1f} | {budget} |"
        )
    with OUT.open("a") as report:
        report.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert settings.DATABASES["default"]["NAME"].startswith("test_")


if __name__ == "__main__":
    main()
