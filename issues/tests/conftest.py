"""The issue cast, on top of the root cast (Mercy Health, 4 West, agent_alex, nurse_nina...).

`setup` gives Mercy its categories, priority matrix and routing; `log_issue` files an issue the
way the tablet does (through the service), so every test starts from real rows; `many` files any
number of them over units, applications and priorities (the list pages' query-count tests).
"""

import datetime as dt
import zoneinfo
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import User

from golive.models import Application, Contact, EscalationTier, GoLive, Unit
from issues.models import Category, Impact, Issue, Urgency
from issues.services import assign_issue, create_issue, ensure_issue_setup

LogIssue = Callable[..., Issue]
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
# Tuesday 3 November 2026, 06:00 in Chicago: the clock of the tests that take `now`.
NOW = dt.datetime(2026, 11, 3, 6, 0, tzinfo=CHICAGO)


@pytest.fixture
def now(time_machine: time_machine.TimeMachineFixture) -> dt.datetime:
    """The clock stands still at NOW (a test may move it on)."""
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def setup(mercy: GoLive, tiers: dict[str, EscalationTier]) -> None:
    ensure_issue_setup(go_live=mercy)


@pytest.fixture
def printing(setup: None, mercy: GoLive) -> Category:
    return Category.objects.get(go_live=mercy, name="Printing / labels")


@pytest.fixture
def login_access(setup: None, mercy: GoLive) -> Category:
    return Category.objects.get(go_live=mercy, name="Login / access")


@pytest.fixture
def log_issue(printing: Category, four_west: Unit) -> LogIssue:
    """File an issue: 4 West, printing, "several people / there is a workaround" (P3) unless told."""

    def log(**fields: object) -> Issue:
        unit = fields.pop("unit", four_west)
        assert isinstance(unit, Unit)
        defaults: dict[str, object] = {
            "category": printing,
            "title": "Labels print blank",
            "impact": Impact.SEVERAL,
            "urgency": Urgency.WORKAROUND,
        }
        fields = defaults | fields
        category = fields.pop("category")
        application = fields.pop("application", None)
        assert isinstance(category, Category)
        assert application is None or isinstance(application, Application)
        issue, created = create_issue(
            go_live=unit.site.go_live,
            unit=unit,
            category_id=category.pk,
            application_id=application.pk if application else None,
            **fields,
        )
        assert created
        return issue

    return log


@pytest.fixture
def desk(mercy: GoLive, tiers: dict[str, EscalationTier]) -> Contact:
    """Mercy's directory contact of its first tier (the second's is `analyst`)."""
    return Contact.objects.create(
        go_live=mercy,
        tier=tiers["floor"],
        name="Mercy help desk",
        phone="312-555-0111",
        email="helpdesk@mercy.example",
        sms_number="+13125550111",
    )


@pytest.fixture
def analyst(mercy: GoLive, tiers: dict[str, EscalationTier]) -> Contact:
    return Contact.objects.create(
        go_live=mercy,
        tier=tiers["command"],
        name="Cara Command",
        phone="312-555-0122",
        email="cara@mercy.example",
        sms_number="+13125550122",
    )


def make_issues(
    count: int,
    *,
    log_issue: LogIssue,
    units: list[Unit],
    applications: list[Application],
    assignees: list[User],
) -> list[Issue]:
    """`count` issues spread over units, applications and priorities, every third one assigned."""
    made = []
    for n in range(count):
        issue = log_issue(
            unit=units[n // 3 % len(units)],
            application=applications[n % len(applications)],
            title=f"Problem {n}",
            urgency=[Urgency.BLOCKED, Urgency.WORKAROUND, Urgency.QUESTION][n % 3],
        )
        if n % 3 == 0:
            assign_issue(issue=issue, assignee=assignees[n % len(assignees)], actor=None)
        made.append(issue)
    return made


@pytest.fixture
def many(
    log_issue: LogIssue,
    mercy: GoLive,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
    orders_app: Application,
    agent_alex: User,
    super_sam: User,
) -> Callable[[int], list[Issue]]:
    pharmacy = Application.objects.create(go_live=mercy, name="Pharmacy")

    def make(count: int) -> list[Issue]:
        return make_issues(
            count,
            log_issue=log_issue,
            units=[four_west, ed, front_desk],
            applications=[orders_app, pharmacy],
            assignees=[agent_alex, super_sam],
        )

    return make
