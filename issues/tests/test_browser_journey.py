"""The issue's whole journey in two real browsers: a nurse on an enrolled unit tablet (820x1180,
touch) logs an issue with a photo; the help desk on a desktop sees it arrive in the open queue
without a reload, claims it, replies and resolves it; the tablet then shows it resolved.

Both pages run on Playwright's fake clock, so the queue's and the tablet's refresh intervals pass
at once while staying at their production values.
"""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import Browser, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from golive.models import Unit
from issues.access import TABLET_COOKIE
from issues.models import Issue
from issues.tests.test_browser_intake import TABLET, screen_photo
from issues.tests.test_browser_queue import NEXT_REFRESH, sign_in
from issues.tests.test_tablets import enroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
# A little over the tablet's thirty-second refresh of its unit's issues.
TABLET_REFRESH = 31_000


@pytest.fixture(autouse=True)
def media_and_limits(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    cache.clear()


def test_from_a_tap_on_the_unit_tablet_to_a_resolved_issue_the_reporter_can_see(
    browser: Browser,
    live_server: LiveServer,
    manager_maria: User,
    agent_alex: User,
    four_west: Unit,
    setup: None,
) -> None:
    _, secret = enroll(four_west, manager_maria)
    tablet_context = browser.new_context(**TABLET)
    tablet_context.add_cookies([{"name": TABLET_COOKIE, "value": secret, "url": live_server.url}])
    desk_context = browser.new_context(**DESKTOP)
    tablet, desk = tablet_context.new_page(), desk_context.new_page()
    try:
        sign_in(desk, live_server, agent_alex)
        desk.clock.install()
        desk.goto(live_server.url + reverse("issues:queue"))
        expect(desk.get_by_text("No issues match these filters.")).to_be_visible()

        # The nurse: a few taps, a photo, and the number.
        tablet.clock.install()
        tablet.goto(live_server.url + reverse("issues:new"))
        tablet.get_by_text("Medication / pharmacy / eMAR", exact=True).tap()
        tablet.get_by_text("Several people", exact=True).tap()
        tablet.get_by_text("Patient care is blocked", exact=True).tap()
        tablet.get_by_label("What is wrong, in a few words").fill(
            "eMAR scanner will not read wristbands"
        )
        tablet.get_by_label("Your name").fill("Kim Rivera RN")
        tablet.get_by_label("Callback number").fill("x4411")
        tablet.get_by_label("Photo of the screen (optional)").set_input_files(
            {"name": "screen.png", "mimeType": "image/png", "buffer": screen_photo()}
        )
        tablet.get_by_role("button", name="Send to the help desk").tap()
        expect(tablet.get_by_test_id("issue-number")).to_have_text("GL-1001")
        issue = Issue.objects.get()
        assert (issue.priority, issue.reporter_name, issue.photos.count()) == (
            "P1",
            "Kim Rivera RN",
            1,
        )
        tablet.get_by_role("link", name="Unit issues").tap()
        expect(tablet.get_by_test_id("unit-issue")).to_contain_text("New")

        # The help desk: it arrives without a reload; claim, reply, resolve.
        desk.evaluate("window.glJourneyMarker = 'no reload'")
        desk.clock.run_for(NEXT_REFRESH)
        row = desk.locator(f"#row-{issue.pk}")
        expect(row).to_contain_text("eMAR scanner will not read wristbands")
        expect(desk.locator("#queue-new")).to_contain_text("1 new since you opened this page")
        assert desk.evaluate("window.glJourneyMarker") == "no reload"
        row.get_by_role("button", name=f"Claim {issue.code}").click()
        expect(row.get_by_test_id("row-assignee")).to_have_text("Alex Agent")
        row.get_by_role("link", name=issue.code).click()
        expect(desk.get_by_role("img", name=f"Photo 1 of {issue.code}")).to_be_visible()
        desk.locator("#id_comment_body").fill("Restart the scanner's cradle; on my way.")
        desk.get_by_label("Reply to the reporter (they are told)").check()
        desk.get_by_role("button", name="Send comment").click()
        expect(desk.get_by_test_id("timeline")).to_contain_text("Restart the scanner")
        desk.locator("#id_resolve_resolution").fill("Scanner re-paired with the workstation.")
        desk.get_by_role("button", name="Resolve", exact=True).click()
        expect(desk.get_by_test_id("issue-status")).to_have_text("Resolved")

        # The tablet: its unit list refreshes by itself and shows the issue resolved, with the
        # reply and the resolution on the issue's page.
        tablet.clock.run_for(TABLET_REFRESH)
        expect(tablet.get_by_test_id("unit-issue")).to_contain_text("Resolved")
        tablet.get_by_test_id("unit-issue").tap()
        expect(tablet.get_by_text("Scanner re-paired with the workstation.")).to_be_visible()
        expect(tablet.get_by_text("Restart the scanner's cradle; on my way.")).to_be_visible()
    finally:
        tablet_context.close()
        desk_context.close()
