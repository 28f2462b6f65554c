"""The routing sweep through a real Celery worker, and filing issues while the broker is down.

The worker is an embedded one (celery.contrib.testing) on the test broker, so it reads and writes
the test database. Filing an issue never touches the broker: beat's sweep routes it within seconds,
and routes what was filed during a broker outage once the broker is back.
"""

import logging
from collections.abc import Iterator

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.contrib.auth.models import User

from conftest import Finished, closed_port, reset_broker_pools
from golive.celery import app
from golive.models import GoLive, Membership, Role
from issues.models import Issue
from issues.tasks import route_pending_issues
from issues.tests.conftest import LogIssue
from staffing.models import SupportRole
from staffing.services import assign_person, check_in
from staffing.tests import conftest as staffing_cast
from staffing.tests.conftest import MakePerson, MakeShift, local
from staffing.tests.test_reminders_worker import result_of

make_person = staffing_cast.make_person
make_shift = staffing_cast.make_shift

SWEEP = "issues.tasks.route_pending_issues"


@pytest.fixture
def ann(
    mercy: GoLive, make_person: MakePerson, make_shift: MakeShift, lead_lena: User
) -> Iterator[User]:
    """A help desk agent checked in on 4 West's day shift, with the clock running from 06:00."""
    with time_machine.travel(local(3, 6), tick=True):
        user = User.objects.create_user(username="ann_ames", first_name="Ann", last_name="Ames")
        Membership.objects.create(user=user, go_live=mercy, role=Role.HELP_DESK_AGENT)
        person = make_person("Ann Ames", role=SupportRole.HELP_DESK, user=user)
        shift = make_shift(local(3, 5), local(3, 17), role=SupportRole.HELP_DESK)
        check_in(assignment=assign_person(shift=shift, person=person, actor=lead_lena), actor=user)
        yield user


def test_the_sweep_is_named_and_runs_every_five_seconds() -> None:
    beat = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert route_pending_issues.name == SWEEP
    assert beat[SWEEP] == 5.0


def test_the_sweep_routes_each_new_issue_once(ann: User, log_issue: LogIssue) -> None:
    issue = log_issue()

    assert route_pending_issues.apply().get() == 1
    assert route_pending_issues.apply().get() == 0
    assert Issue.objects.get(pk=issue.pk).assignee == ann


@pytest.mark.django_db(transaction=True)
def test_a_worker_routes_a_new_issue_once_it_is_committed(
    ann: User, log_issue: LogIssue, finished_tasks: Finished
) -> None:
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        issue = log_issue()
        route_pending_issues.delay()
        assert result_of(finished_tasks, SWEEP) == 1

    issue.refresh_from_db()
    assert (issue.assignee, issue.routing_pending) == (ann, False)


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_issues_are_filed_and_routed_once_it_is_back(
    ann: User,
    log_issue: LogIssue,
    finished_tasks: Finished,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker_url = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    reset_broker_pools(app)
    try:
        with caplog.at_level(logging.WARNING):
            issues = [log_issue(), log_issue()]
        # Filing did not try the broker at all: nothing to warn about, nothing lost.
        assert "enqueue" not in caplog.text
        assert Issue.objects.filter(routing_pending=True).count() == 2

        app.conf.broker_url = broker_url
        reset_broker_pools(app)
        app.control.purge()
        with start_worker(app, pool="solo", perform_ping_check=False):
            route_pending_issues.delay()
            assert result_of(finished_tasks, SWEEP) == 2
            route_pending_issues.delay()
            assert result_of(finished_tasks, SWEEP) == 0
    finally:
        app.conf.broker_url = broker_url
        reset_broker_pools(app)

    for issue in issues:
        issue.refresh_from_db()
        assert (issue.assignee, issue.routing_pending) == (ann, False)
