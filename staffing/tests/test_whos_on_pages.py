"""The who's-on-now board: for every member, as JSON, and on a wall screen through a secret link."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from golive.models import GoLive, Site, Unit
from staffing.feeds import create_share_link, revoke_share_link
from staffing.models import Assignment, ShareLink, Shift, SupportPerson, SupportRole
from staffing.services import check_in
from staffing.tests.conftest import MakePerson, MakeShift, local
from staffing.tests.test_whos_on import crowd, put_on

SignIn = Callable[[User], Client]
# Session, user and memberships (3); units, shifts, assignments and skills (4); the filters' sites
# and units (2); a clinic manager's units for the print links (1). After a first page, which also
# saves the session (the current go-live chosen).
BOARD_QUERY_BUDGET = 10


@pytest.fixture
def overnight(now: dt.datetime, make_shift: MakeShift) -> Shift:
    """Last night's shift on 4 West, 19:00-07:00: on at 06:00 this morning."""
    return make_shift(local(2, 19), local(3, 7), needed=3, label="Night")


@pytest.fixture
def on_the_floor(
    sam: SupportPerson,
    vera: SupportPerson,
    make_person: MakePerson,
    make_shift: MakeShift,
    overnight: Shift,
    ed: Unit,
    front_desk: Unit,
) -> dict[str, Assignment]:
    """Sam checked in at 18:52 last night; Vera started at 05:50 and has not checked in yet;
    Lou is late on the ED night; Fran starts at 07:00 at the front desk."""
    sam_on = put_on(overnight, sam)
    with time_machine.travel(local(2, 18, 52), tick=False):
        check_in(assignment=sam_on, actor=None)
    lou = make_person("Lou Late", phone="312-555-0177", sms_number="+13125550177")
    ed_night = make_shift(local(2, 19), local(3, 7), unit=ed)
    early = make_shift(local(3, 5, 50), local(3, 14), label="Early")
    front = make_shift(local(3, 7), local(3, 15), unit=front_desk)
    return {
        "sam": sam_on,
        "vera": put_on(early, vera),
        "lou": put_on(ed_night, lou, late_at=local(2, 19, 15)),
        "fran": put_on(front, make_person("Fran Front", phone="847-555-0101")),
    }


def cards(response: HttpResponse) -> list[str]:
    """The unit names of the board's cards, in order."""
    return re.findall(r'id="board-unit-\d+">([^<]+)</h3>', response.content.decode())


# --- The signed-in board --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "member", ["lead_lena", "manager_maria", "agent_alex", "super_sam", "nurse_nina"]
)
def test_every_member_of_the_go_live_sees_the_board(
    member: str, request: pytest.FixtureRequest, client_for: SignIn, on_the_floor: dict
) -> None:
    user = request.getfixturevalue(member)

    response = client_for(user).get(reverse("staffing:whos_on"))

    assert response.status_code == 200
    assert "Sam Super" in response.content.decode()


def test_the_board_says_in_words_who_checked_in_who_has_not_and_who_is_late(
    client_for: SignIn, lead_lena: User, on_the_floor: dict
) -> None:
    page = client_for(lead_lena).get(reverse("staffing:whos_on")).content.decode()

    assert "Checked in 18:52" in page
    assert "Not checked in" in page  # Vera
    assert "Late: not checked in" in page  # Lou
    assert 'href="tel:312-555-0190"' in page  # tap to call Sam
    assert 'href="sms:+13125550177"' in page
    # Fran starts at 07:00: she is next, not on.
    fran = page[page.index("Fran Front") :]
    assert "Tue 07:00–15:00" in fran
    assert '<span class="badge text-bg-light border">Scheduled</span>' in fran


def test_a_unit_with_nobody_on_shift_says_so(
    client_for: SignIn, agent_alex: User, on_the_floor: dict, mercy_general: Site, now: dt.datetime
) -> None:
    Unit.objects.create(site=mercy_general, name="Pharmacy")

    response = client_for(agent_alex).get(reverse("staffing:whos_on"))

    assert cards(response) == ["4 West Med/Surg", "Emergency Department", "Pharmacy", "Front Desk"]
    assert "Nobody on shift now" in response.content.decode()


def test_it_filters_by_site_unit_and_role(
    client_for: SignIn,
    lead_lena: User,
    on_the_floor: dict,
    ed: Unit,
    northside: Site,
) -> None:
    client = client_for(lead_lena)
    url = reverse("staffing:whos_on")

    by_unit = client.get(url, {"unit": ed.pk})
    by_site = client.get(url, {"site": northside.pk})
    by_role = client.get(url, {"role": SupportRole.VENDOR_CONSULTANT}).content.decode()

    assert cards(by_unit) == ["Emergency Department"]
    assert "Lou Late" in by_unit.content.decode()
    assert "Sam Super" not in by_unit.content.decode()
    assert cards(by_site) == ["Front Desk"]
    assert "Vera Vendor" in by_role
    assert "Sam Super" not in by_role


def test_a_bad_filter_is_answered_with_a_message_not_an_error(
    client_for: SignIn, lead_lena: User, on_the_floor: dict, ed: Unit, northside: Site
) -> None:
    client = client_for(lead_lena)

    unknown = client.get(reverse("staffing:whos_on"), {"unit": "999999", "role": "wizard"})
    mismatch = client.get(reverse("staffing:whos_on"), {"unit": ed.pk, "site": northside.pk})

    assert unknown.status_code == 200
    assert "Choose a unit from the list." in unknown.content.decode()
    assert "Choose a role from the list." in unknown.content.decode()
    assert "Emergency Department is not at Northside Clinic" in mismatch.content.decode()


def test_the_board_refreshes_itself_every_minute_with_the_same_partial(
    client_for: SignIn, lead_lena: User, on_the_floor: dict, ed: Unit
) -> None:
    client = client_for(lead_lena)
    url = f"{reverse('staffing:whos_on')}?unit={ed.pk}"

    page = client.get(url).content.decode()
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert 'hx-trigger="every 60s"' in page
    assert f'hx-get="{reverse("staffing:whos_on")}?unit={ed.pk}"' in page
    assert partial.strip().startswith('<div id="gl-board"')
    assert "<html" not in partial
    assert "Lou Late" in partial


def test_the_wall_display_uses_large_type_and_drops_the_filters(
    client_for: SignIn, nurse_nina: User, on_the_floor: dict
) -> None:
    page = client_for(nurse_nina).get(reverse("staffing:whos_on"), {"wall": "1"}).content.decode()

    assert 'class="gl-wall"' in page
    assert 'aria-label="Filter the board"' not in page
    assert "Leave the wall display" in page


def test_print_links_follow_the_print_rules(
    client_for: SignIn, manager_maria: User, super_sam: User, on_the_floor: dict, ed: Unit
) -> None:
    maria_page = client_for(manager_maria).get(reverse("staffing:whos_on")).content.decode()
    sam_page = client_for(super_sam).get(reverse("staffing:whos_on")).content.decode()

    assert reverse("staffing:print_unit_day", args=[ed.pk, "2026-11-03"]) in maria_page
    assert "Print today's sign-in sheet" in maria_page
    assert maria_page.count("Print today's sign-in sheet") == 2  # Mercy General's units only
    assert "Print today's sign-in sheet" not in sam_page


def test_someone_else_s_go_live_never_shows(
    client_for: SignIn, outsider_oscar: User, on_the_floor: dict
) -> None:
    page = client_for(outsider_oscar).get(reverse("staffing:whos_on")).content.decode()

    assert "Sam Super" not in page
    assert "4 West" not in page


def test_a_visitor_must_sign_in(client: Client) -> None:
    response = client.get(reverse("staffing:whos_on"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("people", [10, 200])
def test_the_board_costs_the_same_queries_however_many_people_are_on(
    people: int,
    client_for: SignIn,
    manager_maria: User,
    mercy: GoLive,
    overnight: Shift,
    ed: Unit,
    front_desk: Unit,
    make_shift: MakeShift,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    crowd(mercy, [overnight, make_shift(local(3, 7), local(3, 19), unit=ed)], people)
    client = client_for(manager_maria)
    client.get(reverse("staffing:whos_on"))

    with django_assert_max_num_queries(BOARD_QUERY_BUDGET):
        response = client.get(reverse("staffing:whos_on"))
    with django_assert_max_num_queries(BOARD_QUERY_BUDGET):
        client.get(reverse("staffing:whos_on"), {"role": "super_user"}, headers={"HX-Request": "1"})
    with django_assert_max_num_queries(BOARD_QUERY_BUDGET):
        client.get(reverse("staffing:whos_on_json"))

    assert response.content.decode().count('data-testid="board-person"') == people


# --- JSON -----------------------------------------------------------------------------------------


def test_the_json_has_the_board_s_data_with_times_in_the_go_live_s_zone(
    client_for: SignIn, agent_alex: User, on_the_floor: dict, mercy: GoLive, super_sam: User
) -> None:
    response = client_for(agent_alex).get(reverse("staffing:whos_on_json"))

    data = response.json()
    assert response["Content-Type"] == "application/json"
    assert data["go_live"] == {"id": mercy.pk, "name": mercy.name, "time_zone": "America/Chicago"}
    assert data["at"] == "2026-11-03T06:00:00-06:00"
    mercy_general, northside = data["sites"]
    four_west, ed = mercy_general["units"]
    sam, vera = four_west["on_now"]
    assert sam == {
        "assignment_id": on_the_floor["sam"].pk,
        "shift_id": on_the_floor["sam"].shift_id,
        "person": {
            "id": on_the_floor["sam"].person_id,
            "name": "Sam Super",
            "role": "super_user",
            "role_label": "Super user",
            "phone": "312-555-0190",
            "sms_number": "",
            "email": "sam.super@mercy.example",
            "user_id": super_sam.pk,
            "skills": [],
        },
        "unit": {"id": four_west["id"], "name": "4 West Med/Surg"},
        "site": {"id": mercy_general["id"], "name": "Mercy General"},
        "shift_label": "Night",
        "shift_role": "super_user",
        "start": "2026-11-02T19:00:00-06:00",
        "end": "2026-11-03T07:00:00-06:00",
        "hours": 12.0,
        "status": "checked_in",
        "status_label": "Checked in",
        "checked_in": True,
        "checked_in_at": "2026-11-02T18:52:00-06:00",
        "late": False,
    }
    assert vera["person"]["skills"] == ["Orders"]
    assert (vera["checked_in"], vera["checked_in_at"], vera["late"]) == (False, None, False)
    assert ed["on_now"][0]["late"] is True
    assert northside["units"][0]["on_now"] == []
    assert northside["units"][0]["next"][0]["person"]["name"] == "Fran Front"


def test_the_json_refuses_a_bad_filter_with_its_reason(
    client_for: SignIn, agent_alex: User, mercy: GoLive
) -> None:
    response = client_for(agent_alex).get(reverse("staffing:whos_on_json"), {"site": "nope"})

    assert response.status_code == 400
    assert response.json()["errors"]["site"][0]["message"] == "Choose a site from the list."


def test_the_json_needs_a_signed_in_member(client: Client) -> None:
    assert client.get(reverse("staffing:whos_on_json")).status_code == 302


# --- The wall screen through a secret link --------------------------------------------------------


def test_a_board_link_opens_the_board_without_a_login_and_is_never_cached(
    client: Client, lead_lena: User, on_the_floor: dict, mercy: GoLive
) -> None:
    link = create_share_link(go_live=mercy, kind=ShareLink.Kind.BOARD, actor=lead_lena)

    response = client.get(reverse("staffing:board", args=[link.token]))

    page = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "noindex" in response["X-Robots-Tag"]
    assert "Sam Super" in page
    assert "Fran Front" in page
    assert 'hx-trigger="every 60s"' in page
    # Only phone links and the page's own refresh: nothing that needs a login.
    links = re.findall(r'href="([^"]+)"', page)
    assert links
    assert all(href.startswith(("tel:", "sms:", "/static/")) for href in links), links


def test_a_board_link_shows_only_its_site_or_unit(
    client: Client, lead_lena: User, on_the_floor: dict, mercy: GoLive, northside: Site, ed: Unit
) -> None:
    site_link = create_share_link(
        go_live=mercy, kind=ShareLink.Kind.BOARD, actor=lead_lena, site=northside
    )
    unit_link = create_share_link(
        go_live=mercy, kind=ShareLink.Kind.BOARD, actor=lead_lena, unit=ed
    )

    site_board = client.get(reverse("staffing:board", args=[site_link.token]))
    unit_board = client.get(reverse("staffing:board", args=[unit_link.token]))

    assert cards(site_board) == ["Front Desk"]
    assert "Who's on now · Northside Clinic" in site_board.content.decode()
    assert cards(unit_board) == ["Emergency Department"]
    assert "Sam Super" not in unit_board.content.decode()


def test_a_revoked_or_unknown_board_link_is_a_plain_404(
    client: Client, lead_lena: User, on_the_floor: dict, mercy: GoLive
) -> None:
    link = create_share_link(go_live=mercy, kind=ShareLink.Kind.BOARD, actor=lead_lena)
    feed = create_share_link(
        go_live=mercy,
        kind=ShareLink.Kind.UNIT_FEED,
        actor=lead_lena,
        unit=on_the_floor["sam"].shift.unit,
    )
    assert revoke_share_link(link=link)

    for token in (link.token, "no-such-token", feed.token):
        response = client.get(reverse("staffing:board", args=[token]))
        page = response.content.decode()
        assert response.status_code == 404
        assert "This board link does not work" in page
        assert "<a " not in page  # no link that needs a sign-in
        assert response["Cache-Control"] == "no-store"


def test_a_wall_screen_reloads_when_its_link_is_revoked(
    client: Client, lead_lena: User, mercy: GoLive
) -> None:
    link = create_share_link(go_live=mercy, kind=ShareLink.Kind.BOARD, actor=lead_lena)
    url = reverse("staffing:board", args=[link.token])
    assert "HX-Refresh" not in client.get(url, headers={"HX-Request": "true"})

    revoke_share_link(link=link)
    response = client.get(url, headers={"HX-Request": "true"})

    # htmx does not swap a 404: the header makes the screen reload into the "does not work" page.
    assert response.status_code == 404
    assert response["HX-Refresh"] == "true"


@pytest.mark.parametrize("people", [10, 200])
def test_the_wall_screen_costs_the_same_queries_however_many_people_are_on(
    people: int,
    client: Client,
    mercy: GoLive,
    overnight: Shift,
    front_desk: Unit,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    crowd(mercy, [overnight], people)
    link = create_share_link(go_live=mercy, kind=ShareLink.Kind.BOARD, actor=None)

    with django_assert_max_num_queries(5):
        response = client.get(reverse("staffing:board", args=[link.token]))

    assert response.content.decode().count('data-testid="board-person"') == people
