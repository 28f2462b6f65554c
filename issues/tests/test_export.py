"""The issue log as CSV: the queue's filters and access rules, every cell in place and in the
go-live's time, safe in a spreadsheet, and streamed with one query for its rows.

The clock stands still at Tuesday 3 November 2026 06:00 in Chicago unless a test moves it.
"""

import csv
import datetime as dt
import io
from collections.abc import Callable

import time_machine
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.lib.users import display_name
from golive.models import Application, EscalationTier, Unit
from issues.models import Impact, Issue, Urgency
from issues.services import assign_issue, change_status, link_issue, set_tier
from issues.tests.conftest import CHICAGO, NOW, LogIssue

EXPORT = reverse("issues:queue_export")
# Session, user and membership (3), the filters' choices (5), the audit entry (1), the rows (1).
EXPORT_BUDGET = 10


def table(response: StreamingHttpResponse) -> list[dict[str, str]]:
    """The file's rows by column name."""
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def numbers(response: StreamingHttpResponse) -> list[str]:
    return [row["issue"] for row in table(response)]


# --- Who may download it --------------------------------------------------------------------------


def test_it_sends_a_visitor_to_sign_in_and_refuses_floor_staff(
    client: Client, client_for: Callable[[User], Client], nurse_nina: User, log_issue: LogIssue
) -> None:
    log_issue()
    response = client.get(EXPORT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client_for(nurse_nina).get(EXPORT).status_code == 403


def test_each_role_gets_the_issues_its_queue_shows_and_no_other_go_lives(
    client_for: Callable[[User], Client],
    log_issue: LogIssue,
    agent_alex: User,
    manager_maria: User,
    super_sam: User,
    outsider_oscar: User,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
) -> None:
    on_four_west = log_issue(unit=four_west)
    on_ed = log_issue(unit=ed)
    at_front_desk = log_issue(unit=front_desk)
    super_sam.memberships.get().units.add(ed)
    assign_issue(issue=at_front_desk, assignee=super_sam, actor=None)
    everything = [on_four_west.code, on_ed.code, at_front_desk.code]
    assert numbers(client_for(agent_alex).get(EXPORT)) == everything
    # Maria manages Mercy General (4 West and the ED); Sam works the ED and what he holds.
    assert numbers(client_for(manager_maria).get(EXPORT)) == [on_four_west.code, on_ed.code]
    assert numbers(client_for(super_sam).get(EXPORT)) == [on_ed.code, at_front_desk.code]
    assert numbers(client_for(outsider_oscar).get(EXPORT)) == []


# --- What it holds --------------------------------------------------------------------------------


def test_every_column_of_an_issue_in_the_go_lives_time(
    now: dt.datetime,
    time_machine: time_machine.TimeMachineFixture,
    client_for: Callable[[User], Client],
    agent_alex: User,
    log_issue: LogIssue,
    orders_app: Application,
    tiers: dict[str, EscalationTier],
) -> None:
    parent = log_issue(title="Zebra printers print blank labels")
    issue = log_issue(
        title="Labels blank on the med room printer",
        description="Since the driver update.\nThe test page prints fine.",
        location_detail="Med room, LBL-4W-2",
        application=orders_app,
        impact=Impact.UNIT,
        urgency=Urgency.BLOCKED,
        workaround_in_use=True,
        reporter_name="Kim Rivera",
        reporter_callback="x4411",
    )
    time_machine.move_to(NOW + dt.timedelta(minutes=20), tick=False)
    issue = assign_issue(issue=issue, assignee=agent_alex, actor=agent_alex)
    issue = change_status(issue=issue, to=Issue.Status.ACKNOWLEDGED, actor=agent_alex)
    issue = set_tier(issue=issue, tier=tiers["command"], actor=agent_alex)
    issue = link_issue(issue=issue, parent=parent, kind=Issue.Link.DUPLICATE, actor=agent_alex)
    time_machine.move_to(NOW + dt.timedelta(hours=2, minutes=5), tick=False)
    change_status(
        issue=parent, to=Issue.Status.RESOLVED, actor=agent_alex, resolution="Driver rolled back."
    )
    issue.refresh_from_db()
    response = client_for(agent_alex).get(EXPORT, {"status": "any"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="issues-mercy-health-wave-1-2026-11-03-0805.csv"'
    )
    rows = table(response)
    assert [row["issue"] for row in rows] == [parent.code, issue.code]
    row = rows[1]
    assert row == {
        "issue": issue.code,
        "created (America/Chicago)": "2026-11-03 06:00",
        "status": "Resolved",
        "priority": issue.priority,
        "patient safety": "",
        "workaround in use": "yes",
        "site": "Mercy General",
        "unit": "4 West Med/Surg",
        "room / workstation / device": "Med room, LBL-4W-2",
        "category": "Printing / labels",
        "application": "Orders",
        "who is affected": "The whole unit or site",
        "how bad": "Patient care is blocked",
        "title": "Labels blank on the med room printer",
        "details": "Since the driver update.\nThe test page prints fine.",
        "reporter": "Kim Rivera",
        "callback": "x4411",
        "assignee": display_name(agent_alex),
        "tier": tiers["command"].name,
        "respond by (America/Chicago)": local(issue.respond_by),
        "acknowledged (America/Chicago)": "2026-11-03 06:20",
        "due (America/Chicago)": local(issue.due_at),
        "resolved (America/Chicago)": "2026-11-03 08:05",
        "closed (America/Chicago)": "",
        "resolution": issue.resolution,
        "linked to": parent.code,
        "link": "Duplicate of",
        "external ticket": "",
    }
    assert issue.priority == "P1" and issue.resolution
    assert rows[0]["linked to"] == rows[0]["link"] == rows[0]["assignee"] == ""


def local(when: dt.datetime | None) -> str:
    assert when is not None
    return when.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M")


def test_it_applies_the_queues_filters_to_every_page_not_only_the_first(
    client_for: Callable[[User], Client],
    agent_alex: User,
    log_issue: LogIssue,
    four_west: Unit,
    ed: Unit,
) -> None:
    urgent = [log_issue(unit=ed, urgency=Urgency.BLOCKED, impact=Impact.UNIT) for _ in range(55)]
    log_issue(unit=ed)
    resolved = log_issue(unit=four_west, urgency=Urgency.BLOCKED, impact=Impact.UNIT)
    change_status(issue=resolved, to=Issue.Status.RESOLVED, actor=None, resolution="Fixed.")
    client = client_for(agent_alex)
    # Open issues by default, as the queue; 55 is more than a page of it.
    assert numbers(client.get(EXPORT, {"priority": "P1"})) == [issue.code for issue in urgent]
    assert numbers(
        client.get(EXPORT, {"priority": "P1", "status": "any", "unit": four_west.pk})
    ) == [resolved.code]
    # A wrong filter is ignored, as on the page.
    assert len(numbers(client.get(EXPORT, {"unit": "nope", "priority": "P9"}))) == 56


def test_the_queue_offers_the_file_of_its_own_filters(
    client_for: Callable[[User], Client], agent_alex: User, log_issue: LogIssue
) -> None:
    log_issue()
    page = client_for(agent_alex).get(reverse("issues:queue"), {"priority": "P1"})
    assert f'href="{EXPORT}?priority=P1"'.encode() in page.content
    plain = client_for(agent_alex).get(reverse("issues:queue"))
    assert f'href="{EXPORT}"'.encode() in plain.content


def test_cells_a_spreadsheet_would_run_are_written_as_text(
    client_for: Callable[[User], Client], agent_alex: User, log_issue: LogIssue
) -> None:
    log_issue(
        title='=HYPERLINK("http://evil.example","Click")',
        description="@SUM(A1:A9)",
        reporter_name="-2+3",
        reporter_callback="+13125550111",
        location_detail="<script>alert(1)</script>",
    )
    (row,) = table(client_for(agent_alex).get(EXPORT))
    assert row["title"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert row["details"] == "'@SUM(A1:A9)"
    assert row["reporter"] == "'-2+3"
    assert row["callback"] == "'+13125550111"
    # Not HTML: the text is kept as typed.
    assert row["room / workstation / device"] == "<script>alert(1)</script>"


# --- Cost -----------------------------------------------------------------------------------------


def test_it_streams_with_the_same_queries_for_three_issues_or_sixty(
    client_for: Callable[[User], Client],
    agent_alex: User,
    many: Callable[[int], list[Issue]],
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    client = client_for(agent_alex)
    client.get(reverse("issues:queue"))
    many(3)
    with django_assert_max_num_queries(EXPORT_BUDGET) as small:
        assert len(numbers(client.get(EXPORT))) == 3
    many(57)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(numbers(client.get(EXPORT))) == 60
