"""The escalation sweep and its auditor through a real Celery worker: an issue nobody acknowledges
reaches level 2, each contact gets each message once (SMS through a local HTTP gateway), and a
sweep run again sends nothing more. End to end with beat as well: the link in the SMS someone
received acknowledges the issue, and the level after never comes."""

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from conftest import TASK_TIMEOUT, Finished
from golive.celery import app
from golive.lib import heartbeat
from golive.models import Contact, EscalationTier, GoLive, Notification
from golive.tests import test_sms
from golive.tests.test_sms import Gateway
from issues.models import (
    EscalationPath,
    EscalationStep,
    Impact,
    Issue,
    IssueEvent,
    Priority,
    Urgency,
)
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
    desk: Contact,
    analyst: Contact,
    log_issue: LogIssue,
    finished_tasks: Finished,
    gateway: Gateway,
) -> None:
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


@pytest.fixture
def beat(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`celery beat` as production runs it, sweeping every second: it only sends tasks, which
    the test's worker runs against the test database."""
    log = (tmp_path / "beat.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "golive",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=settings.BASE_DIR,
        env={**os.environ, "ESCALATION_SWEEP_SECONDS": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.mark.django_db(transaction=True)
def test_with_beat_and_a_worker_an_issue_reaches_level_2_and_its_sms_link_stops_it(
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    desk: Contact,
    analyst: Contact,
    log_issue: LogIssue,
    finished_tasks: Finished,
    gateway: Gateway,
    beat: subprocess.Popen[bytes],
) -> None:
    # Mercy's P1 path, with a level 4 ten minutes after level 2: the floor again.
    EscalationStep.objects.create(
        path=EscalationPath.objects.get(go_live=mercy, priority=Priority.P1, category=None),
        position=4,
        trigger=EscalationStep.Trigger.NO_RESPONSE,
        wait=dt.timedelta(minutes=10),
        tier=tiers["floor"],
        channels=[EscalationStep.Channel.EMAIL, EscalationStep.Channel.SMS],
    )
    issue = log_issue(impact=Impact.UNIT, urgency=Urgency.BLOCKED, title="eMAR will not scan")
    # A short service level: level 1 and 2 are due now, level 4 in 12 seconds (acknowledging
    # took 3 s here).
    start = timezone.now()
    level_4 = start + dt.timedelta(seconds=12)
    respond_by = level_4 - dt.timedelta(minutes=20)
    Issue.objects.filter(pk=issue.pk).update(
        created_at=respond_by - dt.timedelta(minutes=15),
        respond_by=respond_by,
        due_at=respond_by + dt.timedelta(hours=4),
        next_escalation_at=respond_by,
    )
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        # Beat's sweep finds it and the worker delivers every message (in its own task).
        wait_until(
            finished_tasks,
            lambda: (
                len(gateway.requests) == 2
                and Notification.objects.filter(status=Notification.Status.SENT).count() == 4
            ),
        )
        texts = {request["json"]["to"]: request["json"]["body"] for request in gateway.requests}  # type: ignore[index]
        assert set(texts) == {"+13125550111", "+13125550122"}
        assert sorted(message.to[0] for message in mail.outbox) == [
            "cara@mercy.example",
            "helpdesk@mercy.example",
        ]
        # Cara, told at level 2, acknowledges with the link and code her SMS carried.
        found = re.search(r"http://[^/\s]+(/a/\S+/) code (\d{6})", texts["+13125550122"])
        assert found is not None, texts
        answer = Client().post(found.group(1), {"code": found.group(2)})
        assert answer.status_code == 200, answer.content
        assert timezone.now() < level_4, "The worker was too slow for this test's timing."

        # Two sweeps that started after level 4 was due.
        swept = 0
        while swept < 2:
            task, _ = finished_tasks.get(timeout=TASK_TIMEOUT)
            swept += task == SWEEP and timezone.now() > level_4 + dt.timedelta(seconds=1)
        # Beat stops before the worker, and leaves no task behind for another test's worker.
        beat.terminate()
        beat.wait(timeout=10)
    app.control.purge()

    issue.refresh_from_db()
    assert issue.status == Issue.Status.ACKNOWLEDGED
    assert issue.escalation_done == [1, 2]
    # What is left: the warning at half the resolution time.
    assert issue.next_escalation_at == issue.created_at + (issue.due_at - issue.created_at) / 2
    entry = issue.events.get(kind=IssueEvent.Kind.STATUS)
    assert entry.body.startswith(
        "Acknowledged by Cara Command, with the one-time code of the SMS of escalation level 2"
    )
    # One email and one SMS to each contact, for the one level each was part of; none for level 4.
    assert len(gateway.requests) == 2 and len(mail.outbox) == 2
    assert sorted(
        Notification.objects.exclude(channel=Notification.Channel.IN_APP)
        .filter(dedupe_key__startswith="escalation:")
        .values_list("dedupe_key", flat=True)
    ) == sorted(
        f"escalation:{issue.pk}:r1:l{level}:contact{contact.pk}:{channel}"
        for level, contact in ((1, desk), (2, analyst))
        for channel in ("email", "sms")
    )
    assert heartbeat.age(heartbeat.ESCALATION_SWEEP) < dt.timedelta(seconds=5)
