"""A unit tablet from enrollment to a logged issue: Playwright driving Chromium on 820x1180 touch."""

import io
import re
from pathlib import Path
from typing import Protocol

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import Unit
from issues.models import Issue, IssuePhoto, IssueReporter
from issues.tests.conftest import LogIssue
from issues.tests.test_tablets import enroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}


@pytest.fixture(autouse=True)
def media_and_limits(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    cache.clear()


def screen_photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 60, 200)).save(out, "PNG")
    return out.getvalue()


class Server(Protocol):
    """The test server, or a way to it (test_browser_offline.Network)."""

    @property
    def url(self) -> str: ...


def sign_in(page: Page, server: Server, user: User) -> None:
    page.goto(server.url + "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Open the menu")).to_be_visible()


def test_a_manager_enrolls_a_tablet_and_a_nurse_logs_an_issue_with_a_photo_in_a_few_taps(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    manager_maria: User,
    four_west: Unit,
    setup: None,
) -> None:
    sign_in(page, live_server, manager_maria)
    page.goto(live_server.url + "/issues/tablets/")
    page.get_by_label("Unit").select_option(label="4 West Med/Surg · Mercy General")
    page.get_by_label("Where it lives").fill("Nurses' station")
    page.get_by_role("button", name="Make an enrollment code").click()
    expect(page.get_by_role("img", name="QR code of the one-time enrollment link")).to_be_visible()
    link = page.get_by_test_id("enrollment-link").inner_text()
    assert re.search(r"/issues/tablets/enroll/[0-9A-Z]{12}/$", link)

    context = browser.new_context(**TABLET)
    tablet = context.new_page()
    try:
        tablet.goto(link)
        expect(
            tablet.get_by_role(
                "heading",
                name="Enroll this device as the tablet for 4 West Med/Surg · Nurses' station?",
            )
        ).to_be_visible()
        tablet.get_by_role("button", name="Enroll this tablet").tap()
        expect(
            tablet.get_by_role("heading", name="Open issues on 4 West Med/Surg (0)")
        ).to_be_visible()

        tablet.get_by_role("link", name="Log an issue").last.tap()
        expect(tablet.get_by_test_id("intake-unit")).to_contain_text("4 West Med/Surg")
        category = tablet.get_by_text("Printing / labels", exact=True)
        assert category.bounding_box()["height"] >= 44  # type: ignore[index]
        category.tap()
        tablet.get_by_text("One person", exact=True).tap()
        tablet.get_by_text("There is a workaround", exact=True).tap()
        tablet.get_by_label("What is wrong, in a few words").fill(
            "Label printer prints blank labels"
        )
        tablet.get_by_label("Your name").fill("Kim Rivera")
        tablet.get_by_label("Callback number").fill("x4411")
        tablet.get_by_label("Photo of the screen (optional)").set_input_files(
            {"name": "screen.png", "mimeType": "image/png", "buffer": screen_photo()}
        )
        send = tablet.get_by_role("button", name="Send to the help desk")
        # The whole form fits the upright iPad: no scrolling down to send.
        box = send.bounding_box()
        assert box is not None and box["height"] >= 44 and box["y"] + box["height"] <= 1180
        send.tap()

        expect(tablet.get_by_test_id("issue-number")).to_have_text("GL-1001")
        expect(tablet.get_by_text("The help desk sees it now")).to_be_visible()
        expect(
            tablet.get_by_role("link", name="Call the command center · 312-555-0100")
        ).to_be_visible()

        tablet.get_by_role("link", name="Unit issues").tap()
        expect(tablet.get_by_test_id("unit-issue")).to_contain_text("GL-1001")
    finally:
        context.close()

    issue = Issue.objects.get()
    assert (issue.unit, issue.reporter_name, issue.priority) == (four_west, "Kim Rivera", "P3")
    assert IssuePhoto.objects.get(issue=issue).content_type == "image/png"


def test_on_the_tablet_a_similar_issue_is_offered_and_joined_and_patient_data_is_flagged(
    browser: Browser,
    live_server: LiveServer,
    manager_maria: User,
    four_west: Unit,
    log_issue: LogIssue,
) -> None:
    existing = log_issue(title="Label printer prints blank labels")
    _, secret = enroll(four_west, manager_maria)
    context = browser.new_context(**TABLET)
    context.add_cookies([{"name": "golive_tablet", "value": secret, "url": live_server.url}])
    tablet = context.new_page()
    try:
        tablet.goto(live_server.url + "/issues/new/")
        tablet.get_by_label("Details (optional)").fill("Patient MRN 1234567 label is blank")
        tablet.get_by_text("Printing / labels", exact=True).tap()
        tablet.get_by_text("One person", exact=True).tap()
        tablet.get_by_text("There is a workaround", exact=True).tap()
        tablet.get_by_label("What is wrong, in a few words").fill("labels blank")

        # The warning comes before anything is sent, in the page, not in a dialog.
        tablet.get_by_label("Your name").fill("Kim Rivera")
        tablet.get_by_label("Callback number").fill("x4411")
        tablet.get_by_role("button", name="Send to the help desk").tap()
        expect(tablet.get_by_text("Is there patient information in your text?")).to_be_visible()
        expect(tablet.locator("#phi-kinds")).to_have_text("a medical record number")
        assert not Issue.objects.exclude(pk=existing.pk).exists()

        suggestion = tablet.get_by_test_id("suggestion")
        expect(suggestion).to_contain_text(existing.code)
        suggestion.get_by_role("button", name="This is my problem too").tap()
        expect(tablet.get_by_text(f"You are added to {existing.code}")).to_be_visible()
    finally:
        context.close()

    reporter = IssueReporter.objects.get()
    assert (reporter.issue, reporter.name) == (existing, "Kim Rivera")
    assert Issue.objects.count() == 1
