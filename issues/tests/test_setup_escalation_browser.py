"""The escalation paths on an 820 px touch screen: the lead adds a step to the P1 path and sees it
in the list."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import Contact, GoLive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lead_adds_a_step_to_the_p1_path_at_820_px(
    browser: Browser,
    live_server: LiveServer,
    lead_lena: User,
    mercy: GoLive,
    setup: None,
    help_desk_contact: Contact,
) -> None:
    context = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
    page = context.new_page()
    try:
        page.goto(live_server.url + reverse("login"))
        page.get_by_label("Username").fill(lead_lena.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").tap()
        expect(page.get_by_role("button", name="Open the menu")).to_be_visible()

        page.goto(live_server.url + reverse("issues:setup"))
        page.get_by_role("link", name="Edit escalation paths").tap()
        expect(page.get_by_role("heading", name="Escalation paths", level=1)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.get_by_role("link", name="Edit steps of P1", exact=True).tap()
        expect(page.get_by_role("heading", name="P1 · critical escalation path")).to_be_visible()

        page.get_by_role("button", name="Add a step").tap()
        step = page.locator("#step-4")
        expect(step.get_by_role("heading", name="Step 4")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        step.get_by_label("When the issue is").select_option("unresolved")
        step.get_by_role("textbox", name="Wait").fill("30 min")
        step.get_by_role("combobox", name="Tier").select_option(
            label="No tier: only the named contacts"
        )
        step.get_by_label("Mercy help desk (Tier 1 · Floor support)").check()
        step.get_by_role("checkbox", name="Email", exact=True).check()
        add = page.get_by_role("button", name="Save path")
        assert add.bounding_box()["height"] >= 44  # type: ignore[index]
        add.tap()

        expect(page.get_by_role("status").first).to_contain_text("The P1 path is saved: 4 steps.")
        expect(page.locator("li", has_text="Every issue of this priority").first).to_contain_text(
            "at once, tier 2 (Command center) by email and SMS; 30 min later, Mercy help desk by "
            "email."
        )
    finally:
        context.close()
