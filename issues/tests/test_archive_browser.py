"""The command center lead downloads a closed go-live's records archive, in a real browser."""

import io
import json
import zipfile

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from golive.models import GoLive
from issues.tests.conftest import LogIssue
from issues.tests.test_browser_queue import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, object]:
    """The command center's desktop screen."""
    return {"viewport": {"width": 1366, "height": 900}, "accept_downloads": True}


def test_the_lead_closes_the_go_live_and_downloads_its_records(
    page: Page, live_server: LiveServer, lead_lena: User, mercy: GoLive, log_issue: LogIssue
) -> None:
    log_issue(title="Wristband printer jams")
    sign_in(page, live_server, lead_lena)
    page.goto(live_server.url + reverse("issues:archive"))
    expect(page.get_by_test_id("archive-refusal")).to_contain_text("archived once it is closed")

    GoLive.objects.filter(pk=mercy.pk).update(phase=GoLive.Phase.CLOSED)
    page.reload()
    with page.expect_download() as started:
        page.get_by_test_id("archive-download").click()
    download = started.value

    assert download.suggested_filename.startswith("archive-mercy-health-wave-1-")
    with open(download.path(), "rb") as saved, zipfile.ZipFile(io.BytesIO(saved.read())) as zf:
        description = json.loads(zf.read("go-live.json"))
        issues = zf.read("issues.csv").decode("utf-8-sig")
    assert description["go_live"]["phase"] == "closed"
    assert "Wristband printer jams" in issues
