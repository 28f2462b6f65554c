"""The outbox: one row per dedupe key, delivery after commit, retries with backoff, one send only."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction
from pytest_django.fixtures import Settings

from conftest import at_once, closed_port
from golive.models import GoLive, Notification
from golive.outbox import (
    NotificationRow,
    deliver_due_notifications,
    deliver_notification,
    notify,
    notify_many,
    retry_delay,
)

NOW = dt.datetime(2026, 11, 2, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def unreachable_smtp(settings: Settings) -> None:
    """A real SMTP backend pointed at a port where no server listens."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 2


def email_to(user: User, go_live: GoLive, key: str = "reminder:1:lena") -> Notification:
    return notify(
        dedupe_key=key,
        channel=Notification.Channel.EMAIL,
        subject="Your shift starts at 07:00",
        body="4 West, Mercy General.",
        user=user,
        go_live=go_live,
        link="/shifts/1/",
    )


def test_it_writes_one_row_and_enqueues_one_delivery_for_the_same_key_twice(
    lead_lena: User, mercy: GoLive, django_capture_on_commit_callbacks: Callable
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        first = email_to(lead_lena, mercy)
        second = email_to(lead_lena, mercy)

    assert second.pk == first.pk
    assert Notification.objects.filter(dedupe_key="reminder:1:lena").count() == 1
    assert len(callbacks) == 1


def test_many_rows_are_written_once_each_and_delivered_in_one_enqueue(
    lead_lena: User, mercy: GoLive, django_capture_on_commit_callbacks: Callable
) -> None:
    def row(key: str, address: str) -> NotificationRow:
        return NotificationRow(
            go_live_id=mercy.pk,
            recipient_user_id=None,
            recipient_name="Mercy help desk",
            recipient_address=address,
            channel=Notification.Channel.EMAIL,
            subject="Escalation L1: GL-1001",
            body='4 West · It\'s <b>blank</b>, "quoted" and {braced}',
            link="/issues/1/",
            dedupe_key=key,
        )

    email_to(lead_lena, mercy, key="escalation:1:r1:l1:contact1:email")
    in_app = row("escalation:1:r1:l1:user9:in_app", "")._replace(
        recipient_user_id=lead_lena.pk, channel=Notification.Channel.IN_APP
    )
    with django_capture_on_commit_callbacks() as callbacks:
        written = notify_many(
            [
                row("escalation:1:r1:l1:contact1:email", "old@mercy.example"),
                row("escalation:1:r1:l1:contact2:email", "hd@mercy.example"),
                row("escalation:1:r1:l1:contact3:email", "cara@mercy.example"),
                in_app,
            ]
        )

    # The key already taken wrote nothing; the emails are pending, text kept as given; the
    # in-app row is sent as written.
    assert len(written) == 3
    rows = Notification.objects.filter(pk__in=written).order_by("dedupe_key")
    assert [r.recipient_address for r in rows] == ["hd@mercy.example", "cara@mercy.example", ""]
    assert [r.status for r in rows] == ["pending", "pending", "sent"]
    assert [r.sent_at is None for r in rows] == [True, True, False]
    assert rows[0].body == '4 West · It\'s <b>blank</b>, "quoted" and {braced}'
    # One enqueue, of the two emails only.
    assert len(callbacks) == 1
    assert callbacks[0].keywords == {"ids": [rows[0].pk, rows[1].pk]}
    assert notify_many([]) == []


def test_it_returns_the_first_row_unchanged_for_a_repeated_key(
    lead_lena: User, mercy: GoLive
) -> None:
    first = email_to(lead_lena, mercy)
    again = notify(
        dedupe_key=first.dedupe_key,
        channel=Notification.Channel.EMAIL,
        subject="Another subject",
        user=lead_lena,
    )
    assert again.pk == first.pk
    assert again.subject == "Your shift starts at 07:00"


def test_it_refuses_an_sms_without_a_number(nurse_nina: User) -> None:
    with pytest.raises(ValueError, match="SMS number"):
        notify(dedupe_key="sms:1", channel=Notification.Channel.SMS, subject="Hi", user=nurse_nina)
    assert not Notification.objects.exists()


def test_it_refuses_an_in_app_notification_without_a_user(db: None) -> None:
    with pytest.raises(ValueError, match="needs a user"):
        notify(
            dedupe_key="inapp:1",
            channel=Notification.Channel.IN_APP,
            subject="Hi",
            address="x@example.org",
        )


def test_it_refuses_an_email_to_a_user_without_an_email(nurse_nina: User) -> None:
    nurse_nina.email = ""
    nurse_nina.save()
    with pytest.raises(ValueError, match="email"):
        notify(dedupe_key="e:1", channel=Notification.Channel.EMAIL, subject="Hi", user=nurse_nina)


def test_it_refuses_an_unknown_channel(lead_lena: User) -> None:
    with pytest.raises(ValueError, match="channel"):
        notify(dedupe_key="p:1", channel="pigeon", subject="Hi", user=lead_lena)


def test_it_emails_the_user_with_the_link_in_the_body(
    lead_lena: User, mercy: GoLive, settings: Settings
) -> None:
    settings.SITE_URL = "https://golive.mercy.example"
    notification = email_to(lead_lena, mercy)

    assert deliver_notification(notification_id=notification.pk) is True

    [message] = mail.outbox
    assert message.to == ["lead_lena@example.org"]
    assert message.subject == "Your shift starts at 07:00"
    assert "4 West, Mercy General." in message.body
    assert "Open in golive: https://golive.mercy.example/shifts/1/" in message.body
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.sent_at is not None
    assert notification.attempts == 1


def test_it_emails_a_bare_address_for_someone_without_a_login(db: None) -> None:
    notification = notify(
        dedupe_key="escalation:7:2:vendor",
        channel=Notification.Channel.EMAIL,
        subject="Issue 7 escalated to you",
        name="Vendor on call",
        address="oncall@vendor.example",
    )

    deliver_notification(notification_id=notification.pk)

    assert mail.outbox[0].to == ["oncall@vendor.example"]


def test_an_in_app_notification_is_sent_as_written_and_no_worker_sees_it(
    nurse_nina: User, mercy: GoLive, django_capture_on_commit_callbacks: Callable
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        notification = notify(
            dedupe_key="inapp:nina:1",
            channel=Notification.Channel.IN_APP,
            subject="Your issue was resolved",
            user=nurse_nina,
            go_live=mercy,
        )

    assert callbacks == []
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.sent_at is not None
    # Nothing for a delivery sweep to take, and nothing sent anywhere.
    assert deliver_notification(notification_id=notification.pk) is False
    assert mail.outbox == []


def test_it_sends_a_row_only_once(lead_lena: User, mercy: GoLive) -> None:
    notification = email_to(lead_lena, mercy)

    assert deliver_notification(notification_id=notification.pk) is True
    assert deliver_notification(notification_id=notification.pk) is False
    assert deliver_due_notifications() == 0
    assert len(mail.outbox) == 1


def test_it_does_nothing_for_a_missing_row(db: None) -> None:
    assert deliver_notification(notification_id=987654) is False


def test_backoff_doubles_from_thirty_seconds_and_stops_at_an_hour() -> None:
    delays = [retry_delay(attempts).total_seconds() for attempts in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.usefixtures("unreachable_smtp")
def test_it_retries_a_failed_email_with_backoff_then_gives_up(
    lead_lena: User, mercy: GoLive, settings: Settings
) -> None:
    settings.OUTBOX_MAX_ATTEMPTS = 3
    with time_machine.travel(NOW, tick=False) as clock:
        notification = email_to(lead_lena, mercy)

        assert deliver_notification(notification_id=notification.pk) is False
        notification.refresh_from_db()
        assert notification.status == Notification.Status.PENDING
        assert notification.attempts == 1
        assert notification.next_attempt_at == NOW + dt.timedelta(seconds=30)
        assert "ConnectionRefusedError" in notification.last_error

        # Not due before its time: the sweep leaves it alone.
        clock.shift(dt.timedelta(seconds=29))
        assert deliver_due_notifications() == 0
        assert Notification.objects.get().attempts == 1

        clock.shift(dt.timedelta(seconds=1))
        assert deliver_due_notifications() == 0
        notification.refresh_from_db()
        assert notification.attempts == 2
        assert notification.next_attempt_at == NOW + dt.timedelta(seconds=30 + 60)

        clock.shift(dt.timedelta(seconds=60))
        deliver_due_notifications()
        notification.refresh_from_db()
        assert notification.status == Notification.Status.FAILED
        assert notification.attempts == 3

        clock.shift(dt.timedelta(days=1))
        assert deliver_due_notifications() == 0
        assert Notification.objects.get().attempts == 3


def test_a_retried_email_is_sent_once_the_mail_server_answers(
    lead_lena: User, mercy: GoLive, settings: Settings, unreachable_smtp: None
) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        notification = email_to(lead_lena, mercy)
        deliver_notification(notification_id=notification.pk)

        clock.shift(dt.timedelta(seconds=30))
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert deliver_due_notifications() == 1

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2
    assert notification.last_error == ""
    assert len(mail.outbox) == 1


@pytest.fixture
def abandoned_claim(lead_lena: User, mercy: GoLive, settings: Settings) -> Notification:
    """A row a worker claimed at NOW with a 300 s lease, then died before sending."""
    settings.OUTBOX_SENDING_LEASE_SECONDS = 300
    notification = email_to(lead_lena, mercy)
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.SENDING, attempts=1, claimed_at=NOW
    )
    return notification


def test_an_email_sent_again_after_a_lost_claim_keeps_its_message_id(
    lead_lena: User, mercy: GoLive, settings: Settings
) -> None:
    settings.SITE_URL = "https://golive.mercy.example"
    settings.OUTBOX_SENDING_LEASE_SECONDS = 300
    with time_machine.travel(NOW, tick=False) as clock:
        notification = email_to(lead_lena, mercy)
        assert deliver_notification(notification_id=notification.pk) is True
        # As if the worker had died after sending, before recording it: the claim is left.
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.SENDING, sent_at=None, claimed_at=NOW
        )
        clock.shift(dt.timedelta(seconds=301))
        assert deliver_due_notifications() == 1
        other = email_to(lead_lena, mercy, key="reminder:2:lena")
        assert deliver_notification(notification_id=other.pk) is True

    first, again, another = (message.message()["Message-ID"] for message in mail.outbox)
    # Mail systems that see a Message-ID twice may drop the second copy.
    assert first == again != another
    assert re.fullmatch(r"<[0-9a-f]{32}@golive\.mercy\.example>", first)


def test_a_row_stuck_in_sending_past_the_lease_is_offered_again(
    abandoned_claim: Notification,
) -> None:
    with time_machine.travel(NOW + dt.timedelta(seconds=301), tick=False):
        assert deliver_due_notifications() == 1

    abandoned_claim.refresh_from_db()
    assert abandoned_claim.status == Notification.Status.SENT
    assert abandoned_claim.attempts == 2
    assert len(mail.outbox) == 1


def test_a_fresh_sending_row_is_left_to_its_worker(abandoned_claim: Notification) -> None:
    with time_machine.travel(NOW + dt.timedelta(seconds=299), tick=False):
        assert deliver_due_notifications() == 0
        assert deliver_notification(notification_id=abandoned_claim.pk) is False

    assert Notification.objects.get().status == Notification.Status.SENDING
    assert mail.outbox == []


def test_the_sweep_sends_due_rows_oldest_first_up_to_its_limit(
    lead_lena: User, mercy: GoLive
) -> None:
    with time_machine.travel(NOW, tick=False):
        for number in range(3):
            email_to(lead_lena, mercy, key=f"reminder:{number}:lena")
        Notification.objects.filter(dedupe_key="reminder:2:lena").update(
            next_attempt_at=NOW - dt.timedelta(minutes=5)
        )
        Notification.objects.filter(dedupe_key="reminder:0:lena").update(
            next_attempt_at=NOW + dt.timedelta(minutes=5)
        )

        assert deliver_due_notifications(limit=1) == 1
        assert Notification.objects.get(dedupe_key="reminder:2:lena").status == "sent"
        assert deliver_due_notifications() == 1
        assert Notification.objects.get(dedupe_key="reminder:0:lena").status == "pending"
    assert len(mail.outbox) == 2


def test_the_sweep_starts_no_send_once_its_time_budget_is_spent(
    lead_lena: User, mercy: GoLive
) -> None:
    email_to(lead_lena, mercy)

    assert deliver_due_notifications(budget_seconds=0) == 0

    assert Notification.objects.get().status == Notification.Status.PENDING
    assert mail.outbox == []


def test_it_enqueues_delivery_only_when_the_transaction_commits(
    lead_lena: User, mercy: GoLive, django_capture_on_commit_callbacks: Callable
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        email_to(lead_lena, mercy)
        assert callbacks == []

    assert len(callbacks) == 1


def test_a_rolled_back_notification_leaves_no_row_and_no_delivery(
    lead_lena: User, mercy: GoLive, django_capture_on_commit_callbacks: Callable
) -> None:
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_to(lead_lena, mercy)
        raise RuntimeError("the event failed")

    assert callbacks == []
    assert not Notification.objects.exists()
    assert deliver_due_notifications() == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_row_once_under_two_claimers(lead_lena: User, mercy: GoLive) -> None:
    notification = email_to(lead_lena, mercy)

    results = at_once(lambda: deliver_notification(notification_id=notification.pk))

    assert sorted(results, key=str) == [False, True]
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_two_callers_racing_on_one_key_both_get_the_one_row(lead_lena: User, mercy: GoLive) -> None:
    def notify_in_a_transaction() -> int:
        with transaction.atomic():
            return notify(
                dedupe_key="escalation:9:2:lena",
                channel=Notification.Channel.IN_APP,
                subject="Issue 9 escalated",
                user=lead_lena,
                go_live=mercy,
            ).pk

    results = at_once(notify_in_a_transaction)

    assert len(results) == 2
    assert all(isinstance(pk, int) for pk in results), results
    assert results[0] == results[1]
    assert Notification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_writes_and_sends_nothing(lead_lena: User, mercy: GoLive) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        email_to(lead_lena, mercy)
        raise RuntimeError("the event failed")

    assert not Notification.objects.exists()
    assert mail.outbox == []
