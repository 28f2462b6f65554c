"""'Who do I call now' for a unit and a kind of problem: who may open it, what it lists, in which
order, and what it costs."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from golive.models import Application, Contact, EscalationTier, GoLive, Site, Unit
from issues.models import Category, EscalationPath, EscalationStep, UnitTablet
from issues.tests import test_reach
from issues.tests.test_reach import OnShiftNow
from issues.tests.test_tablets import enrolled_device
from staffing.models import SupportRole
from staffing.tests import conftest as staffing_cast

on_shift_now = test_reach.on_shift_now
now = staffing_cast.now
make_person = staffing_cast.make_person
make_shift = staffing_cast.make_shift

CALL = reverse("issues:call_now")


@pytest.fixture
def directory(mercy: GoLive, tiers: dict[str, EscalationTier]) -> None:
    Contact.objects.create(go_live=mercy, tier=tiers["floor"], name="Floor desk", phone="x4000")
    Contact.objects.create(
        go_live=mercy, tier=tiers["command"], name="Orders analyst line", phone="x5000"
    )
    Contact.objects.create(
        go_live=mercy, tier=tiers["leadership"], name="CMIO", phone="x9000", pager="x9001"
    )


def tier_names(response: object) -> list[str]:
    return [row.tier.name for row in response.context["rows"]]  # type: ignore[attr-defined]


def test_a_tablet_sees_its_units_people_and_contacts_tier_by_tier_with_tap_to_call(
    now: dt.datetime,
    setup: None,
    directory: None,
    four_west: Unit,
    manager_maria: User,
    on_shift_now: OnShiftNow,
) -> None:
    on_shift_now("Sam Super", role=SupportRole.SUPER_USER, unit=four_west)
    _, device = enrolled_device(four_west, manager_maria)

    response = device.get(CALL)

    assert response.status_code == 200
    assert tier_names(response) == ["Floor support", "Command center"]
    page = response.content.decode()
    assert "4 West Med/Surg · Mercy General" in page
    assert 'href="tel:312-555-0100"' in page  # the command center
    assert "Sam Super" in page and "on this unit" in page
    assert 'href="tel:x4000"' in page
    # The leadership line is reached through the command center, not from the floor.
    assert "CMIO" not in page


def test_a_kind_of_problem_with_its_own_path_puts_that_paths_tiers_first(
    now: dt.datetime,
    setup: None,
    directory: None,
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    client_for: Callable[[User], Client],
    nurse_nina: User,
    printing: Category,
) -> None:
    path = EscalationPath.objects.create(go_live=mercy, priority="P1", category=printing)
    EscalationStep.objects.create(
        path=path,
        position=1,
        trigger="no_response",
        wait=dt.timedelta(0),
        tier=tiers["command"],
        channels=["sms"],
    )
    client = client_for(nurse_nina)

    assert tier_names(client.get(CALL)) == ["Floor support", "Command center"]
    assert tier_names(client.get(CALL, {"category": printing.pk})) == [
        "Command center",
        "Floor support",
    ]


def test_a_member_chooses_among_their_units_only(
    now: dt.datetime,
    setup: None,
    client_for: Callable[[User], Client],
    nurse_nina: User,
    ed: Unit,
    four_west: Unit,
) -> None:
    client = client_for(nurse_nina)
    first = client.get(CALL)
    assert first.status_code == 200 and first.context["unit"] == four_west

    refused = client.get(CALL, {"unit": ed.pk})
    assert refused.status_code == 400
    assert "Choose one of your units from the list." in refused.content.decode()
    assert refused.context["rows"] == []


def test_a_category_of_another_go_live_is_refused(
    setup: None, lakeside: GoLive, client_for: Callable[[User], Client], nurse_nina: User
) -> None:
    theirs = Category.objects.create(go_live=lakeside, name="Printing")
    response = client_for(nurse_nina).get(CALL, {"category": theirs.pk})
    assert response.status_code == 400
    assert "Choose a kind of problem from the list." in response.content.decode()


def test_a_revoked_tablet_and_an_anonymous_visitor_are_turned_away(
    setup: None, four_west: Unit, manager_maria: User, client: Client
) -> None:
    tablet, device = enrolled_device(four_west, manager_maria)
    UnitTablet.objects.filter(pk=tablet.pk).update(
        revoked_by=manager_maria, revoked_at=dt.datetime.now(dt.UTC)
    )
    assert device.get(CALL).status_code == 403
    assert client.get(CALL).status_code == 302


def test_the_page_costs_the_same_queries_for_few_or_many_people(
    now: dt.datetime,
    setup: None,
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    four_west: Unit,
    manager_maria: User,
    on_shift_now: OnShiftNow,
    orders_app: Application,
) -> None:
    _, device = enrolled_device(four_west, manager_maria)
    device.get(CALL)
    counts = []
    for batch in (1, 10):
        for n in range(batch):
            on_shift_now(f"Helper {batch}-{n}", role=SupportRole.SUPER_USER, unit=four_west)
            Contact.objects.create(
                go_live=mercy, tier=tiers["command"], name=f"Line {batch}-{n}", phone="x1"
            )
        with CaptureQueriesContext(connection) as queries:
            assert device.get(CALL).status_code == 200
        counts.append(len(queries))
    # The tablet, the kinds of problem, then `call_list`: the tiers, their routing rules, the
    # shifts on now, their people, the people's skills, the contacts, the P1 path with its steps.
    assert counts[0] == counts[1] <= 9


def test_a_members_page_costs_the_same_queries_for_few_or_many_units_kinds_and_people(
    now: dt.datetime,
    setup: None,
    mercy: GoLive,
    mercy_general: Site,
    tiers: dict[str, EscalationTier],
    lead_lena: User,
    client_for: Callable[[User], Client],
    on_shift_now: OnShiftNow,
    printing: Category,
) -> None:
    client = client_for(lead_lena)
    client.get(CALL)
    counts = []
    for batch in (1, 10):
        for n in range(batch):
            unit = Unit.objects.create(site=mercy_general, name=f"Unit {batch}-{n}")
            on_shift_now(f"Helper {batch}-{n}", role=SupportRole.SUPER_USER, unit=unit)
            Category.objects.create(go_live=mercy, name=f"Kind {batch}-{n}")
            Contact.objects.create(
                go_live=mercy, tier=tiers["command"], name=f"Line {batch}-{n}", phone="x1"
            )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(CALL, {"unit": unit.pk, "category": printing.pk})
        assert response.status_code == 200
        counts.append(len(queries))
    # The session, user and membership, the member's units (their limits read in the same query),
    # the kinds of problem, then `call_list` as on a tablet: each list is read once, whatever its
    # length. The session is renewed at most once a minute, so not here.
    assert counts[0] == counts[1] <= 12


def test_the_chosen_unit_and_kind_of_problem_are_selected_among_the_members_own(
    now: dt.datetime,
    setup: None,
    client_for: Callable[[User], Client],
    manager_maria: User,
    ed: Unit,
    four_west: Unit,
    front_desk: Unit,
    printing: Category,
    login_access: Category,
) -> None:
    page = (
        client_for(manager_maria)
        .get(CALL, {"unit": ed.pk, "category": printing.pk})
        .content.decode()
    )

    assert f'<option value="{ed.pk}" selected>Emergency Department · Mercy General</option>' in page
    assert f'<option value="{four_west.pk}">4 West Med/Surg · Mercy General</option>' in page
    # Her units are Mercy General's: the Northside front desk is not hers to choose (its label
    # is looked for: a category may have the same number as a unit).
    assert f"{front_desk.name} · {front_desk.site.name}</option>" not in page
    assert f'<option value="{printing.pk}" selected>Printing / labels</option>' in page
    assert f'<option value="{login_access.pk}">Login / access</option>' in page
    assert '<option value="">Any problem</option>' in page


def test_everyone_on_the_unit_is_listed_and_only_the_three_nearest_others(
    now: dt.datetime,
    setup: None,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
    manager_maria: User,
    on_shift_now: OnShiftNow,
) -> None:
    for n in range(4):
        on_shift_now(f"Here {n}", role=SupportRole.SUPER_USER, unit=four_west)
    on_shift_now("Site 1", role=SupportRole.SUPER_USER, unit=ed)
    for n in range(3):
        on_shift_now(f"Far {n}", role=SupportRole.SUPER_USER, unit=front_desk)
    _, device = enrolled_device(four_west, manager_maria)

    rows = device.get(CALL).context["rows"]

    listed = [entry.person.name for entry in rows[0].people]
    assert listed == ["Here 0", "Here 1", "Here 2", "Here 3", "Site 1", "Far 0", "Far 1"]
