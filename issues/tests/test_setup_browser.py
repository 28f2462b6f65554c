"""The issue settings page on an 820 px touch screen: the lead edits the matrix and a category."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import GoLive
from issues.models import Category, Impact, PriorityRule, Urgency

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_lead_edits_the_matrix_and_renames_a_category_at_820_px(
    browser: Browser, live_server: LiveServer, lead_lena: User, mercy: GoLive, setup: None
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
        expect(page.get_by_role("heading", name="Issue settings", level=1)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.get_by_label("Several people, patient care is blocked").select_option("P2")
        page.get_by_role("button", name="Save matrix").tap()
        expect(page.get_by_role("status").first).to_contain_text("The priority matrix is saved.")

        row = page.locator("li", has=page.get_by_role("button", name="Save Interfaces"))
        row.get_by_label("Name").fill("Interfaces / HL7")
        row.get_by_role("button", name="Save Interfaces").tap()
        expect(page.get_by_role("status").first).to_contain_text("“Interfaces / HL7” is saved")
        save = page.get_by_role("button", name="Save Interfaces / HL7")
        assert save.bounding_box()["height"] >= 44  # type: ignore[index]
    finally:
        context.close()

    rule = PriorityRule.objects.get(go_live=mercy, impact=Impact.SEVERAL, urgency=Urgency.BLOCKED)
    assert rule.priority == "P2"
    assert Category.objects.filter(go_live=mercy, name="Interfaces / HL7").exists()
