"""Load benchmark through the real processes, and a soak: gunicorn and a Celery worker on
PostgreSQL and Redis, driven by locust from a process of its own (bench/locustfile.py).

Run by `make bench` after the other benchmarks. It builds one data set in a throw-away test
database with the other benchmarks' builders: the issue log's (bench/issues_data.py: 60,000
issues, 10,000 of them open, over 40 units on 2 sites) and, on the same go-live and units, the
staffing benchmark's roster (bench/staffing_bench.py: 1,500 people, 28 days of day and night
shifts, 3,000 assignments); then 20 known issues, 200 enrolled unit tablets, 20 help desk agents
and 10 clinic managers (5 per site). It starts gunicorn as the Procfile does (WEB_CONCURRENCY
workers, default 2) and a Celery worker (WORKER_CONCURRENCY, default 2), with production
settings (bench/settings.py: DEBUG off, queries counted per request), and runs locust headless:

1. each path of DESIGN.md §5 and the two bare views in turn, BENCH_PATH_USERS users (default 4)
   without think time for BENCH_PATH_SECONDS (default 30) each: requests/s, latency percentiles,
   errors, queries per request, and the rate as a share of the bare SELECT's (reads) or the bare
   INSERT's (writes);
2. the go-live morning: 200 tablets filing issues and reading the known issues, 20 agents
   working the queue, 10 managers on the coverage grid, with think times (bench/locustfile.py),
   for BENCH_MORNING_SECONDS (default 180);
3. the soak: the morning for BENCH_SOAK_SECONDS (default 600), sampling every
   BENCH_SOAK_SAMPLE_SECONDS (default 20) the resident memory of gunicorn's and Celery's
   processes and the benchmark database's connections.

Results are appended to docs/benchmarks.md. Errors in any run fail the benchmark after the
report is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, F, Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402

from bench.issues_bench import (  # noqa: E402
    BENCH_SECRET_KEY,
    WEB_WORKERS,
    collect_static,
    enroll_tablet,
    free_port,
    server_env,
    start_gunicorn,
)
from bench.issues_data import build as build_issue_log  # noqa: E402
from bench.scenario import (  # noqa: E402
    AGENT_POLLS,
    CALL_EVERY,
    NAMES,
    PATH_ROLES,
    SAFETY_EVERY,
    START_SPREAD,
    THINK_AGENT_AFTER,
    THINK_AGENT_READ,
    THINK_AGENT_WORK,
    THINK_MANAGER_AFTER,
    THINK_MANAGER_GRID,
    THINK_MANAGER_SHIFT,
    THINK_TABLET_AFTER,
    THINK_TABLET_BOARD,
    THINK_TABLET_FINISH,
    THINK_TABLET_TYPING,
    WARM_UP_REQUESTS,
)
from bench.staffing_bench import add_roster, cpu_check  # noqa: E402
from golive.celery import app as celery_app  # noqa: E402
from golive.models import (  # noqa: E402
    Application,
    Contact,
    EscalationTier,
    GoLive,
    Membership,
    Role,
    Site,
    Unit,
)
from issues.access import TABLET_COOKIE  # noqa: E402
from issues.models import Category, Issue, KnownIssue, UnitTablet  # noqa: E402
from issues.queue import POLL_SECONDS  # noqa: E402
from staffing.models import Assignment, Shift, SupportPerson  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks.md"
PATH_SECONDS = float(os.environ.get("BENCH_PATH_SECONDS", "30"))
PATH_USERS = int(os.environ.get("BENCH_PATH_USERS", "4"))
MORNING_SECONDS = float(os.environ.get("BENCH_MORNING_SECONDS", "180"))
SOAK_SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "600"))
SAMPLE_SECONDS = float(os.environ.get("BENCH_SOAK_SAMPLE_SECONDS", "20"))
WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "2"))
TABLETS, AGENTS, MANAGERS, KNOWN_ISSUES = 200, 20, 10, 20
SPAWN_RATE = 50
# Issues handed to a run's claims and resolutions: more than any run gets through.
POOL = 20_000
# The soak's verdict leaves out the samples of its first minute (users arriving, caches filling)
# and calls a process growing when its last third is this much above its first third.
SOAK_WARM_UP = 60.0
GROWTH_MB, GROWTH_SHARE = 5.0, 0.05

# The paths' runs in their order: each path alone, but the submission and the bare INSERT it is
# held to (at least 70% of its rate) share a run, in turns of TURN_SECONDS, so that a busy
# moment of the shared machine falls on both. The queue is read before claims change it.
RUNS = [
    ("bare_select",),
    ("bare_insert", "intake_post"),
    ("intake_get",),
    ("known",),
    ("call",),
    ("queue",),
    ("queue_poll",),
    ("detail",),
    ("claim",),
    ("resolve",),
    ("grid",),
    ("shift_staffed",),
    ("shift_open",),
    ("whos_on",),
]
PATHS = [path for run in RUNS for path in run]
# A whole number of turns each, so both are driven for PATH_SECONDS whenever the run starts.
TURN_SECONDS = PATH_SECONDS / 6
WRITES = {"intake_post", "claim", "resolve"}
# DESIGN.md §5 (server time; the latencies here are the client's, queueing included).
BUDGETS = {
    "intake_get": "≤ 6 queries",
    "intake_post": "≤ 6 queries; ≥ 70% of bare INSERT",
    "queue": "constant queries, ≤ 100 ms server",
    "grid": "constant queries, ≤ 150 ms server",
    "whos_on": "≤ 30 ms server",
    "call": "≤ 30 ms server",
}


@dataclass(frozen=True)
class Cast:
    """Who the load plays, and what they work on."""

    go_live: GoLive
    tablets: list[str]
    agents: list[str]
    managers: list[dict[str, Any]]
    category: int
    week: dt.date
    shifts: dict[str, dict[str, list[int]]]
    issues: list[int]


@dataclass(frozen=True)
class Stats:
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    queries_mean: float | None
    queries_max: int | None


@dataclass(frozen=True)
class Run:
    stats: dict[str, Stats]
    failures: list[str]

    @property
    def total(self) -> Stats:
        return self.stats["Aggregated"]


@dataclass(frozen=True)
class Sample:
    seconds: float
    rss_mb: dict[str, float]
    pids: dict[str, int]
    connections: int


# --- The data set ---------------------------------------------------------------------------------


def build() -> Cast:
    go_live, _lead, _unit = build_issue_log()
    now = timezone.now()
    # The issue log's support ends 10 days from now; the roster's 28 days need it longer.
    GoLive.objects.filter(pk=go_live.pk).update(support_ends_at=now + dt.timedelta(days=35))
    go_live.refresh_from_db()
    units = list(Unit.objects.filter(site__go_live=go_live).select_related("site").order_by("pk"))
    apps = list(Application.objects.filter(go_live=go_live).order_by("pk"))
    add_roster(go_live, units, apps)
    add_known_issues(go_live, units)
    # Patient-safety reports email the leadership line at once: the worker's share of the load.
    Contact.objects.create(
        go_live=go_live,
        tier=EscalationTier.objects.get(go_live=go_live, is_leadership=True),
        name="Bench CMIO",
        email="cmio@bench.example",
    )
    tablets = [f"bench-tablet-{n:03}" for n in range(TABLETS)]
    for n, secret in enumerate(tablets):
        enroll_tablet(go_live, units[n % len(units)], secret)
    sites = list(Site.objects.filter(go_live=go_live).order_by("pk"))
    agents = [session(member(go_live, f"agent{n:02}", Role.HELP_DESK_AGENT)) for n in range(AGENTS)]
    managers = []
    for n in range(MANAGERS):
        site = sites[n % len(sites)]
        user = member(go_live, f"manager{n:02}", Role.CLINIC_MANAGER, site=site)
        managers.append({"session": session(user), "site": site.pk})
    with connection.cursor() as db:
        db.execute("ANALYZE")
    category = Category.objects.filter(go_live=go_live, is_enhancement=False).order_by("pk").first()
    assert category is not None
    week = manager_week(go_live)
    return Cast(
        go_live=go_live,
        tablets=tablets,
        agents=agents,
        managers=managers,
        category=category.pk,
        week=week,
        shifts={str(site.pk): week_shifts(go_live, site, week) for site in sites},
        issues=list(
            Issue.objects.filter(go_live=go_live).order_by("?").values_list("pk", flat=True)[:500]
        ),
    )


def add_known_issues(go_live: GoLive, units: list[Unit]) -> None:
    """Up to KNOWN_ISSUES on the board, anchored on open issues waiting on the vendor (none of
    the pools below): one in four for two units only, the others for every unit."""
    anchors = Issue.objects.filter(
        go_live=go_live, status=Issue.Status.WAITING_VENDOR, known_issue__isnull=True
    ).order_by("pk")[: KNOWN_ISSUES - KnownIssue.objects.filter(go_live=go_live).count()]
    for n, anchor in enumerate(anchors):
        known = KnownIssue.objects.create(
            go_live=go_live,
            issue=anchor,
            title=anchor.title,
            problem=anchor.description,
            workaround="Use the unit's backup device and call the command center.",
            status=KnownIssue.Status.WORKAROUND,
        )
        if n % 4 == 0:
            known.units.set(units[n % len(units) : n % len(units) + 2])


def member(go_live: GoLive, name: str, role: str, *, site: Site | None = None) -> User:
    user = User.objects.create_user(name, first_name=name.capitalize(), last_name="Bench")
    membership = Membership.objects.create(user=user, go_live=go_live, role=role)
    if site is not None:
        membership.sites.set([site])
    return user


def session(user: User) -> str:
    """A signed-in session's key, signed with the key gunicorn runs with."""
    with override_settings(SECRET_KEY=BENCH_SECRET_KEY):
        client = Client()
        client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value


def manager_week(go_live: GoLive) -> dt.date:
    """The week a manager plans: three days before the first shift with an open place, so it
    shows staffed shifts and gaps."""
    first_open = (
        Shift.objects.filter(go_live=go_live)
        .annotate(staffed=Count("assignments"))
        .filter(staffed__lt=F("needed"))
        .order_by("start")
        .values_list("start", flat=True)
        .first()
    )
    assert first_open is not None
    return timezone.localtime(first_open, go_live.tzinfo).date() - dt.timedelta(days=3)


def week_shifts(go_live: GoLive, site: Site, week: dt.date) -> dict[str, list[int]]:
    """The site's shifts of the week, staffed and with open places."""
    local = go_live.tzinfo
    shifts = Shift.objects.filter(
        go_live=go_live,
        unit__site=site,
        start__gte=dt.datetime.combine(week, dt.time(), local),
        start__lt=dt.datetime.combine(week + dt.timedelta(days=7), dt.time(), local),
    ).annotate(staffed=Count("assignments"))
    staffed = [s.pk for s in shifts if s.staffed >= s.needed]
    open_places = [s.pk for s in shifts if s.staffed < s.needed]
    assert staffed and open_places, (len(staffed), len(open_places))
    return {"staffed": staffed, "open": open_places}


def claim_pool(go_live: GoLive) -> list[int]:
    """New issues nobody has, newest first, as an agent meets them."""
    return list(
        Issue.objects.filter(
            go_live=go_live, status=Issue.Status.NEW, assignee=None, known_issue__isnull=True
        )
        .order_by("-pk")
        .values_list("pk", flat=True)[:POOL]
    )


def resolve_pool(go_live: GoLive) -> list[list[int]]:
    """Open issues to resolve with their version: those just claimed first, then the rest."""
    rows = Issue.objects.filter(
        go_live=go_live,
        status__in=[Issue.Status.NEW, Issue.Status.ACKNOWLEDGED, Issue.Status.IN_PROGRESS],
        known_issue__isnull=True,
    )
    claimed = rows.filter(assignee__isnull=False).order_by("pk").values_list("pk", "version")
    rest = rows.filter(assignee=None).order_by("pk").values_list("pk", "version")
    return [list(row) for row in [*claimed[:POOL], *rest[:POOL]]][:POOL]


# --- The processes --------------------------------------------------------------------------------


class Servers:
    """gunicorn and a Celery worker on the benchmark's database, their output in `logs`."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.port = free_port()
        self._web_log = self._log("gunicorn.log")
        self.web = start_gunicorn(self.port, env=env, log=self._web_log)
        self._worker_log = self._log("celery.log")
        self.worker_command = [
            "celery",
            "-A",
            "golive",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={WORKER_CONCURRENCY}",
        ]
        self.worker = subprocess.Popen(
            [sys.executable, "-m", *self.worker_command],
            cwd=ROOT,
            env=env,
            # Email goes to the console backend's stdout: the messages are not kept.
            stdout=subprocess.DEVNULL,
            stderr=self._worker_log,
        )
        try:
            deadline = time.monotonic() + 60
            while not celery_app.control.ping(timeout=1.0):
                if time.monotonic() > deadline or self.worker.poll() is not None:
                    raise RuntimeError(
                        f"the Celery worker did not start: see {logs / 'celery.log'}"
                    )
        except BaseException:
            self.stop()
            raise

    def _log(self, name: str) -> IO[bytes]:
        return (self.logs / name).open("wb")

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        for process in (self.web, self.worker):
            process.terminate()
        for process in (self.web, self.worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._web_log.close()
        self._worker_log.close()

    def log_summary(self) -> str:
        """What the servers' logs say about the run: worker timeouts, errors, tasks done."""
        web = (self.logs / "gunicorn.log").read_text(errors="replace")
        worker = (self.logs / "celery.log").read_text(errors="replace")
        return (
            f"gunicorn's log: {web.count('WORKER TIMEOUT')} worker timeouts, "
            f"{web.count('Traceback')} tracebacks; the Celery worker's: "
            f"{worker.count(' succeeded in ')} tasks done, {worker.count('ERROR')} errors"
        )

    def processes(self) -> dict[str, int]:
        """The server processes by role: gunicorn's master and workers, Celery's main process and
        its pool (locust and this process are not servers)."""
        found = {"gunicorn master": self.web.pid}
        for n, pid in enumerate(children(self.web.pid), 1):
            found[f"gunicorn worker {n}"] = pid
        found["celery main"] = self.worker.pid
        for n, pid in enumerate(children(self.worker.pid), 1):
            found[f"celery pool {n}"] = pid
        return found


def children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command may hold spaces and parentheses: the fields follow its last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def rss_mb(pid: int) -> float | None:
    """The process's resident memory; None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def database_connections() -> int:
    with connection.cursor() as db:
        db.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return db.fetchone()[0]


# --- locust ---------------------------------------------------------------------------------------


def plan(cast: Cast, **extra: Any) -> dict[str, Any]:
    return {
        "go_live": cast.go_live.pk,
        "tablet_cookie": TABLET_COOKIE,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "tablets": cast.tablets,
        "agents": cast.agents,
        "managers": cast.managers,
        "category": cast.category,
        "issues": cast.issues,
        "week": cast.week.isoformat(),
        "shifts": cast.shifts,
        # When the agents' queue pages opened: their refreshes count the issues logged since.
        "since": timezone.now().isoformat(),
        "claim": claim_pool(cast.go_live),
        "poll_seconds": POLL_SECONDS,
        **extra,
    }


def locust_command(
    *, users: int, seconds: float, classes: list[str], csv_prefix: str, host: str
) -> list[str]:
    return [
        "locust",
        "-f",
        "bench/locustfile.py",
        "--headless",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--csv",
        csv_prefix,
        "-u",
        str(users),
        "-r",
        str(SPAWN_RATE),
        "-t",
        f"{seconds:.0f}s",
        "--host",
        host,
        *classes,
    ]


def start_locust(
    servers: Servers,
    name: str,
    the_plan: dict[str, Any],
    *,
    users: int,
    seconds: float,
    classes: list[str],
) -> subprocess.Popen[bytes]:
    folder = servers.logs / name
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps(the_plan))
    command = locust_command(
        users=users,
        seconds=seconds,
        classes=classes,
        csv_prefix=str(folder / "run"),
        host=servers.host,
    )
    env = os.environ | {
        "BENCH_LOCUST_PLAN": str(folder / "plan.json"),
        "BENCH_LOCUST_QUERIES": str(folder / "queries.json"),
    }
    log = (folder / "locust.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "locust"), *command[1:]],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    log.close()
    return process


def finish_locust(servers: Servers, name: str, process: subprocess.Popen[bytes]) -> Run:
    process.wait()
    folder = servers.logs / name
    queries = json.loads((folder / "queries.json").read_text())
    stats = {}
    with (folder / "run_stats.csv").open() as rows:
        for row in csv.DictReader(rows):
            counted = queries.get(row["Name"])
            stats[row["Name"]] = Stats(
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                p50=float(row["50%"]),
                p95=float(row["95%"]),
                p99=float(row["99%"]),
                queries_mean=counted["mean"] if counted else None,
                queries_max=counted["max"] if counted else None,
            )
    with (folder / "run_failures.csv").open() as rows:
        failures = [
            f"{row['Name']}: {row['Error']} ({row['Occurrences']}×)" for row in csv.DictReader(rows)
        ]
    if "Aggregated" not in stats:
        log = (folder / "locust.log").read_text()[-2000:]
        raise RuntimeError(f"locust made no requests in the {name} run:\n{log}")
    return Run(stats=stats, failures=failures)


def run_locust(
    servers: Servers,
    name: str,
    the_plan: dict[str, Any],
    *,
    users: int,
    seconds: float,
    classes: list[str],
) -> Run:
    process = start_locust(servers, name, the_plan, users=users, seconds=seconds, classes=classes)
    return finish_locust(servers, name, process)


def run_paths(servers: Servers, cast: Cast) -> tuple[dict[str, Stats], list[Run]]:
    """Each path's figures, and the runs."""
    found, runs = {}, []
    for paths in RUNS:
        extra: dict[str, Any] = {"paths": list(paths), "turn": TURN_SECONDS}
        if "resolve" in paths:
            extra["resolve"] = resolve_pool(cast.go_live)
        run = run_locust(
            servers,
            "-".join(paths),
            plan(cast, **extra),
            users=PATH_USERS,
            seconds=PATH_SECONDS * len(paths),
            classes=["PathUser"],
        )
        runs.append(run)
        for path in paths:
            stats = run.stats[NAMES[path]]
            if len(paths) > 1:
                # Each path had its turns, PATH_SECONDS in all: its rate over that time.
                stats = replace(stats, rps=stats.requests / PATH_SECONDS)
            found[path] = stats
            progress(f"{NAMES[path]}: {stats.rps:.0f}/s, p50 {stats.p50:.0f} ms")
    return found, runs


MORNING_CLASSES = ["TabletUser", "AgentUser", "ManagerUser"]
COUNTS = {"tablets": TABLETS, "agents": AGENTS, "managers": MANAGERS}


def start_morning(
    servers: Servers, cast: Cast, name: str, seconds: float
) -> subprocess.Popen[bytes]:
    return start_locust(
        servers,
        name,
        plan(cast, counts=COUNTS),
        users=sum(COUNTS.values()),
        seconds=seconds,
        classes=MORNING_CLASSES,
    )


def run_soak(servers: Servers, cast: Cast) -> tuple[Run, list[Sample]]:
    """The morning for SOAK_SECONDS, and the servers sampled every SAMPLE_SECONDS meanwhile."""
    process = start_morning(servers, cast, "soak", SOAK_SECONDS)
    samples = []
    started = time.monotonic()
    while True:
        pids = servers.processes()
        sizes = {role: rss_mb(pid) for role, pid in pids.items()}
        samples.append(
            Sample(
                seconds=time.monotonic() - started,
                rss_mb={role: size for role, size in sizes.items() if size is not None},
                pids=pids,
                connections=database_connections(),
            )
        )
        try:
            process.wait(timeout=SAMPLE_SECONDS)
        except subprocess.TimeoutExpired:
            continue
        break
    return finish_locust(servers, "soak", process), samples


STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[{(time.monotonic() - STARTED) / 60:4.1f} min] {message}", flush=True)


def main() -> None:
    setup_test_environment(debug=False)
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        with tempfile.TemporaryDirectory(prefix="golive-loadbench-") as folder:
            logs = Path(folder)
            env = server_env() | {"STATIC_ROOT": str(logs / "static")}
            # Collected for this run while the data set is built (compressing every asset takes a
            # minute).
            collecting = collect_static(env)
            started = time.perf_counter()
            try:
                cast = build()
                build_seconds = time.perf_counter() - started
            finally:
                collected = collecting.wait() == 0
            progress(f"data set built in {build_seconds:.0f} s")
            if not collected:
                raise RuntimeError("collectstatic failed")
            sizes = data_sizes(cast.go_live)
            servers = Servers(logs, env)
            progress(f"gunicorn on {servers.host}, the Celery worker ready")
            try:
                paths, path_runs = run_paths(servers, cast)
                morning = finish_locust(
                    servers, "morning", start_morning(servers, cast, "morning", MORNING_SECONDS)
                )
                progress(f"morning: {morning.total.rps:.1f}/s, {morning.total.failures} errors")
                soak, samples = run_soak(servers, cast)
                progress(f"soak: {soak.total.rps:.1f}/s, {soak.total.failures} errors")
            finally:
                servers.stop()
            logged = Issue.objects.filter(go_live=cast.go_live).count() - sizes["issues"]
            errors = report(
                servers,
                cast,
                sizes,
                build_seconds,
                paths,
                [*path_runs, morning, soak],
                samples,
                logged=logged,
            )
    finally:
        teardown_databases(databases, verbosity=0)
    if errors:
        raise SystemExit(f"{errors} requests failed: see the report in {OUT}")


# --- The report -----------------------------------------------------------------------------------


def data_sizes(go_live: GoLive) -> dict[str, int]:
    issues = Issue.objects.filter(go_live=go_live).aggregate(
        issues=Count("pk"), closed=Count("pk", filter=Q(status=Issue.Status.CLOSED))
    )
    roles = dict(
        Membership.objects.filter(go_live=go_live).values_list("role").annotate(Count("pk"))
    )
    return {
        **issues,
        "open": issues["issues"] - issues["closed"],
        "sites": Site.objects.filter(go_live=go_live).count(),
        "units": Unit.objects.filter(site__go_live=go_live).count(),
        "people": SupportPerson.objects.filter(go_live=go_live).count(),
        "shifts": Shift.objects.filter(go_live=go_live).count(),
        "assignments": Assignment.objects.filter(shift__go_live=go_live).count(),
        "known": KnownIssue.objects.filter(go_live=go_live).count(),
        "tablets": UnitTablet.objects.filter(go_live=go_live).count(),
        "agents": roles.get(Role.HELP_DESK_AGENT, 0),
        "managers": roles.get(Role.CLINIC_MANAGER, 0),
    }


def versions() -> str:
    with connection.cursor() as db:
        db.execute("SHOW server_version")
        postgres = db.fetchone()[0].split()[0]
    redis_version = redis.Redis.from_url(settings.CACHE_URL).info("server")["redis_version"]
    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, PostgreSQL "
        f"{postgres}, Redis {redis_version}, gunicorn {version('gunicorn')}, celery "
        f"{version('celery')}, locust {version('locust')}"
    )


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def ms(value: float) -> str:
    return f"{value:.0f}"


def queries(stats: Stats) -> str:
    if stats.queries_mean is None:
        return ""
    return f"{stats.queries_mean:.1f} / {stats.queries_max}"


def thinks(span: tuple[float, float]) -> str:
    return f"{span[0]}–{span[1]} s"


def report(
    servers: Servers,
    cast: Cast,
    sizes: dict[str, int],
    build_seconds: float,
    paths: dict[str, Stats],
    runs: list[Run],
    samples: list[Sample],
    *,
    logged: int,
) -> int:
    """Append the section to docs/benchmarks.md; the number of failed requests."""
    *_, morning, soak = runs
    bare_select, bare_insert = paths["bare_select"].rps, paths["bare_insert"].rps
    # Both had the same time: the ratio of their counts is the ratio of their rates.
    submission = paths["intake_post"].requests / paths["bare_insert"].requests
    path_command, morning_command = (
        " ".join(
            locust_command(
                users=users,
                seconds=seconds,
                classes=classes,
                csv_prefix=f"<folder>/{name}",
                host="http://127.0.0.1:<port>",
            )
        )
        for name, users, seconds, classes in (
            ("<path>", PATH_USERS, PATH_SECONDS, ["PathUser"]),
            ("morning", sum(COUNTS.values()), MORNING_SECONDS, MORNING_CLASSES),
        )
    )
    lines = [
        "",
        "## Load through gunicorn, Celery and locust",
        "",
        "Written by `make bench` (bench/load_bench.py, users in bench/locustfile.py): gunicorn "
        "and a Celery worker with production settings (DEBUG off) on PostgreSQL and Redis, driven "
        "by locust (`FastHttpUser`) from a process of its own on the same machine; every request "
        "through the real middleware, sessions, CSRF checks and tablet cookies. Latencies are the "
        "client's, queueing for a worker included (not server time). Queries per request: the "
        "`X-Query-Count` header of bench/middleware.py (every statement through Django's "
        "connection; not the `SELECT 1` health check of a reused connection).",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {cpu_model()}; 10 million "
        f"Python additions in {cpu_check():.2f} s (the machine is shared: read the milliseconds "
        "against this; the ratios compare within the run)",
        f"- Versions: {versions()}",
        f"- Date: {timezone.now():%Y-%m-%d %H:%M} UTC",
        f"- Data (counted in the database before the load): {sizes['issues']:,} issues "
        f"({sizes['open']:,} open, {sizes['closed']:,} closed), {sizes['sites']} sites, "
        f"{sizes['units']} units, {sizes['people']:,} people, {sizes['shifts']:,} shifts, "
        f"{sizes['assignments']:,} assignments, {sizes['known']} known issues, "
        f"{sizes['tablets']} enrolled tablets (one unit each, {sizes['tablets'] // sizes['units']} "
        f"per unit), {sizes['agents']} help desk agents, {sizes['managers']} clinic managers "
        f"(each limited to one site); built in {build_seconds:.0f} s; {logged:,} issues logged by "
        "the load",
        f"- Processes: `gunicorn golive.wsgi --workers {WEB_WORKERS} --timeout 30` (the "
        f"Procfile's, WEB_CONCURRENCY={WEB_WORKERS}, sync workers), "
        f"`{' '.join(servers.worker_command)}` (WORKER_CONCURRENCY={WORKER_CONCURRENCY}: it "
        "sends the patient-safety emails; beat is not started, the sweeps have their own "
        "benchmark above), PostgreSQL and Redis from `golive.embedded`",
        "- Commands: `make bench` (or `python -m golive.embedded --var-dir var/bench -- python "
        f"bench/load_bench.py`); each path: `{path_command}`; the morning: `{morning_command}`; "
        f"the soak: the same with `-t {SOAK_SECONDS:.0f}s`",
        "",
        f"### Each path alone ({PATH_USERS} users without think time, {PATH_SECONDS:.0f} s each)",
        "",
        "Each path in turn against the same server, after a warm-up of "
        f"{PATH_USERS * WARM_UP_REQUESTS} requests, the bare SELECT first. The bare SELECT is "
        "requested by a signed-in agent (session, user and membership read, then one SELECT by "
        "primary key); the bare INSERT receives the intake form's POST (multipart, CSRF token) "
        "without the tablet's cookie, and shares its run with the issue submission, the two "
        f"taking turns every {TURN_SECONDS:.0f} s ({PATH_SECONDS:.0f} s each). Reads compare with the "
        "bare SELECT's rate, writes with the bare INSERT's.",
        "",
        "| path | who | requests/s | p50 ms | p95 ms | p99 ms | errors | queries mean / max "
        "| rate vs bare | budget (DESIGN.md §5) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for path in PATHS:
        stats = paths[path]
        if path.startswith("bare"):
            share = ""
        elif path in WRITES:
            share = f"{stats.rps / bare_insert:.0%} of INSERT"
        else:
            share = f"{stats.rps / bare_select:.0%} of SELECT"
        lines.append(
            f"| {NAMES[path]} | {PATH_ROLES[path]} | {stats.rps:.0f} | {ms(stats.p50)} | "
            f"{ms(stats.p95)} | {ms(stats.p99)} | {stats.failures} | {queries(stats)} | {share} "
            f"| {BUDGETS.get(path, '')} |"
        )
    lines += [
        "",
        f"Issue submission runs at **{submission:.0%} of the bare INSERT view's requests per "
        "second** in the same run (budget: at least 70%).",
        "",
        f"### The go-live morning ({sum(COUNTS.values())} users, {MORNING_SECONDS:.0f} s)",
        "",
        f"{TABLETS} tablets, {AGENTS} help desk agents and {MANAGERS} clinic managers at once, "
        f"each starting at a random moment of the first {START_SPREAD} s, with think times drawn "
        "evenly from these ranges:",
        "",
        f"- tablet: the known-issues board, {thinks(THINK_TABLET_BOARD)}, the intake form, "
        f"{thinks(THINK_TABLET_TYPING)} typing (the similar issues load once), "
        f"{thinks(THINK_TABLET_FINISH)}, the form's POST (one in {SAFETY_EVERY} a patient-safety "
        f"report) and its confirmation page, {thinks(THINK_TABLET_AFTER)}; after one filing in "
        f"{CALL_EVERY}, who do I call now; then again",
        f"- agent: the queue page, {AGENT_POLLS[0]}–{AGENT_POLLS[1]} refreshes of it "
        f"{POLL_SECONDS} s apart (as the page polls), the page of the next new issue, "
        f"{thinks(THINK_AGENT_READ)}, claim, {thinks(THINK_AGENT_WORK)} working it, resolve, "
        f"{thinks(THINK_AGENT_AFTER)}; each issue claimed by one agent only",
        f"- manager: the coverage grid of her site for the week of {cast.week:%Y-%m-%d} (staffed "
        f"shifts and gaps), {thinks(THINK_MANAGER_GRID)}, a staffed shift's panel, "
        f"{thinks(THINK_MANAGER_SHIFT)}, an open shift's panel (ranks the 1,500 people), "
        f"{thinks(THINK_MANAGER_GRID)}, who's on now, {thinks(THINK_MANAGER_AFTER)}",
        "",
        *request_table(morning),
        "",
        f"### Soak: the morning for {SOAK_SECONDS / 60:.0f} min",
        "",
        *soak_lines(soak, samples),
        "",
        f"Over the whole run, {servers.log_summary()}.",
    ]
    failed = sum(run.total.failures for run in runs)
    messages = [line for run in runs for line in run.failures]
    if messages:
        lines += ["", "Failed requests:", "", *(f"- {line}" for line in messages)]
    with OUT.open("a") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert settings.DATABASES["default"]["NAME"].startswith("test_")
    return failed


def request_table(run: Run) -> list[str]:
    lines = [
        "| request | requests | requests/s | p50 ms | p95 ms | p99 ms | errors "
        "| queries mean / max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [*NAMES.values(), "Aggregated"]:
        stats = run.stats.get(name)
        if stats is None:
            continue
        label = "**all requests**" if name == "Aggregated" else name
        lines.append(
            f"| {label} | {stats.requests:,} | {stats.rps:.1f} | {ms(stats.p50)} | "
            f"{ms(stats.p95)} | {ms(stats.p99)} | {stats.failures} | {queries(stats)} |"
        )
    return lines


def soak_lines(soak: Run, samples: list[Sample]) -> list[str]:
    """The samples' table (first, middle, last, largest) and the verdict computed from them."""
    roles = list(samples[0].rss_mb)
    header = ["sample", "time s", *(f"{role} MB" for role in roles), "database connections"]
    lines = [
        f"Every {SAMPLE_SECONDS:.0f} s ({len(samples)} samples): the resident memory (VmRSS) of "
        "each server process from /proc, and the connections to the benchmark's database in "
        "pg_stat_activity (this process's own left out).",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
    ]
    for label, sample in (
        ("first", samples[0]),
        ("middle", samples[len(samples) // 2]),
        ("last", samples[-1]),
    ):
        cells = [f"{sample.rss_mb.get(role, 0):.1f}" for role in roles]
        lines.append(
            f"| {label} | {sample.seconds:.0f} | {' | '.join(cells)} | {sample.connections} |"
        )
    largest = [f"{max(s.rss_mb.get(role, 0) for s in samples):.1f}" for role in roles]
    lines.append(f"| max | | {' | '.join(largest)} | {max(s.connections for s in samples)} |")
    warm_up = min(SOAK_WARM_UP, SOAK_SECONDS / 5)
    warm = [s for s in samples if s.seconds >= warm_up]
    third = max(1, len(warm) // 3)
    first, last = warm[:third], warm[-third:]
    growing = []
    for role in roles:
        before = statistics.mean(s.rss_mb.get(role, 0) for s in first)
        after = statistics.mean(s.rss_mb.get(role, 0) for s in last)
        if after - before > max(GROWTH_MB, GROWTH_SHARE * before):
            growing.append(f"{role} +{after - before:.1f} MB")
    total_before = statistics.mean(sum(s.rss_mb.values()) for s in first)
    total_after = statistics.mean(sum(s.rss_mb.values()) for s in last)
    hours = (last[-1].seconds - first[0].seconds) / 3600 or 1
    conn_before = statistics.mean(s.connections for s in first)
    conn_after = statistics.mean(s.connections for s in last)
    restarted = [
        role for role in roles if len({s.pids.get(role) for s in samples if role in s.pids}) > 1
    ]
    verdict = "**no process grows**" if not growing else f"**growing: {', '.join(growing)}**"
    lines += [
        "",
        f"Verdict (the samples after the first {warm_up:.0f} s, the "
        f"mean of their last third against their first third, {len(first)} samples each; a "
        f"process grows when it gains more than {GROWTH_MB:.0f} MB or {GROWTH_SHARE:.0%}): "
        f"{verdict}. All server processes together: {total_before:.1f} MB, then "
        f"{total_after:.1f} MB ({total_after - total_before:+.1f} MB, "
        f"{(total_after - total_before) / hours:+.1f} MB an hour at that pace). Database "
        f"connections: {conn_before:.1f}, then {conn_after:.1f} on average, at most "
        f"{max(s.connections for s in samples)}. "
        + (
            f"Processes replaced during the soak: {', '.join(restarted)}."
            if restarted
            else "No server process was replaced."
        ),
        "",
        f"During the soak: {soak.total.requests:,} requests at {soak.total.rps:.1f}/s, "
        f"**{soak.total.failures} errors**; p50 {ms(soak.total.p50)} ms, p95 "
        f"{ms(soak.total.p95)} ms, p99 {ms(soak.total.p99)} ms over all requests.",
    ]
    return lines


if __name__ == "__main__":
    main()
