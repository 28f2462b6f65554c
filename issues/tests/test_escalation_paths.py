"""Escalation paths: the defaults a go-live starts with, the path that applies to an issue, and
what the database refuses."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from golive.models import Application, EscalationTier, GoLive, Site, Unit
from issues.models import Category, EscalationPath, EscalationStep, Priority
from issues.services import ensure_issue_setup
from issues.tests.test_services import log

Step = EscalationStep
C = EscalationStep.Channel


@pytest.fixture
def setup(mercy: GoLive, tiers: dict[str, EscalationTier]) -> None:
    ensure_issue_setup(go_live=mercy)


@pytest.fixture
def printing(setup: None, mercy: GoLive) -> Category:
    return Category.objects.get(go_live=mercy, name="Printing / labels")


def steps_of(path: EscalationPath) -> list[tuple[str, dt.timedelta, str, list[str]]]:
    return [
        (step.trigger, step.wait, step.tier.name if step.tier else "", step.channels)
        for step in path.steps.select_related("tier")
    ]


def test_each_priority_starts_with_a_path_first_line_then_the_tier_above(
    mercy: GoLive, setup: None
) -> None:
    paths = {path.priority: path for path in EscalationPath.objects.filter(go_live=mercy)}
    assert sorted(paths) == ["P1", "P2", "P3", "P4"]
    assert steps_of(paths["P1"]) == [
        ("no_response", dt.timedelta(0), "Floor support", ["in_app", "email", "sms"]),
        ("no_response", dt.timedelta(minutes=10), "Command center", ["in_app", "email", "sms"]),
        ("unresolved", dt.timedelta(0), "Command center", ["email", "sms"]),
    ]
    assert steps_of(paths["P4"]) == [
        ("no_response", dt.timedelta(0), "Floor support", ["in_app"]),
        ("unresolved", dt.timedelta(0), "Command center", ["email"]),
    ]
    # The leadership line is never a step: patient safety reaches it at once, by the intake.
    assert not EscalationStep.objects.filter(tier__is_leadership=True).exists()


def test_setting_up_again_keeps_a_path_the_go_live_changed(mercy: GoLive, setup: None) -> None:
    path = EscalationPath.objects.get(go_live=mercy, priority=Priority.P3)
    path.steps.filter(position__gt=1).delete()
    ensure_issue_setup(go_live=mercy)
    assert path.steps.count() == 1
    assert EscalationPath.objects.filter(go_live=mercy).count() == 4


def test_a_go_live_with_one_tier_escalates_within_it(lakeside: GoLive) -> None:
    only = EscalationTier.objects.create(go_live=lakeside, level=1, name="Everyone")
    ensure_issue_setup(go_live=lakeside)
    tiers = set(
        EscalationStep.objects.filter(path__go_live=lakeside).values_list("tier", flat=True)
    )
    assert tiers == {only.pk}


def test_a_go_live_without_tiers_gets_no_paths_until_it_has_some(lakeside: GoLive) -> None:
    ensure_issue_setup(go_live=lakeside)
    assert not EscalationPath.objects.filter(go_live=lakeside).exists()


def test_the_most_specific_path_applies(
    mercy: GoLive,
    printing: Category,
    four_west: Unit,
    front_desk: Unit,
    mercy_general: Site,
    orders_app: Application,
) -> None:
    login = Category.objects.get(go_live=mercy, name="Login / access")
    by_site = EscalationPath.objects.create(go_live=mercy, priority="P3", site=mercy_general)
    by_app = EscalationPath.objects.create(go_live=mercy, priority="P3", application=orders_app)
    by_category = EscalationPath.objects.create(go_live=mercy, priority="P3", category=printing)
    own = EscalationPath.objects.get(
        go_live=mercy, priority="P3", category=None, application=None, site=None
    )

    def path(unit: Unit, category: Category, **fields: object) -> EscalationPath | None:
        issue = log(unit, category, **fields)
        return EscalationPath.objects.applying_to(
            go_live_id=issue.go_live_id,
            priority=issue.priority,
            category_id=issue.category_id,
            application_id=issue.application_id,
            site_id=issue.site_id,
        )

    assert path(four_west, printing, application_id=orders_app.pk) == by_category
    assert path(four_west, login, application_id=orders_app.pk) == by_app
    assert path(four_west, login) == by_site
    assert path(front_desk, login) == own
    # Another priority has its own path.
    p1 = path(front_desk, login, impact="unit", urgency="blocked")
    assert p1 is not None and p1.priority == "P1"


def test_the_database_refuses_a_bad_step_or_a_second_path_for_a_scope(
    mercy: GoLive, setup: None, tiers: dict[str, EscalationTier]
) -> None:
    path = EscalationPath.objects.get(go_live=mercy, priority=Priority.P2)
    for fields in (
        {"position": 9, "wait": dt.timedelta(minutes=-5), "channels": [C.EMAIL]},
        {"position": 9, "wait": dt.timedelta(0), "channels": []},
        {"position": 1, "wait": dt.timedelta(minutes=5), "channels": [C.EMAIL]},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Step.objects.create(path=path, trigger="unresolved", tier=tiers["command"], **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationPath.objects.create(go_live=mercy, priority=Priority.P2)
