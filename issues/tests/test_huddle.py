"""The daily huddle report: the day of the dashboard's story (issues/tests/test_dashboard.py),
worked out by hand, as a page, a PDF and the CSV of its issues.

Sunday 1 November 2026 in Chicago runs 25 hours (the clocks go back at 02:00): from 05:00 UTC
to 06:00 UTC the next day. The report is read at 15:30 UTC (09:30 in Chicago), so "the end of
the day" is now.
"""

import csv
import datetime as dt
import io
from collections.abc import Callable

import pypdf
import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import GoLive, Site
from issues.huddle import day_bounds, huddle_report
from issues.models import IssueEvent, KnownIssue
from issues.tests.test_dashboard import READ_AT, Story, story_fixture, utc  # noqa: F401 (a fixture)

HUDDLE = reverse("issues:huddle")
# Session, user and membership (3), the form's sites (1), the report's counts for the day and the
# day before (1), its issue lists (top open, patient safety, escalated, resolved without a
# resolution), escalation steps and known issues (6), staffing (3).
HUDDLE_BUDGET = 14
DAY = dt.date(2026, 11, 1)


@pytest.fixture
def extras(story: Story, mercy: GoLive) -> None:
    """C escalated at 13:00 (one step, to two people), a known issue with a workaround from E."""
    for recipient in ("Cara", "Dan"):
        IssueEvent.objects.create(
            issue=story.c, kind=IssueEvent.Kind.ESCALATION, at=utc(13), new=f"Level 1: {recipient}"
        )
    KnownIssue.objects.create(
        go_live=mercy,
        issue=story.e,
        title="Orders question on insulin drips",
        problem="Staff ask where the drip protocol is.",
        workaround="Use the order set under Favorites.",
        status=KnownIssue.Status.WORKAROUND,
    )


def test_a_day_across_the_clock_change_lasts_twenty_five_hours(mercy: GoLive) -> None:
    start, end = day_bounds(mercy, DAY)
    assert (start, end) == (utc(5), utc(6, day=2))
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=25)


def test_the_report_of_the_day_as_worked_out_by_hand(
    story: Story, extras: None, mercy: GoLive
) -> None:
    report = huddle_report(go_live=mercy, day=DAY, now=READ_AT)
    assert report.end == READ_AT
    # All six were logged this day (A at 10:30 UTC is 04:30 in Chicago); A, B and F resolved.
    assert (report.counts.created, report.counts.resolved, report.counts.open_at_end) == (6, 3, 3)
    assert (report.day_before.created, report.day_before.resolved) == (0, 0)
    assert report.top_open == [story.d, story.c, story.e]  # P1, P2, P4
    assert report.patient_safety == [story.d]
    assert (report.escalations, report.escalated) == (2, [story.c])
    assert [known.title for known in report.known] == ["Orders question on insulin drips"]
    assert report.closed_without_resolution == []
    # From 15:30 for 24 hours: the four shifts of the dashboard and 4 West's next morning.
    staffing = report.staffing
    assert (staffing.ahead.filled, staffing.ahead.needed) == (3, 9)
    assert [(gap.shift.unit.name, gap.missing) for gap in staffing.gaps] == [
        ("Emergency Department", 2),
        ("Front Desk", 1),
        ("Emergency Department", 2),
        ("4 West Med/Surg", 1),
    ]


def test_a_site_has_only_its_own(
    story: Story, extras: None, mercy: GoLive, northside: Site
) -> None:
    report = huddle_report(go_live=mercy, day=DAY, now=READ_AT, site=northside)
    assert (report.counts.created, report.counts.resolved, report.counts.open_at_end) == (1, 0, 1)
    assert report.top_open == [story.d]
    assert (report.escalations, report.known) == (0, [])
    assert (report.staffing.ahead.filled, report.staffing.ahead.needed) == (0, 1)


def test_a_past_day_reads_as_it_did_that_evening(
    story: Story, mercy: GoLive, time_machine: time_machine.TimeMachineFixture, log_issue: Callable
) -> None:
    time_machine.move_to(utc(14, day=3), tick=False)
    log_issue(title="Logged two days later")
    report = huddle_report(go_live=mercy, day=DAY, now=utc(14, day=3))
    assert report.end == utc(6, day=2)
    assert (report.counts.created, report.counts.open_at_end) == (6, 3)
    assert report.top_open == [story.d, story.c, story.e]


# --- The page, the PDF and the CSV ----------------------------------------------------------------


def test_the_page_shows_the_report_and_offers_the_pdf_and_the_csv(
    story: Story,
    extras: None,
    client_for: Callable[[User], Client],
    lead_lena: User,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    client = client_for(lead_lena)
    client.get(reverse("home"))  # a first page chooses the go-live (a session save)
    with django_assert_max_num_queries(HUDDLE_BUDGET):
        response = client.get(HUDDLE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Daily huddle · Mercy Health Wave 1" in html
    assert "Sunday 1 November 2026, 00:00 to 09:30 (America/Chicago)" in html
    assert 'name="day" value="2026-11-01"' in html  # today, shown in the day's field
    for code in (story.d.code, story.c.code, story.e.code):
        assert code in html
    assert "None, as it should be." in html
    assert "Use the order set under Favorites." in html
    assert f'href="{reverse("issues:huddle_pdf")}"' in html
    assert f'href="{reverse("issues:huddle_csv")}"' in html


def test_the_pdf_holds_the_report(
    story: Story, extras: None, client_for: Callable[[User], Client], lead_lena: User
) -> None:
    response = client_for(lead_lena).get(reverse("issues:huddle_pdf"), {"day": "2026-11-01"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="huddle-mercy-health-wave-1-2026-11-01.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    pdf = pypdf.PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "Daily huddle · Mercy Health Wave 1" in text
    assert story.d.code in text and story.d.title in text
    assert "Orders question on insulin drips" in text
    assert "None, as it should be." in text
    assert f"Page 1 of {len(pdf.pages)}" in text


def test_the_csv_holds_the_issues_behind_the_report(
    story: Story, client_for: Callable[[User], Client], lead_lena: User, northside: Site
) -> None:
    client = client_for(lead_lena)
    response = client.get(reverse("issues:huddle_csv"))
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    codes = [story.a, story.b, story.c, story.d, story.e, story.f]
    assert [row["issue"] for row in rows] == [issue.code for issue in codes]
    response = client.get(reverse("issues:huddle_csv"), {"site": northside.pk})
    assert response["Content-Disposition"] == (
        'attachment; filename="huddle-mercy-health-wave-1-northside-clinic-2026-11-01.csv"'
    )
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    assert [row["issue"] for row in csv.DictReader(io.StringIO(text))] == [story.d.code]


def test_a_day_to_come_too_early_or_not_a_day_is_refused_with_a_message(
    story: Story, client_for: Callable[[User], Client], lead_lena: User
) -> None:
    client = client_for(lead_lena)
    for url in (HUDDLE, reverse("issues:huddle_pdf"), reverse("issues:huddle_csv")):
        response = client.get(url, {"day": "2026-11-02"})
        assert response.status_code == 400
        assert "Choose today or a day before: the huddle looks back." in response.content.decode()
    response = client.get(HUDDLE, {"day": "first of november"})
    assert response.status_code == 400
    assert "Give the day as a date, e.g. 2026-11-03." in response.content.decode()
    # Mercy's cutover is 1 November: the huddle goes back 90 days before it, no further.
    for too_early in ("2026-08-02", "0001-01-01"):
        response = client.get(reverse("issues:huddle_csv"), {"day": too_early})
        assert response.status_code == 400
        assert "Choose a day from 3 August 2026 on (90 days before the cutover)." in (
            response.content.decode()
        )
    assert client.get(HUDDLE, {"day": "2026-08-03"}).status_code == 200


def test_only_the_help_desk_and_the_command_center_may_have_it(
    client: Client,
    client_for: Callable[[User], Client],
    manager_maria: User,
    nurse_nina: User,
    agent_alex: User,
    mercy: GoLive,
) -> None:
    urls = (HUDDLE, reverse("issues:huddle_pdf"), reverse("issues:huddle_csv"))
    for url in urls:
        assert client.get(url)["Location"].startswith(reverse("login"))
    for user in (manager_maria, nurse_nina):
        signed_in = client_for(user)
        for url in urls:
            assert signed_in.get(url).status_code == 403, (url, user.username)
    assert client_for(agent_alex).get(HUDDLE).status_code == 200


def test_the_page_costs_the_same_queries_however_many_issues_the_day_had(
    story: Story,
    extras: None,
    client_for: Callable[[User], Client],
    lead_lena: User,
    many: Callable[[int], list],
    time_machine: time_machine.TimeMachineFixture,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    client = client_for(lead_lena)
    client.get(HUDDLE)
    with django_assert_max_num_queries(HUDDLE_BUDGET) as few:
        client.get(HUDDLE)
    # Counted now: the log is read lazily, and the next request empties it.
    few_queries = len(few.captured_queries)
    many(30)
    # A minute on, so they are logged before the end; that page renews the session.
    time_machine.move_to(READ_AT + dt.timedelta(minutes=1), tick=False)
    client.get(HUDDLE)
    with django_assert_num_queries(few_queries):
        html = client.get(HUDDLE).content.decode()
    assert "Top 10 open issues" in html
