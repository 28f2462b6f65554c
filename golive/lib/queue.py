"""Handing work to Celery from a request without letting a broker outage reach the user."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from celery import Task
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


def send_now(task: Task, **kwargs: Any) -> bool:
    """Enqueue `task` with `kwargs`; False at once (logged) when the broker cannot be reached.

    kombu would otherwise retry a refused connection for about 6 s inside the caller's request
    (CELERY_TASK_PUBLISH_RETRY does not cover connecting). Callers keep the work recorded in the
    database, so it can be sent again: by a sweep, or by the person retrying.
    """
    return send_all(task, [kwargs])


def send_all(task: Task, calls: list[dict[str, Any]]) -> bool:
    """`send_now` for many calls of one task, through one broker connection."""
    try:
        with task.app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            for kwargs in calls:
                task.apply_async(kwargs=kwargs, producer=producer)
    except (BrokerError, redis.exceptions.RedisError, OSError) as exc:
        logger.warning("Could not enqueue %s (%d call(s)): %s", task.name, len(calls), exc)
        return False
    return True
