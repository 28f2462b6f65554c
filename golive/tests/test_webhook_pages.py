"""The Webhooks pages: command center leads only, add and edit with the URL checked, disable,
enable and rotate the secret, and both lists at a query count that stays flat as rows grow."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries, Settings

from golive.models import GoLive, Notification, WebhookDelivery, WebhookEndpoint
from golive.models import WebhookEvent as E

PUBLIC_URL = "https://93.184.216.34/golive"  # an address literal: no DNS needed to check it


@pytest.fixture
def endpoint(mercy: GoLive) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        go_live=mercy, url=PUBLIC_URL, events=[E.ISSUE_CREATED], description="Mercy ServiceNow"
    )


def pages(go_live: GoLive, endpoint: WebhookEndpoint) -> list[tuple[str, str]]:
    """(method, url) of every webhook page and action."""
    return [
        ("get", reverse("golive:webhooks", args=[go_live.pk])),
        ("get", reverse("golive:webhook_create", args=[go_live.pk])),
        ("get", reverse("golive:webhook_deliveries", args=[endpoint.pk])),
        ("get", reverse("golive:webhook_edit", args=[endpoint.pk])),
        ("post", reverse("golive:webhook_disable", args=[endpoint.pk])),
        ("post", reverse("golive:webhook_enable", args=[endpoint.pk])),
        ("post", reverse("golive:webhook_rotate_secret", args=[endpoint.pk])),
    ]


@pytest.mark.parametrize(
    ("member", "status"),
    [
        ("manager_maria", 403),
        ("agent_alex", 403),
        ("super_sam", 403),
        ("nurse_nina", 403),
        # A lead of another go-live: Mercy's endpoints do not exist for them.
        ("outsider_oscar", 404),
    ],
)
def test_only_the_go_lives_leads_open_the_webhook_pages(
    request: pytest.FixtureRequest,
    client_for: Callable[[User], Client],
    mercy: GoLive,
    endpoint: WebhookEndpoint,
    member: str,
    status: int,
) -> None:
    client = client_for(request.getfixturevalue(member))
    secret = endpoint.secret
    for method, url in pages(mercy, endpoint):
        assert getattr(client, method)(url).status_code == status, url
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.secret) == (True, secret)


def test_a_lead_opens_every_page_and_a_visitor_is_sent_to_sign_in(
    client: Client,
    client_for: Callable[[User], Client],
    lead_lena: User,
    mercy: GoLive,
    endpoint: WebhookEndpoint,
) -> None:
    for method, url in pages(mercy, endpoint):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    lead = client_for(lead_lena)
    for method, url in pages(mercy, endpoint):
        assert getattr(lead, method)(url).status_code == (200 if method == "get" else 302), url
    tabs = lead.get(reverse("golive:webhooks", args=[mercy.pk])).context["tabs"]
    assert [tab.label for tab in tabs if tab.active] == ["Webhooks"]


def test_a_get_never_disables_or_rotates(
    client_for: Callable[[User], Client], lead_lena: User, endpoint: WebhookEndpoint
) -> None:
    lead = client_for(lead_lena)
    for name in ("golive:webhook_disable", "golive:webhook_rotate_secret"):
        assert lead.get(reverse(name, args=[endpoint.pk])).status_code == 405


def test_a_lead_adds_an_endpoint_and_sees_its_secret(
    client_for: Callable[[User], Client], lead_lena: User, mercy: GoLive, settings: Settings
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    lead = client_for(lead_lena)
    response = lead.post(
        reverse("golive:webhook_create", args=[mercy.pk]),
        {
            "url": PUBLIC_URL,
            "description": "Paging service",
            "events": [E.ISSUE_ESCALATED, E.SHIFT_GAP_OPENED],
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.go_live, endpoint.created_by, endpoint.url) == (mercy, lead_lena, PUBLIC_URL)
    assert endpoint.events == ["issue.escalated", "shift.gap_opened"]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    page = response.content.decode()
    assert endpoint.secret in page
    assert "Give its secret to the receiver" in page


def test_an_endpoint_needs_an_event(
    client_for: Callable[[User], Client], lead_lena: User, mercy: GoLive
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:webhook_create", args=[mercy.pk]), {"url": PUBLIC_URL}
    )
    assert "Tick at least one event" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_edit_to_a_forbidden_url_changes_nothing(
    client_for: Callable[[User], Client],
    lead_lena: User,
    endpoint: WebhookEndpoint,
    settings: Settings,
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = client_for(lead_lena).post(
        reverse("golive:webhook_edit", args=[endpoint.pk]),
        {"url": "http://169.254.169.254/latest/", "events": [E.ISSUE_CREATED]},
    )
    assert "a link-local address" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC_URL


def test_a_lead_disables_enables_and_rotates(
    client_for: Callable[[User], Client], lead_lena: User, endpoint: WebhookEndpoint
) -> None:
    waiting = Notification.objects.create(
        go_live=endpoint.go_live,
        webhook_endpoint=endpoint,
        channel=Notification.Channel.WEBHOOK,
        subject=E.ISSUE_CREATED,
        body="{}",
        dedupe_key=f"webhook:{endpoint.pk}:issue.created:1:v1",
    )
    lead = client_for(lead_lena)

    lead.post(reverse("golive:webhook_disable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    waiting.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason == "Disabled by Lena Lead."
    assert (waiting.status, waiting.last_error) == (
        Notification.Status.FAILED,
        "Not sent: the webhook endpoint was disabled.",
    )

    lead.post(reverse("golive:webhook_enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_at is None

    old = endpoint.secret
    response = lead.post(reverse("golive:webhook_rotate_secret", args=[endpoint.pk]), follow=True)
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()


def add_endpoints(go_live: GoLive, count: int, attempts: int) -> None:
    for n in range(count):
        endpoint = WebhookEndpoint.objects.create(
            go_live=go_live, url=f"{PUBLIC_URL}/{n}", events=list(E.values)
        )
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(endpoint=endpoint, event=E.ISSUE_CREATED, status_code=500, error="x")
            for _ in range(attempts)
        )


def test_the_endpoints_list_costs_the_same_queries_for_many_endpoints(
    client_for: Callable[[User], Client],
    lead_lena: User,
    mercy: GoLive,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    lead = client_for(lead_lena)
    url = reverse("golive:webhooks", args=[mercy.pk])
    add_endpoints(mercy, 1, 2)
    lead.get(url)  # the session is renewed on the first request only
    with django_assert_max_num_queries(6) as few:
        assert lead.get(url).status_code == 200
    add_endpoints(mercy, 12, 5)
    with django_assert_num_queries(len(few.captured_queries)):
        response = lead.get(url)
    assert response.content.decode().count("HTTP 500") == 13


def test_the_delivery_log_costs_the_same_queries_for_many_deliveries(
    client_for: Callable[[User], Client],
    lead_lena: User,
    mercy: GoLive,
    endpoint: WebhookEndpoint,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    lead = client_for(lead_lena)
    url = reverse("golive:webhook_deliveries", args=[endpoint.pk])
    WebhookDelivery.objects.create(endpoint=endpoint, event=E.ISSUE_CREATED, status_code=200)
    lead.get(url)  # the session is renewed on the first request only
    with django_assert_max_num_queries(6) as few:
        assert lead.get(url).status_code == 200
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=E.ISSUE_CREATED, status_code=502, error="Bad")
        for _ in range(120)
    )
    with django_assert_num_queries(len(few.captured_queries)):
        response = lead.get(url)
    page = response.content.decode()
    # Latest first, fifty a page.
    assert page.count("HTTP 502") == 50
    assert "Page 1 of 3" in page
