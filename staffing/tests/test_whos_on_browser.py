"""Real browser journeys on the who's-on-now board: it refreshes itself in place, and a wall screen
whose link is revoked stops showing the board at its next refresh. The page's clock is Playwright's
fake clock, so "a minute later" takes no time at all."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import GoLive
from staffing.feeds import create_share_link, revoke_share_link
from staffing.models import Assignment, ShareLink, SupportPerson
from staffing.services import check_in
from staffing.tests.conftest import MakeShift
from staffing.tests.test_whos_on import put_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MINUTE_AND_A_BIT = 61_000


@pytest.fixture
def sam_on_now(sam: SupportPerson, make_shift: MakeShift) -> Assignment:
    """Sam's shift on 4 West started ten minutes ago (real time: the live server's clock)."""
    start = timezone.now() - dt.timedelta(minutes=10)
    return put_on(make_shift(start, start + dt.timedelta(hours=12), label="Day"), sam)


def test_the_board_shows_a_check_in_a_minute_later_without_a_reload(
    page: Page, live_server: LiveServer, agent_alex: User, sam_on_now: Assignment
) -> None:
    page.clock.install()
    page.goto(live_server.url)
    page.get_by_label("Username").fill(agent_alex.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/staffing/whos-on/")
    sam = page.get_by_test_id("board-person").filter(has_text="Sam Super")
    expect(sam).to_contain_text("Not checked in")
    expect(sam.get_by_role("link", name="Call 312-555-0190 (Sam Super)")).to_have_attribute(
        "href", "tel:312-555-0190"
    )
    page.evaluate("window.glNotReloaded = true")

    checked_in = check_in(assignment=sam_on_now, actor=None)
    page.clock.run_for(MINUTE_AND_A_BIT)

    # The time recorded, not the time now: the two may straddle a minute.
    assert checked_in.checked_in_at is not None
    arrived = timezone.localtime(checked_in.checked_in_at, sam_on_now.shift.go_live.tzinfo)
    expect(sam).to_contain_text(f"Checked in {arrived:%H:%M}")
    assert page.evaluate("window.glNotReloaded") is True


def test_a_wall_screen_stops_showing_the_board_once_its_link_is_revoked(
    browser: Browser, live_server: LiveServer, mercy: GoLive, sam_on_now: Assignment
) -> None:
    link = create_share_link(go_live=mercy, kind=ShareLink.Kind.BOARD, actor=None)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    screen = context.new_page()
    try:
        screen.clock.install()
        screen.goto(f"{live_server.url}/staffing/board/{link.token}/")
        expect(screen.get_by_role("heading", name="4 West Med/Surg")).to_be_visible()
        expect(screen.get_by_test_id("board-person")).to_contain_text("Sam Super")

        revoke_share_link(link=link)
        screen.clock.run_for(MINUTE_AND_A_BIT)

        expect(screen.get_by_role("heading", name="This board link does not work")).to_be_visible()
        expect(screen.get_by_text("Sam Super")).to_have_count(0)
    finally:
        context.close()
