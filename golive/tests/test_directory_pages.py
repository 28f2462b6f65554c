"""The escalation directory ("Who to call") and the lead's pages for its tiers and contacts."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.asserts import assertContains, assertNotContains

from golive.models import Application, Contact, EscalationTier, GoLive, Site, Unit

SignIn = Callable[[User], Client]
CAST = ["lead_lena", "manager_maria", "agent_alex", "super_sam", "nurse_nina"]
# 10:00 in Chicago on Tuesday 3 November 2026 (CST), and 22:00 the same day.
MORNING = dt.datetime(2026, 11, 3, 16, 0, tzinfo=dt.UTC)
EVENING = dt.datetime(2026, 11, 4, 4, 0, tzinfo=dt.UTC)
# A signed-in page costs 5 queries (session, user, memberships, session save); the directory adds
# tiers, contacts, their applications and units, the filter choices and the lead's inactive list
# (about 9); the slack is far below what one query per row would add.
QUERY_BUDGET = 16


@dataclass(frozen=True)
class Page:
    name: str
    fixture: str
    allowed: frozenset[str]


PAGES = [
    Page("golive:directory", "mercy", frozenset(CAST)),
    Page("golive:tier_create", "mercy", frozenset({"lead_lena"})),
    Page("golive:tier_edit", "floor_tier", frozenset({"lead_lena"})),
    Page("golive:contact_create", "mercy", frozenset({"lead_lena"})),
    Page("golive:contact_edit", "help_desk_contact", frozenset({"lead_lena"})),
]


@pytest.fixture
def floor_tier(tiers: dict[str, EscalationTier]) -> EscalationTier:
    return tiers["floor"]


@pytest.fixture
def day_analyst(
    mercy: GoLive, tiers: dict[str, EscalationTier], orders_app: Application, four_west: Unit
) -> Contact:
    analyst = Contact.objects.create(
        go_live=mercy,
        tier=tiers["command"],
        name="Priya Raman",
        title="Orders analyst",
        phone="312-555-0177",
        pager="312-555-0977",
        sms_number="+13125550177",
        employer=Contact.Employer.VENDOR,
        vendor_name="EHR Vendor Inc",
        all_applications=False,
        all_units=False,
        hours=Contact.Hours.DAILY,
        window_start=dt.time(7),
        window_end=dt.time(19),
    )
    analyst.applications.add(orders_app)
    analyst.units.add(four_west)
    return analyst


@pytest.fixture
def lakeside_tier(lakeside: GoLive) -> EscalationTier:
    return EscalationTier.objects.create(go_live=lakeside, level=1, name="Lakeside floor")


def form_errors(response: object, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])  # type: ignore[attr-defined]


def listed(response: object) -> list[str]:
    """Names of the contacts the directory shows, in order."""
    sections = response.context["sections"]  # type: ignore[attr-defined]
    return [row.contact.name for section in sections for row in section.rows]


# --- Who may open what ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_each_directory_page_opens_for_its_roles_and_refuses_the_others(
    request: pytest.FixtureRequest, client_for: SignIn, page: Page, username: str
) -> None:
    user = request.getfixturevalue(username)
    target = request.getfixturevalue(page.fixture)

    response = client_for(user).get(reverse(page.name, args=[target.pk]))

    assert response.status_code == (200 if username in page.allowed else 403)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_an_outsider_gets_not_found_on_every_mercy_directory_page(
    request: pytest.FixtureRequest, client_for: SignIn, outsider_oscar: User, page: Page
) -> None:
    target = request.getfixturevalue(page.fixture)
    client = client_for(outsider_oscar)

    assert client.get(reverse(page.name, args=[target.pk])).status_code == 404
    assert client.post(reverse(page.name, args=[target.pk]), {"name": "X"}).status_code == 404


# --- The directory --------------------------------------------------------------------------------


@time_machine.travel(MORNING, tick=False)
def test_the_directory_lists_tiers_in_order_with_how_to_reach_each_contact(
    client_for: SignIn, nurse_nina: User, help_desk_contact: Contact, day_analyst: Contact
) -> None:
    response = client_for(nurse_nina).get(
        reverse("golive:directory", args=[help_desk_contact.go_live_id])
    )

    tiers = [section.tier.name for section in response.context["sections"]]
    assert tiers == ["Floor support", "Command center", "Leadership line"]
    assert listed(response) == ["Mercy help desk", "Priya Raman"]
    for html in [
        'href="tel:312-555-0111"',
        'href="mailto:helpdesk@mercy.example"',
        'href="tel:312-555-0977"',
        'href="sms:+13125550177"',
        "Vendor: EHR Vendor Inc",
        "In-house",
        "24/7",
        "07:00–19:00",
        "Orders",
        "Mercy General · 4 West Med/Surg",
        "On now",
    ]:
        assertContains(response, html)
    assertNotContains(response, "Off now")


@time_machine.travel(EVENING, tick=False)
def test_a_day_contact_reads_off_now_in_the_evening(
    client_for: SignIn, nurse_nina: User, help_desk_contact: Contact, day_analyst: Contact
) -> None:
    response = client_for(nurse_nina).get(
        reverse("golive:directory", args=[help_desk_contact.go_live_id])
    )
    available = {
        row.contact.name: row.available_now
        for section in response.context["sections"]
        for row in section.rows
    }
    assert available == {"Mercy help desk": True, "Priya Raman": False}
    assertContains(response, "Off now")


@time_machine.travel(EVENING, tick=False)
def test_available_now_leaves_out_who_is_off(
    client_for: SignIn, agent_alex: User, help_desk_contact: Contact, day_analyst: Contact
) -> None:
    response = client_for(agent_alex).get(
        reverse("golive:directory", args=[help_desk_contact.go_live_id]), {"available_now": "on"}
    )
    assert listed(response) == ["Mercy help desk"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tier": "command"}, ["Priya Raman"]),
        ({"unit": "ed"}, ["Mercy help desk"]),
        ({"unit": "four_west"}, ["Mercy help desk", "Priya Raman"]),
        ({"application": "orders_app"}, ["Mercy help desk", "Priya Raman"]),
        ({"application": "lab"}, ["Mercy help desk"]),
        ({"q": "orders"}, ["Priya Raman"]),
        ({"q": "ehr vendor"}, ["Priya Raman"]),
        ({"q": "HELP"}, ["Mercy help desk"]),
        ({"q": "nobody"}, []),
    ],
)
def test_the_directory_filters_by_tier_unit_application_and_text(
    client_for: SignIn,
    agent_alex: User,
    tiers: dict[str, EscalationTier],
    ed: Unit,
    four_west: Unit,
    orders_app: Application,
    help_desk_contact: Contact,
    day_analyst: Contact,
    filters: dict[str, str],
    expected: list[str],
) -> None:
    objects = {
        "command": tiers["command"],
        "ed": ed,
        "four_west": four_west,
        "orders_app": orders_app,
        "lab": Application.objects.create(go_live=orders_app.go_live, name="Lab"),
    }
    query = {key: str(objects[value].pk) if key != "q" else value for key, value in filters.items()}

    response = client_for(agent_alex).get(
        reverse("golive:directory", args=[orders_app.go_live_id]), query
    )

    assert response.status_code == 200
    assert listed(response) == expected
    assert all(section.rows for section in response.context["sections"])


def test_inactive_contacts_are_left_out_of_the_directory(
    client_for: SignIn, agent_alex: User, help_desk_contact: Contact
) -> None:
    Contact.objects.filter(pk=help_desk_contact.pk).update(is_active=False)
    response = client_for(agent_alex).get(
        reverse("golive:directory", args=[help_desk_contact.go_live_id])
    )
    assert listed(response) == []


def test_a_lead_still_finds_inactive_contacts_to_edit_them(
    client_for: SignIn, lead_lena: User, help_desk_contact: Contact
) -> None:
    Contact.objects.filter(pk=help_desk_contact.pk).update(is_active=False)
    response = client_for(lead_lena).get(
        reverse("golive:directory", args=[help_desk_contact.go_live_id])
    )
    assertContains(response, reverse("golive:contact_edit", args=[help_desk_contact.pk]))


def test_a_filter_naming_another_go_lives_tier_is_refused_with_a_message(
    client_for: SignIn, agent_alex: User, help_desk_contact: Contact, lakeside_tier: EscalationTier
) -> None:
    response = client_for(agent_alex).get(
        reverse("golive:directory", args=[help_desk_contact.go_live_id]),
        {"tier": str(lakeside_tier.pk)},
    )
    assert response.status_code == 200
    assert form_errors(response, "tier") == ["Choose a tier from the list."]
    assertNotContains(response, "Lakeside floor")


def test_a_malformed_filter_is_refused_not_a_crash(
    client_for: SignIn, agent_alex: User, help_desk_contact: Contact
) -> None:
    response = client_for(agent_alex).get(
        reverse("golive:directory", args=[help_desk_contact.go_live_id]), {"unit": "abc"}
    )
    assert response.status_code == 200
    assert form_errors(response, "unit")


def test_edit_buttons_are_for_the_lead_only(
    client_for: SignIn, lead_lena: User, super_sam: User, help_desk_contact: Contact
) -> None:
    url = reverse("golive:directory", args=[help_desk_contact.go_live_id])
    edit = reverse("golive:contact_edit", args=[help_desk_contact.pk])

    assertContains(client_for(lead_lena).get(url), edit)
    response = client_for(super_sam).get(url)
    assertNotContains(response, edit)
    assertNotContains(response, "Add contact")


def test_contact_text_is_escaped(
    client_for: SignIn, agent_alex: User, help_desk_contact: Contact
) -> None:
    Contact.objects.filter(pk=help_desk_contact.pk).update(name="<script>alert(1)</script>")
    response = client_for(agent_alex).get(
        reverse("golive:directory", args=[help_desk_contact.go_live_id])
    )
    assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")
    assertNotContains(response, "<script>alert(1)")


@pytest.mark.parametrize("contact_count", [3, 30])
def test_the_directory_costs_the_same_queries_however_many_contacts(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    ed: Unit,
    four_west: Unit,
    orders_app: Application,
    contact_count: int,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for number in range(contact_count):
        contact = Contact.objects.create(
            go_live=mercy,
            tier=tiers["floor" if number % 2 else "command"],
            name=f"Contact {number}",
            phone="312-555-0100",
            all_units=False,
            all_applications=False,
        )
        contact.units.add(ed, four_west)
        contact.applications.add(orders_app)
    client = client_for(lead_lena)
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(reverse("golive:directory", args=[mercy.pk]))
    assert len(listed(response)) == contact_count


# --- Tiers ----------------------------------------------------------------------------------------


def test_a_lead_adds_a_tier(client_for: SignIn, lead_lena: User, mercy: GoLive) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:tier_create", args=[mercy.pk]),
        {"level": "3", "name": "Build & technical", "description": "Interfaces, devices"},
    )
    assert response["Location"] == reverse("golive:directory", args=[mercy.pk])
    assert mercy.tiers.get(level=3).name == "Build & technical"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"level": "1", "name": "Again"}, "level", "Another tier of this go-live has this level"),
        (
            {"level": "8", "name": "Executives", "is_leadership": "on"},
            "is_leadership",
            "This go-live already has a leadership line.",
        ),
        ({"level": "-1", "name": "Below"}, "level", "greater than or equal to 0"),
        ({"level": "3", "name": ""}, "name", "required"),
    ],
)
def test_a_bad_tier_is_refused_with_a_message_and_nothing_saved(
    client_for: SignIn,
    lead_lena: User,
    tiers: dict[str, EscalationTier],
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    go_live_id = tiers["floor"].go_live_id
    response = client_for(lead_lena).post(reverse("golive:tier_create", args=[go_live_id]), data)

    assert response.status_code == 200
    assert message in form_errors(response, field)[0]
    assert EscalationTier.objects.count() == 3


def test_the_leadership_line_keeps_its_flag_when_edited(
    client_for: SignIn, lead_lena: User, tiers: dict[str, EscalationTier]
) -> None:
    leadership = tiers["leadership"]
    response = client_for(lead_lena).post(
        reverse("golive:tier_edit", args=[leadership.pk]),
        {"level": "9", "name": "CMIO line", "is_leadership": "on"},
    )
    assert response.status_code == 302
    leadership.refresh_from_db()
    assert leadership.name == "CMIO line"


def test_a_tier_level_of_another_go_live_is_free(
    client_for: SignIn, outsider_oscar: User, lakeside_tier: EscalationTier, tiers: dict
) -> None:
    response = client_for(outsider_oscar).post(
        reverse("golive:tier_create", args=[lakeside_tier.go_live_id]),
        {"level": "2", "name": "Lakeside command"},
    )
    assert response.status_code == 302


# --- Contacts -------------------------------------------------------------------------------------


def contact_data(tier: EscalationTier, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Blood bank team",
        "kind": "team",
        "title": "Transfusion service",
        "tier": str(tier.pk),
        "phone": "312-555-0300",
        "employer": "in_house",
        "all_applications": "on",
        "all_units": "on",
        "hours": "always",
        "is_active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_a_lead_adds_a_contact_covering_some_units_and_applications(
    client_for: SignIn,
    lead_lena: User,
    tiers: dict[str, EscalationTier],
    ed: Unit,
    orders_app: Application,
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:contact_create", args=[orders_app.go_live_id]),
        contact_data(
            tiers["command"],
            all_units=None,
            units=[str(ed.pk)],
            all_applications=None,
            applications=[str(orders_app.pk)],
            hours="daily",
            window_start="19:00",
            window_end="07:00",
            employer="vendor",
            vendor_name="Blood Systems Inc",
        ),
    )

    assert response.status_code == 302
    contact = Contact.objects.get(name="Blood bank team")
    assert list(contact.units.all()) == [ed]
    assert list(contact.applications.all()) == [orders_app]
    assert (contact.window_start, contact.window_end) == (dt.time(19), dt.time(7))
    assert contact.vendor_name == "Blood Systems Inc"


def test_covering_all_clears_earlier_picks_and_unused_fields(
    client_for: SignIn, lead_lena: User, day_analyst: Contact
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:contact_edit", args=[day_analyst.pk]),
        contact_data(
            day_analyst.tier,
            name="Priya Raman",
            window_start="07:00",
            window_end="19:00",
            vendor_name="EHR Vendor Inc",
        ),
    )

    assert response.status_code == 302
    day_analyst.refresh_from_db()
    assert day_analyst.all_units
    assert not day_analyst.units.exists()
    assert not day_analyst.applications.exists()
    assert day_analyst.hours == Contact.Hours.ALWAYS
    assert day_analyst.window_start is None
    assert day_analyst.vendor_name == ""


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"all_units": None}, "units", "Pick the units this contact covers"),
        ({"all_applications": None}, "applications", "Pick the applications this contact covers"),
        ({"employer": "vendor"}, "vendor_name", "Name the vendor this contact works for."),
        ({"phone": ""}, "phone", "Give at least one way to reach this contact"),
        ({"hours": "daily"}, "window_start", "Give the time the daily window starts."),
        (
            {"hours": "daily", "window_start": "07:00", "window_end": "07:00"},
            "window_end",
            "Start and end are the same",
        ),
        ({"hours": "daily", "window_start": "7 o'clock"}, "window_start", "Enter a time"),
        ({"sms_number": "555-0100"}, "sms_number", "international form"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_a_bad_contact_is_refused_with_a_message_and_nothing_saved(
    client_for: SignIn,
    lead_lena: User,
    tiers: dict[str, EscalationTier],
    ed: Unit,
    orders_app: Application,
    overrides: dict[str, object],
    field: str,
    message: str,
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:contact_create", args=[tiers["floor"].go_live_id]),
        contact_data(tiers["floor"], **overrides),
    )

    assert response.status_code == 200
    assert message in form_errors(response, field)[0]
    assertContains(response, "is-invalid")
    assert not Contact.objects.exists()


def test_unticking_all_units_in_a_go_live_without_units_says_to_add_them_first(
    client_for: SignIn, lead_lena: User, tiers: dict[str, EscalationTier]
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:contact_create", args=[tiers["floor"].go_live_id]),
        contact_data(tiers["floor"], all_units=None),
    )

    assert "has no units yet" in form_errors(response, "all_units")[0]
    assertContains(response, "has no units yet")
    assert not Contact.objects.exists()


def test_a_contact_cannot_take_another_go_lives_tier(
    client_for: SignIn, lead_lena: User, mercy: GoLive, lakeside_tier: EscalationTier
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:contact_create", args=[mercy.pk]), contact_data(lakeside_tier)
    )

    assert form_errors(response, "tier") == ["Choose a tier of this go-live."]
    assert not Contact.objects.exists()


def test_a_contact_cannot_cover_another_go_lives_unit_or_application(
    client_for: SignIn,
    lead_lena: User,
    tiers: dict[str, EscalationTier],
    ed: Unit,
    lakeside: GoLive,
) -> None:
    lakeside_site = Site.objects.create(go_live=lakeside, name="Lakeside Main", code="LM")
    foreign_unit = Unit.objects.create(site=lakeside_site, name="ICU")
    foreign_app = Application.objects.create(go_live=lakeside, name="Orders")
    response = client_for(lead_lena).post(
        reverse("golive:contact_create", args=[tiers["floor"].go_live_id]),
        contact_data(
            tiers["floor"],
            all_units=None,
            units=[str(ed.pk), str(foreign_unit.pk)],
            all_applications=None,
            applications=[str(foreign_app.pk)],
        ),
    )

    assert form_errors(response, "units") == ["Choose units of this go-live only."]
    assert form_errors(response, "applications") == ["Choose applications of this go-live only."]
    assert not Contact.objects.exists()


def test_the_contact_form_offers_only_this_go_lives_choices(
    client_for: SignIn,
    lead_lena: User,
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    lakeside_tier: EscalationTier,
) -> None:
    response = client_for(lead_lena).get(reverse("golive:contact_create", args=[mercy.pk]))
    assertContains(response, "Floor support")
    assertNotContains(response, "Lakeside floor")


def test_a_refused_contact_edit_changes_nothing(
    client_for: SignIn, lead_lena: User, help_desk_contact: Contact
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:contact_edit", args=[help_desk_contact.pk]),
        contact_data(help_desk_contact.tier, name="Renamed desk", phone="", email=""),
    )

    assert response.status_code == 200
    assertContains(response, "Edit Mercy help desk")
    help_desk_contact.refresh_from_db()
    assert help_desk_contact.name == "Mercy help desk"


def test_a_lead_edits_a_contact(
    client_for: SignIn, lead_lena: User, help_desk_contact: Contact, tiers: dict
) -> None:
    response = client_for(lead_lena).post(
        reverse("golive:contact_edit", args=[help_desk_contact.pk]),
        contact_data(tiers["command"], name="Mercy service desk", is_active=None),
    )

    assert response.status_code == 302
    help_desk_contact.refresh_from_db()
    assert help_desk_contact.name == "Mercy service desk"
    assert help_desk_contact.tier == tiers["command"]
    assert not help_desk_contact.is_active
