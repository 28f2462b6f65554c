"""Planning coverage in a browser: the ratio helper recalculates in place, and an auto-fill runs on
a worker while its page follows the progress, then is published on a worker the same way."""

import datetime as dt
import re

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from golive.celery import app
from golive.models import Unit
from golive.tests.test_browser import sign_in
from staffing.models import Assignment, CoverageRequirement, Shift
from staffing.tests.conftest import MakePerson, MakeShift, local


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_manager_recalculates_the_helper_in_place_and_creates_requirements(
    page: Page, live_server: LiveServer, manager_maria: User, ed: Unit, now: dt.datetime
) -> None:
    sign_in(page, live_server, manager_maria)
    page.goto(live_server.url + reverse("staffing:requirements_propose"))
    page.evaluate("window.stillHere = true")
    row = page.get_by_test_id("proposal-row")
    expect(row.get_by_test_id("full-headcount")).to_have_text("28")

    row.get_by_label("Physicians on Emergency Department").fill("40")
    row.get_by_label("Emergency Department is ED, ICU or OR").check()
    page.get_by_role("button", name="Save mixes and recalculate").click()

    expect(page.get_by_text("The mixes are saved and the headcounts recalculated.")).to_be_visible()
    expect(row.get_by_test_id("full-headcount")).to_have_text("46")
    assert page.evaluate("window.stillHere") is True
    row.get_by_label("People per block on Emergency Department, Business hours").fill("5")
    page.get_by_role("button", name="Create requirements").click()

    expect(page.get_by_text("5 requirements added for 1 unit.")).to_be_visible()
    page.get_by_role("button", name="Generate shifts for Emergency Department").click()
    expect(page.get_by_test_id("generation-summary")).to_contain_text("created")
    assert CoverageRequirement.objects.get(label="Business hours").headcount == 5
    # Today is day 3: the shifts from Tuesday morning on, Day and Night then Early and Late.
    assert Shift.objects.filter(unit=ed).count() > 40


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_auto_fill_runs_on_a_worker_while_the_page_follows_it_then_is_published(
    page: Page,
    live_server: LiveServer,
    lead_lena: User,
    four_west: Unit,
    make_shift: MakeShift,
    make_person: MakePerson,
    now: dt.datetime,
) -> None:
    make_shift(local(4, 7), local(4, 19), needed=2, label="Day")
    make_person("Ann")
    make_person("Bob")
    sign_in(page, live_server, lead_lena)
    app.control.purge()

    with start_worker(app, pool="solo", perform_ping_check=False):
        page.goto(live_server.url + reverse("staffing:autofill"))
        page.get_by_label("First day").fill("2026-11-04")
        page.get_by_label("Last day").fill("2026-11-04")
        page.get_by_role("button", name="Propose people").click()

        expect(page.get_by_test_id("run-status")).to_have_text("Proposal ready", timeout=20_000)
        expect(page.get_by_test_id("proposals")).to_contain_text("Ann")
        expect(page.get_by_test_id("proposals")).to_contain_text("Bob")
        page.get_by_role("button", name=re.compile("Publish: assign 2 places")).click()

        # The worker publishes while the page polls, then the page shows what it made.
        expect(page.get_by_test_id("publish-result")).to_contain_text(
            "2 assignments made", timeout=20_000
        )

    expect(page.get_by_test_id("run-status")).to_have_text("Published")
    assert Assignment.objects.filter(shift__label="Day").count() == 2
