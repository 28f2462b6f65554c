"""The command center's set-up pages: go-lives, sites, units, applications and members."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains

from golive.models import (
    Application,
    GoLive,
    Membership,
    Role,
    Site,
    Unit,
)
from golive.permissions import SESSION_KEY

SignIn = Callable[[User], Client]
# A signed-in page costs 5 queries of its own (session, user, memberships, session save) and the
# list pages below about 6 more; the slack is far below what one query per row would add.
QUERY_BUDGET = 13
CAST = ["lead_lena", "manager_maria", "agent_alex", "super_sam", "nurse_nina"]


@dataclass(frozen=True)
class Page:
    name: str
    fixture: str
    allowed: frozenset[str]


LEAD = frozenset({"lead_lena"})
MANAGERS = frozenset({"lead_lena", "manager_maria"})

PAGES = [
    Page("golive:detail", "mercy", MANAGERS),
    Page("golive:edit", "mercy", LEAD),
    Page("golive:site_create", "mercy", LEAD),
    Page("golive:site_detail", "mercy_general", MANAGERS),
    Page("golive:site_edit", "mercy_general", LEAD),
    Page("golive:unit_create", "mercy_general", LEAD),
    Page("golive:unit_edit", "four_west", MANAGERS),
    Page("golive:applications", "mercy", MANAGERS),
    Page("golive:application_edit", "orders_app", LEAD),
    Page("golive:members", "mercy", LEAD),
    Page("golive:member_edit", "lena_membership", LEAD),
]


@pytest.fixture
def lena_membership(lead_lena: User) -> Membership:
    return lead_lena.memberships.get()


def form_errors(response: object, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])  # type: ignore[attr-defined]


# --- Who may open what ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_each_page_opens_for_its_roles_and_refuses_the_others(
    request: pytest.FixtureRequest, client_for: SignIn, page: Page, username: str
) -> None:
    user = request.getfixturevalue(username)
    target = request.getfixturevalue(page.fixture)

    response = client_for(user).get(reverse(page.name, args=[target.pk]))

    assert response.status_code == (200 if username in page.allowed else 403)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_an_outsider_gets_not_found_on_every_mercy_page(
    request: pytest.FixtureRequest, client_for: SignIn, outsider_oscar: User, page: Page
) -> None:
    target = request.getfixturevalue(page.fixture)
    client = client_for(outsider_oscar)

    assert client.get(reverse(page.name, args=[target.pk])).status_code == 404
    assert client.post(reverse(page.name, args=[target.pk]), {"name": "X"}).status_code == 404


def test_an_unknown_id_is_not_found(client_for: SignIn, lead_lena: User) -> None:
    assert (
        client_for(lead_lena).get(reverse("golive:site_detail", args=[999999])).status_code == 404
    )


def test_a_visitor_is_sent_to_sign_in(client: Client, mercy: GoLive) -> None:
    response = client.get(reverse("golive:detail", args=[mercy.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_former_member_is_treated_as_an_outsider(
    client_for: SignIn, manager_maria: User, mercy: GoLive
) -> None:
    manager_maria.memberships.update(is_active=False)
    assert (
        client_for(manager_maria).get(reverse("golive:detail", args=[mercy.pk])).status_code == 404
    )


# --- Creating and editing a go-live ---------------------------------------------------------------


def go_live_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Riverside Wave 2",
        "organization": "Mercy Health",
        "time_zone": "America/New_York",
        "cutover_at": "2027-03-01T05:00",
        "support_ends_at": "2027-03-29T17:00",
        "phase": "planning",
        "command_center_phone": "312-555-0200",
        "command_center_location": "Riverside, room 12",
    } | overrides


def test_a_lead_opens_a_go_live_and_leads_it(client_for: SignIn, lead_lena: User) -> None:
    client = client_for(lead_lena)
    response = client.post(reverse("golive:create"), go_live_data())

    go_live = GoLive.objects.get(name="Riverside Wave 2")
    assert response.status_code == 302
    assert response["Location"] == reverse("golive:detail", args=[go_live.pk])
    assert lead_lena.memberships.get(go_live=go_live).role == Role.COMMAND_CENTER_LEAD
    assert go_live.tiers.count() == 5
    assert go_live.applications.exists()
    assert client.session[SESSION_KEY] == go_live.pk


def test_times_are_read_in_the_chosen_zone_not_the_servers(
    client_for: SignIn, lead_lena: User
) -> None:
    client_for(lead_lena).post(
        reverse("golive:create"),
        go_live_data(
            time_zone="Europe/London",
            cutover_at="2027-03-01T05:00",
            support_ends_at="2027-07-01T05:00",
        ),
    )

    go_live = GoLive.objects.get(name="Riverside Wave 2")
    assert go_live.cutover_at == dt.datetime(2027, 3, 1, 5, 0, tzinfo=dt.UTC)
    assert go_live.support_ends_at == dt.datetime(2027, 7, 1, 4, 0, tzinfo=dt.UTC)  # BST


def test_it_refuses_a_window_ending_before_cutover(client_for: SignIn, lead_lena: User) -> None:
    before = GoLive.objects.count()
    response = client_for(lead_lena).post(
        reverse("golive:create"), go_live_data(support_ends_at="2027-02-01T05:00")
    )

    assert response.status_code == 200
    assert form_errors(response, "support_ends_at") == [
        "The support window must end after the cutover."
    ]
    assertContains(response, "The support window must end after the cutover.")
    assert GoLive.objects.count() == before


def test_it_refuses_a_window_ending_at_the_cutover(client_for: SignIn, lead_lena: User) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:create"), go_live_data(support_ends_at="2027-03-01T05:00")
    )
    assert form_errors(response, "support_ends_at")
    assert not GoLive.objects.filter(name="Riverside Wave 2").exists()


def test_it_refuses_a_time_the_clocks_skip(client_for: SignIn, lead_lena: User) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:create"),
        go_live_data(time_zone="America/Chicago", cutover_at="2027-03-14T02:30"),
    )
    assert "clocks go forward" in form_errors(response, "cutover_at")[0]
    assert not GoLive.objects.filter(name="Riverside Wave 2").exists()


def test_it_refuses_a_time_the_clocks_show_twice(client_for: SignIn, lead_lena: User) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:create"),
        go_live_data(time_zone="America/Chicago", cutover_at="2026-11-01T01:30"),
    )
    assert "clocks go back" in form_errors(response, "cutover_at")[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus_Mons"),
        ("cutover_at", "next tuesday"),
        ("support_ends_at", ""),
        ("name", ""),
        ("phase", "party"),
        ("command_center_phone", "call Lena"),
    ],
)
def test_bad_go_live_input_is_refused_field_by_field(
    client_for: SignIn, lead_lena: User, field: str, value: str
) -> None:
    before = GoLive.objects.count()
    response = client_for(lead_lena).post(reverse("golive:create"), go_live_data(**{field: value}))

    assert response.status_code == 200
    assert form_errors(response, field)
    assert GoLive.objects.count() == before


def test_it_refuses_a_second_go_live_of_one_name_in_an_organization(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:create"), go_live_data(name="mercy health wave 1")
    )
    assert form_errors(response, "name") == [
        "This organization already has a go-live with this name."
    ]
    assert GoLive.objects.filter(organization="Mercy Health").count() == 1


def test_only_leads_and_staff_open_go_lives(client_for: SignIn, nurse_nina: User) -> None:
    client = client_for(nurse_nina)
    assert client.get(reverse("golive:create")).status_code == 403
    assert client.post(reverse("golive:create"), go_live_data()).status_code == 403
    assert not GoLive.objects.filter(name="Riverside Wave 2").exists()


def test_staff_without_a_go_live_may_open_one(client_for: SignIn, db: None) -> None:
    admin = User.objects.create_user("admin_ada", password="x", is_staff=True)
    response = client_for(admin).post(reverse("golive:create"), go_live_data())
    assert response.status_code == 302
    assert admin.memberships.get().role == Role.COMMAND_CENTER_LEAD


def test_the_edit_form_shows_times_in_the_go_lives_zone(
    client_for: SignIn, lead_lena: User, mercy: GoLive
) -> None:
    response = client_for(lead_lena).get(reverse("golive:edit", args=[mercy.pk]))
    assertContains(response, 'value="2026-11-01T05:00"')


def test_a_lead_edits_the_go_live(client_for: SignIn, lead_lena: User, mercy: GoLive) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:edit", args=[mercy.pk]),
        go_live_data(
            name="Mercy Wave 1",
            organization="Mercy Health",
            time_zone="America/Chicago",
            cutover_at="2026-11-01T06:00",
            support_ends_at="2026-11-29T05:00",
            phase="stabilization",
        ),
    )

    assert response.status_code == 302
    mercy.refresh_from_db()
    assert mercy.name == "Mercy Wave 1"
    assert mercy.phase == GoLive.Phase.STABILIZATION
    assert mercy.cutover_at == dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def test_a_refused_edit_changes_nothing(client_for: SignIn, lead_lena: User, mercy: GoLive) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:edit", args=[mercy.pk]),
        go_live_data(name="Renamed", support_ends_at="2020-01-01T00:00"),
    )

    assert response.status_code == 200
    assertContains(response, "The support window must end after the cutover.")
    mercy.refresh_from_db()
    assert mercy.name == "Mercy Health Wave 1"


# --- The go-live page -----------------------------------------------------------------------------


def test_the_go_live_page_shows_sites_units_and_totals(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    ed: Unit,
    four_west: Unit,
    front_desk: Unit,
) -> None:
    response = client_for(lead_lena).get(reverse("golive:detail", args=[mercy.pk]))

    for text in ["Mercy General", "Northside Clinic", "Emergency Department", "Front Desk"]:
        assertContains(response, text)
    assert response.context["unit_count"] == 3
    assert response.context["end_user_count"] == 192
    assertContains(response, "Sun 1 Nov 2026, 05:00")  # the cutover in Chicago
    assertContains(response, 'href="tel:312-555-0100"')
    assertContains(response, reverse("golive:edit", args=[mercy.pk]))
    assertContains(response, reverse("golive:site_create", args=[mercy.pk]))


def test_a_manager_sees_edit_links_only_for_the_units_she_manages(
    client_for: SignIn, manager_maria: User, mercy: GoLive, four_west: Unit, front_desk: Unit
) -> None:
    response = client_for(manager_maria).get(reverse("golive:detail", args=[mercy.pk]))

    assertContains(response, reverse("golive:unit_edit", args=[four_west.pk]))
    assertNotContains(response, reverse("golive:unit_edit", args=[front_desk.pk]))
    assertNotContains(response, reverse("golive:edit", args=[mercy.pk]))
    assertNotContains(response, reverse("golive:site_create", args=[mercy.pk]))


def test_another_go_live_of_the_user_is_shown_in_its_own_zone(
    client_for: SignIn, lead_lena: User, mercy: GoLive, lakeside: GoLive
) -> None:
    Membership.objects.create(user=lead_lena, go_live=lakeside, role=Role.CLINIC_MANAGER)
    client = client_for(lead_lena)
    session = client.session
    session[SESSION_KEY] = mercy.pk
    session.save()

    response = client.get(reverse("golive:detail", args=[lakeside.pk]))

    assertContains(response, "Sun 1 Nov 2026, 06:00")  # 11:00 UTC in New York
    assertNotContains(response, "Sun 1 Nov 2026, 05:00")


def grow_sites(go_live: GoLive, count: int) -> None:
    for number in range(count):
        site = Site.objects.create(go_live=go_live, name=f"Site {number}", code=f"S{number}")
        for unit_number in range(3):
            Unit.objects.create(site=site, name=f"Unit {unit_number}", end_user_count=10)


@pytest.mark.parametrize("site_count", [1, 10])  # 3 and 30 units
def test_the_go_live_page_costs_the_same_queries_however_many_units(
    client_for: SignIn,
    manager_maria: User,
    mercy: GoLive,
    site_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    grow_sites(mercy, site_count)
    client = client_for(manager_maria)
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("golive:detail", args=[mercy.pk]))
    assert response.context["unit_count"] == site_count * 3


# --- Sites and units ------------------------------------------------------------------------------


def site_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Lakeview Clinic",
        "code": "LV",
        "kind": "clinic",
        "city": "Chicago",
    } | overrides


def test_a_lead_adds_a_site(client_for: SignIn, lead_lena: User, mercy: GoLive) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:site_create", args=[mercy.pk]), site_data()
    )

    site = mercy.sites.get(name="Lakeview Clinic")
    assert response["Location"] == reverse("golive:site_detail", args=[site.pk])
    assert site.kind == Site.Kind.CLINIC


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "MERCY GENERAL"}, "name", "This go-live already has a site with this name."),
        ({"code": "MG"}, "code", "Another site of this go-live uses this code; choose another."),
        ({"code": "no spaces!"}, "code", None),
        ({"kind": "spaceship"}, "kind", None),
        ({"phone": "ring ring"}, "phone", None),
    ],
)
def test_a_bad_site_is_refused_with_a_message_and_nothing_saved(
    client_for: SignIn,
    lead_lena: User,
    mercy_general: Site,
    overrides: dict[str, str],
    field: str,
    message: str | None,
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:site_create", args=[mercy_general.go_live_id]), site_data(**overrides)
    )

    assert response.status_code == 200
    errors = form_errors(response, field)
    assert errors
    if message:
        assert errors == [message]
    assert Site.objects.count() == 1


def test_a_site_name_of_another_go_live_is_free(
    client_for: SignIn, outsider_oscar: User, lakeside: GoLive, mercy_general: Site
) -> None:
    response = client_for(outsider_oscar).post(
        reverse("golive:site_create", args=[lakeside.pk]),
        site_data(name="Mercy General", code="MG"),
    )
    assert response.status_code == 302
    assert lakeside.sites.filter(name="Mercy General").exists()


def test_a_lead_edits_a_site(client_for: SignIn, lead_lena: User, mercy_general: Site) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:site_edit", args=[mercy_general.pk]),
        site_data(name="Mercy General Hospital", code="MG", kind="hospital"),
    )

    assert response.status_code == 302
    mercy_general.refresh_from_db()
    assert mercy_general.name == "Mercy General Hospital"


def test_a_site_keeps_its_own_name_when_saved_unchanged(
    client_for: SignIn, lead_lena: User, mercy_general: Site
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:site_edit", args=[mercy_general.pk]),
        site_data(name="Mercy General", code="MG", kind="hospital", city="Chicago"),
    )
    assert response.status_code == 302


def test_a_manager_cannot_edit_a_site(
    client_for: SignIn, manager_maria: User, mercy_general: Site
) -> None:
    response = client_for(manager_maria).post(
        reverse("golive:site_edit", args=[mercy_general.pk]), site_data(name="Taken over")
    )
    assert response.status_code == 403
    mercy_general.refresh_from_db()
    assert mercy_general.name == "Mercy General"


def unit_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "ICU",
        "kind": "inpatient",
        "end_user_count": "45",
        "phone": "312-555-0400",
        "is_active": "on",
    } | overrides


def test_a_lead_adds_a_unit(client_for: SignIn, lead_lena: User, mercy_general: Site) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:unit_create", args=[mercy_general.pk]), unit_data()
    )

    assert response.status_code == 302
    unit = mercy_general.units.get(name="ICU")
    assert unit.end_user_count == 45
    assert unit.is_active


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "4 west med/surg"}, "name"),
        ({"end_user_count": "-3"}, "end_user_count"),
        ({"end_user_count": "lots"}, "end_user_count"),
        ({"kind": "moon"}, "kind"),
    ],
)
def test_a_bad_unit_is_refused_with_a_message_and_nothing_saved(
    client_for: SignIn,
    lead_lena: User,
    four_west: Unit,
    overrides: dict[str, str],
    field: str,
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:unit_create", args=[four_west.site_id]), unit_data(**overrides)
    )

    assert response.status_code == 200
    assert form_errors(response, field)
    assert Unit.objects.count() == 1


def test_manager_maria_edits_4_west(
    client_for: SignIn, manager_maria: User, four_west: Unit
) -> None:
    response = client_for(manager_maria).post(
        reverse("golive:unit_edit", args=[four_west.pk]),
        unit_data(name="4 West Med/Surg", end_user_count="64"),
    )

    assert response.status_code == 302
    four_west.refresh_from_db()
    assert four_west.end_user_count == 64


def test_manager_maria_cannot_edit_northsides_front_desk(
    client_for: SignIn, manager_maria: User, front_desk: Unit
) -> None:
    client = client_for(manager_maria)
    assert client.get(reverse("golive:unit_edit", args=[front_desk.pk])).status_code == 403
    response = client.post(
        reverse("golive:unit_edit", args=[front_desk.pk]), unit_data(end_user_count="1")
    )
    assert response.status_code == 403
    front_desk.refresh_from_db()
    assert front_desk.end_user_count == 12


def test_a_manager_cannot_add_units(
    client_for: SignIn, manager_maria: User, mercy_general: Site
) -> None:
    response = client_for(manager_maria).post(
        reverse("golive:unit_create", args=[mercy_general.pk]), unit_data()
    )
    assert response.status_code == 403
    assert not Unit.objects.exists()


def test_the_site_page_lists_its_units(
    client_for: SignIn, manager_maria: User, mercy_general: Site, ed: Unit, front_desk: Unit
) -> None:
    response = client_for(manager_maria).get(reverse("golive:site_detail", args=[mercy_general.pk]))
    assertContains(response, "Emergency Department")
    assertNotContains(response, "Front Desk")
    assertNotContains(response, reverse("golive:site_edit", args=[mercy_general.pk]))


# --- Applications ---------------------------------------------------------------------------------


def test_a_lead_adds_an_application(client_for: SignIn, lead_lena: User, mercy: GoLive) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:applications", args=[mercy.pk]), {"name": "Blood bank"}
    )
    assert response.status_code == 302
    assert mercy.applications.filter(name="Blood bank").exists()


def test_a_duplicate_application_is_refused(
    client_for: SignIn, lead_lena: User, orders_app: Application
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:applications", args=[orders_app.go_live_id]), {"name": "ORDERS"}
    )
    assert form_errors(response, "name") == [
        "This go-live already has an application with this name."
    ]
    assert Application.objects.count() == 1


def test_a_manager_reads_applications_but_cannot_add_one(
    client_for: SignIn, manager_maria: User, orders_app: Application
) -> None:
    client = client_for(manager_maria)
    url = reverse("golive:applications", args=[orders_app.go_live_id])
    response = client.get(url)
    assertContains(response, "Orders")
    assertNotContains(response, "Add application")
    assert client.post(url, {"name": "Blood bank"}).status_code == 403
    assert Application.objects.count() == 1


def test_a_lead_renames_an_application(
    client_for: SignIn, lead_lena: User, orders_app: Application
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:application_edit", args=[orders_app.pk]), {"name": "CPOE / Orders"}
    )
    assert response.status_code == 302
    orders_app.refresh_from_db()
    assert orders_app.name == "CPOE / Orders"


def test_renaming_onto_another_application_is_refused(
    client_for: SignIn, lead_lena: User, orders_app: Application
) -> None:
    Application.objects.create(go_live=orders_app.go_live, name="Lab")
    response = client_for(lead_lena).post(
        reverse("golive:application_edit", args=[orders_app.pk]), {"name": "Lab"}
    )
    assert form_errors(response, "name")
    orders_app.refresh_from_db()
    assert orders_app.name == "Orders"


# --- Members --------------------------------------------------------------------------------------


def test_the_members_page_lists_members_with_their_limits(
    client_for: SignIn, lead_lena: User, manager_maria: User, nurse_nina: User, mercy: GoLive
) -> None:
    response = client_for(lead_lena).get(reverse("golive:members", args=[mercy.pk]))

    for text in ["manager_maria", "manager_maria@example.org", "Clinic manager", "Mercy General"]:
        assertContains(response, text)
    assertContains(response, "4 West Med/Surg")  # Nina's home unit


def test_a_lead_adds_an_existing_user_by_email_with_a_unit_limit(
    client_for: SignIn, lead_lena: User, mercy: GoLive, four_west: Unit
) -> None:
    newcomer = User.objects.create_user("sam_super", email="Sam@Example.org", password="x")
    response = client_for(lead_lena).post(
        reverse("golive:members", args=[mercy.pk]),
        {"user": "sam@example.org", "role": Role.SUPPORT_STAFF, "units": [four_west.pk]},
    )

    assert response.status_code == 302
    member = newcomer.memberships.get(go_live=mercy)
    assert member.role == Role.SUPPORT_STAFF
    assert list(member.units.all()) == [four_west]


def test_adding_a_former_member_brings_them_back(
    client_for: SignIn, lead_lena: User, agent_alex: User, mercy: GoLive
) -> None:
    agent_alex.memberships.update(is_active=False)
    response = client_for(lead_lena).post(
        reverse("golive:members", args=[mercy.pk]),
        {"user": "agent_alex", "role": Role.CLINIC_MANAGER},
    )

    assert response.status_code == 302
    member = agent_alex.memberships.get()
    assert member.is_active
    assert member.role == Role.CLINIC_MANAGER


@pytest.mark.parametrize(
    ("who", "field", "message_part"),
    [
        ("nobody_here", "user", "No account has this username or email"),
        ("manager_maria", "user", "is already a member"),
        ("", "user", "required"),
    ],
)
def test_adding_a_member_refuses_bad_input(
    client_for: SignIn,
    lead_lena: User,
    manager_maria: User,
    mercy: GoLive,
    who: str,
    field: str,
    message_part: str,
) -> None:
    before = Membership.objects.count()
    response = client_for(lead_lena).post(
        reverse("golive:members", args=[mercy.pk]), {"user": who, "role": Role.FLOOR_STAFF}
    )

    assert response.status_code == 200
    assert message_part in form_errors(response, field)[0]
    assert Membership.objects.count() == before


def test_adding_a_member_needs_a_role(client_for: SignIn, lead_lena: User, mercy: GoLive) -> None:
    User.objects.create_user("new_ned", password="x")
    response = client_for(lead_lena).post(
        reverse("golive:members", args=[mercy.pk]), {"user": "new_ned"}
    )
    assert form_errors(response, "role") == ["Choose the person's role in this go-live."]
    assert not Membership.objects.filter(user__username="new_ned").exists()


def test_member_limits_must_be_of_this_go_live(
    client_for: SignIn, lead_lena: User, mercy: GoLive, lakeside: GoLive
) -> None:
    foreign_site = Site.objects.create(go_live=lakeside, name="Lakeside Main", code="LM")
    User.objects.create_user("new_ned", password="x")
    response = client_for(lead_lena).post(
        reverse("golive:members", args=[mercy.pk]),
        {"user": "new_ned", "role": Role.CLINIC_MANAGER, "sites": [foreign_site.pk]},
    )

    assert form_errors(response, "sites") == ["Choose sites of this go-live only."]
    assert not Membership.objects.filter(user__username="new_ned").exists()


def test_a_lead_is_not_limited_to_sites(
    client_for: SignIn, lead_lena: User, mercy_general: Site
) -> None:
    User.objects.create_user("new_ned", password="x")
    response = client_for(lead_lena).post(
        reverse("golive:members", args=[mercy_general.go_live_id]),
        {"user": "new_ned", "role": Role.COMMAND_CENTER_LEAD, "sites": [mercy_general.pk]},
    )
    assert "covers the whole go-live" in form_errors(response, "sites")[0]
    assert not Membership.objects.filter(user__username="new_ned").exists()


def test_a_lead_changes_a_members_role_and_limits(
    client_for: SignIn, lead_lena: User, manager_maria: User, northside: Site
) -> None:
    member = manager_maria.memberships.get()
    response = client_for(lead_lena).post(
        reverse("golive:member_edit", args=[member.pk]),
        {"role": Role.CLINIC_MANAGER, "sites": [northside.pk], "is_active": "on"},
    )

    assert response.status_code == 302
    assert list(member.sites.all()) == [northside]


def test_a_lead_deactivates_a_member(
    client_for: SignIn, lead_lena: User, agent_alex: User, mercy: GoLive
) -> None:
    member = agent_alex.memberships.get()
    client_for(lead_lena).post(
        reverse("golive:member_edit", args=[member.pk]), {"role": Role.HELP_DESK_AGENT}
    )

    member.refresh_from_db()
    assert not member.is_active
    assert (
        client_for(agent_alex).get(reverse("golive:directory", args=[mercy.pk])).status_code == 404
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"role": Role.CLINIC_MANAGER, "is_active": "on"}, "role"),
        ({"role": Role.COMMAND_CENTER_LEAD}, "is_active"),
    ],
    ids=["demote", "deactivate"],
)
def test_the_last_lead_cannot_demote_or_deactivate_herself(
    client_for: SignIn, lead_lena: User, lena_membership: Membership, data: dict, field: str
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:member_edit", args=[lena_membership.pk]), data
    )

    assert response.status_code == 200
    assert "last active command center lead" in form_errors(response, field)[0]
    lena_membership.refresh_from_db()
    assert lena_membership.role == Role.COMMAND_CENTER_LEAD
    assert lena_membership.is_active


def test_a_lead_may_step_down_when_another_lead_remains(
    client_for: SignIn, lead_lena: User, lena_membership: Membership, manager_maria: User
) -> None:
    manager_maria.memberships.update(role=Role.COMMAND_CENTER_LEAD)
    manager_maria.memberships.get().sites.clear()
    response = client_for(lead_lena).post(
        reverse("golive:member_edit", args=[lena_membership.pk]),
        {"role": Role.CLINIC_MANAGER, "is_active": "on"},
    )

    assert response["Location"] == reverse("golive:list")
    lena_membership.refresh_from_db()
    assert lena_membership.role == Role.CLINIC_MANAGER


def test_a_membership_cannot_be_limited_to_another_go_lives_unit(
    client_for: SignIn, lead_lena: User, nurse_nina: User, lakeside: GoLive
) -> None:
    foreign_unit = Unit.objects.create(
        site=Site.objects.create(go_live=lakeside, name="Lakeside Main", code="LM"), name="ICU"
    )
    member = nurse_nina.memberships.get()
    response = client_for(lead_lena).post(
        reverse("golive:member_edit", args=[member.pk]),
        {"role": Role.FLOOR_STAFF, "units": [foreign_unit.pk], "is_active": "on"},
    )

    assert form_errors(response, "units") == ["Choose units of this go-live only."]
    assert foreign_unit not in member.units.all()


@pytest.mark.parametrize("member_count", [3, 30])
def test_the_members_page_costs_the_same_queries_however_many_members(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    mercy_general: Site,
    four_west: Unit,
    member_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for number in range(member_count):
        user = User.objects.create_user(f"member_{number}", email=f"m{number}@example.org")
        member = Membership.objects.create(user=user, go_live=mercy, role=Role.FLOOR_STAFF)
        member.units.add(four_west)
        member.sites.add(mercy_general)
    client = client_for(lead_lena)
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("golive:members", args=[mercy.pk]))
    assert len(response.context["rows"]) == member_count + 1


# --- Query counts of the remaining lists ----------------------------------------------------------


@pytest.mark.parametrize("unit_count", [2, 25])
def test_the_site_page_costs_the_same_queries_however_many_units(
    client_for: SignIn,
    manager_maria: User,
    mercy_general: Site,
    unit_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for number in range(unit_count):
        Unit.objects.create(site=mercy_general, name=f"Ward {number}", end_user_count=5)
    client = client_for(manager_maria)
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("golive:site_detail", args=[mercy_general.pk]))
    assertContains(response, f"Ward {unit_count - 1}")


@pytest.mark.parametrize("application_count", [2, 25])
def test_the_applications_page_costs_the_same_queries_however_many_applications(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    application_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for number in range(application_count):
        Application.objects.create(go_live=mercy, name=f"Module {number:02}")
    client = client_for(lead_lena)
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("golive:applications", args=[mercy.pk]))
    assertContains(response, f"Module {application_count - 1:02}")


@pytest.mark.parametrize("go_live_count", [1, 12])
def test_the_go_live_list_costs_the_same_queries_however_many_go_lives(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    go_live_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for number in range(1, go_live_count):
        wave = GoLive.objects.create(
            name=f"Wave {number + 1}",
            organization=mercy.organization,
            cutover_at=mercy.cutover_at + dt.timedelta(days=30 * number),
            support_ends_at=mercy.support_ends_at + dt.timedelta(days=30 * number),
        )
        Membership.objects.create(user=lead_lena, go_live=wave, role=Role.CLINIC_MANAGER)
    client = client_for(lead_lena)
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("golive:list"))
    assert len(response.context["rows"]) == go_live_count
