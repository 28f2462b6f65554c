"""A consultant in two go-lives lists them and switches the current one."""

from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from conftest import CUTOVER
from golive.models import GoLive, Membership, Role
from golive.permissions import SESSION_KEY

SignIn = Callable[[User], Client]


@pytest.fixture
def lena_at_lakeside(lead_lena: User, lakeside: GoLive) -> Membership:
    """Lena also supports the Lakeside go-live, as support staff."""
    return Membership.objects.create(user=lead_lena, go_live=lakeside, role=Role.SUPPORT_STAFF)


def on_go_live(client: Client, go_live: GoLive) -> Client:
    session = client.session
    session[SESSION_KEY] = go_live.pk
    session.save()
    return client


# --- The list of one's go-lives -------------------------------------------------------------------


@time_machine.travel(CUTOVER.replace(day=3), tick=False)
def test_the_list_shows_each_go_live_with_role_phase_cutover_and_day(
    client_for: SignIn, lead_lena: User, mercy: GoLive, lena_at_lakeside: Membership
) -> None:
    response = client_for(lead_lena).get(reverse("golive:list"))

    for text in [
        "Mercy Health Wave 1",
        "Command center lead",
        "Live",
        "Lakeside Go-Live",
        "Support staff",
        "Planning",
        "Day 3",
        "Sun 1 Nov 2026, 05:00",  # Mercy's cutover in Chicago
        "Sun 1 Nov 2026, 06:00",  # Lakeside's in New York
        "New go-live",
    ]:
        assertContains(response, text)


def test_the_list_links_only_to_pages_the_role_opens(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    lakeside: GoLive,
    lena_at_lakeside: Membership,
) -> None:
    response = client_for(lead_lena).get(reverse("golive:list"))

    assertContains(response, reverse("golive:members", args=[mercy.pk]))
    assertNotContains(response, reverse("golive:members", args=[lakeside.pk]))
    assertContains(response, reverse("golive:directory", args=[lakeside.pk]))


def test_floor_staff_are_not_offered_a_new_go_live(client_for: SignIn, nurse_nina: User) -> None:
    response = client_for(nurse_nina).get(reverse("golive:list"))
    assertContains(response, "Mercy Health Wave 1")
    assertNotContains(response, "New go-live")


def test_a_user_without_go_lives_is_told_so(client_for: SignIn, db: None) -> None:
    loner = User.objects.create_user("lonely_lou", password="x")
    response = client_for(loner).get(reverse("golive:list"))
    assertContains(response, "not part of any go-live")


def test_the_list_never_shows_another_organizations_go_live(
    client_for: SignIn, nurse_nina: User, outsider_oscar: User
) -> None:
    assertNotContains(client_for(nurse_nina).get(reverse("golive:list")), "Lakeside")


# --- Switching ------------------------------------------------------------------------------------


def test_switching_makes_another_of_ones_go_lives_current(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    lakeside: GoLive,
    lena_at_lakeside: Membership,
) -> None:
    client = on_go_live(client_for(lead_lena), mercy)
    next_url = reverse("golive:directory", args=[lakeside.pk])

    response = client.post(reverse("golive:switch"), {"go_live": lakeside.pk, "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == next_url
    assert client.session[SESSION_KEY] == lakeside.pk
    page = client.get(next_url)
    assert page.context["current_go_live"] == lakeside
    assertContains(page, "You are now working on Lakeside Go-Live.")


def test_switching_back_and_forth_keeps_each_role(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    lakeside: GoLive,
    lena_at_lakeside: Membership,
) -> None:
    client = client_for(lead_lena)
    client.post(reverse("golive:switch"), {"go_live": lakeside.pk})
    assert client.get(reverse("golive:list")).context["membership"].role == Role.SUPPORT_STAFF
    client.post(reverse("golive:switch"), {"go_live": mercy.pk})
    assert client.get(reverse("golive:list")).context["membership"].role == Role.COMMAND_CENTER_LEAD


def test_it_refuses_a_switch_to_a_go_live_one_is_not_a_member_of(
    client_for: SignIn, lead_lena: User, mercy: GoLive, lakeside: GoLive
) -> None:
    client = on_go_live(client_for(lead_lena), mercy)

    response = client.post(reverse("golive:switch"), {"go_live": lakeside.pk, "next": "/"})

    assert response.status_code == 404
    assert client.session[SESSION_KEY] == mercy.pk


def test_it_refuses_a_switch_to_a_go_live_one_has_left(
    client_for: SignIn, lead_lena: User, mercy: GoLive, lena_at_lakeside: Membership
) -> None:
    Membership.objects.filter(pk=lena_at_lakeside.pk).update(is_active=False)
    client = on_go_live(client_for(lead_lena), mercy)

    response = client.post(reverse("golive:switch"), {"go_live": lena_at_lakeside.go_live_id})

    assert response.status_code == 404
    assert client.session[SESSION_KEY] == mercy.pk


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_it_refuses_a_switch_to_nothing_or_nonsense(
    client_for: SignIn, lead_lena: User, value: str
) -> None:
    response = client_for(lead_lena).post(reverse("golive:switch"), {"go_live": value})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/steal", "//evil.example/", "javascript:alert(1)", ""],
)
def test_a_next_address_off_the_site_is_ignored(
    client_for: SignIn,
    lead_lena: User,
    lakeside: GoLive,
    lena_at_lakeside: Membership,
    next_url: str,
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:switch"), {"go_live": lakeside.pk, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_switching_needs_a_post(client_for: SignIn, lead_lena: User, mercy: GoLive) -> None:
    response = client_for(lead_lena).get(reverse("golive:switch"), {"go_live": mercy.pk})
    assert response.status_code == 405


def test_switching_needs_sign_in(client: Client, mercy: GoLive) -> None:
    response = client.post(reverse("golive:switch"), {"go_live": mercy.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
