"""Celery tasks of the core: thin wrappers around the outbox (golive/outbox.py)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from golive import outbox


# acks_late is safe: the claim in deliver_notification makes a redelivered message a no-op.
# Only a database that cannot answer is worth retrying here; send failures are the outbox's own
# retries (the row goes back to pending with backoff and the sweep picks it up).
@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def deliver_notification(notification_id: int) -> bool:
    return outbox.deliver_notification(notification_id=notification_id)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def deliver_notifications(notification_ids: list[int]) -> int:
    """Rows written together (an escalation sweep's); how many this call sent."""
    return outbox.deliver_many(notification_ids=notification_ids)


@shared_task
def deliver_pending_notifications() -> int:
    return outbox.deliver_due_notifications()
