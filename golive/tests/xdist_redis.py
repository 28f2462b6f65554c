"""pytest plugin (loaded by pytest.ini): each pytest-xdist worker process gets a Redis database of
its own, chosen before Django reads its settings.

pytest-django already gives each worker its own PostgreSQL test database (test_golive_gw0, ...).
Redis must be split the same way: a Celery worker started by one process's test must never take a
task published by the other process (it would run it against the wrong database), a ping must be
answered only by this process's worker, and a test's `cache.clear()` (FLUSHDB) must not empty the
other process's queue. Worker gwN uses database (the URL's database + N); subprocesses the tests
start inherit it through the environment.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from golive.embedded import DEFAULT_REDIS_URL

# Redis's default `databases 16`: databases 0..15.
REDIS_DATABASES = 16


def worker_redis_url(url: str, worker: int) -> str:
    """`url` moved `worker` databases up: /1 → /1+worker over TCP, ?db= on a Unix socket."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = parse_qs(parts.query)
        base = int(query.pop("db", ["0"])[0])
        database = base + worker
        # Spelled by hand: urlunsplit would drop the empty host's "//".
        moved = f"unix://{parts.path}?{urlencode({**query, 'db': database}, doseq=True)}"
    else:
        base = int(parts.path.strip("/") or 0)
        database = base + worker
        moved = urlunsplit(parts._replace(path=f"/{database}"))
    if database >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"REDIS_URL {url} leaves no Redis database for xdist worker {worker}: use a lower "
            "database number or fewer workers."
        )
    return moved


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests() -> Generator[None, None, None]:
    # A wrapper runs before every plain implementation, pytest-django's (which loads settings) too.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        os.environ["REDIS_URL"] = worker_redis_url(url, int(worker[2:]))
    return (yield)
