"""A Celery worker is killed with SIGKILL while one of its processes is half-way through an
escalation sweep and the other half-way through sending an SMS; a new worker and beat take over.
Every issue ends at the level due, each escalation message is written once, and each reaches the
gateway once: the one in flight at the kill is sent again after its claim's lease, under the same
Idempotency-Key, so the gateway keeps one."""

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from golive.models import Contact, EscalationTier, GoLive, Notification, Unit
from golive.tests.chaos.conftest import Stack, sms_path, unacknowledged_issues, wait_until
from issues.escalation import SWEEP_BATCH
from issues.models import Issue, IssueEvent, Priority
from issues.services import ensure_issue_setup

pytestmark = pytest.mark.chaos

# Three transactions of the sweep: two commit before the kill, the third is cut off.
ISSUES = 2 * SWEEP_BATCH + 100
# The SMS whose answer never comes back before the kill.
HELD_SMS = 300
LEASE_SECONDS = 5


def test_a_worker_killed_mid_sweep_and_mid_send_loses_and_doubles_nothing(
    stack: Stack, mercy: GoLive, four_west: Unit, tiers: dict[str, EscalationTier]
) -> None:
    ensure_issue_setup(go_live=mercy)
    desk = Contact.objects.create(
        go_live=mercy, tier=tiers["floor"], name="Mercy help desk", sms_number="+13125550111"
    )
    analyst = Contact.objects.create(
        go_live=mercy, tier=tiers["command"], name="Cara Command", sms_number="+13125550122"
    )
    # Level 1 at the missed response target, level 2 two hours later (not due in this test).
    sms_path(mercy, Priority.P3, [(0, [desk]), (120, [analyst])])
    respond_by = timezone.now() - dt.timedelta(minutes=1)
    issues = unacknowledged_issues(four_west, ISSUES, priority=Priority.P3, respond_by=respond_by)
    level_1 = {f"escalation:{issue.pk}:r1:l1:contact{desk.pk}:sms": issue for issue in issues}

    # The last issue's message is being written by someone else, uncommitted: the sweep's third
    # transaction waits for it. Two have committed by then. And the gateway holds an answer.
    pin = connection.get_new_connection(connection.get_connection_params())
    pin.execute(
        f"INSERT INTO {Notification._meta.db_table} (recipient_name, recipient_address, channel,"
        " subject, body, link, dedupe_key, status, attempts, last_error, next_attempt_at,"
        " created_at) VALUES ('', '+1', 'sms', 'pin', '', '', %s, 'sent', 0, '', now(), now())",
        [next(reversed(level_1))],
    )
    stack.inbox.hold_sms = HELD_SMS
    worker = stack.worker()
    stack.send_task("issues.tasks.escalate_due_issues")
    wait_until(
        lambda: stack.inbox.holding.is_set() and stack.waiting_on_locks() == 1,
        what="the sweep waits in its third transaction and an SMS waits for its answer",
    )
    stack.kill(worker)
    pin.close()  # rolled back
    stack.inbox.release()

    # Killed in the middle: some issues escalated, not all; one message claimed, never recorded.
    escalated = Issue.objects.filter(escalation_done=[1])
    assert escalated.count() == 2 * SWEEP_BATCH
    assert Notification.objects.count() == 2 * SWEEP_BATCH
    [in_flight] = Notification.objects.filter(status=Notification.Status.SENDING)
    assert len(stack.inbox.at("/sms")) == HELD_SMS
    assert stack.inbox.at("/sms")[-1].headers["idempotency-key"] == in_flight.dedupe_key

    stack.worker("worker-2", OUTBOX_SENDING_LEASE_SECONDS=str(LEASE_SECONDS))
    stack.beat()
    wait_until(
        lambda: (
            escalated.count() == ISSUES
            and Notification.objects.filter(status=Notification.Status.SENT).count() == ISSUES
            and len({sms.headers["idempotency-key"] for sms in stack.inbox.at("/sms")}) == ISSUES
        ),
        what=f"all {ISSUES} issues at level 1 and their messages sent",
    )

    # Each issue exactly at the level due (level 2 waits two hours), done once.
    assert (
        Issue.objects.filter(
            escalation_done=[1],
            escalation_round=1,
            next_escalation_at=F("respond_by") + dt.timedelta(minutes=120),
        ).count()
        == ISSUES
    )
    assert IssueEvent.objects.filter(kind=IssueEvent.Kind.ESCALATION).count() == ISSUES
    # Each level-1 message written once, and each received by the gateway under its own key;
    # the one in flight at the kill twice, under the same key (the gateway keeps one), once its
    # claim's lease had run out. Nothing else twice.
    assert set(Notification.objects.values_list("dedupe_key", flat=True)) == set(level_1)
    received = Counter(sms.headers["idempotency-key"] for sms in stack.inbox.at("/sms"))
    assert set(received) == set(level_1)
    assert {key: times for key, times in received.items() if times > 1} == {in_flight.dedupe_key: 2}
    first_claim = in_flight.claimed_at
    in_flight.refresh_from_db()
    assert in_flight.attempts == 2
    assert in_flight.claimed_at - first_claim >= dt.timedelta(seconds=LEASE_SECONDS)
    for sms in stack.inbox.at("/sms"):
        issue = level_1[sms.headers["idempotency-key"]]
        assert sms.body["to"] == desk.sms_number
        assert sms.body["body"].startswith(f"Escalation L1: {issue.code} P3 {issue.title}\n")
    assert stack.mail.received() == []
