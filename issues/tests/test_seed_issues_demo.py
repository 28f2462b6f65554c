"""`manage.py seed_issues_demo`: a day and a half of issues for the demo, written once."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from golive.models import Notification
from issues.management.commands.seed_issues_demo import ISSUES
from issues.models import Issue, IssueEvent, KnownIssue

NOW = dt.datetime(2026, 11, 3, 14, 0, tzinfo=dt.UTC)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_issues_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db: None, time_machine: time_machine.TimeMachineFixture) -> str:
    time_machine.move_to(NOW, tick=False)
    call_command("seed_demo", stdout=StringIO())
    return seed()


def test_it_needs_the_demo_go_live_first(db: None) -> None:
    with pytest.raises(CommandError, match=r"Run `manage.py seed_demo` first"):
        seed()
    assert seed("--if-empty") == ""


def test_it_files_the_issues_through_the_services_with_a_believable_history(seeded: str) -> None:
    assert f"Demo issues ready: {len(ISSUES)} issues." in seeded
    issues = list(Issue.objects.order_by("number"))
    assert [issue.code for issue in issues[:2]] == ["GL-1001", "GL-1002"]
    # Numbers follow the time of filing, all in the past day and a half.
    created = [issue.created_at for issue in issues]
    assert created == sorted(created)
    assert NOW - dt.timedelta(hours=36) <= created[0] and created[-1] < NOW
    # Every event is between its issue's filing and now.
    for event in IssueEvent.objects.select_related("issue"):
        assert event.issue.created_at <= event.at <= timezone.now()
    # The desk's work: duplicates linked, resolutions written, a patient-safety issue at P1.
    assert Issue.objects.filter(parent__number=1001, parent_link="duplicate").count() == 2
    assert not Issue.objects.filter(status="resolved", resolution="").exists()
    assert Issue.objects.filter(patient_safety=True, priority="P1").count() == 1
    known = KnownIssue.objects.get()
    assert (known.issue.number, known.status) == (1001, "workaround")
    assert known.units.count() == 3
    # Nothing of the past is waiting to be sent or routed now.
    assert not Notification.objects.filter(status=Notification.Status.PENDING).exists()
    assert not Issue.objects.filter(routing_pending=True).exists()


def test_a_second_run_changes_nothing(seeded: str) -> None:
    before = (Issue.objects.count(), IssueEvent.objects.count())
    assert "nothing seeded" in seed()
    assert (Issue.objects.count(), IssueEvent.objects.count()) == before
