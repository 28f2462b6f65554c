"""The triage queue page: who may open it, its order, its filters, saved views, pages, the rows'
age and time left, and the live refresh with its count of new issues.

The clock stands still at Tuesday 3 November 2026 06:00 in Chicago unless a test moves it.
"""

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from golive.models import Application, EscalationTier, GoLive, Membership, Unit
from issues.models import Category, Impact, Issue, SavedView, Urgency
from issues.services import assign_issue, change_status, claim_issue, set_tier
from issues.tests.conftest import NOW, LogIssue

QUEUE = reverse("issues:queue")
POLL = reverse("issues:queue_poll")
# Session, user and memberships (3); the filters' choices (5); the page's count and rows (2);
# saved views (1). Measured after a first page: that one also saves the session (the current
# go-live chosen; a renewal at most once a minute).
QUEUE_BUDGET = 11


def codes(response: object) -> list[str]:
    """The issue codes of the queue's rows, top to bottom."""
    return [row.issue.code for row in response.context["rows"]]  # type: ignore[attr-defined]


def resolve(issue: Issue, actor: User | None = None) -> Issue:
    return change_status(issue=issue, to=Issue.Status.RESOLVED, actor=actor, resolution="Fixed.")


def limit_to(user: User, *units: Unit) -> None:
    user.memberships.get().units.add(*units)


# --- Who may open it ------------------------------------------------------------------------------


def test_it_sends_a_visitor_to_sign_in(client: Client, mercy: GoLive) -> None:
    for url in [QUEUE, POLL]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_floor_staff_are_refused_the_queue(
    client_for: Callable[[User], Client], nurse_nina: User, log_issue: LogIssue
) -> None:
    log_issue()
    client = client_for(nurse_nina)
    assert client.get(QUEUE).status_code == 403
    assert client.get(POLL).status_code == 403


@pytest.mark.parametrize("who", ["agent_alex", "lead_lena"])
def test_the_help_desk_and_the_command_center_see_every_issue_of_the_go_live(
    request: pytest.FixtureRequest,
    who: str,
    client_for: Callable[[User], Client],
    log_issue: LogIssue,
    four_west: Unit,
    front_desk: Unit,
) -> None:
    first, second = log_issue(unit=four_west), log_issue(unit=front_desk)
    response = client_for(request.getfixturevalue(who)).get(QUEUE)
    assert response.status_code == 200
    assert set(codes(response)) == {first.code, second.code}


def test_support_staff_see_their_units_and_what_is_assigned_to_them(
    client_for: Callable[[User], Client],
    super_sam: User,
    log_issue: LogIssue,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
) -> None:
    limit_to(super_sam, ed)
    on_ed = log_issue(unit=ed)
    theirs = log_issue(unit=front_desk)
    assign_issue(issue=theirs, assignee=super_sam, actor=None)
    log_issue(unit=four_west)
    assert set(codes(client_for(super_sam).get(QUEUE))) == {on_ed.code, theirs.code}


def test_a_clinic_manager_sees_the_issues_of_the_units_she_manages(
    client_for: Callable[[User], Client],
    manager_maria: User,
    log_issue: LogIssue,
    four_west: Unit,
    front_desk: Unit,
) -> None:
    at_mercy = log_issue(unit=four_west)
    log_issue(unit=front_desk)
    response = client_for(manager_maria).get(QUEUE)
    assert codes(response) == [at_mercy.code]
    # Reading and commenting only: no claim button and no bulk bar.
    assert b"data-row-claim" not in response.content
    assert b'id="bulk-form"' not in response.content


def test_another_go_lives_lead_sees_none_of_mercys_issues(
    client_for: Callable[[User], Client], outsider_oscar: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    response = client_for(outsider_oscar).get(QUEUE)
    assert response.status_code == 200
    assert codes(response) == []
    assert issue.title.encode() not in response.content


# --- Order and rows -------------------------------------------------------------------------------


def test_it_lists_by_priority_then_due_time_with_no_target_last_then_age(
    now: dt.datetime,
    time_machine: time_machine.TimeMachineFixture,
    client_for: Callable[[User], Client],
    agent_alex: User,
    log_issue: LogIssue,
    mercy: GoLive,
) -> None:
    enhancement = Category.objects.get(go_live=mercy, name="Enhancement request")
    p3_no_target = log_issue(title="A wish", category=enhancement)
    time_machine.move_to(NOW + dt.timedelta(minutes=5), tick=False)
    p3_early = log_issue(title="Early P3")
    p4 = log_issue(title="Question", urgency=Urgency.QUESTION)
    time_machine.move_to(NOW + dt.timedelta(minutes=10), tick=False)
    p1 = log_issue(title="Down", impact=Impact.UNIT, urgency=Urgency.BLOCKED)
    p3_late = log_issue(title="Late P3")
    p2 = log_issue(title="One blocked", impact=Impact.ONE_USER, urgency=Urgency.BLOCKED)

    response = client_for(agent_alex).get(QUEUE)

    assert codes(response) == [
        p1.code,
        p2.code,
        p3_early.code,
        p3_late.code,
        p3_no_target.code,
        p4.code,
    ]


def test_each_row_shows_its_age_and_time_left_in_words(
    now: dt.datetime,
    time_machine: time_machine.TimeMachineFixture,
    client_for: Callable[[User], Client],
    agent_alex: User,
    log_issue: LogIssue,
    mercy: GoLive,
) -> None:
    p1 = log_issue(title="Down", impact=Impact.UNIT, urgency=Urgency.BLOCKED)
    p3 = log_issue(title="Blank labels")
    unanswered = log_issue(title="Scanner offline")
    wish = log_issue(
        title="A wish", category=Category.objects.get(go_live=mercy, name="Enhancement request")
    )
    client = client_for(agent_alex)
    # Until someone answers, a row counts down to the first response (two hours for a P3).
    time_machine.move_to(NOW + dt.timedelta(minutes=10), tick=False)
    rows = {row.issue.code: row for row in client.get(QUEUE).context["rows"]}
    assert (rows[p3.code].due, rows[p3.code].overdue) == ("respond within 1 h 50 min", False)
    claim_issue(issue=p3, agent=agent_alex)
    time_machine.move_to(NOW + dt.timedelta(hours=4, minutes=12), tick=False)

    response = client.get(QUEUE)

    rows = {row.issue.code: row for row in response.context["rows"]}
    assert (rows[p1.code].age, rows[p1.code].due, rows[p1.code].overdue) == (
        "4 h 12 min",
        "overdue 12 min",
        True,
    )
    # Answered: it counts down to its resolution (24 hours for a P3).
    assert (rows[p3.code].due, rows[p3.code].overdue) == ("19 h 48 min left", False)
    assert (rows[unanswered.code].due, rows[unanswered.code].overdue) == (
        "no response yet, 2 h 12 min late",
        True,
    )
    assert rows[wish.code].due == "no target"
    html = response.content.decode()
    assert "overdue 12 min" in html
    assert "no target" in html
    # The logged time is shown in the go-live's zone (06:00 in Chicago, 12:00 UTC).
    assert "Logged Tue 3 Nov, 06:00" in html


def test_a_row_names_unit_site_category_application_status_and_assignee(
    now: dt.datetime,
    client_for: Callable[[User], Client],
    agent_alex: User,
    log_issue: LogIssue,
    orders_app: Application,
) -> None:
    issue = log_issue(application=orders_app, patient_safety=True)
    assign_issue(issue=issue, assignee=agent_alex, actor=None)

    html = client_for(agent_alex).get(QUEUE).content.decode()

    assert "4 West Med/Surg · Mercy General" in html
    assert "Printing / labels · Orders" in html
    assert 'title="P1 · critical">P1</span>' in html
    assert "⚠ Patient safety" in html
    assert "Alex Agent" in html
    assert "New" in html


def test_script_in_a_title_is_shown_as_text(
    client_for: Callable[[User], Client], agent_alex: User, log_issue: LogIssue
) -> None:
    log_issue(title='<script>alert("x")</script>')
    html = client_for(agent_alex).get(QUEUE).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<script>alert("x")' not in html


# --- Filters --------------------------------------------------------------------------------------


@pytest.fixture
def mixed(
    now: dt.datetime,
    mercy: GoLive,
    log_issue: LogIssue,
    four_west: Unit,
    ed: Unit,
    front_desk: Unit,
    orders_app: Application,
    tiers: dict[str, EscalationTier],
    agent_alex: User,
    super_sam: User,
    login_access: Category,
) -> dict[str, Issue]:
    """Seven issues that differ in one way each; agent_alex has claimed (acknowledged) one."""
    issues = {
        "plain": log_issue(title="Labels print blank"),
        "ed": log_issue(unit=ed, title="Tracking board frozen"),
        "northside": log_issue(unit=front_desk, title="Check-in screen slow"),
        "login": log_issue(category=login_access, title="Cannot sign in to the workstation"),
        "orders": log_issue(application=orders_app, title="Order set missing heparin"),
        "safety": log_issue(patient_safety=True, title="Wrong patient wristband"),
        "resolved": log_issue(title="Scanner offline"),
    }
    claim_issue(issue=issues["login"], agent=agent_alex)
    assign_issue(issue=issues["orders"], assignee=super_sam, actor=None)
    set_tier(issue=issues["ed"], tier=tiers["command"], actor=None)
    resolve(issues["resolved"])
    return issues


def get_codes(client: Client, **query: object) -> list[str]:
    response = client.get(QUEUE, query)
    assert response.status_code == 200
    assert response.context["problems"] == []
    return sorted(codes(response))


def expect(issues: dict[str, Issue], *names: str) -> list[str]:
    return sorted(issues[name].code for name in names)


OPEN_ONES = ("plain", "ed", "northside", "login", "orders", "safety")


def test_it_shows_open_issues_by_default_and_any_status_on_request(
    client_for: Callable[[User], Client], agent_alex: User, mixed: dict[str, Issue]
) -> None:
    client = client_for(agent_alex)
    assert get_codes(client) == expect(mixed, *OPEN_ONES)
    assert get_codes(client, status="any") == expect(mixed, *OPEN_ONES, "resolved")
    assert get_codes(client, status="resolved") == expect(mixed, "resolved")
    assert get_codes(client, status="acknowledged") == expect(mixed, "login")
    assert get_codes(client, status=["resolved", "new"]) == expect(
        mixed, "plain", "ed", "northside", "orders", "safety", "resolved"
    )


def test_it_filters_by_priority_and_by_several_at_once(
    client_for: Callable[[User], Client], agent_alex: User, mixed: dict[str, Issue]
) -> None:
    client = client_for(agent_alex)
    assert get_codes(client, priority="P1") == expect(mixed, "safety")
    assert get_codes(client, priority=["P1", "P3"]) == expect(mixed, *OPEN_ONES)
    assert get_codes(client, priority="P4") == []


def test_it_filters_by_site_unit_category_application_and_tier(
    client_for: Callable[[User], Client],
    agent_alex: User,
    mixed: dict[str, Issue],
    northside: object,
    ed: Unit,
    login_access: Category,
    orders_app: Application,
    tiers: dict[str, EscalationTier],
) -> None:
    client = client_for(agent_alex)
    assert get_codes(client, site=northside.pk) == expect(mixed, "northside")  # type: ignore[attr-defined]
    assert get_codes(client, unit=ed.pk) == expect(mixed, "ed")
    assert get_codes(client, category=login_access.pk) == expect(mixed, "login")
    assert get_codes(client, application=orders_app.pk) == expect(mixed, "orders")
    assert get_codes(client, tier=tiers["command"].pk) == expect(mixed, "ed")


def test_it_filters_by_assignee_me_nobody_or_a_person(
    client_for: Callable[[User], Client],
    agent_alex: User,
    super_sam: User,
    mixed: dict[str, Issue],
) -> None:
    client = client_for(agent_alex)
    assert get_codes(client, assignee="me") == expect(mixed, "login")
    assert get_codes(client, assignee=super_sam.pk) == expect(mixed, "orders")
    assert get_codes(client, assignee="nobody") == expect(
        mixed, "plain", "ed", "northside", "safety"
    )


def test_it_filters_overdue_open_issues_and_patient_safety(
    time_machine: time_machine.TimeMachineFixture,
    client_for: Callable[[User], Client],
    agent_alex: User,
    mixed: dict[str, Issue],
) -> None:
    client = client_for(agent_alex)
    assert get_codes(client, patient_safety="1") == expect(mixed, "safety")
    assert get_codes(client, overdue="1") == []
    # An hour on, only the P1 is late: nobody answered it within 15 minutes.
    time_machine.move_to(NOW + dt.timedelta(hours=1), tick=False)
    assert get_codes(client, overdue="1", status="any") == expect(mixed, "safety")
    # Five hours on, every P3 nobody answered within two hours is late too; the one claimed at
    # once is within its 24 hours, and the resolved one is never late.
    time_machine.move_to(NOW + dt.timedelta(hours=5), tick=False)
    assert get_codes(client, overdue="1", status="any") == expect(
        mixed, "plain", "ed", "northside", "orders", "safety"
    )


def test_filters_combine(
    client_for: Callable[[User], Client],
    agent_alex: User,
    mixed: dict[str, Issue],
    four_west: Unit,
) -> None:
    client = client_for(agent_alex)
    assert get_codes(client, unit=four_west.pk, assignee="nobody", priority="P3") == expect(
        mixed, "plain"
    )


def test_the_text_search_uses_the_words_of_title_and_description(
    client_for: Callable[[User], Client], agent_alex: User, mixed: dict[str, Issue]
) -> None:
    client = client_for(agent_alex)
    assert get_codes(client, q="frozen") == expect(mixed, "ed")
    # English stemming: "printing" finds "print"; web-search syntax: a minus leaves words out.
    assert get_codes(client, q="printing") == expect(mixed, "plain")
    assert get_codes(client, q='"order set" -aspirin') == expect(mixed, "orders")
    assert get_codes(client, q="the") == []


def test_searching_for_an_issue_code_opens_that_issue(
    client_for: Callable[[User], Client], agent_alex: User, mixed: dict[str, Issue]
) -> None:
    client = client_for(agent_alex)
    target = mixed["resolved"]
    for q in [target.code, target.code.lower(), str(target.number)]:
        response = client.get(QUEUE, {"q": q})
        assert response.status_code == 302
        assert response["Location"] == reverse("issues:detail", args=[target.pk])
    # The rows refreshed in place match the code rather than jump.
    response = client.get(POLL, {"q": target.code, "status": "any"})
    assert codes(response) == [target.code]


def test_a_code_nobody_may_see_is_searched_as_text(
    client_for: Callable[[User], Client],
    super_sam: User,
    ed: Unit,
    mixed: dict[str, Issue],
) -> None:
    limit_to(super_sam, ed)
    hidden = mixed["northside"]
    response = client_for(super_sam).get(QUEUE, {"q": hidden.code})
    assert response.status_code == 200
    assert codes(response) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"priority": "P9"}, "Priority: “P9” is not a priority: use P1 to P4."),
        ({"status": "lost"}, "Status: “lost” is not a status; showing open issues."),
        ({"unit": "abc"}, "Unit: That unit is not part of this go-live."),
        ({"site": "999999"}, "Site: That site is not part of this go-live."),
        ({"category": "-1"}, "Category: That category is not one of this go-live's."),
        ({"application": "1x"}, "Application: That application is not one of this go-live's."),
        ({"tier": "0"}, "Tier: That tier is not one of this go-live's."),
        (
            {"assignee": "999999"},
            "Assignee: That assignee does not work on this go-live's issues; "
            "choose a person, “me” or “nobody”.",
        ),
        ({"q": "x" * 201}, "Search: Search for at most 200 characters."),
    ],
)
def test_a_wrong_filter_value_is_named_and_ignored(
    client_for: Callable[[User], Client],
    agent_alex: User,
    mixed: dict[str, Issue],
    query: dict[str, str],
    message: str,
) -> None:
    response = client_for(agent_alex).get(QUEUE, {**query, "patient_safety": "1"})
    assert response.status_code == 200
    assert response.context["problems"] == [message]
    assert message.encode() in response.content.replace(b"&#x27;", b"'").replace(b"&quot;", b'"')
    # The other filters still apply.
    assert codes(response) == [mixed["safety"].code]


def test_another_go_lives_unit_is_not_a_filter_value(
    client_for: Callable[[User], Client],
    agent_alex: User,
    mixed: dict[str, Issue],
    lakeside: GoLive,
) -> None:
    site = lakeside.sites.create(name="Lakeside", code="LK")
    unit = site.units.create(name="ICU")
    response = client_for(agent_alex).get(QUEUE, {"unit": unit.pk})
    assert response.context["problems"] == ["Unit: That unit is not part of this go-live."]
    assert sorted(codes(response)) == expect(mixed, *OPEN_ONES)


# --- Saved views ----------------------------------------------------------------------------------


def test_built_in_views_include_one_per_application_and_mark_the_current_one(
    client_for: Callable[[User], Client],
    agent_alex: User,
    mixed: dict[str, Issue],
    orders_app: Application,
) -> None:
    response = client_for(agent_alex).get(QUEUE, {"assignee": "nobody"})
    views = {view.label: view for view in response.context["builtin_views"]}
    assert list(views) == ["All open", "Mine", "Unassigned", "Overdue", "Patient safety", "Orders"]
    assert views["Orders"].query == f"application={orders_app.pk}"
    assert [view.label for view in views.values() if view.active] == ["Unassigned"]
    html = response.content.decode()
    assert f'href="{QUEUE}?application={orders_app.pk}">Orders</a>' in html
    assert (
        'aria-current="page"\n           href="/issues/queue/?assignee=nobody">Unassigned' in html
    )


@pytest.mark.parametrize(
    ("view", "names"),
    [
        ("Mine", ["login"]),
        ("Unassigned", ["plain", "ed", "northside", "safety"]),
        ("Overdue", []),
        ("Patient safety", ["safety"]),
        ("Orders", ["orders"]),
    ],
)
def test_each_built_in_view_shows_what_its_name_says(
    client_for: Callable[[User], Client],
    agent_alex: User,
    mixed: dict[str, Issue],
    view: str,
    names: list[str],
) -> None:
    client = client_for(agent_alex)
    links = {link.label: link for link in client.get(QUEUE).context["builtin_views"]}
    response = client.get(f"{QUEUE}?{links[view].query}")
    assert sorted(codes(response)) == expect(mixed, *names)


def test_an_agent_saves_the_current_filters_under_a_name_and_opens_them_again(
    client_for: Callable[[User], Client],
    agent_alex: User,
    mixed: dict[str, Issue],
    ed: Unit,
    mercy: GoLive,
) -> None:
    client = client_for(agent_alex)
    # A wrong value in the saved query is dropped; the order of the fields does not matter.
    query = urlencode([("unit", ed.pk), ("priority", "P3"), ("site", "x")])
    response = client.post(reverse("issues:queue_view_save"), {"name": "ED triage", "query": query})
    saved = SavedView.objects.get(user=agent_alex, go_live=mercy)
    assert (saved.name, saved.query) == ("ED triage", f"priority=P3&unit={ed.pk}")
    assert response["Location"] == f"{QUEUE}?priority=P3&unit={ed.pk}"

    page = client.get(response["Location"])
    assert [(view.label, view.active) for view in page.context["own_views"]] == [
        ("ED triage", True)
    ]
    assert codes(page) == [mixed["ed"].code]
    assert "Saved the view “ED triage”." in page.content.decode()


def test_saved_views_are_each_users_own(
    client_for: Callable[[User], Client],
    agent_alex: User,
    lead_lena: User,
    mercy: GoLive,
) -> None:
    SavedView.objects.create(go_live=mercy, user=lead_lena, name="Lena's", query="priority=P1")
    response = client_for(agent_alex).get(QUEUE)
    assert response.context["own_views"] == []


def test_a_view_name_is_needed_and_unique(
    client_for: Callable[[User], Client], agent_alex: User, mercy: GoLive
) -> None:
    client = client_for(agent_alex)
    url = reverse("issues:queue_view_save")
    page = client.post(url, {"name": "  ", "query": "priority=P1"}, follow=True)
    assert "Give the view a name." in page.content.decode()
    client.post(url, {"name": "Urgent", "query": "priority=P1"})
    page = client.post(url, {"name": "Urgent", "query": "priority=P2"}, follow=True)
    assert "You already have a view named “Urgent”" in page.content.decode()
    assert list(SavedView.objects.values_list("query", flat=True)) == ["priority=P1"]


def test_filters_too_long_to_keep_are_not_saved(
    client_for: Callable[[User], Client], agent_alex: User, mercy: GoLive
) -> None:
    query = urlencode({"q": "é" * 150, "priority": "P1"})
    page = client_for(agent_alex).post(
        reverse("issues:queue_view_save"), {"name": "Long", "query": query}, follow=True
    )
    assert "These filters are too long to save: leave some out." in page.content.decode()
    assert not SavedView.objects.exists()


def test_an_agent_deletes_her_own_view_but_not_someone_elses(
    client_for: Callable[[User], Client],
    agent_alex: User,
    lead_lena: User,
    mercy: GoLive,
) -> None:
    own = SavedView.objects.create(go_live=mercy, user=agent_alex, name="Mine", query="")
    other = SavedView.objects.create(go_live=mercy, user=lead_lena, name="Hers", query="")
    client = client_for(agent_alex)
    assert client.post(reverse("issues:queue_view_delete", args=[other.pk])).status_code == 404
    response = client.post(reverse("issues:queue_view_delete", args=[own.pk]))
    assert response.status_code == 302
    assert list(SavedView.objects.all()) == [other]
    assert client.get(reverse("issues:queue_view_delete", args=[other.pk])).status_code == 405


# --- Pages ----------------------------------------------------------------------------------------


def test_it_shows_fifty_issues_a_page(
    client_for: Callable[[User], Client],
    agent_alex: User,
    many: Callable[[int], list[Issue]],
) -> None:
    made = many(55)
    client = client_for(agent_alex)
    first = client.get(QUEUE, {"application": made[0].application_id})
    assert first.context["page"].paginator.count == 28
    assert len(codes(first)) == 28

    first = client.get(QUEUE)
    second = client.get(QUEUE, {"page": 2})
    assert len(codes(first)) == 50
    assert len(codes(second)) == 5
    assert set(codes(first)).isdisjoint(codes(second))
    assert "55 issues · page 1 of 2" in first.content.decode()
    assert f'href="{QUEUE}?page=2">Next</a>' in first.content.decode()
    # A page past the end shows the last page; nonsense shows the first.
    assert codes(client.get(QUEUE, {"page": 9})) == codes(second)
    assert codes(client.get(QUEUE, {"page": "x"})) == codes(first)


def test_page_links_keep_the_filters(
    client_for: Callable[[User], Client],
    agent_alex: User,
    many: Callable[[int], list[Issue]],
) -> None:
    many(60)
    html = client_for(agent_alex).get(QUEUE, {"priority": ["P1", "P4"]}).content.decode()
    assert "40 issues" in html
    html = client_for(agent_alex).get(QUEUE, {"priority": ["P1", "P3", "P4"]}).content.decode()
    assert "60 issues · page 1 of 2" in html
    assert f'href="{QUEUE}?priority=P1&amp;priority=P3&amp;priority=P4&amp;page=2">Next</a>' in html


def test_the_first_page_costs_the_same_queries_for_three_issues_or_sixty(
    client_for: Callable[[User], Client],
    agent_alex: User,
    many: Callable[[int], list[Issue]],
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    client = client_for(agent_alex)
    client.get(QUEUE)
    many(3)
    with django_assert_max_num_queries(QUEUE_BUDGET) as small:
        assert len(codes(client.get(QUEUE))) == 3
    many(57)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(codes(client.get(QUEUE))) == 50


def test_a_filtered_page_costs_the_same_queries_for_three_issues_or_sixty(
    client_for: Callable[[User], Client],
    super_sam: User,
    four_west: Unit,
    ed: Unit,
    many: Callable[[int], list[Issue]],
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    # Support staff: the visibility rule adds its own conditions to the filters.
    limit_to(super_sam, four_west, ed)
    client = client_for(super_sam)
    query = {"priority": ["P1", "P3"], "q": "problem", "assignee": "nobody"}
    expected = Issue.objects.filter(
        priority__in=["P1", "P3"], assignee=None, unit__in=[four_west, ed]
    )
    client.get(QUEUE)
    many(3)
    # The support member's own units are read inside the page's queries.
    with django_assert_max_num_queries(QUEUE_BUDGET) as small:
        assert len(codes(client.get(QUEUE, query))) == 1
    many(57)
    with django_assert_num_queries(len(small.captured_queries)):
        shown = codes(client.get(QUEUE, query))
    assert sorted(shown) == sorted(issue.code for issue in expected)
    assert len(shown) == 14


# --- Live rows ------------------------------------------------------------------------------------


def test_the_poll_shows_new_issues_with_a_count_of_those_since_the_page_opened(
    now: dt.datetime,
    time_machine: time_machine.TimeMachineFixture,
    client_for: Callable[[User], Client],
    agent_alex: User,
    log_issue: LogIssue,
    ed: Unit,
) -> None:
    before = log_issue(title="Before the page opened")
    client = client_for(agent_alex)
    page = client.get(QUEUE)
    poll_url = page.context["poll_url"]
    assert poll_url == f"{POLL}?page=1&since=2026-11-03T12%3A00%3A00%2B00%3A00"
    assert f'hx-get="{poll_url.replace("&", "&amp;")}"' in page.content.decode()

    time_machine.move_to(NOW + dt.timedelta(minutes=1), tick=False)
    fresh = [log_issue(title="Printer jam"), log_issue(unit=ed, title="Monitor dark")]
    response = client.get(poll_url, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert set(codes(response)) == {before.code, *(issue.code for issue in fresh)}
    assert response.context["new_count"] == 2
    html = response.content.decode()
    assert "<strong>2 new</strong> since you opened this page:" in html
    assert 'id="queue-new" hx-swap-oob="innerHTML"' in html
    assert html.count('<span class="badge text-bg-info">New</span>') == 2
    assert "<html" not in html


def test_the_new_count_follows_the_filters(
    now: dt.datetime,
    time_machine: time_machine.TimeMachineFixture,
    client_for: Callable[[User], Client],
    agent_alex: User,
    log_issue: LogIssue,
    ed: Unit,
) -> None:
    client = client_for(agent_alex)
    poll_url = client.get(QUEUE, {"unit": ed.pk}).context["poll_url"]
    assert poll_url.startswith(f"{POLL}?unit={ed.pk}&page=1&since=")
    time_machine.move_to(NOW + dt.timedelta(minutes=1), tick=False)
    log_issue(title="Somewhere else")
    on_ed = log_issue(unit=ed, title="On the ED")
    response = client.get(poll_url)
    assert response.context["new_count"] == 1
    assert codes(response) == [on_ed.code]


def test_a_poll_without_a_usable_opening_time_counts_nothing_new(
    client_for: Callable[[User], Client], agent_alex: User, log_issue: LogIssue
) -> None:
    issue = log_issue()
    client = client_for(agent_alex)
    for since in ["", "yesterday", "2026-11-03T12:00:00"]:
        response = client.get(POLL, {"since": since})
        assert response.status_code == 200
        assert response.context["new_count"] == 0
        assert codes(response) == [issue.code]


def test_the_poll_costs_the_same_queries_for_three_issues_or_sixty(
    now: dt.datetime,
    client_for: Callable[[User], Client],
    agent_alex: User,
    many: Callable[[int], list[Issue]],
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    client = client_for(agent_alex)
    since = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    client.get(POLL, {"since": since})
    many(3)
    # The count of new issues replaces the saved views.
    with django_assert_max_num_queries(QUEUE_BUDGET) as small:
        assert client.get(POLL, {"since": since}).context["new_count"] == 3
    many(57)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(POLL, {"since": since}).context["new_count"] == 60


def test_the_page_polls_every_ten_seconds_by_default(
    client_for: Callable[[User], Client], agent_alex: User, mercy: GoLive
) -> None:
    html = client_for(agent_alex).get(QUEUE).content.decode()
    assert 'hx-trigger="gl-poll"' in html
    assert 'data-poll-seconds="10"' in html
    assert "js/queue" in html


def test_a_deactivated_member_cannot_open_the_queue(
    client_for: Callable[[User], Client], agent_alex: User, mercy: GoLive
) -> None:
    Membership.objects.filter(user=agent_alex).update(is_active=False)
    assert client_for(agent_alex).get(QUEUE).status_code == 403
