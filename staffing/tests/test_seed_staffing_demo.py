"""`manage.py seed_staffing_demo`: a roster and a schedule for the demo, the same after a second run."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from golive.models import Notification
from staffing.models import Assignment, CoverageRequirement, Shift, SupportPerson

NOW = dt.datetime(2026, 6, 10, 19, 30, tzinfo=dt.UTC)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_staffing_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (SupportPerson, CoverageRequirement, Shift, Assignment)
    }


@pytest.fixture
def seeded(db: None, time_machine: time_machine.TimeMachineFixture) -> str:
    time_machine.move_to(NOW, tick=False)
    call_command("seed_demo", stdout=StringIO())
    return seed()


def test_it_needs_the_demo_go_live_first(db: None) -> None:
    with pytest.raises(CommandError, match=r"Run `manage.py seed_demo` first"):
        seed()
    assert seed("--if-empty") == ""


def test_it_builds_a_roster_requirements_and_a_partly_filled_schedule(seeded: str) -> None:
    assert "Demo staffing ready" in seeded
    assert SupportPerson.objects.count() == 47
    assert SupportPerson.objects.get(user__username="support").name == "Sam Patel"
    # The planned days have people; the Emergency Department is left open on purpose.
    assert Assignment.objects.filter(shift__unit__name="ICU").exists()
    assert not Assignment.objects.filter(shift__unit__name="Emergency Department").exists()
    # Everyone was placed without a warning to override, and no place is over-filled.
    assert not Assignment.objects.exclude(warnings=[]).exists()
    for shift in Shift.objects.filter(assignments__isnull=False).distinct():
        assert shift.assignments.count() <= shift.needed
    assert not Notification.objects.filter(status=Notification.Status.PENDING).exists()


def test_a_second_run_changes_nothing(seeded: str) -> None:
    before = counts()
    seed()
    assert counts() == before
    assert "nothing seeded" in seed("--if-empty")
    assert counts() == before
