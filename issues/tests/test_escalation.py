"""Warnings and escalation: the schedule, the sweep's properties (each level once, two sweeps at
once, a failed sweep, an outage), acknowledgement and resolution stopping it, the snapshot, the
unreachable tier, and the auditor.

Mercy's default P3 path (issues/services.py DEFAULT_PATHS): not acknowledged at the 2 h response
target, floor support by in-app and email; an hour later the command center by email; the 24 h
resolution target missed, the command center by email. Warnings at 50% and 100% of each target.
"""

import datetime as dt
import logging
import threading
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.urls import reverse

from golive.models import Contact, EscalationTier, GoLive, Notification, Unit
from issues import escalation
from issues.escalation import escalate_due_issues, requeue_stuck_escalations
from issues.models import Category, EscalationPath, Issue, IssueEvent, Priority
from issues.schedule import next_escalation_time
from issues.services import change_status, set_priority, sla_targets
from issues.tests.conftest import LogIssue
from staffing.tests import conftest as staffing_cast

now = staffing_cast.now
H = dt.timedelta(hours=1)


def sent(issue: Issue) -> list[str]:
    """The dedupe keys of the issue's warnings and escalation messages, in order."""
    return list(
        Notification.objects.filter(dedupe_key__contains=f":{issue.pk}:")
        .order_by("pk")
        .values_list("dedupe_key", flat=True)
    )


def escalation_events(issue: Issue) -> list[str]:
    """The lines of the issue's escalation entries on its timeline, in order."""
    return [
        line
        for body in issue.events.filter(kind=IssueEvent.Kind.ESCALATION)
        .order_by("pk")
        .values_list("body", flat=True)
        for line in body.splitlines()
    ]


def test_a_new_issue_is_first_looked_at_at_its_first_warning(
    now: dt.datetime, log_issue: LogIssue
) -> None:
    issue = log_issue()
    assert issue.priority == Priority.P3
    # Half of the 2 h response time; the intake's statement and the schedule agree.
    assert issue.next_escalation_at == now + H
    issue.refresh_from_db()
    assert issue.next_escalation_at == now + H
    assert next_escalation_time(issue, sla_targets(issue=issue).warn_at) == now + H


def test_an_enhancement_request_is_never_escalated(
    now: dt.datetime, log_issue: LogIssue, mercy: GoLive
) -> None:
    enhancement = Category.objects.get(go_live=mercy, is_enhancement=True)
    issue = log_issue(category=enhancement)
    assert issue.next_escalation_at is None
    assert escalate_due_issues(now=now + 100 * H) == 0


def test_the_half_time_warning_goes_to_the_assignee_once(
    now: dt.datetime, log_issue: LogIssue, agent_alex: User
) -> None:
    issue = log_issue()
    Issue.objects.filter(pk=issue.pk).update(assignee=agent_alex)

    assert escalate_due_issues(now=now + H) == 1
    assert escalate_due_issues(now=now + H) == 0

    [warning] = Notification.objects.filter(recipient_user=agent_alex)
    assert warning.channel == Notification.Channel.IN_APP
    assert warning.subject == f"{issue.code} has used 50% of its response time: Labels print blank"
    assert escalation_events(issue) == [
        f"Warning: {issue.code} has used 50% of its response time (due 08:00). Told Alex Agent "
        "in the app."
    ]
    issue.refresh_from_db()
    assert issue.escalation_plan is None
    assert issue.next_escalation_at == now + 2 * H


def test_a_missed_response_starts_the_path_and_tells_the_first_tier_once(
    now: dt.datetime, log_issue: LogIssue, desk: Contact
) -> None:
    issue = log_issue()

    escalate_due_issues(now=now + 2 * H)
    escalate_due_issues(now=now + 2 * H + dt.timedelta(seconds=30))

    issue.refresh_from_db()
    assert issue.escalation_round == 1
    assert issue.escalation_plan["name"] == "P3"
    assert issue.escalation_done == [1]
    # Level 2 (the command center) an hour after the first.
    assert issue.next_escalation_at == now + 3 * H
    # A contact has no login: email only (in-app needs a user).
    assert sent(issue) == [f"escalation:{issue.pk}:r1:l1:contact{desk.pk}:email"]
    message = Notification.objects.get()
    assert message.recipient_address == "helpdesk@mercy.example"
    assert message.subject == f"Escalation L1: {issue.code} P3 Labels print blank"
    assert "is not acknowledged since 08:00" in message.body
    # One timeline entry for what the sweep did: the warning, the start, level 1.
    [entry] = issue.events.filter(kind=IssueEvent.Kind.ESCALATION)
    assert entry.internal and entry.actor is None
    assert entry.body.splitlines() == [
        f"Warning: {issue.code} missed its response target (due 08:00) and nobody has it: its "
        "escalation path tells the tier.",
        "Escalation started (round 1): the response target was missed. Path P3.",
        "Level 1 (still not acknowledged): told Mercy help desk (email).",
    ]


def test_after_an_outage_it_reaches_the_level_due_now_with_one_message_per_level(
    now: dt.datetime, log_issue: LogIssue, desk: Contact, analyst: Contact
) -> None:
    issue = log_issue()

    # Nothing ran for five hours: the response warnings, levels 1 and 2 are all due.
    assert escalate_due_issues(now=now + 5 * H) == 1
    assert escalate_due_issues(now=now + 5 * H) == 0

    assert sent(issue) == [
        f"escalation:{issue.pk}:r1:l1:contact{desk.pk}:email",
        f"escalation:{issue.pk}:r1:l2:contact{analyst.pk}:email",
    ]
    events = escalation_events(issue)
    # One warning (the latest point reached, 100%), not one per point missed.
    assert [e for e in events if e.startswith("Warning")] == [
        f"Warning: {issue.code} missed its response target (due 08:00) and nobody has it: its "
        "escalation path tells the tier."
    ]
    issue.refresh_from_db()
    assert issue.escalation_done == [1, 2]
    # Next: half of the 24 h resolution time.
    assert issue.next_escalation_at == now + 12 * H


def test_someone_on_several_levels_due_at_once_is_told_once_of_the_highest(
    now: dt.datetime,
    log_issue: LogIssue,
    desk: Contact,
    analyst: Contact,
    tiers: dict[str, EscalationTier],
    mercy: GoLive,
) -> None:
    # The duty manager is named on both response steps, as command centers often do.
    duty = Contact.objects.create(
        go_live=mercy, tier=tiers["leadership"], name="Duty manager", email="duty@mercy.example"
    )
    path = EscalationPath.objects.get(go_live=mercy, priority=Priority.P3, category=None)
    for step in path.steps.filter(position__in=[1, 2]):
        step.contacts.add(duty)
    on_time = log_issue()
    escalate_due_issues(now=now + 2 * H)
    late = log_issue(title="Scanner offline")

    # Sweeps on time tell the duty manager of each level; after an outage, of level 2 only.
    assert escalate_due_issues(now=now + 5 * H) == 2

    assert sent(on_time) == [
        f"escalation:{on_time.pk}:r1:l1:contact{desk.pk}:email",
        f"escalation:{on_time.pk}:r1:l1:contact{duty.pk}:email",
        f"escalation:{on_time.pk}:r1:l2:contact{analyst.pk}:email",
        f"escalation:{on_time.pk}:r1:l2:contact{duty.pk}:email",
    ]
    assert sent(late) == [
        f"escalation:{late.pk}:r1:l1:contact{desk.pk}:email",
        f"escalation:{late.pk}:r1:l2:contact{analyst.pk}:email",
        f"escalation:{late.pk}:r1:l2:contact{duty.pk}:email",
    ]
    assert [e for e in escalation_events(late) if e.startswith("Level")] == [
        "Level 1 (still not acknowledged): told Mercy help desk (email). Told of a higher level "
        "at once: Duty manager (L2).",
        "Level 2 (still not acknowledged): told Cara Command (email); Duty manager (email).",
    ]
    late.refresh_from_db()
    assert late.escalation_done == [1, 2]


def test_acknowledging_stops_the_response_escalation_at_once(
    now: dt.datetime, log_issue: LogIssue, desk: Contact, analyst: Contact, agent_alex: User
) -> None:
    issue = log_issue()
    escalate_due_issues(now=now + 2 * H)

    issue = change_status(issue=issue, to=Issue.Status.ACKNOWLEDGED, actor=agent_alex)

    assert issue.next_escalation_at == now + 12 * H
    assert escalate_due_issues(now=now + 3 * H) == 0
    assert sent(issue) == [f"escalation:{issue.pk}:r1:l1:contact{desk.pk}:email"]
    # Still not resolved at the 24 h target: the resolution step of the same snapshot.
    escalate_due_issues(now=now + 24 * H)
    assert sent(issue)[-1] == f"escalation:{issue.pk}:r1:l3:contact{analyst.pk}:email"


def test_a_resolved_issue_stops_escalating(
    now: dt.datetime, log_issue: LogIssue, desk: Contact, agent_alex: User
) -> None:
    issue = log_issue()
    issue = change_status(
        issue=issue, to=Issue.Status.RESOLVED, actor=agent_alex, resolution="Printer swapped."
    )
    assert issue.next_escalation_at is None
    assert escalate_due_issues(now=now + 30 * H) == 0
    assert sent(issue) == []


def test_waiting_on_the_reporter_stops_the_clock_and_resuming_moves_it_on(
    now: dt.datetime, log_issue: LogIssue, agent_alex: User, time_machine: object
) -> None:
    issue = log_issue()
    issue = change_status(issue=issue, to=Issue.Status.WAITING_REPORTER, actor=agent_alex)
    assert issue.next_escalation_at is None

    time_machine.move_to(now + 3 * H, tick=False)  # type: ignore[attr-defined]
    issue = change_status(issue=issue, to=Issue.Status.IN_PROGRESS, actor=agent_alex)
    # Acknowledged; the resolution target moved on by the 3 h stopped: 27 h after the report,
    # and its first warning at half of that.
    assert issue.due_at == now + 27 * H
    assert issue.next_escalation_at == now + 13.5 * H


def test_editing_the_path_never_changes_an_issue_already_escalating(
    now: dt.datetime,
    log_issue: LogIssue,
    desk: Contact,
    analyst: Contact,
    tiers: dict[str, EscalationTier],
    mercy: GoLive,
) -> None:
    issue = log_issue()
    escalate_due_issues(now=now + 2 * H)
    # The lead moves the P3 path's second step to the floor tier after the escalation started.
    path = EscalationPath.objects.get(go_live=mercy, priority=Priority.P3, category=None)
    path.steps.filter(position=2).update(tier=tiers["floor"])

    escalate_due_issues(now=now + 3 * H)

    assert sent(issue)[-1] == f"escalation:{issue.pk}:r1:l2:contact{analyst.pk}:email"
    # A new issue takes the edited path.
    later = log_issue(title="Scanner offline")
    escalate_due_issues(now=now + 5 * H)
    assert f"escalation:{later.pk}:r1:l2:contact{desk.pk}:email" in sent(later)


def test_an_unreachable_tier_moves_on_and_alerts_the_command_center(
    now: dt.datetime, log_issue: LogIssue, analyst: Contact, lead_lena: User
) -> None:
    issue = log_issue()  # nobody on shift or in the directory for floor support

    escalate_due_issues(now=now + 2 * H)

    assert sent(issue) == [
        f"coverage_gap:{issue.pk}:r1:l1:user{lead_lena.pk}",
        f"escalation:{issue.pk}:r1:l1:contact{analyst.pk}:email",
    ]
    alert = Notification.objects.get(recipient_user=lead_lena)
    assert alert.subject == f"Coverage gap: nobody in Floor support for {issue.code}"
    assert "It went to Command center instead." in alert.body
    assert escalation_events(issue)[-1] == (
        "Level 1 (still not acknowledged): told Cara Command (email). Nobody in Floor support "
        "could be reached; moved on to Command center; the command center was alerted."
    )


def test_a_priority_change_starts_a_new_round_on_the_new_path(
    now: dt.datetime, log_issue: LogIssue, desk: Contact, agent_alex: User, time_machine: object
) -> None:
    issue = log_issue()
    escalate_due_issues(now=now + 2 * H)

    time_machine.move_to(now + 2 * H, tick=False)  # type: ignore[attr-defined]
    issue = set_priority(issue=issue, priority=Priority.P1, actor=agent_alex)
    assert issue.escalation_plan is None
    # P1's 15 min response is long past: due at once.
    assert issue.next_escalation_at == now + dt.timedelta(minutes=7, seconds=30)

    escalate_due_issues(now=now + 2 * H)
    issue.refresh_from_db()
    assert issue.escalation_round == 2
    assert issue.escalation_plan["name"] == "P1"
    # P1 tells by SMS too; the first round's email is not repeated, the new round's is sent.
    assert sent(issue) == [
        f"escalation:{issue.pk}:r1:l1:contact{desk.pk}:email",
        f"escalation:{issue.pk}:r2:l1:contact{desk.pk}:email",
        f"escalation:{issue.pk}:r2:l1:contact{desk.pk}:sms",
    ]


def test_a_sweep_that_fails_half_way_leaves_nothing_and_the_next_does_it_once(
    now: dt.datetime, log_issue: LogIssue, desk: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue = log_issue()

    def cut(rows: list[Notification]) -> list[int]:
        raise OperationalError("server closed the connection unexpectedly")

    # The database goes away after the issue and its events are written, before the messages.
    with monkeypatch.context() as patched:
        patched.setattr(escalation.outbox, "notify_many", cut)
        with pytest.raises(OperationalError):
            escalate_due_issues(now=now + 2 * H)

    issue.refresh_from_db()
    assert (issue.escalation_plan, issue.escalation_done, issue.next_escalation_at) == (
        None,
        [],
        now + H,
    )
    assert escalation_events(issue) == [] and sent(issue) == []

    escalate_due_issues(now=now + 2 * H)
    escalate_due_issues(now=now + 2 * H)
    assert sent(issue) == [f"escalation:{issue.pk}:r1:l1:contact{desk.pk}:email"]
    assert len(escalation_events(issue)) == 3  # the warning, the start, level 1


def test_one_issue_that_cannot_be_escalated_does_not_hold_up_the_others(
    now: dt.datetime,
    log_issue: LogIssue,
    desk: Contact,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad, good = log_issue(title="Bad"), log_issue(title="Good")
    perform = escalation._perform

    def fails_on_bad(issue: Issue, *args: object) -> None:
        if issue.pk == bad.pk:
            raise ValueError("a snapshot this version cannot read")
        perform(issue, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(escalation, "_perform", fails_on_bad)
    with caplog.at_level(logging.ERROR, logger="issues.escalation"):
        assert escalate_due_issues(now=now + 2 * H) == 1

    assert f"Could not escalate issue {bad.pk}" in caplog.text
    assert sent(good) == [f"escalation:{good.pk}:r1:l1:contact{desk.pk}:email"]
    assert sent(bad) == [] and escalation_events(bad) == []


@pytest.mark.django_db(transaction=True)
def test_a_sweep_skips_an_issue_another_transaction_holds(
    now: dt.datetime, log_issue: LogIssue, desk: Contact
) -> None:
    held, free = log_issue(title="Held"), log_issue(title="Free")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            Issue.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    try:
        assert escalate_due_issues(now=now + 2 * H) == 1
    finally:
        release.set()
        holder.join(10)
    assert sent(held) == [] and len(sent(free)) == 1

    assert escalate_due_issues(now=now + 2 * H) == 1
    assert sent(held) == [f"escalation:{held.pk}:r1:l1:contact{desk.pk}:email"]
    assert len(sent(free)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_each_issue_once(
    now: dt.datetime, log_issue: LogIssue, desk: Contact, analyst: Contact
) -> None:
    issues = [log_issue(title=f"Issue {n}") for n in range(40)]
    start = threading.Barrier(2)
    handled: list[int] = []

    def sweep() -> None:
        start.wait(10)
        handled.append(escalate_due_issues(now=now + 5 * H, batch=5))
        connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(handled) == 40
    for issue in issues:
        assert len(sent(issue)) == 2  # levels 1 and 2, once each
        assert len(escalation_events(issue)) == 4  # the warning, the start, levels 1 and 2


def test_the_auditor_escalates_what_the_sweep_left_behind(
    now: dt.datetime, log_issue: LogIssue, desk: Contact, caplog: pytest.LogCaptureFixture
) -> None:
    issue = log_issue()
    # Nothing swept for 10 minutes past the response target.
    with caplog.at_level(logging.WARNING, logger="issues.escalation"):
        assert requeue_stuck_escalations(now=now + 2 * H + dt.timedelta(minutes=4)) == 1
    assert sent(issue) == [f"escalation:{issue.pk}:r1:l1:contact{desk.pk}:email"]
    assert "Escalation is stuck on 1 issue(s)" in caplog.text
    # Not late enough to be stuck: left to the sweep.
    assert requeue_stuck_escalations(now=now + 3 * H + dt.timedelta(minutes=4)) == 0


def test_a_unit_on_another_site_is_reached_through_its_own_contacts(
    now: dt.datetime, log_issue: LogIssue, front_desk: Unit, desk: Contact, analyst: Contact
) -> None:
    desk.all_units = False
    desk.save()
    issue = log_issue(unit=front_desk)
    escalate_due_issues(now=now + 2 * H)
    # The help desk covers no unit now: the first tier is empty, the command center is told.
    assert f"escalation:{issue.pk}:r1:l1:contact{analyst.pk}:email" in sent(issue)
    assert f"escalation:{issue.pk}:r1:l1:contact{desk.pk}:email" not in sent(issue)


def test_the_issue_page_shows_the_plan_before_and_while_it_escalates(
    now: dt.datetime,
    log_issue: LogIssue,
    desk: Contact,
    client_for: Callable[[User], Client],
    agent_alex: User,
) -> None:
    issue = log_issue()
    client = client_for(agent_alex)

    def plan() -> str:
        page = client.get(reverse("issues:detail", args=[issue.pk])).content.decode()
        start = page.index('data-testid="escalation-plan"')
        return " ".join(page[start : page.index("</section>", start)].split())

    before = plan()
    assert "Starts at Tue 3 Nov, 08:00 if the target is missed, by the P3 path:" in before
    assert (
        "Next</span> <span>Level 1 · still not acknowledged: Floor support (in the app, "
        "email) · Tue 3 Nov, 08:00" in before
    )

    escalate_due_issues(now=now + 2 * H)
    during = plan()
    assert "Escalating by the P3 path as it was when the target was first missed." in during
    assert "Done</span> <span>Level 1" in during
    assert (
        "Next</span> <span>Level 2 · still not acknowledged: Command center (email) · "
        "Tue 3 Nov, 09:00" in during
    )
    assert (
        "Later</span> <span>Level 3 · still not resolved: Command center (email) · "
        "Wed 4 Nov, 06:00" in during
    )


def test_messages_give_times_in_the_go_lives_own_zone(
    now: dt.datetime, log_issue: LogIssue, desk: Contact, mercy: GoLive
) -> None:
    # A worker has no request to take the zone from: the go-live's own is used, not the server's.
    mercy.time_zone = "America/New_York"
    mercy.save()
    issue = log_issue()

    escalate_due_issues(now=now + 2 * H)

    message = Notification.objects.get()
    assert "is not acknowledged since 09:00" in message.body
    assert "(due 09:00)" in escalation_events(issue)[0]
