"""The admin pages render for a superuser, with searches and filters, and the outbox retry works."""

import pytest
from django.contrib.auth.models import User
from django.db import models
from django.test import Client
from django.urls import reverse

from golive.models import (
    Application,
    Contact,
    EscalationTier,
    GoLive,
    Membership,
    Notification,
    Site,
    Unit,
)

# (model, a search and a filter from its sidebar)
CHANGELISTS: list[tuple[type[models.Model], str]] = [
    (GoLive, "q=Mercy&phase__exact=live"),
    (Site, "q=Mercy&kind__exact=hospital"),
    (Unit, "q=West&kind__exact=inpatient"),
    (Application, "q=Orders"),
    (EscalationTier, "q=Floor&is_leadership__exact=0"),
    (Contact, "q=desk&employer__exact=in_house&hours__exact=always&tier__level=1"),
    (Membership, "q=lena&role__exact=command_center_lead"),
    (Notification, "q=Shift&status__exact=failed&channel__exact=sms"),
]


def admin_url(model: type[models.Model], view: str, *args: object) -> str:
    return reverse(f"admin:golive_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def notifications(mercy: GoLive, lead_lena: User) -> list[Notification]:
    return [
        Notification.objects.create(
            go_live=mercy,
            recipient_name="Sam Super",
            recipient_address="+13125550199",
            channel=Notification.Channel.SMS,
            subject="Shift reminder",
            dedupe_key="test:failed",
            status=Notification.Status.FAILED,
            attempts=5,
            last_error="gateway said 502",
        ),
        Notification.objects.create(
            go_live=mercy,
            recipient_user=lead_lena,
            channel=Notification.Channel.IN_APP,
            subject="Shift filled",
            dedupe_key="test:sent",
            status=Notification.Status.SENT,
            attempts=1,
        ),
    ]


@pytest.fixture
def directory(
    mercy: GoLive,
    four_west: Unit,
    orders_app: Application,
    help_desk_contact: Contact,
    lead_lena: User,
    notifications: list[Notification],
) -> GoLive:
    return mercy


@pytest.mark.parametrize(("model", "query"), CHANGELISTS)
def test_each_changelist_renders_with_a_search_and_a_filter(
    admin_client: Client, directory: GoLive, model: type[models.Model], query: str
) -> None:
    response = admin_client.get(f"{admin_url(model, 'changelist')}?{query}")

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", [model for model, _ in CHANGELISTS if model is not Notification])
def test_each_add_page_renders(admin_client: Client, model: type[models.Model]) -> None:
    assert admin_client.get(admin_url(model, "add")).status_code == 200


def test_each_change_page_renders(admin_client: Client, directory: GoLive) -> None:
    for model, _ in CHANGELISTS:
        obj = model.objects.first()
        assert obj is not None, model
        assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


def test_notifications_cannot_be_added_by_hand(admin_client: Client) -> None:
    assert admin_client.get(admin_url(Notification, "add")).status_code == 403


def test_retry_now_sets_only_failed_notifications_back_to_pending(
    admin_client: Client, notifications: list[Notification]
) -> None:
    failed, sent = notifications

    response = admin_client.post(
        admin_url(Notification, "changelist"),
        {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )

    assert response.status_code == 200
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == (Notification.Status.PENDING, 0)
    assert failed.last_error == "gateway said 502"
    assert sent.status == Notification.Status.SENT
    assert "1 failed notification(s) set back to pending" in response.content.decode()
    assert "1 not failed, left as they were." in response.content.decode()
