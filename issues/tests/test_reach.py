"""Whom to reach now, tier by tier: on-shift people in the tier's roles (nearest the unit first,
knowing the application) and the directory's contacts whose cover and hours fit."""

import datetime as dt
from typing import Protocol

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from golive.models import Application, Contact, EscalationTier, GoLive, Unit
from issues.models import AssignmentRule
from issues.reach import TierReach, reach_by_tier
from staffing.models import SupportRole
from staffing.services import assign_person
from staffing.tests import conftest as staffing_cast
from staffing.tests.conftest import NOW, MakePerson, MakeShift, local

# Staffing's clock and roster helpers, as fixtures of this module.
now = staffing_cast.now
make_person = staffing_cast.make_person
make_shift = staffing_cast.make_shift


class OnShiftNow(Protocol):
    def __call__(
        self, name: str, *, role: str, unit: Unit, apps: tuple[Application, ...] = ...
    ) -> None: ...


@pytest.fixture
def on_shift_now(make_person: MakePerson, make_shift: MakeShift, lead_lena: User) -> OnShiftNow:
    """Someone on today's 05:00-17:00 shift of their role on `unit`, knowing `apps`."""

    def put(name: str, *, role: str, unit: Unit, apps: tuple[Application, ...] = ()) -> None:
        shift = make_shift(local(3, 5), local(3, 17), unit=unit, role=role, needed=5)
        person = make_person(name, role=role)
        person.skills.add(*apps)
        assign_person(shift=shift, person=person, actor=lead_lena)

    return put


def contact(go_live: GoLive, tier: EscalationTier, name: str, **fields: object) -> Contact:
    return Contact.objects.create(go_live=go_live, tier=tier, name=name, phone="x5000", **fields)


def by_tier(reach: list[TierReach]) -> dict[str, tuple[list[str], list[str]]]:
    return {
        row.tier.name: (
            [entry.person.name for entry in row.people],
            [contact.name for contact in row.contacts],
        )
        for row in reach
    }


def test_each_tier_lists_its_people_nearest_first_and_its_contacts_on_duty_now(
    now: dt.datetime,
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
    on_shift_now: OnShiftNow,
    orders_app: Application,
) -> None:
    put = on_shift_now
    put("Zoe Far", role=SupportRole.SUPER_USER, unit=front_desk)  # another site
    put("Yan Near", role=SupportRole.SUPER_USER, unit=ed)  # same site
    put("Xia Here", role=SupportRole.AT_THE_ELBOW, unit=four_west)  # the unit
    put("Abe Analyst", role=SupportRole.ANALYST, unit=ed, apps=(orders_app,))
    contact(mercy, tiers["floor"], "Floor desk")
    contact(
        mercy,
        tiers["command"],
        "Night analyst",
        hours="daily",
        window_start=dt.time(19),
        window_end=dt.time(7),
    )
    contact(
        mercy,
        tiers["command"],
        "Day analyst",
        hours="daily",
        window_start=dt.time(7),
        window_end=dt.time(19),
    )

    reach = reach_by_tier(go_live=mercy, unit=four_west, application_id=None, at=now)

    # 06:00 in Chicago: the night analyst's window covers it, the day analyst's does not.
    assert by_tier(reach) == {
        "Floor support": (["Xia Here", "Yan Near", "Zoe Far"], ["Floor desk"]),
        "Command center": (["Abe Analyst"], ["Night analyst"]),
    }
    assert all(row.reachable for row in reach)


def test_an_application_narrows_people_to_those_who_know_it_and_contacts_to_its_cover(
    now: dt.datetime,
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    four_west: Unit,
    on_shift_now: OnShiftNow,
    orders_app: Application,
) -> None:
    imaging = Application.objects.create(go_live=mercy, name="Imaging")
    put = on_shift_now
    put("Abe Analyst", role=SupportRole.ANALYST, unit=four_west, apps=(orders_app,))
    put("Bea Analyst", role=SupportRole.ANALYST, unit=four_west, apps=(imaging,))
    orders_only = contact(mercy, tiers["command"], "Orders team", all_applications=False)
    orders_only.applications.add(orders_app)
    contact(mercy, tiers["command"], "Everything desk")

    rows = by_tier(
        reach_by_tier(go_live=mercy, unit=four_west, application_id=orders_app.pk, at=now)
    )

    assert rows["Command center"] == (["Abe Analyst"], ["Everything desk", "Orders team"])
    rows = by_tier(reach_by_tier(go_live=mercy, unit=four_west, application_id=imaging.pk, at=now))
    assert rows["Command center"] == (["Bea Analyst"], ["Everything desk"])


def test_a_tier_with_nobody_on_shift_and_no_contact_on_duty_is_unreachable(
    now: dt.datetime,
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    four_west: Unit,
    ed: Unit,
    on_shift_now: OnShiftNow,
) -> None:
    AssignmentRule.objects.create(go_live=mercy, tier=tiers["command"], roles=[])
    contact(mercy, tiers["command"], "Away", is_active=False)
    only_ed = contact(mercy, tiers["command"], "ED only", all_units=False)
    only_ed.units.add(ed)
    # Someone on a shift that ended is not on now.
    on_shift_now("Early Bird", role=SupportRole.SUPER_USER, unit=four_west)
    late = dt.datetime.fromisoformat("2026-11-03T18:00:00-06:00")

    reach = {
        row.tier.name: row
        for row in reach_by_tier(go_live=mercy, unit=four_west, application_id=None, at=late)
    }

    assert not reach["Command center"].reachable
    assert not reach["Floor support"].reachable
    assert "Leadership line" not in reach


def test_the_lists_cost_the_same_queries_for_few_or_many_people_and_contacts(
    now: dt.datetime,
    mercy: GoLive,
    tiers: dict[str, EscalationTier],
    four_west: Unit,
    on_shift_now: OnShiftNow,
) -> None:
    counts = []
    for batch in (1, 8):
        for n in range(batch):
            on_shift_now(f"Person {batch}-{n}", role=SupportRole.SUPER_USER, unit=four_west)
            contact(mercy, tiers["floor"], f"Contact {batch}-{n}")
        with CaptureQueriesContext(connection) as queries:
            reach_by_tier(go_live=mercy, unit=four_west, application_id=None, at=NOW)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 7
