"""The routing tasks through a real Celery worker: after commit, and after a broker outage.

The worker is an embedded one (celery.contrib.testing) on the test broker, so it reads and writes
the test database. create_issue enqueues `route_new_issue` after its commit; when the broker cannot
be reached the issue stays pending and the beat sweep routes it once it is 20 seconds old.
"""

import datetime as dt
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
from issues.tasks import route_new_issue, route_pending_issues
from issues.tests.conftest import LogIssue
from staffing.models import SupportRole
from staffing.services import assign_person, check_in
from staffing.tests import conftest as staffing_cast
from staffing.tests.conftest import MakePerson, MakeShift, local
from staffing.tests.test_reminders_worker import result_of

make_person = staffing_cast.make_person
make_shift = staffing_cast.make_shift

ROUTE = "issues.tasks.route_new_issue"
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


def test_the_tasks_are_named_and_the_sweep_runs_every_thirty_seconds() -> None:
    beat = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert route_new_issue.name == ROUTE
    assert route_pending_issues.name == SWEEP
    assert route_new_issue.acks_late is True
    assert beat[SWEEP] == 30.0


def test_the_tasks_call_the_routing_and_a_second_run_does_nothing(
    ann: User, log_issue: LogIssue
) -> None:
    issue = log_issue()

    assert route_new_issue.apply(kwargs={"issue_id": issue.pk}).get() == "assigned"
    assert route_new_issue.apply(kwargs={"issue_id": issue.pk}).get() == "not_pending"
    assert route_new_issue.apply(kwargs={"issue_id": 987654}).get() == "not_pending"
    assert route_pending_issues.apply().get() == 0
    assert Issue.objects.get(pk=issue.pk).assignee == ann


@pytest.mark.django_db(transaction=True)
def test_a_new_issue_is_routed_by_a_worker_once_it_is_committed(
    ann: User, log_issue: LogIssue, finished_tasks: Finished
) -> None:
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False):
        issue = log_issue()
        assert result_of(finished_tasks, ROUTE) == "assigned"

    issue.refresh_from_db()
    assert (issue.assignee, issue.routing_pending) == (ann, False)


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_issue_is_filed_and_the_sweep_routes_it_later(
    ann: User,
    log_issue: LogIssue,
    finished_tasks: Finished,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker_url = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    reset_broker_pools(app)
    try:
        with time_machine.travel(local(3, 6), tick=True) as clock:
            with caplog.at_level(logging.WARNING, logger="golive.lib.queue"):
                issue = log_issue()
            assert f"Could not enqueue {ROUTE}" in caplog.text
            assert Issue.objects.get(pk=issue.pk).routing_pending

            app.conf.broker_url = broker_url
            reset_broker_pools(app)
            app.control.purge()
            with start_worker(app, pool="solo", perform_ping_check=False):
                route_pending_issues.delay()
                assert result_of(finished_tasks, SWEEP) == 0  # filed just now: not the sweep's

                clock.move_to(local(3, 6) + dt.timedelta(seconds=25))
                route_pending_issues.delay()
                assert result_of(finished_tasks, SWEEP) == 1
                route_pending_issues.delay()
                assert result_of(finished_tasks, SWEEP) == 0
    finally:
        app.conf.broker_url = broker_url
        reset_broker_pools(app)

    issue.refresh_from_db()
    assert (issue.assignee, issue.routing_pending) == (ann, False)
