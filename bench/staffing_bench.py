"""Staffing benchmarks: the coverage grid, the shift panel's eligible people, who's on now, who to
call now, auto-fill.

Run by `make bench`. It builds the issue's data set in a throw-away test database (40 units x 28
days x 2 shifts, 1,500 people, 3,000 assignments), then times each path through Django's test
client in this process, next to two bare views (one indexed SELECT, one INSERT) measured the
same way in the same run: the ratio to the bare SELECT is what the budget tables compare. Results
go to docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange  # noqa: E402
from django.template.base import Template  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from golive.models import Application, GoLive, Membership, Role, Site, Unit  # noqa: E402
from golive.services import ensure_default_directory  # noqa: E402
from golive.wsgi import tune_garbage_collector  # noqa: E402
from issues.models import Category  # noqa: E402
from issues.reach import call_list  # noqa: E402
from issues.services import ensure_issue_setup  # noqa: E402
from staffing.autofill import compute_proposal  # noqa: E402
from staffing.grid import eligible_people  # noqa: E402
from staffing.models import (  # noqa: E402
    Assignment,
    AutoFillRun,
    Shift,
    StaffingSettings,
    SupportPerson,
    SupportRole,
)

UNITS, DAYS, PEOPLE, ASSIGNMENTS = 40, 28, 1500, 3000
ROUNDS = 30
OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def build() -> tuple[GoLive, User]:
    """The issue's data set, written with bulk inserts (rules are not the subject here)."""
    tz = dt.UTC
    today = timezone.localdate()
    cutover = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(5), tz)
    go_live = GoLive.objects.create(
        name="Bench Health Wave 1",
        organization="Bench Health",
        cutover_at=cutover,
        support_ends_at=cutover + dt.timedelta(days=DAYS + 7),
        time_zone="America/Chicago",
        phase=GoLive.Phase.LIVE,
    )
    sites = [Site.objects.create(go_live=go_live, name=f"Site {n}", code=f"S{n}") for n in range(2)]
    units = Unit.objects.bulk_create(
        Unit(site=sites[n % 2], name=f"Unit {n:02}", end_user_count=50) for n in range(UNITS)
    )
    apps = Application.objects.bulk_create(
        Application(go_live=go_live, name=f"Application {n}") for n in range(10)
    )
    add_roster(go_live, units, apps)
    user = User.objects.create_user("bench_lead", password="bench")
    Membership.objects.create(user=user, go_live=go_live, role=Role.COMMAND_CENTER_LEAD)
    return go_live, user


def add_roster(go_live: GoLive, units: list[Unit], apps: list[Application]) -> None:
    """PEOPLE support people over `units` (each with one skill of `apps`), a day and a night
    shift on every unit for DAYS days from yesterday, and ASSIGNMENTS of the people to the earliest
    shifts, nobody twice within 10 hours; then planner statistics. bench/load_bench.py adds this
    to the issue log's data set."""
    today = timezone.localdate()
    roles = [SupportRole.SUPER_USER, SupportRole.AT_THE_ELBOW]
    people = SupportPerson.objects.bulk_create(
        SupportPerson(
            go_live=go_live,
            name=f"Person {n:04}",
            role=roles[n % 2],
            email=f"p{n}@bench.example",
            home_unit=units[n % len(units)],
            home_site=units[n % len(units)].site,
        )
        for n in range(PEOPLE)
    )
    Through = SupportPerson.skills.through
    Through.objects.bulk_create(
        Through(supportperson_id=person.pk, application_id=apps[i % len(apps)].pk)
        for i, person in enumerate(people)
    )
    local = go_live.tzinfo
    shifts = []
    for unit in units:
        for day in range(DAYS):
            # From yesterday: at any hour a shift is under way (who's on now has people on).
            date = today + dt.timedelta(days=day - 1)
            for label, hour in (("Day", 7), ("Night", 19)):
                start = dt.datetime.combine(date, dt.time(hour), local)
                end = dt.datetime.combine(
                    date + dt.timedelta(days=1 if hour == 19 else 0),
                    dt.time((hour + 12) % 24),
                    local,
                )
                shifts.append(
                    Shift(
                        go_live=go_live,
                        unit=unit,
                        role=SupportRole.SUPER_USER,
                        label=label,
                        start=start,
                        end=end,
                        needed=2,
                    )
                )
    shifts = Shift.objects.bulk_create(shifts)
    shifts.sort(key=lambda s: (s.start, s.unit_id))
    free_from = {person.pk: go_live.cutover_at for person in people}
    order = [person.pk for person in people]
    assignments = []
    cursor = 0
    for shift in shifts:
        placed = 0
        for _ in range(len(order)):
            if placed == shift.needed or len(assignments) >= ASSIGNMENTS:
                break
            person_id = order[cursor % len(order)]
            cursor += 1
            if free_from[person_id] <= shift.start - dt.timedelta(hours=10):
                free_from[person_id] = shift.end
                assignments.append(
                    Assignment(
                        shift=shift,
                        person_id=person_id,
                        period=DateTimeTZRange(shift.start, shift.end, "[)"),
                    )
                )
                placed += 1
    Assignment.objects.bulk_create(assignments)
    with connection.cursor() as db:
        # Planner statistics, as autovacuum would have gathered on a live system.
        db.execute("ANALYZE")


def bench_environment() -> None:
    """Django's test environment (test databases, the test client, no DEBUG), with templates
    rendered as in production: the test environment wraps every template render, each include
    too, to record it for tests' assertions, which production never pays for."""
    render = Template._render
    setup_test_environment(debug=False)
    Template._render = render  # type: ignore[method-assign]


def measure(call: Callable[[int], object]) -> dict[str, float]:
    call(-1)  # warm caches and connections
    times, queries = [], []
    for n in range(ROUNDS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            call(n)
            times.append((time.perf_counter() - start) * 1000)
        queries.append(len(captured.captured_queries))
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "queries": max(queries),
    }


def get(client: Client, url: str) -> Callable[[int], object]:
    def call(n: int) -> object:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    return call


def main() -> None:
    # The same collector settings as the web processes (golive/wsgi.py).
    tune_garbage_collector()
    bench_environment()
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        with override_settings(ROOT_URLCONF="bench.urls", ALLOWED_HOSTS=["testserver"]):
            built = time.perf_counter()
            go_live, user = build()
            build_seconds = time.perf_counter() - built
            client = Client()
            client.force_login(user)
            # The last shift of the range: still empty, so the panel ranks the whole roster.
            shift = Shift.objects.filter(go_live=go_live).order_by("-start", "unit__name").first()
            assert shift is not None
            panel_shift = Shift.objects.select_related("go_live", "application").get(pk=shift.pk)
            staffing = StaffingSettings.for_go_live(go_live)
            assert shift is not None
            # Who to call needs the go-live's tiers and its issue setup (categories, paths).
            ensure_default_directory(go_live=go_live)
            ensure_issue_setup(go_live=go_live)
            category = Category.objects.filter(go_live=go_live).first()
            assert category is not None
            call = f"{reverse('issues:call_now')}?unit={shift.unit_id}&category={category.pk}"
            rows = {
                "bare view: one indexed SELECT": measure(
                    get(client, f"/bench/select/?pk={go_live.pk}")
                ),
                "bare view: one INSERT": measure(
                    lambda n: client.post("/bench/insert/", {"client_key": f"staffing-{n}"})
                ),
                "coverage grid, 40 units x 28 days x 2 shifts": measure(
                    get(client, reverse("staffing:grid") + "?days=28")
                ),
                "shift panel with eligible people (1,500)": measure(
                    get(client, reverse("staffing:shift_detail", args=[shift.pk]))
                ),
                "eligible people list only (1,500)": measure(
                    get(client, reverse("staffing:shift_candidates", args=[shift.pk]))
                ),
                "eligible people service call, no HTTP (1,500)": measure(
                    lambda n: eligible_people(shift=panel_shift, staffing=staffing)
                ),
                "who's on now (page, 40 units)": measure(get(client, reverse("staffing:whos_on"))),
                "who's on now (JSON)": measure(get(client, reverse("staffing:whos_on_json"))),
                "who to call now, one unit and kind of problem (1,500)": measure(get(client, call)),
                "who to call now, service call, no HTTP (1,500)": measure(
                    lambda n: call_list(
                        go_live=go_live,
                        unit=shift.unit,
                        category_id=category.pk,
                        at=timezone.now(),
                    )
                ),
            }
            autofill = time_autofill(go_live, user)
        write_report(rows, build_seconds, autofill)
    finally:
        teardown_databases(databases, verbosity=0)


def time_autofill(go_live: GoLive, user: User) -> str:
    """One auto-fill proposal over the whole range, computed in this process as a worker would."""
    today = timezone.localdate(timezone.now(), go_live.tzinfo)
    run = AutoFillRun.objects.create(
        go_live=go_live,
        created_by=user,
        start_date=today,
        end_date=today + dt.timedelta(days=DAYS - 1),
    )
    run.units.set(Unit.objects.filter(site__go_live=go_live))
    start = time.perf_counter()
    compute_proposal(run_id=run.pk)
    seconds = time.perf_counter() - start
    run.refresh_from_db()
    return (
        f"Auto-fill of {DAYS} days x {UNITS} units ({run.total} shifts with open places, "
        f"{PEOPLE} people): {seconds:.1f} s to propose {run.proposals.count()} assignments, "
        f"{len(run.unfilled)} shifts left with open places (budget: 30 s)."
    )


# Budgets from DESIGN.md §5 and the staffing issue (server time).
BUDGETS = {
    "coverage grid, 40 units x 28 days x 2 shifts": "150",
    "eligible people list only (1,500)": "50",
    "eligible people service call, no HTTP (1,500)": "50",
    "who's on now (page, 40 units)": "30",
    "who's on now (JSON)": "30",
    "who to call now, one unit and kind of problem (1,500)": "30",
    "who to call now, service call, no HTTP (1,500)": "30",
}


def cpu_check() -> float:
    """Seconds for a fixed piece of pure Python: shared machines of one kind vary threefold."""
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.perf_counter() - started


def write_report(rows: dict[str, dict[str, float]], build_seconds: float, autofill: str) -> None:
    base = rows["bare view: one indexed SELECT"]["median"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/staffing_bench.py), with the web processes' garbage "
        "collector settings (golive/wsgi.py). Each path is requested "
        f"{ROUNDS} times through Django's test client in one process against PostgreSQL, after one "
        "warm-up request, with templates rendered as in production (not recorded for tests); the "
        "ratio compares its median with the bare SELECT view's median in the same run.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Django {django.get_version()}, PostgreSQL {connection.pg_version // 10000}",
        f"- Data: {UNITS} units, {DAYS} days x 2 shifts ({UNITS * DAYS * 2} shifts), {PEOPLE} people, "
        f"{Assignment.objects.count()} assignments (built in {build_seconds:.1f} s)",
        f"- Date: {timezone.now():%Y-%m-%d %H:%M} UTC",
        f"- Machine speed: 10 million Python additions in {cpu_check():.2f} s (shared machines of one "
        "kind vary up to threefold between runs: read the milliseconds against this, the ratios "
        "compare within the run)",
        "",
        "| path | median ms | p95 ms | queries | x bare SELECT | budget ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['median']:.1f} | {row['p95']:.1f} | {row['queries']:.0f} | "
            f"{row['median'] / base:.1f} | {BUDGETS.get(name, '')} |"
        )
    lines += ["", autofill]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    assert settings.DATABASES["default"]["NAME"].startswith("test_")


if __name__ == "__main__":
    main()
