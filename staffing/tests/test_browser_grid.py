"""A manager fills a gap on the coverage grid in a real browser, by touch and by keyboard."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import PASSWORD
from golive.models import GoLive, Unit
from staffing.models import Shift, SupportPerson, SupportRole

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, live_server: LiveServer, user: User) -> None:
    page.goto(live_server.url)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)


@pytest.fixture
def gap(mercy: GoLive, four_west: Unit) -> Shift:
    """Tomorrow's day shift on 4 West (real time: the live server runs on the real clock)."""
    tomorrow = mercy.local_now().date() + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time(7), tzinfo=mercy.tzinfo)
    return Shift.objects.create(
        go_live=mercy,
        unit=four_west,
        role=SupportRole.SUPER_USER,
        label="Day",
        start=start,
        end=start + dt.timedelta(hours=12),
        needed=1,
    )


@pytest.fixture
def sam(mercy: GoLive, four_west: Unit) -> SupportPerson:
    return SupportPerson.objects.create(
        go_live=mercy,
        name="Sam Super",
        role=SupportRole.SUPER_USER,
        email="sam@mercy.example",
        home_unit=four_west,
    )


def test_a_manager_fills_a_red_cell_in_one_tap_and_sees_it_turn_green_without_a_reload(
    page: Page,
    live_server: LiveServer,
    manager_maria: User,
    four_west: Unit,
    gap: Shift,
    sam: SupportPerson,
) -> None:
    sign_in(page, live_server, manager_maria)
    page.goto(live_server.url + reverse("staffing:grid"))
    # A full page load would wipe this marker.
    page.evaluate("window.__gridMarker = 'no reload'")

    red = page.locator('.gl-grid a.gl-line[data-status="none"]')
    expect(red).to_have_count(1)
    expect(red).to_have_accessible_name(
        "4 West Med/Surg, " + _day(gap) + ", Day 07:00, super user: 0 of 1 assigned, none"
    )
    red.click()

    panel = page.locator("#shift-panel")
    expect(panel.get_by_role("heading", name="4 West Med/Surg · Super user")).to_be_visible()
    panel.get_by_role("button", name="Assign Sam Super").click()

    expect(panel.get_by_text("Sam Super is on this shift.")).to_be_visible()
    cell = page.locator(f"#cell-{four_west.pk}-{_key(gap)}-0700 a.gl-line")
    expect(cell).to_have_attribute("data-status", "met")
    expect(cell).to_contain_text("1/1")
    expect(page.locator(f"#summary-{_key(gap)}")).to_contain_text("100 % filled")
    assert page.evaluate("window.__gridMarker") == "no reload"
    assert page.url == live_server.url + reverse("staffing:grid")
    assert gap.assignments.get().person == sam


def test_the_grid_works_by_keyboard(
    page: Page, live_server: LiveServer, lead_lena: User, gap: Shift, sam: SupportPerson
) -> None:
    sign_in(page, live_server, lead_lena)
    page.goto(live_server.url + reverse("staffing:grid"))

    page.get_by_role("link", name="Next 7 days").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('gl-line')"):
            break
    focused = page.evaluate("document.activeElement.querySelector('.visually-hidden').textContent")
    assert focused.startswith("4 West Med/Surg, ")
    page.keyboard.press("Enter")

    heading = page.locator("#shift-panel-heading")
    expect(heading).to_have_text("4 West Med/Surg · Super user")
    expect(heading).to_be_focused()
    expect(page.locator('.gl-grid a.gl-line[aria-current="true"]')).to_have_count(1)


def _day(shift: Shift) -> str:
    local = shift.start.astimezone(shift.go_live.tzinfo)
    return f"{local:%a} {local.day} {local:%b}"


def _key(shift: Shift) -> str:
    return f"{shift.start.astimezone(shift.go_live.tzinfo):%Y%m%d}"
