"""The escalation sweep and its auditor through a real Celery worker: an issue nobody acknowledges
reaches level 2, each contact gets each message once (SMS through a local HTTP gateway), and a
sweep run again sends nothing more."""

import datetime as dt

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.utils import timezone

from conftest import Finished
from golive.celery import app
from golive.lib import heartbeat
from golive.models import Contact, EscalationTier, GoLive, Notification
from golive.tests import test_sms
from golive.tests.test_sms import Gateway
from issues.models import Impact, Issue, Priority, Urgency
from issues.tasks import audit_escalations, escalate_due_issues
from issues.tests.conftest import LogIssue
from staffing.tests.test_reminders_worker import result_of, wait_until

gateway = test_sms.gateway
SWEEP = "issues.tasks.escalate_due_issues"
AUDIT = "issues.tasks.audit_escalations"


def test_beat_sweeps_every_30_seconds_and_audits_every_5_minutes() -> None:
    beat = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert (escalate_due_issues.name, audit_escalations.name) == (SWEEP, AUDIT)
    assert (beat[SWEEP], beat[AUDIT]) == (30.0, 300.0)


@pytest.mark.django_db(transaction=True)
def test_an_unacknowledged_p1_reaches_level_2_and_each_contact_is_told_once(
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    log_issue: LogIssue,
    finished_tasks: Finished,
    gateway: Gateway,
) -> None:
    desk = Contact.objects.create(
        go_live=mercy,
        tier=tiers["floor"],
        name="Mercy help desk",
        email="helpdesk@mercy.example",
        sms_number="+13125550111",
    )
    analyst = Contact.objects.create(
        go_live=mercy,
        tier=tiers["command"],
        name="Cara Command",
        email="cara@mercy.example",
        sms_number="+13125550122",
    )
    issue = log_issue(impact=Impact.UNIT, urgency=Urgency.BLOCKED, title="eMAR will not scan")
    assert issue.priority == Priority.P1
    # Logged 40 minutes ago: the 15 min response target and level 2 (10 min later) have passed.
    ago = timezone.now() - dt.timedelta(minutes=40)
    Issue.objects.filter(pk=issue.pk).update(
        created_at=ago,
        respond_by=ago + dt.timedelta(minutes=15),
        due_at=ago + dt.timedelta(hours=4),
        next_escalation_at=ago,
    )
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        escalate_due_issues.delay()
        assert result_of(finished_tasks, SWEEP) == 1
        escalate_due_issues.delay()
        assert result_of(finished_tasks, SWEEP) == 0
        # The worker delivers what the sweep wrote, after its commit.
        wait_until(
            finished_tasks,
            lambda: not Notification.objects.exclude(status=Notification.Status.SENT).exists(),
        )

    assert sorted(message.to[0] for message in mail.outbox) == [
        "cara@mercy.example",
        "helpdesk@mercy.example",
    ]
    assert sorted(request["json"]["to"] for request in gateway.requests) == [  # type: ignore[index]
        "+13125550111",
        "+13125550122",
    ]
    assert f"Escalation L2: {issue.code} P1 eMAR will not scan" in mail.outbox[1].subject + (
        mail.outbox[0].subject
    )
    issue.refresh_from_db()
    assert issue.escalation_done == [1, 2]
    assert heartbeat.age(heartbeat.ESCALATION_SWEEP) < dt.timedelta(minutes=1)
    assert {desk.name, analyst.name} <= {m.recipient_name for m in Notification.objects.all()}


@pytest.mark.django_db(transaction=True)
def test_the_auditor_through_a_worker_escalates_an_issue_left_stuck(
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    log_issue: LogIssue,
    finished_tasks: Finished,
) -> None:
    Contact.objects.create(
        go_live=mercy, tier=tiers["floor"], name="Mercy help desk", email="hd@mercy.example"
    )
    issue = log_issue()
    ago = timezone.now() - dt.timedelta(hours=2, minutes=30)
    Issue.objects.filter(pk=issue.pk).update(
        created_at=ago, respond_by=ago + dt.timedelta(hours=2), next_escalation_at=ago
    )
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        audit_escalations.delay()
        assert result_of(finished_tasks, AUDIT) == 1
    issue.refresh_from_db()
    assert issue.escalation_done == [1]
