"""The floor offline, as the server sees it: which pages a device may keep, the service worker and
manifest it is given, and the answers that make it forget what it kept.

The device's side (kept copies, the outbox) is tested in Chromium: test_browser_offline.py.
"""

import json
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from golive.models import GoLive, Unit
from issues.models import UnitTablet
from issues.tablets import revoke_tablet
from issues.tests.conftest import LogIssue
from issues.tests.test_tablets import enrolled_device

pytestmark = pytest.mark.django_db

FLOOR_PAGES = ["issues:new", "issues:known", "issues:call_now"]


@pytest.fixture
def tablet(four_west: Unit, manager_maria: User, setup: None) -> tuple[UnitTablet, Client]:
    return enrolled_device(four_west, manager_maria)


def test_a_tablets_floor_pages_are_kept_and_name_the_pages_to_keep(
    tablet: tuple[UnitTablet, Client],
) -> None:
    unit_tablet, device = tablet
    for name in [*FLOOR_PAGES, "issues:tablet_home"]:
        response = device.get(reverse(name))
        assert response.status_code == 200, name
        assert response["X-Golive-Offline"] == "keep", name
        page = response.content.decode()
        assert f'data-gl-who="tablet:{unit_tablet.pk}"' in page
        assert 'data-gl-keep="/issues/new/ /issues/tablet/ /issues/known/ /issues/call/"' in page, (
            name
        )
        assert f'data-gl-sw="{reverse("issues:service_worker")}"' in page


def test_a_members_floor_pages_are_kept_with_my_issues_in_place_of_the_unit_list(
    client_for: Callable[[User], Client], nurse_nina: User, setup: None
) -> None:
    client = client_for(nurse_nina)
    for name in [*FLOOR_PAGES, "issues:mine"]:
        response = client.get(reverse(name))
        assert response["X-Golive-Offline"] == "keep", name
        assert 'data-gl-keep="/issues/new/ /issues/mine/ /issues/known/ /issues/call/"' in (
            response.content.decode()
        )


def test_staff_pages_parts_and_refusals_are_never_kept(
    client_for: Callable[[User], Client],
    lead_lena: User,
    log_issue: LogIssue,
    tablet: tuple[UnitTablet, Client],
    mercy: GoLive,
) -> None:
    issue = log_issue()
    lead = client_for(lead_lena)
    for url in [
        reverse("home"),
        reverse("issues:queue"),
        reverse("issues:detail", args=[issue.pk]),
        reverse("issues:dashboard"),
        reverse("issues:tablets"),
        reverse("staffing:grid"),
        reverse("golive:directory", args=[mercy.pk]),
    ]:
        response = lead.get(url)
        assert response.status_code == 200, url
        assert "X-Golive-Offline" not in response, url
        assert "data-gl-keep" not in response.content.decode(), url
    # A floor page's htmx part, and a refused form, are not pages to keep either.
    _, device = tablet
    part = device.get(reverse("issues:known"), HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and "X-Golive-Offline" not in part
    refused = device.get(reverse("issues:call_now"), {"category": "x"})
    assert refused.status_code == 400 and "X-Golive-Offline" not in refused


def test_the_service_worker_is_served_fresh_with_the_files_it_keeps(client: Client) -> None:
    response = client.get(reverse("issues:service_worker"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]
    head, _ = response.content.decode().split("\n", 1)
    config = json.loads(head.removeprefix("const GOLIVE = ").removesuffix(";"))
    assert config["offlinePage"] == reverse("issues:offline")
    assert config["keepHeader"] == "X-Golive-Offline"
    for url in config["files"]:
        assert finders.find(url.removeprefix("/static/")), url
    assert "/static/js/outbox.js" in config["files"]
    # Asked again on each floor visit: unchanged, it is not sent again.
    again = client.get(reverse("issues:service_worker"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_the_manifest_opens_the_intake_form_as_an_app_within_the_issue_pages(
    client: Client,
) -> None:
    response = client.get(reverse("issues:manifest"))

    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["start_url"] == reverse("issues:new")
    assert manifest["scope"] == "/issues/"
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon


def test_the_offline_page_holds_nobodys_data(
    client_for: Callable[[User], Client], lead_lena: User
) -> None:
    page = client_for(lead_lena).get(reverse("issues:offline")).content.decode()

    assert "No network: this page is not on this device" in page
    assert lead_lena.username not in page and lead_lena.first_name not in page
    assert "csrfmiddlewaretoken" not in page


def test_signing_out_clears_the_devices_cache_and_storage_but_not_its_cookies(
    client_for: Callable[[User], Client], nurse_nina: User
) -> None:
    response = client_for(nurse_nina).post(reverse("logout"))

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


def test_a_revoked_tablets_page_tells_the_device_to_forget_its_copies(
    tablet: tuple[UnitTablet, Client], manager_maria: User
) -> None:
    unit_tablet, device = tablet
    revoke_tablet(tablet=unit_tablet, actor=manager_maria)

    for name in [*FLOOR_PAGES, "issues:tablet_home"]:
        response = device.get(reverse(name))
        assert response.status_code == 403, name
        assert response["X-Golive-Offline"] == "forget"
        assert response["Clear-Site-Data"] == '"cache"'
        page = response.content.decode()
        assert "data-gl-revoked" in page and "data-gl-keep" not in page
