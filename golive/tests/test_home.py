"""The home page by role: what each role needs first, only its own go-live, in a fixed number of queries."""

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains, assertTemplateUsed

from golive.models import (
    Application,
    Contact,
    EscalationTier,
    GoLive,
    Notification,
    Site,
    Unit,
)
from golive.views.home import go_live_clock

UTC = dt.UTC
# 09:00 in Chicago on Tuesday 3 November 2026: day 3 of Mercy's go-live (cutover Sunday 05:00).
DAY_3_MORNING = dt.datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
# 22:00 in Chicago the same day: day-shift contacts are off.
DAY_3_NIGHT = dt.datetime(2026, 11, 4, 4, 0, tzinfo=UTC)

SignIn = Callable[[User], Client]


@pytest.fixture
def day_3_morning(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(DAY_3_MORNING, tick=False)


@pytest.fixture
def day_3_night(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(DAY_3_NIGHT, tick=False)


def contact(go_live: GoLive, tier: EscalationTier, name: str, **fields: object) -> Contact:
    fields.setdefault("phone", "312-555-0150")
    return Contact.objects.create(go_live=go_live, tier=tier, name=name, **fields)


@pytest.fixture
def day_analyst(mercy: GoLive, tiers: dict[str, EscalationTier]) -> Contact:
    return contact(
        mercy,
        tiers["command"],
        "Priya Raman",
        title="Orders analyst",
        sms_number="+13125550177",
        pager="312-555-0977",
        hours=Contact.Hours.DAILY,
        window_start=dt.time(7),
        window_end=dt.time(19),
    )


@pytest.fixture
def four_west_super_user(
    mercy: GoLive, tiers: dict[str, EscalationTier], four_west: Unit
) -> Contact:
    super_user = contact(mercy, tiers["floor"], "4 West super users", all_units=False)
    super_user.units.add(four_west)
    return super_user


@pytest.fixture
def front_desk_super_user(
    mercy: GoLive, tiers: dict[str, EscalationTier], front_desk: Unit
) -> Contact:
    super_user = contact(mercy, tiers["floor"], "Front desk super users", all_units=False)
    super_user.units.add(front_desk)
    return super_user


@pytest.fixture
def cmio(mercy: GoLive, tiers: dict[str, EscalationTier]) -> Contact:
    return contact(mercy, tiers["leadership"], "Dr. Helen Park", title="CMIO")


def inbox(user: User, count: int, *, go_live: GoLive, tag: str = "") -> list[Notification]:
    return [
        Notification.objects.create(
            go_live=go_live,
            recipient_user=user,
            channel=Notification.Channel.IN_APP,
            subject=f"Message {i} for {user.username}",
            dedupe_key=f"test:{user.username}:{tag}{i}",
            created_at=DAY_3_MORNING - dt.timedelta(minutes=count - i),
        )
        for i in range(count)
    ]


# --- Who gets in -----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_a_go_live_is_told_so_with_a_403(db: None, client: Client) -> None:
    client.force_login(User.objects.create_user("newcomer", password="x"))

    response = client.get(reverse("home"))

    assert response.status_code == 403
    assertTemplateUsed(response, "golive/no_go_live.html")


# --- Command center lead ---------------------------------------------------------------------------


def test_the_lead_sees_the_go_live_at_a_glance(
    day_3_morning: None,
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    ed: Unit,
    four_west: Unit,
    front_desk: Unit,
    help_desk_contact: Contact,
) -> None:
    Unit.objects.create(site=ed.site, name="Old wing", end_user_count=99, is_active=False)

    response = client_for(lead_lena).get(reverse("home"))

    assertTemplateUsed(response, "golive/home_lead.html")
    assertContains(response, "Day 3")
    assertContains(response, "Sun 1 Nov 2026, 05:00")
    assertContains(response, "Sun 29 Nov 2026, 05:00")
    assert response.context["counts"] == {
        "sites": 2,
        "units": 3,
        "end_users": 120 + 60 + 12,
        "contacts": 1,
    }
    for name in ["Mercy General", "Northside Clinic", "Emergency Department", "Front Desk"]:
        assertContains(response, name)
    assertContains(response, "Inactive")
    for url in [
        reverse("golive:detail", args=[mercy.pk]),
        reverse("golive:directory", args=[mercy.pk]),
        reverse("golive:members", args=[mercy.pk]),
        reverse("golive:notifications"),
    ]:
        assertContains(response, f'href="{url}"')


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (dt.datetime(2026, 10, 29, 11, 0, tzinfo=UTC), "Cutover in 3\xa0days"),
        (dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC), "Cutover in 5\xa0hours"),
        (dt.datetime(2026, 11, 1, 11, 0, tzinfo=UTC), "Day 1"),
        (DAY_3_NIGHT, "Day 3"),
        (dt.datetime(2026, 11, 29, 11, 0, tzinfo=UTC), "Support window ended"),
    ],
)
def test_the_go_live_clock_counts_down_to_cutover_then_counts_days(
    mercy: GoLive, at: dt.datetime, expected: str
) -> None:
    assert go_live_clock(mercy, at) == expected


def test_the_lead_sees_the_countdown_before_cutover(
    time_machine: time_machine.TimeMachineFixture, client_for: SignIn, lead_lena: User
) -> None:
    time_machine.move_to(dt.datetime(2026, 10, 29, 11, 0, tzinfo=UTC), tick=False)

    assertContains(client_for(lead_lena).get(reverse("home")), "Cutover in 3\xa0days")


def test_the_lead_is_warned_of_tiers_with_nobody_available_now(
    day_3_night: None,
    client_for: SignIn,
    lead_lena: User,
    help_desk_contact: Contact,
    day_analyst: Contact,
) -> None:
    response = client_for(lead_lena).get(reverse("home"))

    assertContains(response, "Coverage gap:")
    gaps = {gap.tier_name: gap for gap in response.context["gaps"]}
    assert set(gaps) == {"Tier 2 · Command center", "Leadership line"}
    assertContains(response, "<li>Tier 2 · Command center (1 off duty)</li>", html=True)
    assertContains(response, "<li>Leadership line (no contact at all)</li>", html=True)


def test_the_lead_sees_no_gap_when_every_tier_has_someone_on(
    day_3_morning: None,
    client_for: SignIn,
    lead_lena: User,
    help_desk_contact: Contact,
    day_analyst: Contact,
    cmio: Contact,
) -> None:
    response = client_for(lead_lena).get(reverse("home"))

    assertNotContains(response, "Coverage gap:")
    assertContains(response, "Every tier has at least one contact available now.")


def test_the_lead_sees_the_outbox_of_this_go_live_only(
    day_3_morning: None, client_for: SignIn, lead_lena: User, mercy: GoLive, lakeside: GoLive
) -> None:
    statuses = ["pending", "pending", "sending", "failed", "sent"]
    for i, status in enumerate(statuses):
        Notification.objects.create(
            go_live=mercy,
            recipient_address="ops@mercy.example",
            channel=Notification.Channel.EMAIL,
            subject="Shift reminder",
            dedupe_key=f"test:mercy:{i}",
            status=status,
            created_at=DAY_3_MORNING - dt.timedelta(hours=2 - i),
        )
    Notification.objects.create(
        go_live=lakeside,
        recipient_address="ops@lakeside.example",
        channel=Notification.Channel.EMAIL,
        subject="Not Mercy's",
        dedupe_key="test:lakeside",
        status="failed",
    )

    response = client_for(lead_lena).get(reverse("home"))

    outbox = response.context["outbox"]
    assert (outbox["pending"], outbox["sending"], outbox["failed"]) == (2, 1, 1)
    assertContains(response, "Failed: needs a look")
    assertContains(response, "Oldest waiting since Tue 3 Nov, 07:00 (2\xa0hours ago)")


# --- Clinic manager --------------------------------------------------------------------------------


def test_the_manager_sees_her_units_by_site_and_who_covers_them_now(
    day_3_morning: None,
    client_for: SignIn,
    manager_maria: User,
    mercy: GoLive,
    ed: Unit,
    four_west: Unit,
    front_desk: Unit,
    help_desk_contact: Contact,
    four_west_super_user: Contact,
    front_desk_super_user: Contact,
) -> None:
    four_west.phone = "312-555-0404"
    four_west.save()

    response = client_for(manager_maria).get(reverse("home"))

    assertTemplateUsed(response, "golive/home_manager.html")
    [(site, rows)] = response.context["site_groups"]
    assert site.name == "Mercy General"
    assert {row.unit.name: [c.name for c in row.contacts] for row in rows} == {
        "Emergency Department": [],
        "4 West Med/Surg": ["4 West super users"],
    }
    assertContains(response, 'href="tel:312-555-0404"')
    assertContains(response, f'href="{reverse("golive:unit_edit", args=[four_west.pk])}"')
    assertContains(response, f'href="{reverse("golive:detail", args=[mercy.pk])}"')
    assertContains(response, "Mercy help desk")
    assertContains(response, "180 end users going live")
    assertNotContains(response, "Front Desk")
    assertNotContains(response, "Front desk super users")


def test_the_manager_does_not_see_contacts_off_duty(
    day_3_night: None,
    client_for: SignIn,
    manager_maria: User,
    help_desk_contact: Contact,
    day_analyst: Contact,
) -> None:
    response = client_for(manager_maria).get(reverse("home"))

    assertContains(response, "Mercy help desk")
    assertNotContains(response, "Priya Raman")


# --- Help desk agent and support staff -------------------------------------------------------------


@pytest.mark.parametrize("role_user", ["agent_alex", "super_sam"])
def test_the_desk_sees_who_to_call_now_with_ways_to_reach_them(
    request: pytest.FixtureRequest,
    day_3_morning: None,
    client_for: SignIn,
    role_user: str,
    help_desk_contact: Contact,
    day_analyst: Contact,
    four_west_super_user: Contact,
    orders_app: Application,
) -> None:
    day_analyst.all_applications = False
    day_analyst.save()
    day_analyst.applications.add(orders_app)

    response = client_for(request.getfixturevalue(role_user)).get(reverse("home"))

    assertTemplateUsed(response, "golive/home_desk.html")
    assertContains(response, 'href="tel:312-555-0100"')  # the command center
    assertContains(response, 'href="tel:312-555-0111"')
    assertContains(response, 'href="sms:+13125550177"')
    assertContains(response, 'href="tel:312-555-0977"')
    assertContains(response, "Units: all · Applications: Orders")
    assertContains(response, "Units: 4 West Med/Surg")
    assertContains(response, "Nobody in this tier is available now.")  # the leadership line


def test_the_desk_lists_contacts_off_duty_apart(
    day_3_night: None, client_for: SignIn, agent_alex: User, day_analyst: Contact
) -> None:
    response = client_for(agent_alex).get(reverse("home"))

    [command] = [t for t in response.context["tiers"] if t.tier_name == "Tier 2 · Command center"]
    assert (command.on_now, command.off_now) == ([], [day_analyst])
    assertContains(response, "Off duty now (1)")
    assertNotContains(response, 'href="sms:+13125550177"')


def test_the_desk_shows_the_latest_five_notifications_of_the_user_and_go_live_only(
    day_3_morning: None,
    client_for: SignIn,
    agent_alex: User,
    super_sam: User,
    mercy: GoLive,
    lakeside: GoLive,
) -> None:
    messages = inbox(agent_alex, 6, go_live=mercy)
    inbox(super_sam, 1, go_live=mercy)
    Notification.objects.create(
        go_live=lakeside,
        recipient_user=agent_alex,
        channel=Notification.Channel.IN_APP,
        subject="From a go-live Alex left",
        dedupe_key="test:lakeside:alex",
        created_at=DAY_3_MORNING,
    )

    response = client_for(agent_alex).get(reverse("home"))

    assert response.context["notifications"] == messages[:0:-1]
    assertNotContains(response, "Message 0 for agent_alex")
    assertNotContains(response, "for super_sam")
    assertNotContains(response, "From a go-live Alex left")
    assertContains(response, f'href="{reverse("golive:notifications")}"')


# --- Floor staff -----------------------------------------------------------------------------------


def test_floor_staff_see_their_unit_and_who_to_call_for_it_in_tier_order(
    day_3_morning: None,
    client_for: SignIn,
    nurse_nina: User,
    help_desk_contact: Contact,
    day_analyst: Contact,
    cmio: Contact,
    four_west_super_user: Contact,
    front_desk_super_user: Contact,
) -> None:
    response = client_for(nurse_nina).get(reverse("home"))

    assertTemplateUsed(response, "golive/home_floor.html")
    [cover] = response.context["unit_covers"]
    assert cover.unit.name == "4 West Med/Surg"
    # In tier order; the leadership line (the CMIO) is reached through the command center.
    assert [c.name for c in cover.contacts] == [
        "4 West super users",
        "Mercy help desk",
        "Priya Raman",
    ]
    assertNotContains(response, cmio.name)
    assertContains(response, "Who to call now for 4 West Med/Surg")
    assertContains(response, "Call the command center · 312-555-0100")
    assertNotContains(response, "Front desk super users")


def test_floor_staff_at_night_see_only_who_is_on(
    day_3_night: None,
    client_for: SignIn,
    nurse_nina: User,
    help_desk_contact: Contact,
    day_analyst: Contact,
) -> None:
    response = client_for(nurse_nina).get(reverse("home"))

    [cover] = response.context["unit_covers"]
    assert cover.contacts == [help_desk_contact]


# --- Isolation -------------------------------------------------------------------------------------


def test_no_home_page_shows_another_go_lives_data(
    day_3_morning: None,
    client_for: SignIn,
    outsider_oscar: User,
    mercy_general: Site,
    ed: Unit,
    help_desk_contact: Contact,
) -> None:
    response = client_for(outsider_oscar).get(reverse("home"))

    assertContains(response, "Lakeside Go-Live")
    for mercy_name in ["Mercy", "Emergency Department", "312-555-0111"]:
        assertNotContains(response, mercy_name)


# --- Query counts ----------------------------------------------------------------------------------


def grow(go_live: GoLive, tiers: dict[str, EscalationTier], n: int, tag: str) -> None:
    """Add n units to Mercy General, n contacts with unit and application limits covering 4 West,
    n in-app notifications per user and n outbox rows; `tag` keeps names unique between calls."""
    site = Site.objects.get(name="Mercy General")
    units = Unit.objects.bulk_create(
        Unit(site=site, name=f"Unit {tag}{i}", end_user_count=i, phone="312-555-0160")
        for i in range(n)
    )
    apps = Application.objects.bulk_create(
        Application(go_live=go_live, name=f"App {tag}{i}") for i in range(n)
    )
    four_west = Unit.objects.get(name="4 West Med/Surg")
    for i in range(n):
        limited = contact(
            go_live,
            list(tiers.values())[i % len(tiers)],
            f"Contact {tag}{i}",
            all_units=False,
            all_applications=False,
            sms_number="+13125550190",
        )
        limited.units.add(four_west, *units[:3])
        limited.applications.add(*apps[:3])
    for user in User.objects.all():
        inbox(user, n, go_live=go_live, tag=tag)
    Notification.objects.bulk_create(
        Notification(
            go_live=go_live,
            recipient_address="+13125550191",
            channel=Notification.Channel.SMS,
            subject="Reminder",
            dedupe_key=f"test:grow:{tag}{i}",
            status=["pending", "failed"][i % 2],
        )
        for i in range(n)
    )


@pytest.mark.parametrize("username", ["lead_lena", "manager_maria", "agent_alex", "nurse_nina"])
def test_each_home_page_makes_as_many_queries_with_many_rows_as_with_few(
    request: pytest.FixtureRequest,
    day_3_morning: None,
    client_for: SignIn,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    username: str,
    mercy: GoLive,
    mercy_general: Site,
    four_west: Unit,
    tiers: dict[str, EscalationTier],
) -> None:
    client = client_for(request.getfixturevalue(username))
    grow(mercy, tiers, 1, "a")
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("home")).status_code == 200

    grow(mercy, tiers, 40, "b")
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse("home")).status_code == 200
