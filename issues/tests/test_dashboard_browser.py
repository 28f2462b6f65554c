"""The command center lead at the dashboard, in a real browser: the overdue count leads to the
queue filtered to those issues, and the figures refresh by themselves.

The page's clock is Playwright's fake clock, so "thirty seconds later" takes no time at all while
the dashboard keeps its production refresh interval.
"""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from golive.models import GoLive, Unit
from issues.models import Category, Impact, Issue, Urgency
from issues.services import create_issue
from issues.tests.test_browser_queue import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A little over the dashboard's thirty-second refresh.
NEXT_REFRESH = 31_000


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, object]:
    """The command center's desktop screen."""
    return {"viewport": {"width": 1366, "height": 900}}


def log(go_live: GoLive, unit: Unit, category: Category, title: str) -> Issue:
    issue, _ = create_issue(
        go_live=go_live,
        unit=unit,
        category_id=category.pk,
        title=title,
        impact=Impact.UNIT,
        urgency=Urgency.BLOCKED,
    )
    return issue


def test_the_lead_follows_the_overdue_count_to_the_filtered_queue(
    page: Page,
    live_server: LiveServer,
    lead_lena: User,
    mercy: GoLive,
    four_west: Unit,
    printing: Category,
) -> None:
    late = log(mercy, four_west, printing, "Wristband printer jams")
    # Its first response was due a quarter of an hour after it came in: an hour ago.
    Issue.objects.filter(pk=late.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=1, minutes=15),
        respond_by=timezone.now() - dt.timedelta(hours=1),
    )
    log(mercy, four_west, printing, "Order set missing heparin")
    page.clock.install()
    sign_in(page, live_server, lead_lena)
    page.goto(live_server.url + reverse("issues:dashboard"))
    expect(page.get_by_test_id("open-total")).to_have_text("2")
    overdue = page.get_by_test_id("overdue")
    expect(overdue).to_have_text("1")

    # A third issue comes in; the page shows it at its next refresh, without a reload.
    page.evaluate("window.glDashboardMarker = 'no reload'")
    log(mercy, four_west, printing, "Badge tap login fails")
    page.clock.run_for(NEXT_REFRESH)
    expect(page.get_by_test_id("open-total")).to_have_text("3")
    assert page.evaluate("window.glDashboardMarker") == "no reload"

    page.get_by_test_id("overdue").click()
    expect(page).to_have_url(live_server.url + reverse("issues:queue") + "?overdue=1")
    rows = page.locator("tr[data-issue]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Wristband printer jams")
