"""The notification outbox: write a row with the event, deliver it after commit, retry from a sweep.

`notify` is called by services inside the transaction that writes the event causing the message,
so the message exists exactly when the event does. Delivery is a Celery task enqueued after
commit; when the broker is down the row simply waits for the beat sweep. A row is claimed by one
conditional UPDATE before sending, so the task and any number of sweeps never send it twice.

A worker that dies between sending and recording it leaves the row claimed; once the claim's lease
(OUTBOX_SENDING_LEASE_SECONDS) runs out the row is sent again: never lost, but possibly received
twice, as nobody can know whether the first attempt arrived. Every attempt of a row therefore
carries the same identity for the receiving end to drop a repeat by: a webhook its delivery id,
an SMS its dedupe key as the gateway's Idempotency-Key, an email its Message-ID.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from functools import partial
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from golive.lib.queue import send_all, send_now
from golive.lib.rows import prepared_cursor, unnest_insert
from golive.models import GoLive, Notification
from golive.sms import get_sms_backend

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
LAST_ERROR_MAX_CHARS = 500


class Undeliverable(Exception):
    """The message can never be sent (its webhook endpoint is disabled): the row fails now
    instead of being retried."""


def notify(
    *,
    dedupe_key: str,
    channel: str,
    subject: str,
    body: str = "",
    user: AbstractBaseUser | None = None,
    name: str = "",
    address: str = "",
    go_live: GoLive | None = None,
    link: str = "",
) -> Notification:
    """Write a notification in the caller's transaction; deliver it after commit (an in-app one
    is delivered by being written).

    A second call with the same dedupe key writes nothing and returns the first row, so callers
    may retry freely. Email goes to `address`, else the user's email; SMS needs `address`.
    """
    if channel not in Notification.Channel.values:
        raise ValueError(f"Unknown notification channel {channel!r}.")
    if channel == Notification.Channel.IN_APP and user is None:
        raise ValueError("An in-app notification needs a user to show it to.")
    if channel == Notification.Channel.SMS and not address:
        raise ValueError("An SMS notification needs an address: the recipient's SMS number.")
    if channel == Notification.Channel.EMAIL and not (address or getattr(user, "email", "")):
        raise ValueError("An email notification needs an address or a user with an email.")
    if channel == Notification.Channel.WEBHOOK:
        raise ValueError("Webhook deliveries are written by golive.webhooks.emit.")

    # An in-app row is delivered by being written: sent at once, no worker needed.
    in_app = channel == Notification.Channel.IN_APP
    # get_or_create inserts inside a savepoint and reads the winner's row when the unique dedupe
    # key is already taken, so two concurrent callers both return the same row without raising.
    notification, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "status": Notification.Status.SENT if in_app else Notification.Status.PENDING,
            "sent_at": timezone.now() if in_app else None,
            "channel": channel,
            "subject": subject,
            "body": body,
            "recipient_user": user,
            "recipient_name": name,
            "recipient_address": address,
            "go_live": go_live,
            "link": link,
        },
    )
    if created and not in_app:
        transaction.on_commit(partial(enqueue_delivery, notification_id=notification.pk))
    return notification


# Rows per delivery task.
_DELIVERY_CHUNK = 50


class NotificationRow(NamedTuple):
    """A notification to write with `notify_many`: what differs between messages (the rest is
    the same for all: pending and due now, or sent for an in-app one)."""

    go_live_id: int | None
    recipient_user_id: int | None
    recipient_name: str
    recipient_address: str
    channel: str
    subject: str
    body: str
    link: str
    dedupe_key: str


# Each of the row's fields is a column of the model, sent as an array of the column's own type.
# An in-app row is delivered by being written: it is sent at once, and no worker sees it.
_NOTIFY_MANY_SQL = unnest_insert(
    Notification,
    NotificationRow._fields,
    constants={
        "status": "CASE WHEN r.channel = %s THEN %s ELSE %s END",
        "sent_at": "CASE WHEN r.channel = %s THEN %s::timestamptz END",
        "attempts": "0",
        "last_error": "''",
        "next_attempt_at": "%s",
        "created_at": "%s",
    },
    returning="id, channel",
)


def notify_many(rows: list[NotificationRow]) -> list[int]:
    """Write many notifications in the caller's transaction, in one statement; deliver them after
    commit (in-app ones are sent as written). A row whose dedupe key is taken (already written,
    by anyone) writes nothing. The ids written.

    Each column goes as one array (`unnest`), so the statement's text is the same however many
    rows there are: psycopg parses it once and sends thousands of rows as a few arrays. The
    caller checks what `notify` checks (an address for the channel).
    """
    if not rows:
        return []
    now = timezone.now()
    # Bound on the server and the arrays sent in binary (%b): Django's cursors would write every
    # value into the statement's text, escaping each string.
    in_app = Notification.Channel.IN_APP.value
    with prepared_cursor() as cursor:
        cursor.execute(
            _NOTIFY_MANY_SQL,
            [
                in_app,
                Notification.Status.SENT.value,
                Notification.Status.PENDING.value,
                in_app,
                now,
                now,
                now,
                *(list(column) for column in zip(*rows, strict=True)),
            ],
        )
        written = cursor.fetchall()
    to_send = [pk for pk, channel in written if channel != in_app]
    if to_send:
        # One task for them all: the worker that takes it splits it (deliver_many), so a sweep
        # that writes thousands of messages pays one enqueue, not one per few rows.
        transaction.on_commit(partial(enqueue_deliveries, ids=to_send))
    return [pk for pk, _ in written]


def enqueue_deliveries(*, ids: list[int]) -> bool:
    """Hand the rows to a worker in one task; like enqueue_delivery, never raises for a broker
    that is down (the sweep delivers later)."""
    from golive.tasks import deliver_notifications as deliver_task  # tasks imports this module

    return send_now(deliver_task, notification_ids=ids)


def deliver_many(*, notification_ids: list[int]) -> int:
    """Deliver rows written together, a few per task: more than a few are split into tasks for
    any worker to take (if the broker cannot take them now, the delivery sweep will); how many
    this call sent."""
    from golive.tasks import deliver_notifications as deliver_task  # tasks imports this module

    if len(notification_ids) > _DELIVERY_CHUNK:
        chunks = [
            notification_ids[start : start + _DELIVERY_CHUNK]
            for start in range(0, len(notification_ids), _DELIVERY_CHUNK)
        ]
        send_all(deliver_task, [{"notification_ids": chunk} for chunk in chunks])
        return 0
    return sum(deliver_notification(notification_id=pk) for pk in notification_ids)


def enqueue_delivery(*, notification_id: int) -> bool:
    """Hand the row to a worker; never raises for a broker that is down (the sweep delivers later)."""
    from golive.tasks import deliver_notification as deliver_task  # tasks imports this module

    return send_now(deliver_task, notification_id=notification_id)


def deliver_notification(*, notification_id: int) -> bool:
    """Claim the row and send it; True when this call sent it.

    False when the row is missing, finished, not due, claimed by someone else, or the attempt
    failed (then it is back to pending with a later next_attempt_at, or failed for good).
    """
    now = timezone.now()
    # One conditional UPDATE: its row count proves this caller won the row.
    claimed = (
        Notification.objects.due(now)
        .filter(pk=notification_id)
        .update(
            status=Notification.Status.SENDING,
            attempts=F("attempts") + 1,
            claimed_at=now,
        )
    )
    if not claimed:
        return False
    notification = Notification.objects.select_related(
        "recipient_user", "webhook_endpoint__go_live"
    ).get(pk=notification_id)
    # The claim filter keeps a worker whose lease ran out from overwriting a newer claimer's result.
    ours = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.SENDING, claimed_at=now
    )
    try:
        _send(notification)
    except Undeliverable as exc:
        ours.update(status=Notification.Status.FAILED, last_error=str(exc)[:LAST_ERROR_MAX_CHARS])
        logger.warning("Notification %s cannot be sent: %s", notification_id, exc)
        return False
    # Any failure, expected (SMTP, gateway) or not, must be recorded and retried rather than
    # leave the row claimed until the lease runs out.
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:LAST_ERROR_MAX_CHARS]
        if notification.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            ours.update(status=Notification.Status.FAILED, last_error=error)
            logger.error("Notification %s failed for good: %s", notification_id, error)
        else:
            ours.update(
                status=Notification.Status.PENDING,
                last_error=error,
                next_attempt_at=timezone.now() + retry_delay(notification.attempts),
            )
            logger.warning("Notification %s will be retried: %s", notification_id, error)
        return False
    ours.update(status=Notification.Status.SENT, sent_at=timezone.now(), last_error="")
    return True


def deliver_due_notifications(*, limit: int = 500, budget_seconds: float = 60.0) -> int:
    """The beat sweep: deliver rows that are pending and due, or stuck in sending; return sent.

    It stops starting new sends after `budget_seconds`, well inside the task's time limit, so a
    slow mail server never gets a send cut off half-way; the rest wait for the next sweep.
    """
    deadline = time.monotonic() + budget_seconds
    due_ids = list(
        Notification.objects.due(timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in due_ids:
        if time.monotonic() >= deadline:
            break
        sent += deliver_notification(notification_id=pk)
    return sent


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s after the first failed attempt, doubling each time, never more than an hour."""
    seconds = BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


def _send(notification: Notification) -> None:
    if notification.channel == Notification.Channel.EMAIL:
        _send_email(notification)
    elif notification.channel == Notification.Channel.SMS:
        text = notification.subject
        if notification.body:
            text = f"{notification.subject}\n{notification.body}"
        get_sms_backend().send(
            to=notification.recipient_address, body=text, key=notification.dedupe_key
        )
    elif notification.channel == Notification.Channel.WEBHOOK:
        from golive import webhooks  # webhooks imports this module

        webhooks.deliver(notification)
    # In-app needs no sending: the row is already in the user's inbox.


def _send_email(notification: Notification) -> None:
    user = notification.recipient_user
    address = notification.recipient_address or (user.email if user is not None else "")
    if not address:
        raise ValueError("The recipient has no email address.")
    body = notification.body
    if notification.link:
        body = f"{body}\n\nOpen in golive: {settings.SITE_URL}{notification.link}".lstrip()
    EmailMessage(
        subject=notification.subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"Message-ID": message_id(notification)},
    ).send()


def message_id(notification: Notification) -> str:
    """The email's Message-ID, the same on every attempt and from every worker: its dedupe key's
    digest at the site's host name (a Message-ID allows no colon, which dedupe keys hold)."""
    digest = hashlib.sha256(notification.dedupe_key.encode()).hexdigest()[:32]
    return f"<{digest}@{urlsplit(settings.SITE_URL).hostname or 'localhost'}>"
