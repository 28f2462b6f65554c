"""Service levels: the policy that applies to an issue, its response and resolution times, and the
clock that stops while the help desk waits on the reporter."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from golive.models import GoLive, Site, Unit
from issues.models import Category, Impact, Issue, Priority, SlaPolicy, Urgency
from issues.queue import due_label, missed_target
from issues.services import (
    change_status,
    claim_issue,
    ensure_issue_setup,
    set_priority,
    sla_targets,
)
from issues.tests.test_services import log

NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)
S = Issue.Status


@pytest.fixture
def setup(mercy: GoLive) -> None:
    ensure_issue_setup(go_live=mercy)


@pytest.fixture
def printing(setup: None, mercy: GoLive) -> Category:
    return Category.objects.get(go_live=mercy, name="Printing / labels")


@pytest.fixture
def clock() -> time_machine.travel:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def test_a_go_live_starts_with_the_usual_service_levels_once(mercy: GoLive, setup: None) -> None:
    ensure_issue_setup(go_live=mercy)
    policies = {
        policy.priority: (policy.response, policy.resolution, policy.warn_at)
        for policy in SlaPolicy.objects.filter(go_live=mercy)
    }
    assert policies == {
        "P1": (minutes(15), dt.timedelta(hours=4), [50, 100]),
        "P2": (minutes(30), dt.timedelta(hours=8), [50, 100]),
        "P3": (dt.timedelta(hours=2), dt.timedelta(hours=24), [50, 100]),
        "P4": (dt.timedelta(hours=4), dt.timedelta(hours=72), [50, 100]),
    }


@pytest.mark.parametrize(
    ("impact", "urgency", "response", "resolution"),
    [
        (Impact.UNIT, Urgency.BLOCKED, minutes(15), dt.timedelta(hours=4)),
        (Impact.ONE_USER, Urgency.BLOCKED, minutes(30), dt.timedelta(hours=8)),
        (Impact.SEVERAL, Urgency.WORKAROUND, dt.timedelta(hours=2), dt.timedelta(hours=24)),
        (Impact.ONE_USER, Urgency.QUESTION, dt.timedelta(hours=4), dt.timedelta(hours=72)),
    ],
)
def test_a_new_issue_is_given_its_response_and_resolution_times(
    four_west: Unit,
    printing: Category,
    impact: str,
    urgency: str,
    response: dt.timedelta,
    resolution: dt.timedelta,
) -> None:
    issue = log(four_west, printing, impact=impact, urgency=urgency)
    issue.refresh_from_db()
    assert issue.respond_by == issue.created_at + response
    assert issue.due_at == issue.created_at + resolution


def test_an_enhancement_request_has_no_targets(four_west: Unit, printing: Category) -> None:
    wish = Category.objects.get(go_live=printing.go_live, name="Enhancement request")
    issue = log(four_west, wish, impact=Impact.UNIT, urgency=Urgency.BLOCKED)
    issue.refresh_from_db()
    assert (issue.respond_by, issue.due_at) == (None, None)
    assert sla_targets(issue=issue) is None


def test_the_most_specific_policy_wins_the_same_in_the_intake_and_in_python(
    mercy: GoLive,
    printing: Category,
    four_west: Unit,
    front_desk: Unit,
    mercy_general: Site,
) -> None:
    """The intake statement and `sla_targets` choose alike: category and site, then category,
    then site, then the priority's own policy."""
    login = Category.objects.get(go_live=mercy, name="Login / access")
    device = Category.objects.get(go_live=mercy, name="Hardware / device")

    def policy(minutes_to_resolve: int, **scope: object) -> None:
        SlaPolicy.objects.create(
            go_live=mercy,
            priority=Priority.P3,
            response=minutes(10),
            resolution=minutes(minutes_to_resolve),
            **scope,
        )

    policy(600, site=mercy_general)
    policy(300, category=printing)
    policy(120, category=printing, site=mercy_general)
    policy(200, category=login)
    cases = [
        (four_west, printing, 120),  # category and site
        (front_desk, printing, 300),  # category (the site is another)
        (four_west, login, 200),  # category before site
        (four_west, device, 600),  # site (the category has none)
        (front_desk, device, 24 * 60),  # the priority's own
    ]
    for unit, category, expected in cases:
        issue = log(unit, category)
        assert issue.due_at == issue.created_at + minutes(expected), (unit, category)
        issue = Issue.objects.select_related("category").get(pk=issue.pk)
        targets = sla_targets(issue=issue)
        assert targets is not None and targets.resolution == minutes(expected)


def test_a_go_live_without_a_policy_for_a_priority_falls_back_to_the_usual_targets(
    mercy: GoLive, four_west: Unit, printing: Category
) -> None:
    SlaPolicy.objects.filter(go_live=mercy, priority=Priority.P3).delete()
    issue = log(four_west, printing)
    assert issue.respond_by == issue.created_at + dt.timedelta(hours=2)
    issue = Issue.objects.select_related("category").get(pk=issue.pk)
    targets = sla_targets(issue=issue)
    assert targets is not None and targets.resolution == dt.timedelta(hours=24)


def test_targets_out_of_order_or_a_second_policy_for_one_scope_are_refused(
    mercy: GoLive, setup: None
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaPolicy.objects.create(
            go_live=mercy, priority=Priority.P1, response=minutes(10), resolution=minutes(5)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaPolicy.objects.create(
            go_live=mercy, priority=Priority.P1, response=minutes(0), resolution=minutes(5)
        )
    # One policy per priority, category and site, the empty scope included.
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaPolicy.objects.create(
            go_live=mercy, priority=Priority.P1, response=minutes(5), resolution=minutes(50)
        )


def test_a_priority_change_moves_both_times_from_the_report(
    clock: time_machine.travel, four_west: Unit, printing: Category, agent_alex: User
) -> None:
    issue = log(four_west, printing)  # P3: 2 h / 24 h
    clock.shift(minutes(20))
    issue = set_priority(issue=issue, priority=Priority.P1, actor=agent_alex)
    assert issue.respond_by == NOW + minutes(15)
    assert issue.due_at == NOW + dt.timedelta(hours=4)
    # Once answered, only the resolution moves.
    claim_issue(issue=issue, agent=agent_alex)
    issue = set_priority(issue=issue, priority=Priority.P2, actor=agent_alex)
    assert issue.respond_by == NOW + minutes(15)
    assert issue.due_at == NOW + dt.timedelta(hours=8)


def test_waiting_on_the_reporter_stops_the_clock_and_the_time_stopped_is_added_back(
    clock: time_machine.travel, four_west: Unit, printing: Category, agent_alex: User
) -> None:
    issue = log(four_west, printing, impact=Impact.UNIT, urgency=Urgency.BLOCKED)  # P1, 4 h
    claim_issue(issue=issue, agent=agent_alex)
    clock.shift(dt.timedelta(hours=1))
    issue = change_status(issue=issue, to=S.WAITING_REPORTER, actor=agent_alex, note="Which PC?")
    assert issue.sla_paused_at == NOW + dt.timedelta(hours=1)

    # Three hours later the issue would be overdue, but its clock stands still: not missed.
    clock.shift(dt.timedelta(hours=5))
    now = NOW + dt.timedelta(hours=6)
    assert due_label(issue, now) == ("clock stopped: waiting on the reporter", False)
    assert not Issue.objects.filter(missed_target(now)).exists()

    issue = change_status(issue=issue, to=S.IN_PROGRESS, actor=agent_alex)
    assert issue.sla_paused_at is None
    assert issue.sla_paused_for == dt.timedelta(hours=5)
    assert issue.due_at == NOW + dt.timedelta(hours=9)
    assert due_label(issue, now) == ("3 h left", False)

    # A priority change later counts from the report and keeps the five hours stopped.
    issue = set_priority(issue=issue, priority=Priority.P2, actor=agent_alex)
    assert issue.due_at == NOW + dt.timedelta(hours=8 + 5)


def test_a_policy_may_keep_the_clock_running_while_waiting(
    mercy: GoLive, clock: time_machine.travel, four_west: Unit, printing: Category, agent_alex: User
) -> None:
    SlaPolicy.objects.filter(go_live=mercy, priority=Priority.P3).update(pause_while_waiting=False)
    issue = log(four_west, printing)
    claim_issue(issue=issue, agent=agent_alex)
    issue = change_status(issue=issue, to=S.WAITING_REPORTER, actor=agent_alex)
    assert issue.sla_paused_at is None
    clock.shift(dt.timedelta(hours=25))
    assert Issue.objects.filter(missed_target(NOW + dt.timedelta(hours=25))).get() == issue


def test_resolving_while_waiting_ends_the_stop(
    clock: time_machine.travel, four_west: Unit, printing: Category, agent_alex: User
) -> None:
    issue = log(four_west, printing)
    claim_issue(issue=issue, agent=agent_alex)
    issue = change_status(issue=issue, to=S.WAITING_REPORTER, actor=agent_alex)
    clock.shift(dt.timedelta(hours=2))
    issue = change_status(
        issue=issue, to=S.RESOLVED, actor=agent_alex, resolution="Reseated the cable."
    )
    issue.refresh_from_db()
    assert issue.sla_paused_at is None
    assert issue.sla_paused_for == dt.timedelta(hours=2)
