"""A support person checks in from a phone: Playwright driving Chromium on a 390x844 touch screen."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from staffing.models import Assignment, ShiftEvent, SupportPerson
from staffing.services import assign_person
from staffing.tests.conftest import MakeShift

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def test_a_support_person_taps_check_in_on_their_phone_and_sees_checked_in(
    browser: Browser,
    live_server: LiveServer,
    super_sam: User,
    sam: SupportPerson,
    make_shift: MakeShift,
    lead_lena: User,
) -> None:
    # The live server shares the real clock: the shift starts in half an hour, check-in is open.
    start = timezone.now() + dt.timedelta(minutes=30)
    shift = make_shift(start, start + dt.timedelta(hours=8))
    assignment = assign_person(shift=shift, person=sam, actor=lead_lena)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(live_server.url)
        page.get_by_label("Username").fill(super_sam.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").tap()
        expect(page.get_by_role("button", name="Open the menu")).to_be_visible()

        page.goto(live_server.url + reverse("staffing:my_shifts"))
        expect(page.get_by_role("heading", name="My shifts", level=1)).to_be_visible()
        expect(page.get_by_text("4 West Med/Surg").first).to_be_visible()
        button = page.get_by_role("button", name="Check in", exact=True)
        assert button.bounding_box()["height"] >= 44  # type: ignore[index]
        button.tap()

        expect(page.get_by_text("Checked in at")).to_be_visible()
        expect(page.get_by_role("status")).to_have_text("You are checked in.")
        expect(page.get_by_role("button", name="Check in", exact=True)).to_have_count(0)
        # Swapped in place by htmx: still the same page, no reload.
        assert page.url == live_server.url + reverse("staffing:my_shifts")
    finally:
        context.close()

    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CHECKED_IN
    assert ShiftEvent.objects.get(action="checked_in").note == "own phone"
