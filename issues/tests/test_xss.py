"""Script typed into golive's text fields stays text: escaped in every page that shows it, kept as
data (JSON-escaped) in the API, quoted against formulas in CSV, and plain in email.

Each payload goes into an issue's title, description, location, reporter name and a reply, a
known issue's title and workaround, a contact's name and a support person's name; then every page
that shows them is read as the people who see them would."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from golive.models import Contact, EscalationTier, GoLive, Notification, Unit
from golive.outbox import deliver_due_notifications, notify
from issues.models import Category, Impact, Issue, KnownIssue, Urgency
from issues.services import add_comment, create_issue, ensure_issue_setup
from staffing.models import SupportPerson, SupportRole

PAYLOADS = [
    "<script>alert('gl')</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><svg onload=alert(1)>",
    '<a href="javascript:alert(1)">call</a>',
]


@pytest.fixture
def planted(
    request: pytest.FixtureRequest,
    mercy: GoLive,
    four_west: Unit,
    tiers: dict[str, EscalationTier],
    nurse_nina: User,
    agent_alex: User,
    lead_lena: User,
) -> tuple[str, Issue]:
    payload: str = request.param
    ensure_issue_setup(go_live=mercy)
    category = Category.objects.get(go_live=mercy, name="Printing / labels")
    issue, _ = create_issue(
        go_live=mercy,
        unit=four_west,
        category_id=category.pk,
        title=f"Printer {payload}"[:120],
        description=f"It says {payload}",
        location_detail=payload[:120],
        impact=Impact.SEVERAL,
        urgency=Urgency.WORKAROUND,
        reporter_user=nurse_nina,
        reporter_name=payload[:120],
    )
    add_comment(issue=issue, actor=agent_alex, body=f"Reply {payload}", internal=False)
    KnownIssue.objects.create(
        go_live=mercy, issue=issue, title=f"Known {payload}"[:120], problem="p", workaround=payload
    )
    Contact.objects.create(go_live=mercy, tier=tiers["floor"], name=f"Desk {payload}"[:120])
    SupportPerson.objects.create(
        go_live=mercy,
        name=f"Sam {payload}"[:120],
        role=SupportRole.SUPER_USER,
        email="sam@mercy.example",
    )
    return payload, issue


def _escaped_everywhere(html: str, payload: str) -> None:
    assert payload not in html
    # The page does show it: as text.
    assert escape(payload) in html


@pytest.mark.parametrize("planted", PAYLOADS, indirect=True)
def test_pages_show_script_as_text(
    planted: tuple[str, Issue],
    client_for: Callable[[User], Client],
    lead_lena: User,
    nurse_nina: User,
    mercy: GoLive,
) -> None:
    payload, issue = planted
    lead = client_for(lead_lena)
    for url in [
        reverse("issues:queue"),
        reverse("issues:detail", args=[issue.pk]),
        reverse("issues:known"),
        reverse("issues:huddle") + f"?day={issue.created_at.astimezone(mercy.tzinfo):%Y-%m-%d}",
        reverse("golive:directory", args=[mercy.pk]),
        reverse("staffing:people"),
    ]:
        page = lead.get(url)
        assert page.status_code == 200, url
        _escaped_everywhere(page.content.decode(), payload)
    floor = client_for(nurse_nina).get(reverse("issues:floor_issue", args=[issue.pk]))
    _escaped_everywhere(floor.content.decode(), payload)


@pytest.mark.parametrize("planted", PAYLOADS, indirect=True)
def test_the_api_keeps_script_as_data_and_csv_quotes_nothing_runnable(
    planted: tuple[str, Issue],
    api_for: Callable[[User], Client],
    client_for: Callable[[User], Client],
    lead_lena: User,
    mercy: GoLive,
) -> None:
    payload, issue = planted
    body = api_for(lead_lena).get(f"/api/v1/go-lives/{mercy.pk}/issues/{issue.number}/")
    assert body["Content-Type"] == "application/json"
    assert body.json()["description"] == f"It says {payload}"
    export = b"".join(
        client_for(lead_lena).get(reverse("issues:queue_export")).streaming_content  # type: ignore[attr-defined]
    ).decode("utf-8-sig")
    assert f"Printer {payload}"[:120].replace('"', '""') in export
    # The reporter's name is the payload alone: a cell that starts with a formula character
    # would be quoted; these start with "<" or a quote, which spreadsheets show as text.
    assert "\n=" not in export and ",=" not in export


@pytest.mark.parametrize("planted", PAYLOADS, indirect=True)
def test_notifications_show_script_as_text_and_email_is_plain_text(
    planted: tuple[str, Issue], client_for: Callable[[User], Client], nurse_nina: User
) -> None:
    payload, issue = planted
    # The reply reached the reporter's inbox: shown escaped.
    inbox = client_for(nurse_nina).get(reverse("golive:notifications")).content.decode()
    assert "Reply" in inbox
    _escaped_everywhere(inbox, payload)
    # golive's email is plain text only (no HTML part a mail client would render).
    notify(
        dedupe_key="xss-test",
        channel=Notification.Channel.EMAIL,
        subject=issue.title,
        body=issue.description,
        address="desk@mercy.example",
        go_live=issue.go_live,
    )
    deliver_due_notifications()
    [sent] = [m for m in mail.outbox if m.to == ["desk@mercy.example"]]
    assert sent.content_subtype == "plain" and not getattr(sent, "alternatives", [])
    assert f"It says {payload}" in sent.body
