"""The share links page: planners share boards and unit calendars, everyone on the roster their own."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import GoLive, Site, Unit
from staffing.feeds import create_share_link
from staffing.models import ShareLink, SupportPerson

SignIn = Callable[[User], Client]
URL = "/staffing/share-links/"


@pytest.fixture
def links(
    mercy: GoLive,
    lead_lena: User,
    manager_maria: User,
    ed: Unit,
    front_desk: Unit,
    northside: Site,
    sam: SupportPerson,
    vera: SupportPerson,
    now: dt.datetime,
) -> dict[str, ShareLink]:
    board = ShareLink.Kind.BOARD
    return {
        "whole": create_share_link(go_live=mercy, kind=board, actor=lead_lena),
        "ed": create_share_link(go_live=mercy, kind=board, actor=manager_maria, unit=ed),
        "northside": create_share_link(go_live=mercy, kind=board, actor=lead_lena, site=northside),
        "front_feed": create_share_link(
            go_live=mercy, kind=ShareLink.Kind.UNIT_FEED, actor=lead_lena, unit=front_desk
        ),
        "sam": create_share_link(
            go_live=mercy, kind=ShareLink.Kind.PERSON_FEED, actor=sam.user, person=sam
        ),
        "vera": create_share_link(
            go_live=mercy, kind=ShareLink.Kind.PERSON_FEED, actor=lead_lena, person=vera
        ),
    }


def listed(response: Any) -> set[str]:
    return {row.link.token for row in response.context["active_rows"]}


def test_the_url_names_the_share_links_page() -> None:
    assert reverse("staffing:share_links") == URL


def test_the_lead_sees_and_manages_every_link_with_its_creator(
    client_for: SignIn, lead_lena: User, links: dict[str, ShareLink]
) -> None:
    response = client_for(lead_lena).get(URL)

    page = response.content.decode()
    assert listed(response) == {link.token for link in links.values()}
    assert "Board of the whole go-live" in page
    assert "Board of Mercy General · Emergency Department" in page
    assert "Calendar of Sam Super" in page
    assert "by Maria Manager" in page
    assert "Tue 3 Nov 06:00" in page
    assert f"http://testserver/staffing/board/{links['whole'].token}/" in page
    assert f"webcal://testserver/staffing/feeds/people/{links['sam'].token}.ics" in page


def test_a_clinic_manager_sees_the_links_of_her_units_only(
    client_for: SignIn, manager_maria: User, links: dict[str, ShareLink]
) -> None:
    response = client_for(manager_maria).get(URL)

    # Not the whole go-live (she does not manage Northside), nor anyone's calendar.
    assert listed(response) == {links["ed"].token}
    choices = dict(response.context["form"].fields["scope"].choices)
    assert "go-live" not in choices
    assert list(choices.values()) == [
        "Choose…",
        "Site: Mercy General",
        "Unit: Mercy General · 4 West Med/Surg",
        "Unit: Mercy General · Emergency Department",
    ]


def test_a_clinic_manager_creates_a_board_for_her_site(
    client_for: SignIn, manager_maria: User, mercy_general: Site, ed: Unit
) -> None:
    response = client_for(manager_maria).post(
        URL, {"kind": "board", "scope": f"site:{mercy_general.pk}"}
    )

    assert response.status_code == 302
    link = ShareLink.objects.get()
    assert (link.kind, link.site, link.unit, link.created_by) == (
        "board",
        mercy_general,
        None,
        manager_maria,
    )


def test_the_lead_creates_a_unit_calendar(
    client_for: SignIn, lead_lena: User, front_desk: Unit
) -> None:
    client_for(lead_lena).post(URL, {"kind": "unit_feed", "scope": f"unit:{front_desk.pk}"})

    link = ShareLink.objects.get()
    assert (link.kind, link.unit, link.site) == ("unit_feed", front_desk, None)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "unit_feed", "scope": "go-live"}, "scope", "A unit calendar needs a unit"),
        (
            {"kind": "board", "scope": "site:{northside}"},
            "scope",
            "Choose one of the sites or units",
        ),
        ({"kind": "board", "scope": ""}, "scope", "Choose what the link shows."),
        (
            {"kind": "person_feed", "scope": "site:{mercy_general}"},
            "kind",
            "Choose a board or a unit calendar.",
        ),
    ],
)
def test_a_bad_request_saves_nothing_and_says_why(
    data: dict[str, str],
    field: str,
    message: str,
    client_for: SignIn,
    manager_maria: User,
    mercy_general: Site,
    northside: Site,
    lead_lena: User,
) -> None:
    user = lead_lena if data["kind"] == "unit_feed" else manager_maria
    posted = {
        key: value.format(northside=northside.pk, mercy_general=mercy_general.pk)
        for key, value in data.items()
    }

    response = client_for(user).post(URL, posted)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not ShareLink.objects.exists()


def test_support_staff_manage_only_their_own_calendar(
    client_for: SignIn, super_sam: User, sam: SupportPerson, links: dict[str, ShareLink]
) -> None:
    client = client_for(super_sam)

    response = client.get(URL)
    created = client.post(reverse("staffing:my_feed_link"))
    board_attempt = client.post(URL, {"kind": "board", "scope": "go-live"})

    assert listed(response) == {links["sam"].token}
    assert response.context["form"] is None
    assert "Create my calendar link" in response.content.decode()
    assert created.status_code == 302
    assert ShareLink.objects.filter(person=sam).count() == 2
    assert board_attempt.status_code == 403


def test_support_staff_revoke_their_own_link_and_no_one_else_s(
    client_for: SignIn, super_sam: User, links: dict[str, ShareLink]
) -> None:
    client = client_for(super_sam)

    own = client.post(reverse("staffing:share_link_revoke", args=[links["sam"].pk]))
    other = client.post(reverse("staffing:share_link_revoke", args=[links["vera"].pk]))
    board = client.post(reverse("staffing:share_link_revoke", args=[links["whole"].pk]))

    assert own.status_code == 302
    assert (other.status_code, board.status_code) == (403, 403)
    assert ShareLink.objects.filter(revoked_at__isnull=False).get() == links["sam"]


def test_a_revoked_link_stops_working_at_once_and_is_listed_as_revoked(
    client_for: SignIn, lead_lena: User, links: dict[str, ShareLink], client: Client
) -> None:
    board_url = reverse("staffing:board", args=[links["whole"].token])
    lena = client_for(lead_lena)

    lena.post(reverse("staffing:share_link_revoke", args=[links["whole"].pk]))
    again = lena.post(reverse("staffing:share_link_revoke", args=[links["whole"].pk]), follow=True)

    assert "this link was already revoked" in again.content.decode()
    assert links["whole"].token not in listed(again)
    assert "Board of the whole go-live: created" in again.content.decode()
    lena.logout()
    assert client.get(board_url).status_code == 404


def test_a_clinic_manager_cannot_revoke_a_link_beyond_her_units(
    client_for: SignIn, manager_maria: User, links: dict[str, ShareLink]
) -> None:
    client = client_for(manager_maria)

    for name in ("whole", "northside", "front_feed", "vera"):
        response = client.post(reverse("staffing:share_link_revoke", args=[links[name].pk]))
        assert response.status_code == 403
    assert (
        client.post(reverse("staffing:share_link_revoke", args=[links["ed"].pk])).status_code == 302
    )


def test_someone_off_the_roster_without_planning_rights_is_refused(
    client_for: SignIn, agent_alex: User, nurse_nina: User
) -> None:
    assert client_for(agent_alex).get(URL).status_code == 403
    assert client_for(nurse_nina).post(reverse("staffing:my_feed_link")).status_code == 403


def test_another_go_live_s_link_is_not_found(
    client_for: SignIn, outsider_oscar: User, links: dict[str, ShareLink]
) -> None:
    response = client_for(outsider_oscar).post(
        reverse("staffing:share_link_revoke", args=[links["whole"].pk])
    )

    assert response.status_code == 404
    links["whole"].refresh_from_db()
    assert links["whole"].revoked_at is None


def test_revoking_needs_a_post(client_for: SignIn, lead_lena: User, links: dict) -> None:
    response = client_for(lead_lena).get(
        reverse("staffing:share_link_revoke", args=[links["whole"].pk])
    )

    assert response.status_code == 405


@pytest.mark.parametrize("count", [2, 30])
def test_the_page_costs_the_same_queries_however_many_links(
    count: int,
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    ed: Unit,
    sam: SupportPerson,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for number in range(count):
        create_share_link(
            go_live=mercy,
            kind=ShareLink.Kind.BOARD,
            actor=lead_lena,
            unit=ed if number % 2 else None,
        )
        create_share_link(
            go_live=mercy, kind=ShareLink.Kind.PERSON_FEED, actor=lead_lena, person=sam
        )
    client = client_for(lead_lena)

    with django_assert_max_num_queries(11):
        response = client.get(URL)

    assert len(response.context["active_rows"]) == 2 * count
