"""Export benchmark: the issue log as CSV, 100,000 issues, through gunicorn.

Run by `make bench` after the escalation benchmark. It builds one go-live with 100,000 issues
(10,000 open, 90,000 closed) in a throw-away test database, starts gunicorn (the Procfile's worker
count) on it, signs a command center lead in, downloads a small export a few times (so each worker
has its code loaded), then downloads the whole log as CSV (every status) and reads each
worker's peak resident memory (VmHWM) before and after. The issue's budget: the web process grows
by under 50 MB, because the file is streamed rather than built in memory. Results are appended to
docs/benchmarks.md.
"""

from __future__ import annotations

import http.client
import os
import subprocess
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
    setup_test_environment,
    teardown_databases,
)
from django.urls import reverse  # noqa: E402

from bench.issues_bench import BENCH_SECRET_KEY, WEB_WORKERS, free_port, start_gunicorn  # noqa: E402
from bench.issues_data import UNITS, build  # noqa: E402
from golive.wsgi import tune_garbage_collector  # noqa: E402
from issues.models import Issue  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
OPEN, CLOSED = 10_000, 90_000
BUDGET_MB = 50
READ_BYTES = 64 * 1024


def peak_kb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def workers(master: subprocess.Popen[bytes]) -> list[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def get(port: int, path: str, cookie: str) -> tuple[int, int, int, float, float]:
    """(status, bytes, lines, seconds to the first piece, seconds in all) of one download."""
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    started = time.perf_counter()
    connection_.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
    response = connection_.getresponse()
    first = time.perf_counter() - started
    size = lines = 0
    while piece := response.read(READ_BYTES):
        size += len(piece)
        lines += piece.count(b"\n")
    connection_.close()
    return response.status, size, lines, first, time.perf_counter() - started


def main() -> None:
    tune_garbage_collector()
    setup_test_environment(debug=False)
    databases = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        started = time.perf_counter()
        go_live, lead, _ = build(open_count=OPEN, closed_count=CLOSED)
        build_seconds = time.perf_counter() - started
        assert Issue.objects.filter(go_live=go_live).count() == OPEN + CLOSED
        with override_settings(ALLOWED_HOSTS=["testserver"], SECRET_KEY=BENCH_SECRET_KEY):
            signed_in = Client()
            signed_in.force_login(lead)
            # Chooses the lead's go-live in the session, as a first page does.
            assert signed_in.get(reverse("issues:queue")).status_code == 200
        session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
        cookie = f"{settings.SESSION_COOKIE_NAME}={session}"
        port = free_port()
        server = start_gunicorn(port)
        try:
            export = reverse("issues:queue_export")
            # Every worker loads its code (round robin is not promised: ask a few times each).
            for _ in range(4 * WEB_WORKERS):
                assert get(port, f"{export}?q=printer", cookie)[0] == 200
            pids = workers(server)
            before = {pid: peak_kb(pid) for pid in pids}
            status, size, lines, first, seconds = get(port, f"{export}?status=any", cookie)
            after = {pid: peak_kb(pid) for pid in pids}
        finally:
            server.terminate()
            server.wait(timeout=30)
        assert status == 200, status
        # The data set's details hold no line breaks: one line per issue, and the header.
        assert lines == OPEN + CLOSED + 1, lines
        growth_mb = max(after[pid] - before[pid] for pid in pids) / 1024
        write_report(
            rows=OPEN + CLOSED,
            size=size,
            first=first,
            seconds=seconds,
            growth_mb=growth_mb,
            peak_mb=max(after.values()) / 1024,
            build_seconds=build_seconds,
        )
    finally:
        teardown_databases(databases, verbosity=0)


def write_report(
    *,
    rows: int,
    size: int,
    first: float,
    seconds: float,
    growth_mb: float,
    peak_mb: float,
    build_seconds: float,
) -> None:
    lines_out = [
        "",
        "## Exports",
        "",
        "Written by `make bench` (bench/exports_bench.py): the issue log as CSV (the queue's "
        f"export, every status) through gunicorn with {WEB_WORKERS} workers, DEBUG off, read by "
        f"one client in {READ_BYTES // 1024} KB pieces; memory is each worker's peak resident "
        "size (VmHWM) after warm-up and after the download.",
        "",
        f"- Data: {OPEN:,} open and {CLOSED:,} closed issues over {UNITS} units, one go-live "
        f"(built in {build_seconds:.1f} s); Django {django.get_version()}, PostgreSQL "
        f"{connection.pg_version // 10000}",
        "",
        "| export | rows | MB sent | first piece s | total s | rows/s | worker growth MB | "
        "worker peak MB | budget |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| issues CSV, every status | {rows:,} | {size / 1e6:.1f} | {first:.2f} | "
        f"{seconds:.1f} | {rows / seconds:,.0f} | **{growth_mb:.1f}** | {peak_mb:.0f} | "
        f"growth < {BUDGET_MB} MB |",
    ]
    with OUT.open("a") as report:
        report.write("\n".join(lines_out) + "\n")
    print("\n".join(lines_out))
    assert settings.DATABASES["default"]["NAME"].startswith("test_")
    assert growth_mb < BUDGET_MB, f"the worker grew by {growth_mb:.1f} MB"


if __name__ == "__main__":
    main()
