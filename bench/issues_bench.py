"""Issue-log benchmarks: the triage queue, similar-issue suggestions, the intake page's weight, and
issue submission throughput through gunicorn.

Run by `make bench` after the staffing benchmarks. It builds 60,000 issues (10,000 open, 50,000
closed) over 40 units in a throw-away test database, then

1. times each read path through Django's test client in this process (server time, queries), next
   to the bare SELECT view measured the same way in the same run;
2. weighs the intake page as a tablet loads it the first time: the HTML plus every stylesheet and
   script it links, compressed as whitenoise serves them;
3. starts gunicorn (the Procfile's worker count) on the same database and drives it from separate
   processes with keep-alive connections: tablet submissions of the intake form (multipart, as the
   page's form sends them) against the bare INSERT view, each for the same time. The ratio is the
   issue's "at least 70% of a bare INSERT".

Results are appended to docs/benchmarks.md (the staffing benchmark writes the file first).
"""

from __future__ import annotations

import gzip
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "golive.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles import finders  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_databases,
    teardown_databases,
)
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.issues_data import CLOSED, OPEN, UNITS, build  # noqa: E402
from bench.load import drive, form_post  # noqa: E402
from bench.staffing_bench import bench_environment, measure  # noqa: E402
from golive.models import GoLive, Unit  # noqa: E402
from golive.wsgi import tune_garbage_collector  # noqa: E402
from issues.access import TABLET_COOKIE, Floor, hash_secret  # noqa: E402
from issues.intake import similar_issues  # noqa: E402
from issues.models import Category, Issue, UnitTablet  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
TABLET_SECRET = "bench-tablet-secret"
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "10"))
LOAD_ROUNDS = int(os.environ.get("BENCH_LOAD_ROUNDS", "5"))
LOAD_CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "4"))
WEB_WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gunicorn's; a session made in this process for it must be signed with the same key.
BENCH_SECRET_KEY = "bench-only-not-a-secret-" + "x" * 40


def enroll_tablet(go_live: GoLive, unit: Unit, secret: str = TABLET_SECRET) -> UnitTablet:
    now = timezone.now()
    return UnitTablet.objects.create(
        go_live=go_live,
        unit=unit,
        label="Bench station",
        code_expires_at=now,
        secret_hash=hash_secret(secret),
        enrolled_at=now,
    )


def intake_weight(client: Client) -> tuple[int, int, list[str]]:
    """(HTML bytes, compressed bytes of HTML and every linked asset, the assets)."""
    html = client.get(reverse("issues:new")).content
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html)
    total = len(gzip.compress(html))
    names = []
    for asset in assets:
        name = asset.decode().removeprefix(settings.STATIC_URL)
        # The manifest's hashed name maps back to the source file for its content.
        source = re.sub(r"\.[0-9a-f]{12}(\.(?:css|js))$", r"\1", name)
        path = finders.find(source)
        assert path, source
        total += len(gzip.compress(Path(path).read_bytes(), compresslevel=9))
        names.append(source)
    return len(html), total, names


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict[str, str]:
    """The environment of a server process of the benchmarks: production settings (the bench
    URLs), on the benchmark's database."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": _database_url(settings.DATABASES["default"]),
    }


def collect_static(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """collectstatic into `env`'s STATIC_ROOT, started (wait for it): with DEBUG off, pages name
    their assets from whitenoise's manifest, which this writes."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
    )


def start_gunicorn(
    port: int, *, env: dict[str, str] | None = None, log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """gunicorn as the Procfile starts it, on the benchmark's database, without debug (`env`
    defaults to `server_env()`); its output to `log`, else nowhere."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "golive.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WEB_WORKERS),
            "--timeout",
            "30",
        ],
        env=env or server_env(),
        stdout=log or subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _database_url(db: dict[str, object]) -> str:
    host = str(db.get("HOST") or "")
    user, password = db.get("USER") or "", db.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    if host.startswith("/"):
        return f"postgres://{auth}/{db['NAME']}?host={host}&port={db.get('PORT') or 5432}"
    return f"postgres://{auth}{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def throughput(go_live: GoLive, unit: Unit) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Each path's best round through gunicorn, and submission / bare per round."""
    category = Category.objects.filter(go_live=go_live, is_enhancement=False).first()
    assert category is not None
    port = free_port()
    server = start_gunicorn(port)
    try:
        cookies = {TABLET_COOKIE: TABLET_SECRET, "csrftoken": "b" * 32}
        fields = {
            "category": str(category.pk),
            "impact": "several",
            "urgency": "workaround",
            "title": "Label printer prints blank labels",
            "description": "Since the morning round; the test page prints fine.",
            "reporter_name": "Bench RN",
            "reporter_callback": "x4400",
        }
        submit = form_post(reverse("issues:new"), fields, cookies, empty_files=("photo",))
        # The same form POST to the bare view (body, CSRF token, a fresh key each time: its table
        # refuses a repeated key) without the tablet's cookie, whose lookup is the app's own work.
        bare = form_post(
            "/bench/insert/", fields, {"csrftoken": cookies["csrftoken"]}, empty_files=("photo",)
        )
        before = Issue.objects.filter(go_live=go_live).count()
        # Warm both paths (imports, connections) before measuring.
        for maker in (bare, submit):
            assert drive(port, maker, clients=1, seconds=1).errors == 0
        # Alternating rounds, so a slow moment of the machine does not land on one path only.
        results: dict[str, dict[str, float]] = {}
        rounds: list[float] = []
        submitted = 0
        for _ in range(LOAD_ROUNDS):
            rps = {}
            for name, maker in (
                ("bare view: one INSERT (gunicorn)", bare),
                ("issue submission from a tablet (gunicorn)", submit),
            ):
                result = drive(port, maker, clients=LOAD_CLIENTS, seconds=LOAD_SECONDS)
                rps[name] = result.rps
                if maker is submit:
                    submitted += result.requests
                kept = results.get(name)
                if kept is None or result.rps > kept["rps"]:
                    results[name] = {
                        "rps": result.rps,
                        "median": result.median,
                        "p95": result.percentile(0.95),
                        "p99": result.percentile(0.99),
                        "errors": result.errors,
                        "requests": result.requests,
                    }
                assert result.errors == 0, name
            rounds.append(
                rps["issue submission from a tablet (gunicorn)"]
                / rps["bare view: one INSERT (gunicorn)"]
            )
        created = Issue.objects.filter(go_live=go_live).count() - before
        # Every accepted submission is one issue (plus the warm-up's).
        assert created >= submitted, (created, submitted)
        return results, rounds
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    tune_garbage_collector()
    bench_environment()
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        with override_settings(ROOT_URLCONF="bench.urls", ALLOWED_HOSTS=["testserver"]):
            started = time.perf_counter()
            go_live, lead, unit = build()
            build_seconds = time.perf_counter() - started
            enroll_tablet(go_live, unit)
            desk = Client()
            desk.force_login(lead)
            tablet = Client()
            tablet.cookies[TABLET_COOKIE] = TABLET_SECRET
            queue = reverse("issues:queue")
            other_unit = Unit.objects.filter(site__go_live=go_live).order_by("-pk").first()
            assert other_unit is not None
            membership = lead.memberships.get(go_live=go_live)
            floor = Floor(go_live=go_live, membership=membership)
            units = Unit.objects.filter(site__go_live=go_live)
            text = "label printer blank"

            def page(client: Client, url: str) -> object:
                def call(n: int) -> object:
                    response = client.get(url)
                    assert response.status_code == 200, (url, response.status_code)
                    return response

                return call

            rows = {
                "bare view: one indexed SELECT": measure(
                    page(desk, f"/bench/select/?pk={go_live.pk}")
                ),
                "triage queue, first page (10k open, 50k closed)": measure(page(desk, queue)),
                "triage queue, filtered page (unit + priority)": measure(
                    page(desk, f"{queue}?unit={other_unit.pk}&priority=P2")
                ),
                "triage queue, text search": measure(page(desk, f"{queue}?q=printer+blank")),
                "triage queue, live refresh partial": measure(
                    page(desk, reverse("issues:queue_poll"))
                ),
                "similar issues while typing, desk (60k issues)": measure(
                    page(desk, f"{reverse('issues:similar')}?title=label+printer+blank")
                ),
                "similar issues while typing, tablet": measure(
                    page(tablet, f"{reverse('issues:similar')}?title=label+printer+blank")
                ),
                "similar issues service call, no HTTP": measure(
                    lambda n: similar_issues(floor=floor, text=text, units=units)
                ),
                "intake form on a tablet (GET)": measure(page(tablet, reverse("issues:new"))),
            }
            html_bytes, weight, assets = intake_weight(tablet)
        # Outside the test client's settings: gunicorn runs on its own settings module.
        load, rounds = throughput(go_live, unit)
        write_report(rows, load, rounds, build_seconds, html_bytes, weight, assets)
    finally:
        teardown_databases(databases, verbosity=0)


BUDGETS = {
    "triage queue, first page (10k open, 50k closed)": "100",
    "triage queue, filtered page (unit + priority)": "100",
    "similar issues while typing, desk (60k issues)": "50",
    "similar issues while typing, tablet": "50",
    "similar issues service call, no HTTP": "50",
}


def write_report(
    rows: dict[str, dict[str, float]],
    load: dict[str, dict[str, float]],
    rounds: list[float],
    build_seconds: float,
    html_bytes: int,
    weight: int,
    assets: list[str],
) -> None:
    base = rows["bare view: one indexed SELECT"]["median"]
    median = statistics.median(rounds)
    lines = [
        "",
        "## Issue log",
        "",
        "Written by `make bench` (bench/issues_bench.py). Read paths: as above (test client, "
        "one process, median of the rounds, ratio to the bare SELECT of this run). Throughput: "
        f"gunicorn with {WEB_WORKERS} workers (the Procfile's default), DEBUG off, driven by "
        f"{LOAD_CLIENTS} client processes with keep-alive connections, {LOAD_ROUNDS} rounds of "
        f"{LOAD_SECONDS:.0f} s per path taken in turn, on the same machine (the best round of "
        "each path is shown). Each submission is the POST the intake page's form sends: "
        "multipart/form-data (the form has a photo input), the photo left empty. The bare INSERT "
        "view receives the same POST (body and CSRF token), without the tablet's cookie, whose "
        "lookup is the app's work.",
        "",
        f"- Data: {OPEN:,} open and {CLOSED:,} closed issues over {UNITS} units, one go-live "
        f"(built in {build_seconds:.1f} s); Django {django.get_version()}, PostgreSQL "
        f"{connection.pg_version // 10000}",
        "",
        "| path | median ms | p95 ms | queries | x bare SELECT | budget ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['median']:.1f} | {row['p95']:.1f} | {row['queries']:.0f} | "
            f"{row['median'] / base:.1f} | {BUDGETS.get(name, '')} |"
        )
    lines += [
        "",
        "| through gunicorn | requests/s | median ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in load.items():
        lines.append(
            f"| {name} | {row['rps']:.0f} | {row['median']:.1f} | {row['p95']:.1f} | "
            f"{row['p99']:.1f} | {row['errors']:.0f} |"
        )
    lines += [
        "",
        f"Issue submission runs at **{median:.0%} of the bare INSERT view's requests per "
        f"second** (median of the rounds: {', '.join(f'{r:.0%}' for r in rounds)}; budget: at "
        "least 70%). Each submission validates the form and runs one prepared statement that "
        "checks the tablet (enrolled, not revoked, its unit open) and the category, numbers the "
        "issue, derives its priority and due time and writes it with its first timeline event; "
        "routing is left to the beat sweep.",
        "",
        f"Intake page on a tablet's first load: {html_bytes / 1024:.1f} KB of HTML; "
        f"**{weight / 1024:.1f} KB transferred** with every asset it links, compressed as "
        f"whitenoise serves them (budget: 150 KB). Assets: {', '.join(assets)}.",
    ]
    with OUT.open("a") as report:
        report.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert settings.DATABASES["default"]["NAME"].startswith("test_")


if __name__ == "__main__":
    main()
