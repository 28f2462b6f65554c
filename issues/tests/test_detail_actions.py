"""Changes made from the issue page and the queue row: each calls one service, refuses a stale
form, answers htmx with the part that changed, and otherwise redirects back with a message."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from golive.models import EscalationTier, GoLive, Notification, Unit
from issues.models import Impact, Issue, IssueEvent, Urgency
from issues.services import (
    change_status,
    claim_issue,
    create_issue,
    ensure_issue_setup,
    link_issue,
    set_priority,
)
from issues.tests.conftest import LogIssue
from issues.tests.test_queue import limit_to

HTMX = {"HX-Request": "true", "HX-Target": "issue-detail"}
S = Issue.Status


def post(
    client: Client, name: str, issue: Issue, data: dict[str, object], **headers: str
) -> HttpResponse:
    return client.post(reverse(f"issues:{name}", args=[issue.pk]), data, headers=headers)


def with_version(issue: Issue, **data: object) -> dict[str, object]:
    issue.refresh_from_db()
    return {"expected_version": issue.version, **data}


def unchanged(issue: Issue) -> None:
    """The issue is as it was: same version, no new event."""
    version, events = issue.version, issue.events.count()
    issue.refresh_from_db()
    assert (issue.version, issue.events.count()) == (version, events)


@pytest.fixture
def issue(log_issue: LogIssue, nurse_nina: User) -> Issue:
    return log_issue(reporter_user=nurse_nina)


@pytest.fixture
def alex(client_for: Callable[[User], Client], agent_alex: User) -> Client:
    return client_for(agent_alex)


# --- Claim ----------------------------------------------------------------------------------------


def test_an_agent_claims_a_new_issue_and_the_reporter_hears_someone_has_it(
    alex: Client, agent_alex: User, nurse_nina: User, issue: Issue
) -> None:
    response = post(alex, "claim", issue, {}, **HTMX)
    assert response.status_code == 200
    issue.refresh_from_db()
    assert (issue.assignee, issue.status) == (agent_alex, S.ACKNOWLEDGED)
    html = response.content.decode()
    assert html.startswith('<div id="issue-detail"')
    assert f"You have {issue.code} now." in html
    assert "Assigned to <strong>Alex Agent</strong>" in html
    assert Notification.objects.filter(
        recipient_user=nurse_nina, subject__startswith=f"{issue.code} acknowledged"
    ).exists()


def test_two_agents_claim_at_once_and_the_second_is_told_who_has_it(
    client_for: Callable[[User], Client],
    agent_alex: User,
    lead_lena: User,
    issue: Issue,
) -> None:
    # Both opened the queue while the issue was free; Alex's claim lands first.
    claim_issue(issue=issue, agent=agent_alex)
    lena = client_for(lead_lena)
    response = post(
        lena,
        "claim",
        issue,
        {"next": "/issues/queue/?assignee=nobody"},
        **{"HX-Request": "true", "HX-Target": f"row-{issue.pk}"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="row-{issue.pk}"')
    assert f"Alex Agent has {issue.code} already." in html
    assert 'data-testid="row-assignee">Alex Agent<' in html
    assert "data-row-claim" not in html
    issue.refresh_from_db()
    assert issue.assignee == agent_alex


def test_a_claim_from_the_queue_row_redraws_the_row(
    alex: Client, issue: Issue, agent_alex: User
) -> None:
    response = post(
        alex, "claim", issue, {}, **{"HX-Request": "true", "HX-Target": f"row-{issue.pk}"}
    )
    html = response.content.decode()
    assert f"You have {issue.code} now." in html
    assert "Acknowledged" in html
    assert 'data-testid="row-assignee">Alex Agent<' in html


def test_without_htmx_a_claim_goes_back_where_it_came_from_with_the_message(
    alex: Client, client_for: Callable[[User], Client], lead_lena: User, issue: Issue
) -> None:
    response = post(alex, "claim", issue, {"next": "/issues/queue/?priority=P3"})
    assert response.status_code == 302
    assert response["Location"] == "/issues/queue/?priority=P3"
    lena = client_for(lead_lena)
    page = post(lena, "claim", issue, {"next": "https://evil.example/"})
    assert page["Location"] == reverse("issues:detail", args=[issue.pk])
    assert f"Alex Agent has {issue.code} already." in lena.get(page["Location"]).content.decode()


def test_a_closed_issue_cannot_be_claimed(alex: Client, agent_alex: User, issue: Issue) -> None:
    change_status(issue=issue, to=S.RESOLVED, actor=agent_alex, resolution="Fixed.")
    issue.refresh_from_db()
    response = post(alex, "claim", issue, {}, **HTMX)
    assert f"{issue.code} is resolved: nothing to claim." in response.content.decode()
    unchanged(issue)


# --- Assign ---------------------------------------------------------------------------------------


def test_an_agent_assigns_an_issue_to_a_support_member_and_back_to_nobody(
    alex: Client, super_sam: User, issue: Issue
) -> None:
    response = post(alex, "assign", issue, with_version(issue, assignee=super_sam.pk), **HTMX)
    assert f"{issue.code} is assigned to Sam Super." in response.content.decode()
    issue.refresh_from_db()
    assert issue.assignee == super_sam
    assert Notification.objects.filter(recipient_user=super_sam).count() == 1

    response = post(alex, "assign", issue, with_version(issue, assignee="nobody"), **HTMX)
    assert f"{issue.code} is back in the queue, unassigned." in response.content.decode()
    issue.refresh_from_db()
    assert issue.assignee is None


def test_it_refuses_to_assign_someone_who_does_not_work_issues(
    alex: Client, nurse_nina: User, outsider_oscar: User, issue: Issue
) -> None:
    for person in [nurse_nina, outsider_oscar]:
        response = post(alex, "assign", issue, with_version(issue, assignee=person.pk), **HTMX)
        assert (
            "That person does not work on this go-live&#x27;s issues." in response.content.decode()
        )
        unchanged(issue)


def test_a_stale_assign_form_is_refused(alex: Client, super_sam: User, issue: Issue) -> None:
    stale = with_version(issue, assignee=super_sam.pk)
    set_priority(issue=issue, priority="P1", actor=None)
    issue.refresh_from_db()
    response = post(alex, "assign", issue, stale, **HTMX)
    html = response.content.decode()
    assert f"{issue.code} was changed by someone else while you had it open." in html
    unchanged(issue)
    assert issue.assignee is None
    # The form comes back at the current version, so sending it again works.
    assert f'name="expected_version" value="{issue.version}"' in html


# --- Priority -------------------------------------------------------------------------------------


def test_an_agent_raises_the_priority_with_a_note(alex: Client, issue: Issue) -> None:
    response = post(
        alex, "priority", issue, with_version(issue, priority="P1", note="Whole floor"), **HTMX
    )
    assert f"{issue.code} is P1 now." in response.content.decode()
    issue.refresh_from_db()
    assert issue.priority == "P1"
    event = issue.events.get(kind=IssueEvent.Kind.PRIORITY)
    assert (event.old, event.new, event.body) == ("P3", "P1", "Whole floor")


def test_a_patient_safety_issue_stays_p1(alex: Client, log_issue: LogIssue) -> None:
    issue = log_issue(patient_safety=True)
    response = post(alex, "priority", issue, with_version(issue, priority="P3"), **HTMX)
    assert f"{issue.code} is a patient-safety issue: it stays P1." in response.content.decode()
    unchanged(issue)
    assert issue.priority == "P1"


def test_a_made_up_priority_is_refused(alex: Client, issue: Issue) -> None:
    response = post(alex, "priority", issue, with_version(issue, priority="P9"), **HTMX)
    assert "Choose a priority from P1 to P4." in response.content.decode()
    unchanged(issue)


# --- Comment --------------------------------------------------------------------------------------


def test_an_internal_note_is_not_sent_to_the_reporter(
    alex: Client, nurse_nina: User, issue: Issue
) -> None:
    response = post(
        alex,
        "comment",
        issue,
        with_version(issue, body="Check WOW-7", visibility="internal"),
        **HTMX,
    )
    html = response.content.decode()
    assert "Internal note added." in html
    assert "Check WOW-7" in html
    assert issue.events.get(kind=IssueEvent.Kind.COMMENT).internal
    assert not Notification.objects.filter(recipient_user=nurse_nina).exists()


def test_a_reply_tells_the_reporter_through_the_outbox(
    alex: Client, nurse_nina: User, issue: Issue
) -> None:
    response = post(
        alex,
        "comment",
        issue,
        with_version(issue, body="Try the printer by the door.", visibility="reply"),
        **HTMX,
    )
    assert "Reply sent: the reporter is told." in response.content.decode()
    told = Notification.objects.get(recipient_user=nurse_nina)
    assert (told.subject, told.body) == (
        f"Reply on {issue.code}: {issue.title}",
        "Try the printer by the door.",
    )


def test_an_empty_comment_is_refused(alex: Client, issue: Issue) -> None:
    response = post(
        alex, "comment", issue, with_version(issue, body="   ", visibility="reply"), **HTMX
    )
    assert "Write the comment before sending it." in response.content.decode()
    unchanged(issue)


def test_script_in_a_comment_comes_back_as_text(alex: Client, issue: Issue) -> None:
    response = post(
        alex,
        "comment",
        issue,
        with_version(issue, body="<script>alert(1)</script>", visibility="internal"),
        **HTMX,
    )
    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_a_refused_comment_keeps_what_was_typed(alex: Client, issue: Issue) -> None:
    stale = with_version(issue, body="A long explanation", visibility="reply")
    set_priority(issue=issue, priority="P2", actor=None)
    response = post(alex, "comment", issue, stale, **HTMX)
    html = response.content.decode()
    assert "was changed by someone else" in html
    assert "A long explanation</textarea>" in html
    assert issue.events.filter(kind=IssueEvent.Kind.COMMENT).count() == 0


# --- Status ---------------------------------------------------------------------------------------


def test_resolving_needs_a_resolution(alex: Client, issue: Issue) -> None:
    response = post(
        alex, "status", issue, with_version(issue, to="resolved", resolution=" "), **HTMX
    )
    assert f"Say how {issue.code} was resolved." in response.content.decode()
    unchanged(issue)
    assert issue.status == S.NEW


def test_an_agent_resolves_an_issue_and_the_reporter_is_told_the_resolution(
    alex: Client, nurse_nina: User, issue: Issue
) -> None:
    response = post(
        alex,
        "status",
        issue,
        with_version(issue, to="resolved", resolution="Replaced the label roll."),
        **HTMX,
    )
    html = response.content.decode()
    assert f"{issue.code} is resolved now." in html
    assert "Replaced the label roll." in html
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == (S.RESOLVED, "Replaced the label roll.")
    told = Notification.objects.get(recipient_user=nurse_nina)
    assert told.body == "Resolved: Replaced the label roll."


def test_resolving_a_parent_resolves_its_duplicates(
    alex: Client, agent_alex: User, log_issue: LogIssue, issue: Issue
) -> None:
    child = log_issue(title="Same here")
    link_issue(issue=child, parent=issue, kind=Issue.Link.DUPLICATE, actor=agent_alex)
    post(alex, "status", issue, with_version(issue, to="resolved", resolution="New driver."))
    child.refresh_from_db()
    assert (child.status, child.resolution) == (S.RESOLVED, f"With {issue.code}: New driver.")


@pytest.mark.parametrize(
    ("to", "status", "told"),
    [
        ("waiting_reporter", S.WAITING_REPORTER, True),
        ("waiting_vendor", S.WAITING_VENDOR, False),
    ],
)
def test_an_agent_sets_an_issue_waiting(
    alex: Client, nurse_nina: User, issue: Issue, to: str, status: str, told: bool
) -> None:
    response = post(
        alex, "status", issue, with_version(issue, to=to, note="Which printer?"), **HTMX
    )
    assert f"{issue.code} is {S(status).label.lower()} now." in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == status
    notes = Notification.objects.filter(recipient_user=nurse_nina)
    assert [n.body for n in notes] == (
        ["The help desk needs something from you to go on. Which printer?"] if told else []
    )


def test_a_new_issue_cannot_be_closed(alex: Client, issue: Issue) -> None:
    response = post(alex, "status", issue, with_version(issue, to="closed"), **HTMX)
    assert f"{issue.code} is new: it cannot become closed." in response.content.decode()
    unchanged(issue)


def test_a_resolved_issue_is_closed_then_reopened(
    alex: Client, agent_alex: User, issue: Issue
) -> None:
    change_status(issue=issue, to=S.RESOLVED, actor=agent_alex, resolution="Fixed.")
    html = post(alex, "status", issue, with_version(issue, to="closed"), **HTMX).content.decode()
    assert f"{issue.code} is closed now." in html
    assert ">Reopen</button>" in html
    html = post(
        alex, "status", issue, with_version(issue, to="in_progress"), **HTMX
    ).content.decode()
    assert f"{issue.code} is in progress now." in html
    issue.refresh_from_db()
    assert (issue.status, issue.closed_at, issue.resolved_at) == (S.IN_PROGRESS, None, None)


def test_a_made_up_status_is_refused(alex: Client, issue: Issue) -> None:
    response = post(alex, "status", issue, with_version(issue, to="vanished"), **HTMX)
    assert "Choose a status from the list." in response.content.decode()
    unchanged(issue)


def test_a_form_without_its_version_is_refused(alex: Client, issue: Issue) -> None:
    response = post(alex, "status", issue, {"to": "acknowledged"}, **HTMX)
    assert "This form is out of date: reload the page and repeat your change." in (
        response.content.decode()
    )
    unchanged(issue)


# --- Links ----------------------------------------------------------------------------------------


def test_an_agent_links_an_issue_as_a_duplicate_by_its_code_and_unlinks_it(
    alex: Client, log_issue: LogIssue, issue: Issue
) -> None:
    parent = log_issue(title="Printers down")
    response = post(
        alex,
        "link",
        issue,
        with_version(issue, parent=parent.code.lower(), kind="duplicate"),
        **HTMX,
    )
    html = response.content.decode()
    assert f"{issue.code} is linked: duplicate of {parent.code}." in html
    assert f"Unlink from {parent.code}" in html
    issue.refresh_from_db()
    assert (issue.parent, issue.parent_link) == (parent, Issue.Link.DUPLICATE)

    response = post(alex, "unlink", issue, with_version(issue), **HTMX)
    assert f"{issue.code} is no longer linked to another issue." in response.content.decode()
    issue.refresh_from_db()
    assert issue.parent is None


@pytest.mark.parametrize(
    ("parent", "message"),
    [
        ("GL-9999", "There is no GL-9999 in this go-live."),
        ("printer", "“printer” is not an issue number: write it like GL-1042."),
        ("", "Give the parent issue&#x27;s number, e.g. GL-1042."),
    ],
)
def test_a_wrong_parent_code_is_refused(
    alex: Client, issue: Issue, parent: str, message: str
) -> None:
    response = post(alex, "link", issue, with_version(issue, parent=parent, kind="part_of"), **HTMX)
    assert message in response.content.decode()
    unchanged(issue)


def test_an_issue_cannot_be_linked_to_itself_or_to_another_go_lives_issue(
    alex: Client, issue: Issue, lakeside: GoLive
) -> None:
    response = post(
        alex, "link", issue, with_version(issue, parent=issue.code, kind="duplicate"), **HTMX
    )
    assert "An issue cannot be linked to itself." in response.content.decode()
    unchanged(issue)

    ensure_issue_setup(go_live=lakeside)
    unit = lakeside.sites.create(name="Lakeside", code="LK").units.create(name="ICU")
    category = lakeside.issue_categories.first()
    for title in ["Theirs", "Theirs too"]:
        theirs, _ = create_issue(
            go_live=lakeside,
            unit=unit,
            category_id=category.pk,
            title=title,
            impact=Impact.ONE_USER,
            urgency=Urgency.QUESTION,
        )
    response = post(
        alex, "link", issue, with_version(issue, parent=theirs.code, kind="duplicate"), **HTMX
    )
    assert f"There is no {theirs.code} in this go-live." in response.content.decode()
    unchanged(issue)


# --- Tier and external ticket ---------------------------------------------------------------------


def test_an_agent_moves_an_issue_to_another_tier(
    alex: Client, issue: Issue, tiers: dict[str, EscalationTier]
) -> None:
    response = post(alex, "tier", issue, with_version(issue, tier=tiers["command"].pk), **HTMX)
    assert f"{issue.code} is with Tier 2 · Command center now." in response.content.decode()
    issue.refresh_from_db()
    assert issue.tier == tiers["command"]


def test_another_go_lives_tier_is_refused(alex: Client, issue: Issue, lakeside: GoLive) -> None:
    theirs = EscalationTier.objects.create(go_live=lakeside, level=1, name="Theirs")
    response = post(alex, "tier", issue, with_version(issue, tier=theirs.pk), **HTMX)
    assert "Choose a tier of this go-live." in response.content.decode()
    unchanged(issue)


def test_an_external_ticket_is_noted_and_too_long_a_one_refused(alex: Client, issue: Issue) -> None:
    response = post(
        alex, "external_ref", issue, with_version(issue, external_ref="INC-0042"), **HTMX
    )
    assert f"External ticket INC-0042 noted on {issue.code}." in response.content.decode()
    issue.refresh_from_db()
    assert issue.external_ref == "INC-0042"
    response = post(alex, "external_ref", issue, with_version(issue, external_ref="X" * 65), **HTMX)
    assert "An external ticket reference has at most 64 characters." in response.content.decode()
    unchanged(issue)


# --- Who may change what --------------------------------------------------------------------------

ACTIONS = {
    "claim": {},
    "assign": {"assignee": "nobody"},
    "priority": {"priority": "P2"},
    "comment": {"body": "Hello", "visibility": "internal"},
    "status": {"to": "acknowledged"},
    "link": {"parent": "GL-1", "kind": "duplicate"},
    "unlink": {},
    "tier": {"tier": ""},
    "external_ref": {"external_ref": "INC-1"},
}


@pytest.mark.parametrize("action", ACTIONS)
def test_a_visitor_is_sent_to_sign_in(client: Client, issue: Issue, action: str) -> None:
    response = post(client, action, issue, with_version(issue, **ACTIONS[action]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    unchanged(issue)


@pytest.mark.parametrize("action", ACTIONS)
def test_floor_staff_may_change_nothing(
    client_for: Callable[[User], Client], nurse_nina: User, issue: Issue, action: str
) -> None:
    response = post(client_for(nurse_nina), action, issue, with_version(issue, **ACTIONS[action]))
    assert response.status_code == 403
    unchanged(issue)


@pytest.mark.parametrize("action", ACTIONS)
def test_another_go_lives_lead_gets_not_found(
    client_for: Callable[[User], Client], outsider_oscar: User, issue: Issue, action: str
) -> None:
    response = post(
        client_for(outsider_oscar), action, issue, with_version(issue, **ACTIONS[action])
    )
    assert response.status_code == 404
    unchanged(issue)


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("comment", True),
        ("claim", False),
        ("assign", False),
        ("priority", False),
        ("status", False),
        ("link", False),
        ("tier", False),
        ("external_ref", False),
    ],
)
def test_a_clinic_manager_may_comment_on_her_units_issues_and_nothing_else(
    client_for: Callable[[User], Client],
    manager_maria: User,
    issue: Issue,
    action: str,
    allowed: bool,
) -> None:
    response = post(
        client_for(manager_maria), action, issue, with_version(issue, **ACTIONS[action]), **HTMX
    )
    assert response.status_code == (200 if allowed else 403)
    assert issue.events.filter(kind=IssueEvent.Kind.COMMENT).exists() == allowed


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("comment", True),
        ("claim", True),
        ("status", True),
        ("external_ref", True),
        ("assign", False),
        ("priority", False),
        ("link", False),
        ("unlink", False),
        ("tier", False),
    ],
)
def test_support_staff_work_the_issues_they_see(
    client_for: Callable[[User], Client],
    super_sam: User,
    four_west: Unit,
    issue: Issue,
    action: str,
    allowed: bool,
) -> None:
    limit_to(super_sam, four_west)
    before = issue.version
    response = post(
        client_for(super_sam), action, issue, with_version(issue, **ACTIONS[action]), **HTMX
    )
    assert response.status_code == (200 if allowed else 403)
    issue.refresh_from_db()
    assert (issue.version > before) == allowed


@pytest.mark.parametrize("action", ["comment", "claim", "status"])
def test_support_staff_get_not_found_for_issues_they_do_not_see(
    client_for: Callable[[User], Client],
    super_sam: User,
    ed: Unit,
    issue: Issue,
    action: str,
) -> None:
    limit_to(super_sam, ed)
    response = post(client_for(super_sam), action, issue, with_version(issue, **ACTIONS[action]))
    assert response.status_code == 404
    unchanged(issue)


@pytest.mark.parametrize("action", ACTIONS)
def test_changes_only_come_by_post(alex: Client, issue: Issue, action: str) -> None:
    assert alex.get(reverse(f"issues:{action}", args=[issue.pk])).status_code == 405
