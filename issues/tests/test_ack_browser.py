"""Acknowledging from an escalation SMS on a phone: Playwright driving Chromium at 390x844, touch."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from golive.models import Contact, Notification
from issues.escalation import escalate_due_issues
from issues.models import Impact, Issue, IssueEvent, Urgency
from issues.tests.conftest import LogIssue
from issues.tests.test_call_browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_contact_acknowledges_a_p1_from_the_link_and_code_in_her_sms(
    browser: Browser, live_server: LiveServer, log_issue: LogIssue, desk: Contact
) -> None:
    issue = log_issue(impact=Impact.UNIT, urgency=Urgency.BLOCKED, title="eMAR will not scan")
    # Its 15 min response target passed a minute ago: level 1 texts the help desk.
    ago = timezone.now() - dt.timedelta(minutes=16)
    Issue.objects.filter(pk=issue.pk).update(
        created_at=ago, respond_by=ago + dt.timedelta(minutes=15), next_escalation_at=ago
    )
    escalate_due_issues()
    sms = Notification.objects.get(
        channel=Notification.Channel.SMS, recipient_address=desk.sms_number
    )
    found = re.search(r"http://[^/\s]+(/a/\S+/) code (\d{6})$", sms.body)
    assert found is not None, sms.body
    path, code = found.groups()
    context = browser.new_context(**PHONE)
    page = context.new_page()

    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", name=f"Acknowledge {issue.code}")).to_be_visible()
    expect(page.get_by_text("eMAR will not scan")).to_be_visible()
    field = page.get_by_label("Code from the SMS")
    field.fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name=f"Acknowledge {issue.code}").click()
    expect(page.get_by_role("alert")).to_contain_text("That is not the code in the SMS.")
    page.get_by_label("Code from the SMS").fill(code)
    button = page.get_by_role("button", name=f"Acknowledge {issue.code}")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44
    button.click()

    expect(page.get_by_role("status")).to_contain_text(f"{issue.code} is acknowledged")
    # Nothing runs off the side of the phone, and the form is gone: the code worked once.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_label("Code from the SMS")).to_have_count(0)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.ACKNOWLEDGED
    entry = issue.events.get(kind=IssueEvent.Kind.STATUS)
    assert entry.body.startswith(
        "Acknowledged by Mercy help desk, with the one-time code of the SMS"
    )
    context.close()
