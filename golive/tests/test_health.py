"""`/healthz` against the real PostgreSQL, Redis and a real Celery worker."""

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoDbBlocker, Settings

from golive.celery import app as celery_app
from golive.lib import heartbeat


def healthz(client: Client) -> tuple[int, dict[str, Any], str]:
    response = client.get(reverse("healthz"))
    return response.status_code, response.json(), response["Cache-Control"]


def answering_workers(tries: int = 10) -> list[dict[str, Any]]:
    """Ping until a worker answers. A worker the test has just started takes its control messages
    a moment after it is "ready", and longer on a busy machine: the probe below then asks a worker
    that answers, as a load balancer's probes do once one has started."""
    for _ in range(tries):
        if replies := celery_app.control.ping(timeout=1.0, limit=1):
            return replies
    return []


@pytest.mark.django_db(transaction=True)
def test_it_answers_ok_when_the_database_redis_and_a_worker_answer(client: Client) -> None:
    heartbeat.beat(heartbeat.ESCALATION_SWEEP, at=timezone.now() - dt.timedelta(seconds=40))
    with start_worker(celery_app, pool="solo", perform_ping_check=False):
        assert answering_workers()
        status, body, cache_control = healthz(client)

    assert status == 200
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "redis": True,
        "celery": True,
        "escalation_sweep": True,
    }
    assert "1 worker(s) answered" in body["checks"]["celery"]["detail"]
    # The worker's start takes a moment of real time.
    assert re.fullmatch(
        r"the escalation sweep last ran 4\d s ago", body["checks"]["escalation_sweep"]["detail"]
    )
    assert "no-store" in cache_control


def test_it_answers_503_naming_celery_when_no_worker_answers(db: None, client: Client) -> None:
    status, body, cache_control = healthz(client)

    assert status == 503
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["celery"] == {
        "ok": False,
        "detail": "no worker answered a ping within 1 s",
    }
    assert "no-store" in cache_control


def test_it_answers_503_naming_redis_when_redis_is_down(
    db: None, client: Client, settings: Settings
) -> None:
    # The settings fixture announces the change, and Django then drops its cache connections.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

    status, body, _ = healthz(client)

    assert status == 503
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert "ConnectionError" in body["checks"]["redis"]["detail"]


def test_it_answers_503_naming_celery_when_the_broker_is_down(db: None, client: Client) -> None:
    broker_url = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        status, body, _ = healthz(client)
    finally:
        celery_app.conf.broker_url = broker_url

    assert status == 503
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["celery"]["ok"] is False
    assert "OperationalError" in body["checks"]["celery"]["detail"]


def test_it_answers_503_naming_the_database_when_postgresql_is_down(
    django_db_blocker: DjangoDbBlocker, client: Client
) -> None:
    port = connection.settings_dict["PORT"]
    with django_db_blocker.unblock():
        connection.close()
        connection.settings_dict["PORT"] = 1  # nothing listens there: a real refused connection
        try:
            status, body, _ = healthz(client)
        finally:
            connection.close()
            connection.settings_dict["PORT"] = port

    assert status == 503
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["detail"].startswith("OperationalError: connection")
    assert "\n" not in body["checks"]["database"]["detail"]
    assert body["checks"]["redis"]["ok"] is True


def test_it_needs_no_sign_in_and_refuses_posts(db: None, client: Client) -> None:
    assert client.get(reverse("healthz")).status_code in {200, 503}
    assert client.post(reverse("healthz")).status_code == 405


def test_it_answers_503_when_the_escalation_sweep_is_over_three_minutes_old(
    db: None, client: Client
) -> None:
    with time_machine.travel(timezone.now(), tick=False):
        heartbeat.beat(heartbeat.ESCALATION_SWEEP, at=timezone.now() - dt.timedelta(seconds=181))
        status, body, _ = healthz(client)
    assert status == 503
    assert body["checks"]["escalation_sweep"]["ok"] is False
    assert "last ran 181 s ago (more than 180 s)" in body["checks"]["escalation_sweep"]["detail"]

    heartbeat.beat(heartbeat.ESCALATION_SWEEP)
    _, body, _ = healthz(client)
    assert body["checks"]["escalation_sweep"]["ok"] is True


def test_it_answers_503_when_the_escalation_sweep_never_ran(db: None, client: Client) -> None:
    cache.delete("heartbeat:escalation")
    status, body, _ = healthz(client)
    assert status == 503
    assert body["checks"]["escalation_sweep"] == {
        "ok": False,
        "detail": "the escalation sweep has not run yet",
    }
