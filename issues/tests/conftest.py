"""The issue cast, on top of the root cast (Mercy Health, 4 West, agent_alex, nurse_nina...).

`setup` gives Mercy its categories, priority matrix and routing; `log_issue` files an issue the
way the tablet does (through the service), so every test starts from real rows.
"""

from collections.abc import Callable

import pytest

from golive.models import Application, Contact, EscalationTier, GoLive, Unit
from issues.models import Category, Impact, Issue, Urgency
from issues.services import create_issue, ensure_issue_setup

LogIssue = Callable[..., Issue]


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
