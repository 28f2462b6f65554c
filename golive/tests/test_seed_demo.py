"""`manage.py seed_demo`: a valid demo go-live, the same after a second run, and logins that work."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from golive.management.commands.seed_demo import DEFAULT_PASSWORD, GO_LIVE_NAME
from golive.models import Contact, EscalationTier, GoLive, Membership, Role, Site, Unit

# 14:30 in Chicago on Wednesday 10 June 2026.
NOW = dt.datetime(2026, 6, 10, 19, 30, tzinfo=dt.UTC)
DEMO_USERS = ["lead", "manager", "agent", "support", "floor", "admin"]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [GoLive, Site, Unit, Contact, EscalationTier, User, Membership]
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def seeded(db: None, time_machine: time_machine.TimeMachineFixture) -> GoLive:
    time_machine.move_to(NOW, tick=False)
    seed()
    return GoLive.objects.get(name=GO_LIVE_NAME)


def test_it_creates_a_live_go_live_on_day_3_with_two_sites_and_twelve_units(
    seeded: GoLive,
) -> None:
    assert seeded.phase == GoLive.Phase.LIVE
    assert seeded.cutover_at == dt.datetime(2026, 6, 8, 10, 0, tzinfo=dt.UTC)  # 05:00 CDT
    assert seeded.support_ends_at - seeded.cutover_at == dt.timedelta(days=28)
    assert seeded.day_number() == 3
    assert sorted(seeded.sites.values_list("kind", flat=True)) == ["clinic", "hospital"]
    units = Unit.objects.filter(site__go_live=seeded)
    assert units.count() == 12
    assert all(unit.end_user_count > 0 and unit.phone for unit in units)
    assert seeded.tiers.count() == 5


def test_every_contact_validates_and_some_have_windows_and_limits(seeded: GoLive) -> None:
    contacts = list(seeded.contacts.all())

    for contact in contacts:
        contact.full_clean()
    assert len(contacts) >= 20
    assert {c.tier.level for c in contacts} == {1, 2, 3, 4, 9}
    assert any(c.hours == Contact.Hours.DAILY for c in contacts)
    assert any(not c.all_units for c in contacts)
    assert any(not c.all_applications for c in contacts)
    assert any(c.vendor_name for c in contacts)


def test_running_it_twice_duplicates_nothing_and_keeps_the_cutover(
    seeded: GoLive, time_machine: time_machine.TimeMachineFixture
) -> None:
    before = counts()
    time_machine.move_to(NOW + dt.timedelta(days=5), tick=False)

    seed()

    assert counts() == before
    assert GoLive.objects.get().cutover_at == seeded.cutover_at


def test_it_gives_one_user_per_role_with_the_expected_limits(seeded: GoLive) -> None:
    memberships = {
        m.user.username: m for m in Membership.objects.filter(go_live=seeded).select_related("user")
    }

    assert set(memberships) == set(DEMO_USERS)
    assert {m.role for m in memberships.values()} == set(Role)
    assert [s.name for s in memberships["manager"].sites.all()] == ["Riverside Medical Center"]
    assert [u.name for u in memberships["floor"].units.all()] == ["4 West Med/Surg"]
    admin = memberships["admin"]
    assert admin.user.is_staff and admin.user.is_superuser
    assert admin.role == Role.COMMAND_CENTER_LEAD


def signs_in(client: Client, username: str, password: str) -> bool:
    """Through the sign-in page, as people do (the throttling backend needs the request)."""
    client.post(reverse("login"), {"username": username, "password": password})
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("username", DEMO_USERS)
def test_each_demo_user_can_sign_in_with_the_demo_password(
    seeded: GoLive, client: Client, username: str
) -> None:
    assert signs_in(client, username, DEFAULT_PASSWORD)


def test_a_chosen_password_replaces_the_default(seeded: GoLive, client: Client) -> None:
    output = seed("--password", "another-demo-secret")

    assert not signs_in(client, "agent", DEFAULT_PASSWORD)
    assert signs_in(client, "agent", "another-demo-secret")
    assert "another-demo-secret" in output


def test_it_prints_the_demo_logins_every_time(seeded: GoLive) -> None:
    output = seed()

    lines = output.splitlines()
    for username in DEMO_USERS:
        assert any(line.split()[:1] == [username] and DEFAULT_PASSWORD in line for line in lines)
    assert "Clinic manager" in output


def test_if_empty_seeds_an_empty_database(db: None) -> None:
    seed("--if-empty")

    assert GoLive.objects.filter(name=GO_LIVE_NAME).exists()


def test_if_empty_leaves_a_database_with_another_go_live_alone(mercy: GoLive) -> None:
    before = counts()

    output = seed("--if-empty")

    assert counts() == before
    assert "nothing seeded" in output
    assert "Demo logins" not in output


def test_if_empty_still_prints_the_logins_when_the_demo_exists(seeded: GoLive) -> None:
    output = seed("--if-empty")

    assert "nothing seeded" in output
    assert "Demo logins" in output
