"""Beat was down for 15 minutes: the state is as it would be then (reminders whose time passed,
escalation levels that fell due one after another), and beat and a worker start on it.

Reminders for shifts that have started are dropped (too late to help); those still useful go out
once, the latest lead only. Escalations reach the level due now in one pass: each level's people
are told once, and someone named on several of those levels (the command center's duty phone) is
told once, of the highest, not once per level missed: the messages the team gets are what it
would have got with beat up, never more, and nobody's phone gets a burst."""

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import F
from django.utils import timezone

from golive.models import Contact, EscalationTier, GoLive, Notification, Unit
from golive.tests.chaos.conftest import Stack, sms_path, unacknowledged_issues, wait_until
from issues.models import Issue, IssueEvent, Priority
from issues.services import ensure_issue_setup
from staffing.models import Assignment, Shift, StaffingSettings, SupportPerson, SupportRole

pytestmark = pytest.mark.chaos

DOWN = dt.timedelta(minutes=15)
ISSUES = 40
PEOPLE_PER_GROUP = 4
M = dt.timedelta(minutes=1)


def test_after_beat_was_down_15_minutes_late_reminders_are_dropped_and_escalation_storms_not(
    stack: Stack,
    mercy: GoLive,
    four_west: Unit,
    tiers: dict[str, EscalationTier],
    super_sam: User,
) -> None:
    now = timezone.now()
    ensure_issue_setup(go_live=mercy)

    # Escalation: the P2 path tells the help desk at the missed response target, the analyst 5
    # minutes later, the vendor 5 minutes after that, the executive 20 minutes after that; the
    # command center's duty phone is named on the first three steps.
    def phone(name: str, tier: str, number: str) -> Contact:
        return Contact.objects.create(go_live=mercy, tier=tiers[tier], name=name, sms_number=number)

    desk = phone("Mercy help desk", "floor", "+13125550111")
    analyst = phone("Cara Command", "command", "+13125550122")
    vendor = phone("Northwind on call", "command", "+13125550133")
    duty = phone("Command center duty phone", "leadership", "+13125550144")
    executive = phone("CMIO", "leadership", "+13125550155")
    sms_path(
        mercy,
        Priority.P2,
        [(0, [desk, duty]), (5, [analyst, duty]), (5, [vendor, duty]), (20, [executive])],
    )
    # Their response target passed just before beat went down: levels 1-3 fell due while it was.
    respond_by = now - DOWN - M / 2
    issues = unacknowledged_issues(four_west, ISSUES, priority=Priority.P2, respond_by=respond_by)
    assigned = [issue.pk for issue in issues[::2]]
    Issue.objects.filter(pk__in=assigned).update(assignee=super_sam)

    # Reminders 60 and 10 minutes before a shift. Beat last swept 15 minutes ago; since then the
    # 10-minute reminders of shifts that have started came due (too late now), the 60-minute
    # ones of shifts starting in 45 minutes, and the 10-minute ones of shifts starting in 5.
    StaffingSettings.objects.update_or_create(
        go_live=mercy, defaults={"reminder_leads_minutes": [60, 10], "late_after_minutes": 60}
    )
    groups = {
        "started": (now - 5 * M, 10),
        "in 45 minutes": (now + 45 * M, 60),
        "in 5 minutes": (now + 5 * M, 10),
    }
    leads: dict[int, int] = {}
    started: list[int] = []
    for label, (start, lead) in groups.items():
        for n in range(PEOPLE_PER_GROUP):
            person = SupportPerson.objects.create(
                go_live=mercy,
                name=f"{label} {n}",
                role=SupportRole.SUPER_USER,
                email=f"person{len(leads)}@mercy.example",
                sms_number=f"+1312555{len(leads):04d}",
            )
            end = start + 12 * 60 * M
            shift = Shift.objects.create(
                go_live=mercy, unit=four_west, role=SupportRole.SUPER_USER, start=start, end=end
            )
            assignment = Assignment.objects.create(
                shift=shift,
                person=person,
                period=DateTimeTZRange(start, end, "[)"),
                next_reminder_at=start - lead * M,
                late_check_at=start + 60 * M,
            )
            leads[assignment.pk] = lead
            if label == "started":
                started.append(assignment.pk)
    reminded = {pk: lead for pk, lead in leads.items() if pk not in started}

    stack.worker()
    stack.beat()
    wait_until(
        lambda: (
            Issue.objects.filter(escalation_done=[1, 2, 3]).count() == ISSUES
            and not Assignment.objects.filter(next_reminder_at__lte=now).exists()
            and not Notification.objects.exclude(status=Notification.Status.SENT).exists()
        ),
        what="the sweeps caught up and every message was sent",
    )
    # Three more rounds of every sweep: whatever they would add, they have added.
    sweeps = stack.finished_tasks()
    wait_until(
        lambda: all(
            stack.finished_tasks()[task] >= sweeps[task] + 3
            for task in (
                "issues.tasks.escalate_due_issues",
                "staffing.tasks.send_shift_reminders",
                "golive.tasks.deliver_pending_notifications",
            )
        ),
        what="three more rounds of the sweeps",
    )

    # Reminders: none for a shift that has started, one for each other (its latest lead due).
    assert set(
        Notification.objects.filter(dedupe_key__startswith="reminder:").values_list(
            "dedupe_key", flat=True
        )
    ) == {
        f"reminder:{pk}:{lead}:{way}" for pk, lead in reminded.items() for way in ("email", "sms")
    }
    assert not Assignment.objects.filter(pk__in=started, next_reminder_at__isnull=False).exists()
    mail = stack.mail.received()
    assert len(mail) == len(reminded)
    assert all(message["Subject"].startswith("Reminder: your shift starts") for message in mail)
    assert len({message["Message-ID"] for message in mail}) == len(reminded)

    # Escalation: at level 3 in one pass, level 4 still to come, one timeline entry each.
    assert (
        Issue.objects.filter(
            escalation_done=[1, 2, 3], next_escalation_at=F("respond_by") + 30 * M
        ).count()
        == ISSUES
    )
    assert IssueEvent.objects.filter(kind=IssueEvent.Kind.ESCALATION).count() == ISSUES
    # One warning each to the assignee (the missed target), not one per warning point passed.
    assert Counter(
        Notification.objects.filter(channel=Notification.Channel.IN_APP).values_list(
            "recipient_user", flat=True
        )
    ) == {super_sam.pk: len(assigned)}

    # What the phones got: one message per issue each, the duty phone's of level 3.
    sms = stack.inbox.at("/sms")
    escalations = [message for message in sms if message.body["body"].startswith("Escalation")]
    per_phone = Counter(message.body["to"] for message in escalations)
    assert per_phone == {
        desk.sms_number: ISSUES,
        analyst.sms_number: ISSUES,
        vendor.sms_number: ISSUES,
        duty.sms_number: ISSUES,
    }
    assert {
        message.body["body"].split(":")[0]
        for message in escalations
        if message.body["to"] == duty.sms_number
    } == {"Escalation L3"}
    assert len({message.headers["idempotency-key"] for message in sms}) == len(sms)
    # In all: 4 texts per issue (not 6: the duty phone once, not for levels 1, 2 and 3), one
    # text and one email per useful reminder, nothing else.
    assert len(sms) == 4 * ISSUES + len(reminded)
    assert stack.inbox.at("/hooks") == []
