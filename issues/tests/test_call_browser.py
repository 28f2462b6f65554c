"""'Who do I call now' on a phone: Playwright driving Chromium at 390x844, touch."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from golive.models import Unit
from issues.models import Category
from issues.tests.test_browser_intake import sign_in
from staffing.models import Shift, SupportPerson, SupportRole
from staffing.services import assign_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def test_a_nurse_finds_the_on_shift_analyst_for_her_unit_and_problem_and_can_tap_to_call(
    browser: Browser,
    live_server: LiveServer,
    nurse_nina: User,
    lead_lena: User,
    four_west: Unit,
    ed: Unit,
    setup: None,
    printing: Category,
) -> None:
    now = timezone.now()
    shift = Shift.objects.create(
        go_live=four_west.site.go_live,
        unit=ed,
        role=SupportRole.ANALYST,
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=8),
        needed=2,
    )
    analyst = SupportPerson.objects.create(
        go_live=four_west.site.go_live,
        name="Ana Lyst",
        role=SupportRole.ANALYST,
        phone="312-555-0142",
        email="ana@mercy.example",
    )
    assign_person(shift=shift, person=analyst, actor=lead_lena)
    context = browser.new_context(**PHONE)
    page = context.new_page()

    sign_in(page, live_server, nurse_nina)
    page.get_by_role("button", name="Open the menu").click()
    page.get_by_role("link", name="Call now").click()
    expect(page.get_by_role("heading", name="Who to call now")).to_be_visible()
    page.get_by_label("Kind of problem").select_option(label="Printing / labels")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_text("4 West Med/Surg · Mercy General · Printing / labels")).to_be_visible()
    tier = page.get_by_role("region", name="Tier 2 · Command center")
    expect(tier.get_by_text("Ana Lyst")).to_be_visible()
    call = tier.get_by_role("link", name="Call 312-555-0142")
    expect(call).to_be_visible()
    expect(call).to_have_attribute("href", "tel:312-555-0142")
    # Big enough to hit with a thumb, and nothing runs off the side of the phone.
    box = call.bounding_box()
    assert box is not None and box["height"] >= 36
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
