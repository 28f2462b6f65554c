"""The issue log's REST API under /api/v1/go-lives/<id>/: the queue's filters and order, who sees
what, logging an issue (with an Idempotency-Key), changing, claiming, resolving and commenting on
one, its timeline, and who to call.

The clock stands still at Tuesday 3 November 2026 06:00 in Chicago unless a test moves it.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from golive.models import Application, Contact, EscalationTier, GoLive, Notification, Site, Unit
from issues.api import ROW_RELATED, IssueSerializer
from issues.models import Category, Impact, Issue, IssueEvent, Urgency
from issues.services import assign_issue, change_status, claim_issue, link_issue, set_tier
from issues.tests.conftest import LogIssue

Api = Callable[[User], Client]
# Token and user (1), membership (1), the filters' choices (5), the page's count, its issues' ids
# in order and those issues with their related rows (3).
LIST_BUDGET = 10


@pytest.fixture(autouse=True)
def frozen(now: dt.datetime) -> None:
    """Every test here runs at NOW (tests that need time to pass move the clock on)."""


def api_url(name: str, go_live: GoLive, **kwargs: int) -> str:
    return reverse(f"api:{name}", kwargs={"go_live": go_live.pk, **kwargs})


def issues_url(go_live: GoLive) -> str:
    return api_url("issues", go_live)


def issue_url(issue: Issue, action: str = "") -> str:
    name = f"issue_{action}" if action else "issue"
    return api_url(name, issue.go_live, number=issue.number)


def numbers(response: Any) -> list[int]:
    """The issue numbers of a list answer's page, in its order."""
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def error(response: Any, status: int) -> dict[str, Any]:
    """The error body of a refused request, after checking its status and shape."""
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["status"] == status
    assert set(body) == {"status", "code", "message", "fields"}
    return body


def post(client: Client, url: str, body: object, **headers: str) -> Any:
    return client.post(url, body, content_type="application/json", headers=headers)


def patch(client: Client, url: str, body: object) -> Any:
    return client.patch(url, body, content_type="application/json")


def new_issue_body(unit: Unit, category: Category, /, **fields: object) -> dict[str, object]:
    """A valid body for logging an issue: several people, with a workaround (P3)."""
    return {
        "unit": unit.pk,
        "category": category.pk,
        "title": "Wristbands print sideways",
        "impact": Impact.SEVERAL,
        "urgency": Urgency.WORKAROUND,
    } | fields


def later(time_machine: time_machine.TimeMachineFixture, minutes: int) -> None:
    """Move the stopped clock on by `minutes` (from where it stands)."""
    time_machine.move_to(timezone.now() + dt.timedelta(minutes=minutes), tick=False)


@pytest.fixture
def lakeside_unit(lakeside: GoLive) -> Unit:
    site = Site.objects.create(go_live=lakeside, name="Lakeside Main", code="LM")
    return Unit.objects.create(site=site, name="Lakeside ICU")


@pytest.fixture
def lakeside_category(lakeside: GoLive) -> Category:
    return Category.objects.create(go_live=lakeside, name="Printing / labels")


# --- Listing: order and filters ---------------------------------------------------------------------


def test_the_list_is_in_the_queues_order_priority_then_due_time_then_age(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    log_issue: LogIssue,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    oldest = log_issue(title="Oldest P3")
    later(time_machine, 5)
    due_sooner = log_issue(title="Newer P3, due sooner")
    assert oldest.due_at is not None
    Issue.objects.filter(pk=due_sooner.pk).update(due_at=oldest.due_at - dt.timedelta(hours=1))
    later(time_machine, 5)
    no_target = log_issue(title="P3 without a target")
    later(time_machine, 5)
    critical = log_issue(title="Newest, but P1", urgency=Urgency.BLOCKED)
    later(time_machine, 5)
    last_no_target = log_issue(title="Another P3 without a target")
    Issue.objects.filter(pk__in=[no_target.pk, last_no_target.pk]).update(due_at=None)

    assert numbers(api_for(lead_lena).get(issues_url(mercy))) == [
        critical.number,
        due_sooner.number,
        oldest.number,
        no_target.number,
        last_no_target.number,
    ]


def test_the_list_shows_open_issues_unless_status_says_otherwise(
    api_for: Api, mercy: GoLive, lead_lena: User, log_issue: LogIssue
) -> None:
    open_one = log_issue(title="Still broken")
    done = log_issue(title="Fixed already")
    change_status(issue=done, to=Issue.Status.RESOLVED, actor=None, resolution="Reseated.")
    client, url = api_for(lead_lena), issues_url(mercy)

    assert numbers(client.get(url)) == [open_one.number]
    assert numbers(client.get(url, {"status": "open"})) == [open_one.number]
    assert numbers(client.get(url, {"status": "resolved"})) == [done.number]
    assert set(numbers(client.get(url, {"status": "any"}))) == {open_one.number, done.number}
    both = client.get(url, {"status": ["new", "resolved"]})
    assert set(numbers(both)) == {open_one.number, done.number}
    assert "status" in error(client.get(url, {"status": "fixed"}), 400)["fields"]


def test_the_list_filters_by_several_priorities(
    api_for: Api, mercy: GoLive, lead_lena: User, log_issue: LogIssue
) -> None:
    p1 = log_issue(urgency=Urgency.BLOCKED)
    log_issue(urgency=Urgency.WORKAROUND)
    p4 = log_issue(urgency=Urgency.QUESTION)

    response = api_for(lead_lena).get(issues_url(mercy), {"priority": ["P1", "P4"]})

    assert numbers(response) == [p1.number, p4.number]
    assert (
        "priority"
        in error(api_for(lead_lena).get(issues_url(mercy), {"priority": "P9"}), 400)["fields"]
    )


def test_the_list_filters_by_unit_site_and_category(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    log_issue: LogIssue,
    ed: Unit,
    front_desk: Unit,
    northside: Site,
    login_access: Category,
) -> None:
    on_four_west = log_issue()
    on_ed = log_issue(unit=ed, category=login_access)
    at_the_clinic = log_issue(unit=front_desk)
    client, url = api_for(lead_lena), issues_url(mercy)

    assert numbers(client.get(url, {"unit": ed.pk})) == [on_ed.number]
    assert numbers(client.get(url, {"site": northside.pk})) == [at_the_clinic.number]
    assert numbers(client.get(url, {"category": login_access.pk})) == [on_ed.number]
    assert numbers(client.get(url, {"site": ed.site_id})) == [on_four_west.number, on_ed.number]


def test_the_list_filters_by_assignee_me_nobody_or_a_person(
    api_for: Api,
    mercy: GoLive,
    agent_alex: User,
    super_sam: User,
    log_issue: LogIssue,
) -> None:
    alexs = claim_issue(issue=log_issue(title="Alex has it"), agent=agent_alex)
    sams = assign_issue(issue=log_issue(title="Sam has it"), assignee=super_sam, actor=None)
    nobodys = log_issue(title="Nobody has it")
    client, url = api_for(agent_alex), issues_url(mercy)

    assert numbers(client.get(url, {"assignee": "me"})) == [alexs.number]
    assert numbers(client.get(url, {"assignee": "nobody"})) == [nobodys.number]
    assert numbers(client.get(url, {"assignee": super_sam.pk})) == [sams.number]
    assert "assignee" in error(client.get(url, {"assignee": "someone"}), 400)["fields"]


def test_the_list_filters_overdue_issues_and_refuses_a_word_that_is_not_true_or_false(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    log_issue: LogIssue,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    # P3: a first response is due within 2 hours.
    late = log_issue(title="Nobody answered")
    later(time_machine, 3 * 60)
    fresh = log_issue(title="Just in")
    client, url = api_for(lead_lena), issues_url(mercy)

    overdue = client.get(url, {"overdue": "true"})
    assert numbers(overdue) == [late.number]
    assert overdue.json()["results"][0]["overdue"] is True
    assert set(numbers(client.get(url, {"overdue": "false"}))) == {late.number, fresh.number}
    body = error(client.get(url, {"overdue": "banana"}), 400)
    assert list(body["fields"]) == ["overdue"]


def test_the_list_filters_patient_safety_issues(
    api_for: Api, mercy: GoLive, lead_lena: User, log_issue: LogIssue
) -> None:
    log_issue(title="Labels print blank")
    unsafe = log_issue(title="Wrong patient on the label", patient_safety=True)

    response = api_for(lead_lena).get(issues_url(mercy), {"patient_safety": "true"})

    assert numbers(response) == [unsafe.number]
    assert response.json()["results"][0]["priority"] == "P1"


def test_the_list_searches_words_and_finds_an_issue_by_its_code(
    api_for: Api, mercy: GoLive, lead_lena: User, log_issue: LogIssue
) -> None:
    labels = log_issue(title="Labels print blank")
    sign_in = log_issue(title="Cannot sign in to Orders", description="Badge tap fails")
    client, url = api_for(lead_lena), issues_url(mercy)

    assert numbers(client.get(url, {"q": "badge"})) == [sign_in.number]
    assert numbers(client.get(url, {"q": "labels"})) == [labels.number]
    assert numbers(client.get(url, {"q": labels.code})) == [labels.number]
    assert numbers(client.get(url, {"q": f"gl{sign_in.number}"})) == [sign_in.number]


def test_a_filter_naming_another_go_lives_unit_or_category_is_refused_by_name(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    log_issue: LogIssue,
    lakeside_unit: Unit,
    lakeside_category: Category,
) -> None:
    log_issue()
    client, url = api_for(lead_lena), issues_url(mercy)

    assert list(error(client.get(url, {"unit": lakeside_unit.pk}), 400)["fields"]) == ["unit"]
    body = error(client.get(url, {"category": lakeside_category.pk}), 400)
    assert list(body["fields"]) == ["category"]


def test_the_list_refuses_a_parameter_it_does_not_know_and_a_page_size_out_of_range(
    api_for: Api, mercy: GoLive, lead_lena: User, log_issue: LogIssue
) -> None:
    log_issue()
    client, url = api_for(lead_lena), issues_url(mercy)

    assert list(error(client.get(url, {"sort": "priority"}), 400)["fields"]) == ["sort"]
    assert list(error(client.get(url, {"page_size": 201}), 400)["fields"]) == ["page_size"]
    assert list(error(client.get(url, {"page_size": 0}), 400)["fields"]) == ["page_size"]


def test_the_list_comes_in_pages(
    api_for: Api, mercy: GoLive, lead_lena: User, log_issue: LogIssue
) -> None:
    made = [log_issue(title=f"Problem {n}") for n in range(3)]
    client, url = api_for(lead_lena), issues_url(mercy)

    first = client.get(url, {"page_size": 2}).json()
    second = client.get(url, {"page_size": 2, "page": 2}).json()

    assert first["count"] == 3
    assert first["previous"] is None and "page=2" in first["next"]
    assert second["next"] is None and second["previous"] is not None
    listed = [row["number"] for row in first["results"] + second["results"]]
    assert listed == [issue.number for issue in made]


# --- Listing: who sees what ------------------------------------------------------------------------


def test_floor_staff_see_their_units_issues_and_the_ones_they_reported(
    api_for: Api,
    mercy: GoLive,
    nurse_nina: User,
    log_issue: LogIssue,
    ed: Unit,
    front_desk: Unit,
) -> None:
    on_her_unit = log_issue(title="4 West printer")
    hers_elsewhere = log_issue(unit=ed, title="Seen in the ED", reporter_user=nurse_nina)
    log_issue(unit=ed, title="Someone else's in the ED")
    log_issue(unit=front_desk, title="At the clinic")

    listed = numbers(api_for(nurse_nina).get(issues_url(mercy)))

    assert sorted(listed) == sorted([on_her_unit.number, hers_elsewhere.number])


def test_a_clinic_manager_sees_only_her_sites_issues(
    api_for: Api,
    mercy: GoLive,
    manager_maria: User,
    log_issue: LogIssue,
    ed: Unit,
    front_desk: Unit,
) -> None:
    on_four_west = log_issue()
    on_ed = log_issue(unit=ed)
    at_the_clinic = log_issue(unit=front_desk)
    client = api_for(manager_maria)

    assert sorted(numbers(client.get(issues_url(mercy)))) == sorted(
        [on_four_west.number, on_ed.number]
    )
    refused = client.get(issue_url(at_the_clinic))
    assert error(refused, 404)["code"] == "not_found"


def test_another_go_lives_lead_is_answered_as_if_mercy_did_not_exist(
    api_for: Api, mercy: GoLive, outsider_oscar: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    client = api_for(outsider_oscar)

    assert error(client.get(issues_url(mercy)), 404)["code"] == "not_found"
    assert error(client.get(issue_url(issue)), 404)["code"] == "not_found"
    assert issue.title not in client.get(issue_url(issue)).content.decode()


def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(
    mercy: GoLive, log_issue: LogIssue
) -> None:
    log_issue()
    response = Client().get(issues_url(mercy))
    assert error(response, 401)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_page_of_issues_costs_the_same_few_queries_for_3_issues_as_for_60(
    api_for: Api,
    mercy: GoLive,
    lead_lena: User,
    many: Callable[[int], list[Any]],
) -> None:
    client, url = api_for(lead_lena), issues_url(mercy)
    client.get(url)  # the token's first use is written once: not part of a page's cost
    many(3)
    with CaptureQueriesContext(connection) as small:
        assert len(numbers(client.get(url, {"page_size": 200}))) == 3
    few = len(small.captured_queries)
    many(57)
    with CaptureQueriesContext(connection) as large:
        assert len(numbers(client.get(url, {"page_size": 200}))) == 60

    assert len(large.captured_queries) == few
    assert few <= LIST_BUDGET


# --- Logging an issue -------------------------------------------------------------------------------


def test_logging_an_issue_answers_201_with_the_issue_and_where_it_lives(
    api_for: Api, mercy: GoLive, nurse_nina: User, four_west: Unit, printing: Category
) -> None:
    response = post(api_for(nurse_nina), issues_url(mercy), new_issue_body(four_west, printing))

    assert response.status_code == 201, response.content
    body = response.json()
    issue = Issue.objects.get(number=body["number"], go_live=mercy)
    assert body["code"] == issue.code
    assert body["title"] == "Wristbands print sideways"
    assert (body["status"], body["priority"]) == ("new", "P3")
    assert body["unit"] == {"id": four_west.pk, "name": four_west.name}
    assert body["site"]["id"] == four_west.site_id
    assert response["Location"] == issue_url(issue)
    assert issue.reporter_user == nurse_nina
    assert api_for(nurse_nina).get(response["Location"]).json()["number"] == issue.number


def test_a_retry_with_the_same_idempotency_key_returns_the_first_issue(
    api_for: Api, mercy: GoLive, nurse_nina: User, four_west: Unit, printing: Category
) -> None:
    client, body = api_for(nurse_nina), new_issue_body(four_west, printing)

    first = post(client, issues_url(mercy), body, **{"Idempotency-Key": "tablet-7:42"})
    again = post(client, issues_url(mercy), body, **{"Idempotency-Key": "tablet-7:42"})

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    assert again["Location"] == first["Location"]
    assert Issue.objects.filter(go_live=mercy).count() == 1


def test_the_same_idempotency_key_with_another_issue_is_refused(
    api_for: Api, mercy: GoLive, nurse_nina: User, four_west: Unit, printing: Category
) -> None:
    client = api_for(nurse_nina)
    key = {"Idempotency-Key": "retry-1"}
    first = post(client, issues_url(mercy), new_issue_body(four_west, printing), **key)

    other = post(
        client, issues_url(mercy), new_issue_body(four_west, printing, title="Other"), **key
    )

    body = error(other, 422)
    assert body["code"] == "idempotency_key_reused"
    assert first.json()["code"] in body["message"]
    assert Issue.objects.filter(go_live=mercy).count() == 1


def test_idempotency_keys_are_each_users_own(
    api_for: Api,
    mercy: GoLive,
    nurse_nina: User,
    agent_alex: User,
    four_west: Unit,
    printing: Category,
) -> None:
    body, key = new_issue_body(four_west, printing), {"Idempotency-Key": "shared-key"}

    ninas = post(api_for(nurse_nina), issues_url(mercy), body, **key)
    alexs = post(api_for(agent_alex), issues_url(mercy), body, **key)

    assert (ninas.status_code, alexs.status_code) == (201, 201)
    assert alexs.json()["number"] != ninas.json()["number"]
    reporters = Issue.objects.filter(go_live=mercy).values_list("reporter_user", flat=True)
    assert sorted(reporters) == sorted([nurse_nina.pk, agent_alex.pk])


@pytest.mark.parametrize("key", ["has space", "x" * 41, "slash/not/allowed"])
def test_a_malformed_idempotency_key_is_refused_and_nothing_is_logged(
    key: str,
    api_for: Api,
    mercy: GoLive,
    nurse_nina: User,
    four_west: Unit,
    printing: Category,
) -> None:
    response = post(
        api_for(nurse_nina),
        issues_url(mercy),
        new_issue_body(four_west, printing),
        **{"Idempotency-Key": key},
    )

    assert list(error(response, 400)["fields"]) == ["Idempotency-Key"]
    assert not Issue.objects.exists()


def test_a_field_the_body_may_not_carry_is_refused_by_name(
    api_for: Api, mercy: GoLive, nurse_nina: User, four_west: Unit, printing: Category
) -> None:
    body = new_issue_body(four_west, printing, priority="P1")

    response = post(api_for(nurse_nina), issues_url(mercy), body)

    assert list(error(response, 400)["fields"]) == ["priority"]
    assert not Issue.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("impact", "huge"),
        ("urgency", None),
        ("unit", "abc"),
        ("patient_safety", "maybe"),
        ("title", ["Labels", "blank"]),
        ("title", True),
        ("title", "x" * 121),
        ("title", "   "),
        # Past the ids' bigint columns: the intake SQL once got them (a 500).
        ("category", 2**63),
        ("application", 10**20),
        ("unit", 10**20),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_by_name_and_nothing_is_logged(
    field: str,
    value: object,
    api_for: Api,
    mercy: GoLive,
    nurse_nina: User,
    four_west: Unit,
    printing: Category,
) -> None:
    body = new_issue_body(four_west, printing, **{field: value})

    response = post(api_for(nurse_nina), issues_url(mercy), body)

    assert list(error(response, 400)["fields"]) == [field]
    assert not Issue.objects.exists()


def test_a_number_as_a_title_is_taken_as_its_digits(
    api_for: Api, mercy: GoLive, nurse_nina: User, four_west: Unit, printing: Category
) -> None:
    # DRF's CharField accepts numbers (not booleans, lists or objects) and keeps their text.
    body = new_issue_body(four_west, printing, title=404)

    response = post(api_for(nurse_nina), issues_url(mercy), body)

    assert response.status_code == 201
    assert response.json()["title"] == "404"


def test_floor_staff_may_not_log_an_issue_for_a_unit_that_is_not_theirs(
    api_for: Api, mercy: GoLive, nurse_nina: User, ed: Unit, printing: Category
) -> None:
    response = post(api_for(nurse_nina), issues_url(mercy), new_issue_body(ed, printing))

    assert list(error(response, 400)["fields"]) == ["unit"]
    assert not Issue.objects.exists()


def test_a_category_of_another_go_live_is_refused_and_nothing_is_logged(
    api_for: Api,
    mercy: GoLive,
    nurse_nina: User,
    four_west: Unit,
    lakeside_category: Category,
    setup: None,
) -> None:
    body = new_issue_body(four_west, lakeside_category)

    response = post(api_for(nurse_nina), issues_url(mercy), body)

    assert list(error(response, 400)["fields"]) == ["category"]
    assert not Issue.objects.exists()


def test_a_patient_safety_issue_is_p1_whatever_its_impact_and_urgency(
    api_for: Api, mercy: GoLive, nurse_nina: User, four_west: Unit, printing: Category
) -> None:
    body = new_issue_body(
        four_west, printing, impact=Impact.ONE_USER, urgency=Urgency.QUESTION, patient_safety=True
    )

    response = post(api_for(nurse_nina), issues_url(mercy), body)

    assert response.status_code == 201
    assert (response.json()["priority"], response.json()["patient_safety"]) == ("P1", True)
    assert Issue.objects.get().priority == "P1"


# --- Changing an issue ------------------------------------------------------------------------------


def event_kinds(issue: Issue) -> list[str]:
    return list(
        IssueEvent.objects.filter(issue=issue).order_by("pk").values_list("kind", flat=True)
    )


def test_a_help_desk_agent_sets_priority_assignee_and_tier_in_one_request(
    api_for: Api,
    agent_alex: User,
    super_sam: User,
    log_issue: LogIssue,
    tiers: dict[str, EscalationTier],
) -> None:
    issue = log_issue()
    client = api_for(agent_alex)

    response = patch(
        client,
        issue_url(issue),
        {
            "version": issue.version,
            "priority": "P2",
            "assignee": super_sam.pk,
            "tier": tiers["command"].pk,
            "note": "Whole pharmacy queue is affected.",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["priority"] == "P2"
    assert body["assignee"] == {"id": super_sam.pk, "name": "Sam Super"}
    assert body["tier"] == {"id": tiers["command"].pk, "name": "Command center"}
    assert body["version"] == issue.version + 3
    issue.refresh_from_db()
    assert (issue.priority, issue.assignee, issue.tier) == ("P2", super_sam, tiers["command"])
    timeline = client.get(issue_url(issue, "timeline")).json()["results"]
    changes = {event["kind"]: event for event in timeline}
    assert {"assignee", "tier", "priority"} <= set(changes)
    assert changes["priority"]["old"] == "P3" and changes["priority"]["new"] == "P2"
    assert changes["priority"]["body"] == "Whole pharmacy queue is affected."
    assert changes["assignee"]["who"] == "Alex Agent"


def test_support_staff_may_move_the_status_but_not_the_priority(
    api_for: Api, super_sam: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    client = api_for(super_sam)

    refused = patch(client, issue_url(issue), {"priority": "P1"})
    assert "priority" in error(refused, 403)["message"]
    issue.refresh_from_db()
    assert (issue.priority, issue.version) == ("P3", 1)

    moved = patch(client, issue_url(issue), {"status": "in_progress"})
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "in_progress"

    mixed = patch(client, issue_url(issue), {"status": "waiting_vendor", "priority": "P1"})
    assert error(mixed, 403)
    issue.refresh_from_db()
    assert (issue.status, issue.priority) == ("in_progress", "P3")


def test_a_refused_change_rolls_back_the_others_of_the_same_request(
    api_for: Api, agent_alex: User, super_sam: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    before = event_kinds(issue)

    # A new issue cannot be closed before it is resolved.
    response = patch(
        api_for(agent_alex),
        issue_url(issue),
        {"priority": "P1", "assignee": super_sam.pk, "status": "closed"},
    )

    assert "cannot become closed" in error(response, 409)["message"]
    issue.refresh_from_db()
    assert (issue.version, issue.priority, issue.assignee, issue.status) == (1, "P3", None, "new")
    assert event_kinds(issue) == before
    assert not Notification.objects.filter(recipient_user=super_sam).exists()


def test_resolving_through_a_change_needs_what_fixed_it_too(
    api_for: Api, agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    client = api_for(agent_alex)

    missing = patch(client, issue_url(issue), {"status": "resolved", "priority": "P2"})
    assert list(error(missing, 400)["fields"]) == ["resolution"]
    issue.refresh_from_db()
    assert (issue.status, issue.priority, issue.version) == ("new", "P3", 1)

    resolved = patch(client, issue_url(issue), {"status": "resolved", "resolution": "Rebooted."})
    assert resolved.status_code == 200, resolved.content
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "Rebooted.")


def test_a_change_based_on_a_stale_version_is_refused(
    api_for: Api, agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    client = api_for(agent_alex)
    assert patch(client, issue_url(issue), {"priority": "P2"}).status_code == 200

    stale = patch(client, issue_url(issue), {"version": 1, "priority": "P4"})

    body = error(stale, 409)
    assert body["code"] == "conflict" and "version 1" in body["message"]
    issue.refresh_from_db()
    assert (issue.priority, issue.version) == ("P2", 2)


def test_an_empty_change_is_refused(api_for: Api, agent_alex: User, log_issue: LogIssue) -> None:
    issue = log_issue()
    client = api_for(agent_alex)

    assert "Send at least one of" in error(patch(client, issue_url(issue), {}), 400)["message"]
    # A version alone changes nothing either.
    assert error(patch(client, issue_url(issue), {"version": 1}), 400)
    assert list(error(patch(client, issue_url(issue), {"colour": "red"}), 400)["fields"]) == [
        "colour"
    ]


def test_an_issue_can_be_given_only_to_a_support_member(
    api_for: Api, agent_alex: User, nurse_nina: User, outsider_oscar: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    client = api_for(agent_alex)

    for somebody in (nurse_nina, outsider_oscar):
        response = patch(client, issue_url(issue), {"assignee": somebody.pk})
        assert list(error(response, 400)["fields"]) == ["assignee"]
    issue.refresh_from_db()
    assert (issue.assignee, issue.version) == (None, 1)


def test_a_tier_of_another_go_live_is_refused(
    api_for: Api, agent_alex: User, lakeside: GoLive, log_issue: LogIssue
) -> None:
    issue = log_issue()
    theirs = EscalationTier.objects.create(go_live=lakeside, level=1, name="Lakeside desk")

    response = patch(api_for(agent_alex), issue_url(issue), {"tier": theirs.pk})

    assert list(error(response, 400)["fields"]) == ["tier"]
    issue.refresh_from_db()
    assert issue.tier is None


# --- Claiming and resolving -------------------------------------------------------------------------


def test_claiming_an_issue_makes_it_yours_and_acknowledges_it(
    api_for: Api, agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue()

    response = post(api_for(agent_alex), issue_url(issue, "claim"), {})

    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == {"id": agent_alex.pk, "name": "Alex Agent"}
    assert response.json()["status"] == "acknowledged"
    issue.refresh_from_db()
    assert issue.assignee == agent_alex


def test_a_second_claim_is_told_who_has_the_issue(
    api_for: Api, agent_alex: User, super_sam: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    assert post(api_for(agent_alex), issue_url(issue, "claim"), {}).status_code == 200

    second = post(api_for(super_sam), issue_url(issue, "claim"), {})

    assert "Alex Agent has" in error(second, 409)["message"]
    issue.refresh_from_db()
    assert issue.assignee == agent_alex


def test_floor_staff_may_not_claim_issues(
    api_for: Api, nurse_nina: User, log_issue: LogIssue
) -> None:
    issue = log_issue()

    assert error(post(api_for(nurse_nina), issue_url(issue, "claim"), {}), 403)
    issue.refresh_from_db()
    assert issue.assignee is None


def test_resolving_needs_what_fixed_it(api_for: Api, agent_alex: User, log_issue: LogIssue) -> None:
    issue = log_issue()
    client = api_for(agent_alex)

    assert list(error(post(client, issue_url(issue, "resolve"), {}), 400)["fields"]) == [
        "resolution"
    ]
    blank = post(client, issue_url(issue, "resolve"), {"resolution": "  "})
    assert list(error(blank, 400)["fields"]) == ["resolution"]
    issue.refresh_from_db()
    assert issue.status == "new"


def test_resolving_an_issue_tells_its_reporter(
    api_for: Api,
    mercy: GoLive,
    nurse_nina: User,
    agent_alex: User,
    four_west: Unit,
    printing: Category,
) -> None:
    logged = post(api_for(nurse_nina), issues_url(mercy), new_issue_body(four_west, printing))
    issue = Issue.objects.get(number=logged.json()["number"])

    response = post(
        api_for(agent_alex), issue_url(issue, "resolve"), {"resolution": "Reloaded the labels."}
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    assert response.json()["resolution"] == "Reloaded the labels."
    told = Notification.objects.in_app_for(nurse_nina).get()
    assert issue.code in told.subject
    assert "Reloaded the labels." in told.body


def test_resolving_with_a_stale_version_is_refused(
    api_for: Api, agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    assign_issue(issue=issue, assignee=agent_alex, actor=None)

    response = post(
        api_for(agent_alex), issue_url(issue, "resolve"), {"resolution": "Done.", "version": 1}
    )

    assert error(response, 409)["code"] == "conflict"
    issue.refresh_from_db()
    assert issue.status == "new"


# --- Comments and the timeline ----------------------------------------------------------------------


def test_a_comment_is_an_internal_note_unless_it_says_otherwise(
    api_for: Api, agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue()

    response = post(api_for(agent_alex), issue_url(issue, "comments"), {"body": "Driver again?"})

    assert response.status_code == 201, response.content
    event = response.json()
    assert (event["kind"], event["body"], event["internal"]) == ("comment", "Driver again?", True)
    assert event["who"] == "Alex Agent"


def test_the_reporter_sees_a_reply_but_not_an_internal_note(
    api_for: Api, agent_alex: User, nurse_nina: User, log_issue: LogIssue
) -> None:
    issue = log_issue(reporter_user=nurse_nina)
    desk = api_for(agent_alex)
    post(desk, issue_url(issue, "comments"), {"body": "Vendor bug, do not tell yet."})
    post(desk, issue_url(issue, "comments"), {"body": "Try tray 2.", "internal": False})

    ninas = api_for(nurse_nina).get(issue_url(issue, "timeline")).json()["results"]
    desks = desk.get(issue_url(issue, "timeline")).json()["results"]

    assert [e["body"] for e in ninas if e["kind"] == "comment"] == ["Try tray 2."]
    assert [e["body"] for e in desks if e["kind"] == "comment"] == [
        "Vendor bug, do not tell yet.",
        "Try tray 2.",
    ]
    assert Notification.objects.in_app_for(nurse_nina).get().body == "Try tray 2."


def test_floor_staff_may_not_comment(api_for: Api, nurse_nina: User, log_issue: LogIssue) -> None:
    issue = log_issue(reporter_user=nurse_nina)

    response = post(api_for(nurse_nina), issue_url(issue, "comments"), {"body": "Any news?"})

    assert error(response, 403)["code"] == "permission_denied"
    assert not IssueEvent.objects.filter(issue=issue, kind="comment").exists()


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {}, {"internal": False}])
def test_an_empty_comment_is_refused(
    body: dict[str, object], api_for: Api, agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue()

    response = post(api_for(agent_alex), issue_url(issue, "comments"), body)

    assert list(error(response, 400)["fields"]) == ["body"]
    assert not IssueEvent.objects.filter(issue=issue, kind="comment").exists()


def test_the_timeline_is_oldest_first_in_pages(
    api_for: Api,
    agent_alex: User,
    log_issue: LogIssue,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    issue = log_issue()
    client = api_for(agent_alex)
    for text in ("first", "second", "third"):
        later(time_machine, 1)
        post(client, issue_url(issue, "comments"), {"body": text})

    first = client.get(issue_url(issue, "timeline"), {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 4
    events = first["results"] + second["results"]
    assert [(e["kind"], e["body"]) for e in events] == [
        ("created", ""),
        ("comment", "first"),
        ("comment", "second"),
        ("comment", "third"),
    ]
    stamps = [e["at"] for e in events]
    assert stamps == sorted(stamps)
    assert second["next"] is None


# --- Who do I call ----------------------------------------------------------------------------------


def test_who_to_call_needs_a_unit(api_for: Api, mercy: GoLive, nurse_nina: User) -> None:
    response = api_for(nurse_nina).get(api_url("who_to_call", mercy))
    assert list(error(response, 400)["fields"]) == ["unit"]


def test_who_to_call_is_only_for_the_members_own_units(
    api_for: Api, mercy: GoLive, nurse_nina: User, ed: Unit, lakeside_unit: Unit
) -> None:
    client = api_for(nurse_nina)
    for unit in (ed, lakeside_unit):
        response = client.get(api_url("who_to_call", mercy), {"unit": unit.pk})
        assert list(error(response, 400)["fields"]) == ["unit"]


def test_who_to_call_lists_the_tiers_with_their_contacts(
    api_for: Api,
    mercy: GoLive,
    nurse_nina: User,
    four_west: Unit,
    setup: None,
    help_desk_contact: Contact,
) -> None:
    response = api_for(nurse_nina).get(api_url("who_to_call", mercy), {"unit": four_west.pk})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit"] == {"id": four_west.pk, "name": four_west.name}
    assert [row["tier"]["name"] for row in body["tiers"]] == ["Floor support", "Command center"]
    floor = body["tiers"][0]
    assert [c["name"] for c in floor["contacts"]] == ["Mercy help desk"]
    assert floor["contacts"][0]["phone"] == "312-555-0111"
    assert body["tiers"][1]["contacts"] == []


def test_who_to_call_for_another_go_live_is_not_found(
    api_for: Api, mercy: GoLive, outsider_oscar: User, lakeside_unit: Unit, four_west: Unit
) -> None:
    response = api_for(outsider_oscar).get(api_url("who_to_call", mercy), {"unit": four_west.pk})
    assert error(response, 404)["code"] == "not_found"


def test_an_issue_reads_the_same_as_drfs_own_field_by_field_rendering(
    api_for: Api,
    agent_alex: User,
    super_sam: User,
    log_issue: LogIssue,
    tiers: dict[str, EscalationTier],
    orders_app: Application,
) -> None:
    parent = log_issue(title="Every label printer is down")
    issue = log_issue(application=orders_app, location_detail="Room 12", reporter_name="Kim")
    link_issue(issue=issue, parent=parent, kind=Issue.Link.PART_OF, actor=agent_alex)
    claim_issue(issue=issue, agent=super_sam)
    later_issue = Issue.objects.get(pk=issue.pk)
    set_tier(issue=later_issue, tier=tiers["command"], actor=agent_alex)

    body = api_for(agent_alex).get(issue_url(issue)).json()

    issue = Issue.objects.select_related(*ROW_RELATED).get(pk=issue.pk)
    with timezone.override(dt.UTC):  # as the API writes times
        by_drf = serializers.ModelSerializer.to_representation(
            IssueSerializer(context={"now": timezone.now()}), issue
        )
    assert body == dict(by_drf)
    assert body["parent"] == parent.number
    assert body["application"] == {"id": orders_app.pk, "name": orders_app.name}
    assert body["tier"] == {"id": tiers["command"].pk, "name": "Command center"}
    assert body["assignee"] == {"id": super_sam.pk, "name": "Sam Super"}
    assert body["acknowledged_at"].endswith("Z")
