"""Known issues in a browser on an 820x1180 touch screen: the lead publishes one from a report,
and 4 West's enrolled tablet shows it with its workaround, without sideways scrolling."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import GoLive, Unit
from issues.access import TABLET_COOKIE
from issues.models import Issue, KnownIssue
from issues.tablets import claim_enrollment, create_enrollment
from issues.tests.conftest import LogIssue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_lead_publishes_a_known_issue_and_the_unit_tablet_shows_its_workaround(
    browser: Browser,
    live_server: LiveServer,
    lead_lena: User,
    manager_maria: User,
    nurse_nina: User,
    mercy: GoLive,
    four_west: Unit,
    log_issue: LogIssue,
) -> None:
    anchor = log_issue(description="Specimen labels come out blank at bed 12.")
    other = log_issue(reporter_user=nurse_nina)
    enrollment = create_enrollment(
        go_live=mercy, unit=four_west, label="Nurses' station", actor=manager_maria
    )
    _, secret = claim_enrollment(code=enrollment.code)

    desk = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
    page = desk.new_page()
    try:
        page.goto(live_server.url + reverse("login"))
        page.get_by_label("Username").fill(lead_lena.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").tap()
        expect(page.get_by_role("button", name="Open the menu")).to_be_visible()

        page.goto(f"{live_server.url}{reverse('issues:known_publish')}?issue={anchor.pk}")
        expect(page.get_by_label("Published from report")).to_have_value(anchor.code)
        assert fits_the_width(page)
        page.get_by_label("Title").fill("Blank specimen labels on 4 West")
        page.get_by_label("Workaround").fill("Print labels from the pharmacy printer.")
        page.get_by_label("Status").select_option("workaround")
        page.get_by_label("Mercy General · 4 West Med/Surg").check()
        page.get_by_label("Other reports of the same problem").fill(other.code)
        page.get_by_role("button", name="Publish").tap()

        expect(page.get_by_role("heading", name="Known issues", level=1)).to_be_visible()
        expect(page.get_by_role("status").first).to_contain_text("is on the known-issues board")
        expect(page.get_by_text("2 reports")).to_be_visible()
    finally:
        desk.close()

    known = KnownIssue.objects.get()
    assert Issue.objects.get(pk=other.pk).parent_id == anchor.pk

    tablet = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
    tablet.add_cookies([{"name": TABLET_COOKIE, "value": secret, "url": live_server.url}])
    page = tablet.new_page()
    try:
        page.goto(live_server.url + reverse("issues:known"))
        card = page.locator(f"#known-{known.pk}")
        expect(card.get_by_role("heading", name="Blank specimen labels on 4 West")).to_be_visible()
        workaround = card.get_by_text("Print labels from the pharmacy printer.")
        expect(workaround).to_be_visible()
        # Read from arm's length: the workaround is set larger than the page's body text.
        size = workaround.evaluate("node => parseFloat(getComputedStyle(node).fontSize)")
        assert size >= 20
        expect(card.get_by_text("4 West Med/Surg")).to_be_visible()
        expect(page.get_by_role("link", name="Publish a known issue")).to_have_count(0)
        assert fits_the_width(page)
    finally:
        tablet.close()
