"""The staffing admin pages render for a superuser, and the audit trail cannot be edited there."""

import pytest
from django.contrib.auth.models import User
from django.db import models
from django.test import Client
from django.urls import reverse

from staffing.models import (
    Assignment,
    AutoFillRun,
    CoverageRequirement,
    RosterImport,
    ShareLink,
    Shift,
    ShiftEvent,
    ShiftRequest,
    StaffingSettings,
    SupportPerson,
    Unavailability,
    UnitMix,
)
from staffing.services import assign_person

# (model, a search and a filter from its sidebar)
CHANGELISTS: list[tuple[type[models.Model], str]] = [
    (SupportPerson, "q=Sam&role__exact=super_user&is_active__exact=1"),
    (CoverageRequirement, "q=Day&role__exact=super_user"),
    (Shift, "q=West&role__exact=super_user"),
    (Assignment, "q=Sam&status__exact=scheduled"),
    (ShiftEvent, "q=Sam&action__exact=assigned"),
    (Unavailability, "q=Sam"),
    (ShiftRequest, "kind__exact=drop&status__exact=pending"),
    (ShareLink, "kind__exact=board"),
    (RosterImport, "status__exact=done"),
    (AutoFillRun, "status__exact=proposed"),
    (StaffingSettings, ""),
    (UnitMix, ""),
]


def admin_url(model: type[models.Model], view: str, *args: object) -> str:
    return reverse(f"admin:staffing_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.org", "x")


@pytest.fixture
def staffed(sam: SupportPerson, day_shift: Shift, lead_lena: User) -> Assignment:
    return assign_person(shift=day_shift, person=sam, actor=lead_lena)


@pytest.mark.parametrize(("model", "query"), CHANGELISTS)
def test_each_changelist_renders_with_a_search_and_a_filter(
    client: Client, superuser: User, staffed: Assignment, model: type[models.Model], query: str
) -> None:
    client.force_login(superuser)
    response = client.get(f"{admin_url(model, 'changelist')}?{query}")
    assert response.status_code == 200


def test_the_shift_page_shows_its_people_and_events_read_only(
    client: Client, superuser: User, staffed: Assignment
) -> None:
    client.force_login(superuser)
    response = client.get(admin_url(Shift, "change", staffed.shift_id))
    assert response.status_code == 200
    assert b"Sam Super" in response.content
    assert b"assigned" in response.content


def test_nobody_edits_or_deletes_the_audit_trail_in_the_admin(
    client: Client, superuser: User, staffed: Assignment
) -> None:
    client.force_login(superuser)
    event = ShiftEvent.objects.get()
    assert client.get(admin_url(ShiftEvent, "add")).status_code == 403
    assert (
        client.post(admin_url(ShiftEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    )
    client.post(admin_url(ShiftEvent, "change", event.pk), {"action": "forged"})
    event.refresh_from_db()
    assert event.action == "assigned"
