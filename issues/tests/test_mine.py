"""The reporter's side: My issues, the floor's view of an issue, and reopening within 72 hours."""

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from golive.models import Unit
from issues.models import Issue, IssueEvent, UnitTablet
from issues.services import add_comment, add_reporter, change_status
from issues.tests.conftest import LogIssue
from issues.tests.test_tablets import enrolled_device


@pytest.fixture
def tablet(four_west: Unit, manager_maria: User) -> tuple[UnitTablet, Client]:
    return enrolled_device(four_west, manager_maria)


@pytest.fixture
def resolved(log_issue: LogIssue, nurse_nina: User, agent_alex: User) -> Issue:
    issue = log_issue(reporter_user=nurse_nina, title="Badge tap fails at the med cart")
    return change_status(
        issue=issue, to=Issue.Status.RESOLVED, actor=agent_alex, resolution="Badge re-linked."
    )


# --- My issues ------------------------------------------------------------------------------------


def test_my_issues_lists_what_i_logged_and_joined_newest_first(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    log_issue: LogIssue,
    ed: Unit,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(timezone.now(), tick=False)
    logged = log_issue(reporter_user=nurse_nina, title="Scanner will not pair")
    time_machine.shift(dt.timedelta(minutes=5))
    joined = log_issue(unit=ed, title="Order set missing heparin")
    add_reporter(issue=joined, user=nurse_nina, unit=ed)
    time_machine.shift(dt.timedelta(minutes=5))
    log_issue(title="Someone else's printer")

    response = client_for(nurse_nina).get(reverse("issues:mine"))

    assert response.status_code == 200
    assert list(response.context["page"]) == [joined, logged]
    page = response.content.decode()
    assert "Logged by you" in page and "Your problem too" in page
    assert "Someone else&#x27;s printer" not in page
    assert reverse("issues:floor_issue", args=[logged.pk]) in page
    assert "gl-status-new" in page


def test_my_issues_cost_the_same_queries_for_few_or_many(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    log_issue: LogIssue,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    client = client_for(nurse_nina)
    for n in range(2):
        log_issue(reporter_user=nurse_nina, title=f"Issue {n}")
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("issues:mine"))
    for n in range(30):
        log_issue(reporter_user=nurse_nina, title=f"More {n}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("issues:mine"))
    assert len(response.context["page"]) == 32


def test_my_issues_is_for_signed_in_members(tablet: tuple[UnitTablet, Client]) -> None:
    _, device = tablet
    response = device.get(reverse("issues:mine"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- The floor's view of an issue -----------------------------------------------------------------


def test_the_floor_view_shows_the_public_timeline_and_never_internal_notes(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    resolved: Issue,
    agent_alex: User,
) -> None:
    add_comment(
        issue=resolved, actor=agent_alex, body="Vendor says badge firmware 2.1", internal=False
    )
    add_comment(issue=resolved, actor=agent_alex, body="Nurse was rude on the phone", internal=True)

    response = client_for(nurse_nina).get(reverse("issues:floor_issue", args=[resolved.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Badge tap fails at the med cart" in page and "Resolved" in page
    assert "Badge re-linked." in page
    assert "Vendor says badge firmware 2.1" in page
    assert "Nurse was rude" not in page
    assert len(response.context["events"]) == IssueEvent.objects.filter(internal=False).count()


def test_the_floor_view_is_for_those_who_may_see_the_issue(
    tablet: tuple[UnitTablet, Client],
    client_for: Callable[[User], Client],
    log_issue: LogIssue,
    outsider_oscar: User,
    ed: Unit,
) -> None:
    _, device = tablet
    ours, theirs = log_issue(), log_issue(unit=ed)
    assert device.get(reverse("issues:floor_issue", args=[ours.pk])).status_code == 200
    assert device.get(reverse("issues:floor_issue", args=[theirs.pk])).status_code == 404
    assert (
        client_for(outsider_oscar).get(reverse("issues:floor_issue", args=[ours.pk])).status_code
        == 404
    )


# --- Reopening ------------------------------------------------------------------------------------


def test_a_reporter_reopens_within_72_hours_of_the_resolution(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    resolved: Issue,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(resolved.resolved_at + dt.timedelta(hours=71), tick=False)  # type: ignore[operator]
    client = client_for(nurse_nina)
    assert (
        "Reopen " + resolved.code
        in client.get(reverse("issues:floor_issue", args=[resolved.pk])).content.decode()
    )

    response = client.post(
        reverse("issues:floor_reopen", args=[resolved.pk]),
        {"reason": "It fails again"},
        follow=True,
    )

    resolved.refresh_from_db()
    assert resolved.status == Issue.Status.IN_PROGRESS
    assert f"{resolved.code} is open again" in response.content.decode()
    assert resolved.events.filter(kind="status", body__contains="It fails again").exists()


def test_a_tablet_reopens_its_units_issue_and_says_so(
    tablet: tuple[UnitTablet, Client], resolved: Issue
) -> None:
    unit_tablet, device = tablet
    device.post(reverse("issues:floor_reopen", args=[resolved.pk]), {"reason": "Still failing"})
    event = resolved.events.filter(kind="status").last()
    assert event is not None and f"(from {unit_tablet})" in event.body


def test_after_72_hours_the_button_is_gone_and_a_reopen_is_refused(
    client_for: Callable[[User], Client],
    nurse_nina: User,
    resolved: Issue,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(resolved.resolved_at + dt.timedelta(hours=73), tick=False)  # type: ignore[operator]
    client = client_for(nurse_nina)
    page = client.get(reverse("issues:floor_issue", args=[resolved.pk])).content.decode()
    assert "Reopen " + resolved.code not in page
    assert "Log a new issue" in page

    response = client.post(
        reverse("issues:floor_reopen", args=[resolved.pk]), {"reason": "Again"}, follow=True
    )

    assert "was resolved more than 72 hours ago" in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.status == Issue.Status.RESOLVED


def test_reopening_needs_a_reason_and_an_issue_that_is_resolved(
    client_for: Callable[[User], Client], nurse_nina: User, resolved: Issue, log_issue: LogIssue
) -> None:
    client = client_for(nurse_nina)
    empty = client.post(reverse("issues:floor_reopen", args=[resolved.pk]), {"reason": ""})
    assert empty.status_code == 400
    assert "Say what is still wrong" in empty.content.decode()

    still_open = log_issue(reporter_user=nurse_nina)
    response = client.post(
        reverse("issues:floor_reopen", args=[still_open.pk]), {"reason": "x"}, follow=True
    )
    assert "is still open" in response.content.decode()
    assert Issue.objects.get(pk=resolved.pk).status == Issue.Status.RESOLVED
