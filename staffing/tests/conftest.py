"""The staffing cast, on top of the root cast (Mercy Health, lead_lena, manager_maria, super_sam...).

Times: the tests run at a fixed "now", Tuesday 3 November 2026 06:00 in Chicago (12:00 UTC), day 3
of Mercy's go-live; shifts are built in local time with `local()`.
"""

import datetime as dt
import zoneinfo
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User

from golive.models import Application, GoLive, Unit
from staffing.models import Shift, SupportPerson, SupportRole

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NOW = dt.datetime(2026, 11, 3, 6, 0, tzinfo=CHICAGO)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    """An instant in Chicago in November 2026 (or another month)."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


@pytest.fixture
def now(time_machine: time_machine.TimeMachineFixture) -> dt.datetime:
    time_machine.move_to(NOW, tick=False)
    return NOW


MakePerson = Callable[..., SupportPerson]
MakeShift = Callable[..., Shift]


@pytest.fixture
def make_person(mercy: GoLive) -> MakePerson:
    def make(name: str, role: str = SupportRole.SUPER_USER, **fields: object) -> SupportPerson:
        email = fields.pop("email", f"{name.lower().replace(' ', '.')}@mercy.example")
        return SupportPerson.objects.create(
            go_live=mercy, name=name, role=role, email=email, **fields
        )

    return make


@pytest.fixture
def make_shift(mercy: GoLive, four_west: Unit) -> MakeShift:
    def make(
        start: dt.datetime,
        end: dt.datetime,
        *,
        unit: Unit | None = None,
        role: str = SupportRole.SUPER_USER,
        needed: int = 1,
        **fields: object,
    ) -> Shift:
        return Shift.objects.create(
            go_live=mercy,
            unit=unit or four_west,
            role=role,
            start=start,
            end=end,
            needed=needed,
            **fields,
        )

    return make


@pytest.fixture
def sam(super_sam: User, make_person: MakePerson, four_west: Unit) -> SupportPerson:
    """super_sam's roster entry: a super user whose home unit is 4 West."""
    return make_person(
        "Sam Super",
        user=super_sam,
        home_unit=four_west,
        home_site=four_west.site,
        phone="312-555-0190",
    )


@pytest.fixture
def vera(make_person: MakePerson, orders_app: Application) -> SupportPerson:
    """A vendor consultant who knows Orders."""
    person = make_person(
        "Vera Vendor",
        role=SupportRole.VENDOR_CONSULTANT,
        employer=SupportPerson.Employer.VENDOR,
        vendor_name="Northwind Clinical",
    )
    person.skills.add(orders_app)
    return person


@pytest.fixture
def day_shift(now: dt.datetime, make_shift: MakeShift) -> Shift:
    """Tomorrow's day shift on 4 West, 07:00-19:00, two places."""
    return make_shift(local(4, 7), local(4, 19), needed=2, label="Day")


@pytest.fixture
def night_shift(now: dt.datetime, make_shift: MakeShift) -> Shift:
    """Tonight's night shift on 4 West, 19:00-07:00."""
    return make_shift(local(3, 19), local(4, 7), label="Night")
