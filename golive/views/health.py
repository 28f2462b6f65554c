"""`GET /healthz`: whether the database, Redis and at least one Celery worker answer, and whether
the escalation sweep has run lately (beat and a worker are doing their rounds).

Load balancers and monitors call it without signing in. Each check catches every error, because
the point of the page is to say which dependency is down instead of failing with a 500.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypedDict

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from golive.celery import app as celery_app
from golive.lib import heartbeat

# Seconds to wait for a worker's answer to the ping; a load balancer probe must stay short.
CELERY_PING_TIMEOUT = 1.0
DETAIL_MAX_LENGTH = 200


class CheckResult(TypedDict):
    ok: bool
    detail: str


def _failure(exc: BaseException) -> CheckResult:
    """The error's type and the first line of its message: enough to tell why, short enough to log."""
    lines = str(exc).strip().splitlines()
    detail = type(exc).__name__ + (f": {lines[0]}" if lines else "")
    return {"ok": False, "detail": detail[:DETAIL_MAX_LENGTH]}


def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "detail": "answered SELECT 1"}


def check_redis() -> CheckResult:
    """A write and a read through the cache: proves Redis answers, with the cache's own timeouts."""
    cache = caches["default"]
    token = secrets.token_hex(8)
    cache.set("healthz", token, timeout=30)
    if cache.get("healthz") != token:
        return {"ok": False, "detail": "the cache did not return the value just written"}
    return {"ok": True, "detail": "answered a write and a read"}


def check_celery() -> CheckResult:
    with celery_app.connection_for_write() as conn:
        # Without this, an unreachable broker is retried for several seconds before failing.
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=1)
        replies = celery_app.control.ping(timeout=CELERY_PING_TIMEOUT, connection=conn)
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        return {
            "ok": False,
            "detail": f"no worker answered a ping within {CELERY_PING_TIMEOUT:g} s",
        }
    return {"ok": True, "detail": f"{len(workers)} worker(s) answered: {', '.join(workers)}"}


def check_escalation_sweep() -> CheckResult:
    """The issues app's sweep records a heartbeat (golive.lib.heartbeat) after each run."""
    limit = settings.HEALTH_SWEEP_MAX_AGE_SECONDS
    age = heartbeat.age(heartbeat.ESCALATION_SWEEP)
    if age is None:
        return {"ok": False, "detail": "the escalation sweep has not run yet"}
    seconds = int(age.total_seconds())
    if seconds > limit:
        return {
            "ok": False,
            "detail": f"the escalation sweep last ran {seconds} s ago (more than {limit} s)",
        }
    return {"ok": True, "detail": f"the escalation sweep last ran {seconds} s ago"}


CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "redis": check_redis,
    "celery": check_celery,
    "escalation_sweep": check_escalation_sweep,
}


def run_check(check: Callable[[], CheckResult]) -> CheckResult:
    try:
        return check()
    except Exception as exc:  # Whatever a dependency raises is a result to report, never a 500.
        return _failure(exc)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {name: run_check(check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )


urlpatterns = [
    path("healthz", healthz, name="healthz"),
]
