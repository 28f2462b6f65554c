"""Real browser journeys: Playwright driving Debian's Chromium against the live test server."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import Contact, GoLive, Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def sign_in(page: Page, live_server: LiveServer, user: User) -> None:
    page.goto(live_server.url)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_manager_signs_in_and_reaches_the_go_live_page_of_her_site(
    page: Page,
    live_server: LiveServer,
    manager_maria: User,
    mercy: GoLive,
    four_west: Unit,
    front_desk: Unit,
) -> None:
    sign_in(page, live_server, manager_maria)

    expect(page.get_by_role("heading", name="My units", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="4 West Med/Surg")).to_be_visible()

    page.get_by_role("link", name="Go-live, sites & units").click()

    expect(page).to_have_url(re.compile(rf"/go-lives/{mercy.pk}/$"))
    expect(page.get_by_role("heading", name=mercy.name, level=1)).to_be_visible()
    expect(page.get_by_text("4 West Med/Surg").first).to_be_visible()


def test_the_lead_signs_in_on_a_phone_and_reaches_the_directory(
    browser: Browser,
    live_server: LiveServer,
    lead_lena: User,
    mercy: GoLive,
    help_desk_contact: Contact,
) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        sign_in(page, live_server, lead_lena)
        expect(page.get_by_role("heading", name="Command center", level=1)).to_be_visible()

        page.get_by_role("button", name="Open the menu").click()
        page.get_by_role("link", name="Who to call").click()

        expect(page).to_have_url(re.compile(rf"/go-lives/{mercy.pk}/directory/$"))
        expect(page.get_by_role("heading", name="Who to call", level=1)).to_be_visible()
        expect(page.get_by_text("Mercy help desk").first).to_be_visible()
    finally:
        context.close()
