"""The command center lead connects the hospital's systems, in a real browser: an API token made,
used and revoked; a webhook endpoint registered and its first delivery in the log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from golive.models import GoLive, WebhookEndpoint
from golive.outbox import deliver_due_notifications
from golive.tests.conftest import Receiver
from issues.tests.conftest import LogIssue, log_issue, printing, setup
from issues.tests.test_browser_queue import sign_in

# The issue log's fixtures, used here as its own tests use them.
__all__ = ["log_issue", "printing", "setup"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, object]:
    """The command center's desktop screen."""
    return {"viewport": {"width": 1366, "height": 900}}


def api_status(live_server: LiveServer, key: str) -> int:
    request = urllib.request.Request(
        live_server.url + "/api/v1/go-lives/", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert [g["name"] for g in json.load(response)["results"]] == ["Mercy Health Wave 1"]
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_the_lead_makes_a_token_uses_it_and_revokes_it(
    page: Page, live_server: LiveServer, lead_lena: User, mercy: GoLive
) -> None:
    sign_in(page, live_server, lead_lena)
    page.get_by_role("button", name=lead_lena.get_full_name()).click()
    page.get_by_role("link", name="API tokens").click()

    page.get_by_label("What will use it").fill("ServiceNow sync")
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Make token").click()

    key = page.locator("#token-key").inner_text()
    assert key.startswith("glv_")
    expect(page.get_by_test_id("tokens")).to_contain_text("ServiceNow sync")
    assert api_status(live_server, key) == 200

    page.get_by_role("button", name="Revoke ServiceNow sync").click()
    expect(page.get_by_text("is revoked: it opens nothing any more")).to_be_visible()
    expect(page.get_by_test_id("tokens")).to_contain_text("Revoked")
    assert api_status(live_server, key) == 401


def test_the_lead_registers_a_webhook_and_sees_its_first_delivery(
    page: Page,
    live_server: LiveServer,
    lead_lena: User,
    mercy: GoLive,
    log_issue: LogIssue,
    receiver: Receiver,
) -> None:
    sign_in(page, live_server, lead_lena)
    page.goto(live_server.url + reverse("golive:webhooks", args=[mercy.pk]))
    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("Mercy ServiceNow")
    # Every event is offered ticked; this receiver wants new issues and resolutions only.
    for event in ["Issue priority changed", "Issue escalated", "Shift gap opened"]:
        page.get_by_label(event).uncheck()
    page.get_by_role("button", name="Add endpoint").click()

    expect(page.get_by_test_id("webhook-secret")).to_be_visible()
    endpoint = WebhookEndpoint.objects.get(go_live=mercy)
    assert endpoint.events == ["issue.created", "issue.resolved"]
    receiver.secret = page.get_by_test_id("webhook-secret").inner_text()

    log_issue(title="Wristband printer jams")
    # The worker's part, done here: the delivery sweep sends what is due.
    assert deliver_due_notifications() == 1

    page.reload()
    expect(page.get_by_text("HTTP 200")).to_be_visible()
    [delivery] = receiver.received
    assert delivery.signature_ok and delivery.fresh
    assert json.loads(delivery.body)["data"]["title"] == "Wristband printer jams"


def test_the_lead_reads_who_signed_in_and_what_was_exported_in_the_audit_log(
    page: Page, live_server: LiveServer, lead_lena: User, mercy: GoLive
) -> None:
    sign_in(page, live_server, lead_lena)
    # A download, with the browser's session: logged as an export.
    assert page.request.get(live_server.url + reverse("staffing:roster_export")).ok
    page.goto(live_server.url + reverse("golive:detail", args=[mercy.pk]))
    page.get_by_role("link", name="Audit log").click()

    entries = page.get_by_test_id("audit-entries")
    expect(entries).to_contain_text("Signed in")
    expect(entries).to_contain_text("Roster CSV")
    page.get_by_label("What").select_option("export")
    page.get_by_role("button", name="Show").click()
    expect(entries.locator("tbody tr")).to_have_count(1)
    expect(entries).to_contain_text("Exported")
